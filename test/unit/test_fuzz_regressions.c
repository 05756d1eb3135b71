/* Every seed of the fuzz corpora and every input a fuzzer once crashed on
 * (test/fuzz/corpus/TARGET, test/fuzz/regressions/TARGET) goes through
 * the fuzz target's body again.  The assertion is that nothing crashes;
 * under the sanitizer build ASan and UBSan check the memory accesses. */
#include "sluice_test.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_entry.h"

static int by_name(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Runs every file of SLUICE_FUZZ_DIR/kind/target; returns how many. */
static size_t run_dir(const char *kind, const char *target) {
    sluice_fuzz_fn fn = sluice_fuzz_entry(target);
    assert_non_null(fn);
    char dir[4096];
    snprintf(dir, sizeof dir, "%s/%s/%s", SLUICE_FUZZ_DIR, kind, target);
    DIR *d = opendir(dir);
    if (!d) return 0;
    char **names = NULL;
    size_t n = 0, cap = 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        if (de->d_name[0] == '.') continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 64;
            names = realloc(names, cap * sizeof *names);
            assert_non_null(names);
        }
        names[n] = strdup(de->d_name);
        assert_non_null(names[n]);
        n++;
    }
    closedir(d);
    if (n) qsort(names, n, sizeof *names, by_name);
    for (size_t i = 0; i < n; i++) {
        char path[8192];
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        size_t len = 0;
        char *data = sluice_test_read_file(path, &len);
        if (!data) fail_msg("cannot read %s", path);
        assert_int_equal(fn((const uint8_t *)data, len), 0);
        free(data);
        free(names[i]);
    }
    free(names);
    return n;
}

static void run_target(const char *target) {
    size_t seeds = run_dir("corpus", target);
    size_t crashes = run_dir("regressions", target);
    print_message("%s: %zu seeds, %zu regression inputs\n", target, seeds, crashes);
    assert_true(seeds > 0);
}

static void test_sql_inputs(void **state) {
    (void)state;
    run_target("sql");
}

static void test_ini_inputs(void **state) {
    (void)state;
    run_target("ini");
}

static void test_json_inputs(void **state) {
    (void)state;
    run_target("json");
}

static void test_csv_inputs(void **state) {
    (void)state;
    run_target("csv");
}

static void test_checkpoint_inputs(void **state) {
    (void)state;
    run_target("checkpoint");
}

static void test_restore_inputs(void **state) {
    (void)state;
    run_target("restore");
}

static int ini_roundtrip(const char *text) {
    static char why[16384];
    int rc = sluice_fuzz_ini_roundtrip(text, strlen(text), why, sizeof why);
    if (rc < 0) fail_msg("%s", why);
    return rc;
}

/* The INI target's invariant: a profile that loads is written out and loads
 * back to the same entries: '$' doubled, a section met again, continuation
 * lines (each a further entry of the key), inline comments left out. */
static void test_ini_serializes_and_reloads(void **state) {
    (void)state;
    assert_int_equal(ini_roundtrip("[sink  x]\npath = /tmp/$$HOME ; a comment\n  more\n[pipeline]\na=b=c\n"
                                   "[sink x]\nk : ${SLUICE_FUZZ_UNSET_VARIABLE:-d$$f}\n"),
                     1);
    /* white space around a value only comes from a ${VAR:-default}, and
     * libinih strips it: such a profile is not written */
    assert_int_equal(ini_roundtrip("[pipeline]\nk = ${SLUICE_FUZZ_UNSET_VARIABLE:- x}\n"), 0);
    /* a profile that does not load has nothing to check; a header of white
     * space is no section (it once gave entries of section "") */
    assert_int_equal(ini_roundtrip("k = v\n"), 0);
    assert_int_equal(ini_roundtrip("[   ]\nk = v\n"), 0);
    /* every profile of the fixture pipelines */
    DIR *d = opendir(SLUICE_FIXTURES_DIR "/pipelines");
    assert_non_null(d);
    size_t checked = 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        size_t n = strlen(de->d_name);
        if (n < 4 || strcmp(de->d_name + n - 4, ".ini") != 0) continue;
        char path[8192];
        snprintf(path, sizeof path, "%s/pipelines/%s", SLUICE_FIXTURES_DIR, de->d_name);
        size_t len = 0;
        char *text = sluice_test_read_file(path, &len);
        assert_non_null(text);
        static char why[16384];
        int rc = sluice_fuzz_ini_roundtrip(text, len, why, sizeof why);
        if (rc < 0) fail_msg("%s: %s", path, why);
        checked += rc > 0;
        free(text);
    }
    closedir(d);
    print_message("fixtures/pipelines: %zu profiles serialize and reload\n", checked);
    assert_true(checked >= 10);
}

static void test_unknown_target_has_no_entry(void **state) {
    (void)state;
    assert_null(sluice_fuzz_entry("nope"));
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sql_inputs),
        cmocka_unit_test(test_ini_inputs),
        cmocka_unit_test(test_json_inputs),
        cmocka_unit_test(test_csv_inputs),
        cmocka_unit_test(test_checkpoint_inputs),
        cmocka_unit_test(test_restore_inputs),
        cmocka_unit_test(test_ini_serializes_and_reloads),
        cmocka_unit_test(test_unknown_target_has_no_entry),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
