/*
 * The string functions CONCAT (and the || operator), CONCAT_WS, REPLACE
 * and SPLIT_INDEX, as Flink's of the same names.  Text is bytes (UTF-8
 * expected, not checked): a search string matches bytewise, so a UTF-8
 * one only ever matches whole characters of UTF-8 text, and bytes that
 * are not UTF-8 pass through unchanged.  A result longer than a VARCHAR
 * can hold (4 GiB) is NULL.
 */
#include <ctype.h>
#include <string.h>

#include "exec/func.h"

/* The most arguments a variadic call takes (plan_func.c checks it). */
#define MAX_ARGS 64

/* Argument i as text (a number, boolean or timestamp as its CAST to
 * VARCHAR); NULL stays NULL. */
static sluice_value text_arg(const sluice_expr *e, size_t i, const sluice_value *row, sluice_arena *arena) {
    sluice_value v = sluice_expr_eval(e->args[i], row, arena);
    return v.type == SLUICE_TYPE_VARCHAR || v.type == SLUICE_TYPE_NULL ? v
                                                                      : sluice_value_cast(&v, SLUICE_TYPE_VARCHAR, arena);
}

/* Join parts[0..n) (skipping NULLs) with sep between them. */
static sluice_value join(const sluice_value *parts, size_t n, const char *sep, size_t seplen, sluice_arena *arena) {
    uint64_t total = 0;
    size_t used = 0;
    for (size_t i = 0; i < n; i++) {
        if (parts[i].type == SLUICE_TYPE_NULL) continue;
        total += parts[i].len + (used++ ? seplen : 0);
    }
    if (total > UINT32_MAX) return sluice_value_null();
    char *p = sluice_arena_alloc(arena, total ? (size_t)total : 1);
    if (!p) return sluice_value_null();
    size_t at = 0;
    used = 0;
    for (size_t i = 0; i < n; i++) {
        if (parts[i].type == SLUICE_TYPE_NULL) continue;
        if (used++ && seplen) memcpy(p + at, sep, seplen), at += seplen;
        if (parts[i].len) memcpy(p + at, parts[i].u.s, parts[i].len), at += parts[i].len;
    }
    return sluice_value_varchar(p, at);
}

/* CONCAT(a, ...): NULL when any argument is NULL. */
sluice_value sluice_fn_concat(const sluice_expr *e, const sluice_value *row, sluice_arena *arena) {
    sluice_value parts[MAX_ARGS];
    size_t n = e->nargs < MAX_ARGS ? e->nargs : MAX_ARGS;
    for (size_t i = 0; i < n; i++)
        if ((parts[i] = text_arg(e, i, row, arena)).type == SLUICE_TYPE_NULL) return parts[i];
    return join(parts, n, "", 0, arena);
}

/* CONCAT_WS(sep, a, ...): the non-NULL arguments joined by sep; NULL
 * only when sep is. */
sluice_value sluice_fn_concat_ws(const sluice_expr *e, const sluice_value *row, sluice_arena *arena) {
    sluice_value sep = text_arg(e, 0, row, arena);
    if (sep.type == SLUICE_TYPE_NULL) return sep;
    sluice_value parts[MAX_ARGS];
    size_t n = e->nargs - 1 < MAX_ARGS ? e->nargs - 1 : MAX_ARGS;
    for (size_t i = 0; i < n; i++) parts[i] = text_arg(e, i + 1, row, arena);
    return join(parts, n, sep.u.s, sep.len, arena);
}

/* Bytes of the UTF-8 character starting s[0]: a lead byte and its
 * continuation bytes, else 1 (a byte that is not UTF-8 counts alone, so
 * any input advances). */
static size_t char_len(const char *s, size_t n) {
    unsigned char c = (unsigned char)s[0];
    size_t k = c >= 0xF8 ? 1 : c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC0 ? 2 : 1;
    if (k > n) return 1;
    for (size_t i = 1; i < k; i++)
        if (((unsigned char)s[i] & 0xC0) != 0x80) return 1;
    return k;
}

