/*
 * The registry's shared sections: each connector's ops declare the INI
 * section its instances share ([kafka], [mysql], [redis]); the registry
 * lists them once each, so that the pipeline accepts them without naming
 * any connector itself.
 */
#include "sluice_test.h"

#include <string.h>

#include "registry.h"

static void shared_section_of_each_connector(void **state) {
    (void)state;
    assert_string_equal(sluice_registry_shared_section(1, "kafka"), "kafka");
    assert_string_equal(sluice_registry_shared_section(0, "kafka"), "kafka");
    assert_string_equal(sluice_registry_shared_section(1, "mysql"), "mysql");
    assert_string_equal(sluice_registry_shared_section(0, "mysql"), "mysql");
    assert_string_equal(sluice_registry_shared_section(0, "redis"), "redis");
    assert_null(sluice_registry_shared_section(1, "redis")); /* no Redis source */
    assert_null(sluice_registry_shared_section(1, "file"));
    assert_null(sluice_registry_shared_section(0, "memory"));
    assert_null(sluice_registry_shared_section(0, "fault"));
    assert_null(sluice_registry_shared_section(0, "nosuch"));
    assert_null(sluice_registry_shared_section(0, NULL));
}

static void shared_sections_listed_once_in_table_order(void **state) {
    (void)state;
    const char *names[8] = {0};
    assert_int_equal(sluice_registry_shared_sections(names, 8), 3);
    assert_string_equal(names[0], "kafka");
    assert_string_equal(names[1], "mysql");
    assert_string_equal(names[2], "redis");
    /* at most max */
    const char *two[2] = {0};
    assert_int_equal(sluice_registry_shared_sections(two, 2), 2);
    assert_string_equal(two[1], "mysql");
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(shared_section_of_each_connector),
        cmocka_unit_test(shared_sections_listed_once_in_table_order),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
