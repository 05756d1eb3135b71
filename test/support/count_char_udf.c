/*
 * Nexmark's user function of query q14, CountChar, with the C ABI of
 * include/sluice/function.h: how many times the character c occurs in s.
 * Built by CMake as a shared object (libsluice_count_char) and bound in
 * profiles as
 *
 *   [function count_char]
 *   connector = c
 *   library = build/test/libsluice_count_char.so
 *   symbol = sluice_count_char
 *
 * SQL: CREATE FUNCTION count_char(s VARCHAR, c VARCHAR) RETURNS BIGINT;
 * As the Java original (nexmark-flink's udf/CountChar.java): a NULL s
 * counts 0; only the first character of c counts.  Characters are UTF-8
 * code points (Java compares UTF-16 units: the same for every character
 * of the Basic Multilingual Plane); an empty or NULL c gives NULL, where
 * the original would throw.
 */
#include <stdio.h>
#include <string.h>

#include "sluice/function.h"

/* Bytes of the UTF-8 character at s (n bytes left): a lead byte and its
 * continuation bytes, else 1 (a byte that is not UTF-8 counts alone). */
static size_t seq_len(const char *s, size_t n) {
    unsigned char b = (unsigned char)s[0];
    size_t k = b >= 0xF8 ? 1 : b >= 0xF0 ? 4 : b >= 0xE0 ? 3 : b >= 0xC0 ? 2 : 1;
    if (k > n) return 1;
    for (size_t i = 1; i < k; i++)
        if (((unsigned char)s[i] & 0xC0) != 0x80) return 1;
    return k;
}

static int count_call(void *state, size_t nrows, size_t nargs, const sluice_value *args, sluice_value *results,
                      char *err, size_t err_size) {
    (void)state;
    if (nargs != 2) {
        snprintf(err, err_size, "count_char takes (s VARCHAR, c VARCHAR), got %zu arguments", nargs);
        return -1;
    }
    for (size_t r = 0; r < nrows; r++) {
        const sluice_value *s = &args[2 * r], *c = &args[2 * r + 1];
        if (c->type != SLUICE_TYPE_VARCHAR || c->len == 0) {
            results[r] = sluice_value_null();
            continue;
        }
        size_t n = seq_len(c->u.s, c->len);
        int64_t count = 0;
        if (s->type == SLUICE_TYPE_VARCHAR)
            for (size_t i = 0; i < s->len;) {
                size_t k = seq_len(s->u.s + i, s->len - i);
                if (k == n && memcmp(s->u.s + i, c->u.s, n) == 0) count++;
                i += k;
            }
        results[r] = sluice_value_bigint(count);
    }
    return 0;
}

const sluice_function_abi sluice_count_char = {
    .abi_version = SLUICE_FUNCTION_ABI_VERSION,
    .init = NULL,
    .call = count_call,
    .close = NULL,
};