/* REPLACE(s, from, to): every non-overlapping occurrence of from, left to
 * right, replaced by to (Java's String.replace, which Flink calls); an
 * empty from inserts to before every character and at the end. */
sluice_value sluice_fn_replace(const sluice_expr *e, const sluice_value *row, sluice_arena *arena) {
    sluice_value s = text_arg(e, 0, row, arena), from = text_arg(e, 1, row, arena), to = text_arg(e, 2, row, arena);
    if (s.type == SLUICE_TYPE_NULL || from.type == SLUICE_TYPE_NULL || to.type == SLUICE_TYPE_NULL)
        return sluice_value_null();
    /* count first, so that the result is one allocation */
    uint64_t hits = 0;
    if (from.len == 0) {
        for (size_t i = 0; i < s.len; i += char_len(s.u.s + i, s.len - i)) hits++;
        hits++;
    } else {
        for (size_t i = 0; i + from.len <= s.len;)
            if (memcmp(s.u.s + i, from.u.s, from.len) == 0) hits++, i += from.len;
            else i++;
    }
    if (hits == 0) return s;
    uint64_t total = s.len + hits * to.len - (from.len ? hits * from.len : 0);
    if (total > UINT32_MAX) return sluice_value_null();
    char *p = sluice_arena_alloc(arena, total ? (size_t)total : 1);
    if (!p) return sluice_value_null();
    size_t at = 0, i = 0;
    if (from.len == 0) {
        while (i < s.len) {
            size_t k = char_len(s.u.s + i, s.len - i);
            memcpy(p + at, to.u.s, to.len), at += to.len;
            memcpy(p + at, s.u.s + i, k), at += k, i += k;
        }
        if (to.len) memcpy(p + at, to.u.s, to.len), at += to.len;
        return sluice_value_varchar(p, at);
    }
    while (i < s.len) {
        if (i + from.len <= s.len && memcmp(s.u.s + i, from.u.s, from.len) == 0) {
            if (to.len) memcpy(p + at, to.u.s, to.len), at += to.len;
            i += from.len;
        } else {
            p[at++] = s.u.s[i++];
        }
    }
    return sluice_value_varchar(p, at);
}

/* SPLIT_INDEX(s, delim, index): the index-th (0-based) piece of s split at
 * every occurrence of delim, empty pieces kept (Flink's, through Apache
 * Commons' splitByWholeSeparatorPreserveAllTokens); NULL for a negative
 * or too large index and for an empty s; an empty delim splits at each
 * white-space character.  The piece borrows s's bytes. */
sluice_value sluice_fn_split_index(const sluice_expr *e, const sluice_value *row, sluice_arena *arena) {
    sluice_value s = text_arg(e, 0, row, arena), d = text_arg(e, 1, row, arena);
    sluice_value ix = sluice_expr_eval(e->args[2], row, arena);
    if (s.type == SLUICE_TYPE_NULL || d.type == SLUICE_TYPE_NULL || ix.type != SLUICE_TYPE_BIGINT || ix.u.i < 0 ||
        s.len == 0)
        return sluice_value_null();
    int64_t want = ix.u.i, k = 0;
    size_t start = 0;
    for (size_t i = 0; i < s.len;) {
        size_t m = d.len ? (i + d.len <= s.len && memcmp(s.u.s + i, d.u.s, d.len) == 0 ? d.len : 0)
                         : (isspace((unsigned char)s.u.s[i]) ? 1 : 0);
        if (!m) {
            i++;
            continue;
        }
        if (k++ == want) return sluice_value_varchar(s.u.s + start, i - start);
        i += m;
        start = i;
    }
    return k == want ? sluice_value_varchar(s.u.s + start, s.len - start) : sluice_value_null();
}
