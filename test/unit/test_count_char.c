/*
 * Nexmark q14's user function count_char (test/support/count_char_udf.c)
 * through its C ABI: occurrences of the first character of c in s, as the
 * Java original; counts worked out by hand.
 */
#include <string.h>

#include "sluice/function.h"
#include "sluice_test.h"

extern const sluice_function_abi sluice_count_char;

static sluice_value str(const char *s) { return sluice_value_varchar(s, strlen(s)); }

static void test_counts_the_first_character_of_c(void **state) {
    (void)state;
    sluice_value args[] = {
        str("abcabcc"), str("c"),      /* 3 */
        str("abc"), str("cx"),         /* only 'c' counts: 1 */
        sluice_value_null(), str("c"), /* a NULL s counts 0 */
        str("abc"), str(""),           /* no character: NULL */
        str("abc"), sluice_value_null(),
        str("héhé\xff\xe9"), str("é"), /* a UTF-8 character, never half of one: 2 */
        str("\xff\xff" "a"), str("\xff"),  /* bytes that are not UTF-8 count alone: 2 */
    };
    enum { N = sizeof args / sizeof args[0] / 2 };
    sluice_value results[N];
    char err[128] = "";
    assert_int_equal(sluice_count_char.abi_version, SLUICE_FUNCTION_ABI_VERSION);
    assert_int_equal(sluice_count_char.call(NULL, N, 2, args, results, err, sizeof err), 0);
    const int64_t want[N] = {3, 1, 0, -1, -1, 2, 2};
    for (size_t i = 0; i < N; i++) {
        if (want[i] < 0) {
            assert_int_equal(results[i].type, SLUICE_TYPE_NULL);
            continue;
        }
        assert_int_equal(results[i].type, SLUICE_TYPE_BIGINT);
        assert_int_equal(results[i].u.i, want[i]);
    }
    /* a call with the wrong arity fails with a message */
    assert_int_not_equal(sluice_count_char.call(NULL, 1, 1, args, results, err, sizeof err), 0);
    assert_non_null(strstr(err, "count_char takes (s VARCHAR, c VARCHAR)"));
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_counts_the_first_character_of_c),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
