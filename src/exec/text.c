/*
 * Character semantics of the SQL string functions: Unicode case mapping
 * (UPPER, LOWER) by utf8proc, and LIKE's '_' as one character, as in Flink,
 * Spark and PostgreSQL, whose strings are sequences of characters, not of
 * bytes.  LENGTH and SUBSTR count code points (expr.c).
 *
 * Text in the engine is well-formed UTF-8 (the decoders reject anything
 * else); should an ill-formed byte still arrive, it is copied through
 * unchanged, one byte as one character.
 */
#include <string.h>

#include <utf8proc.h>

#include "plan/plan.h"
#include "format/format.h"

/* The code point at s (len > 0): its byte length, *cp = -1 when the bytes
 * are not one well-formed code point (then one byte is taken). */
static size_t next_cp(const char *s, size_t len, utf8proc_int32_t *cp) {
    utf8proc_ssize_t n = utf8proc_iterate((const utf8proc_uint8_t *)s, (utf8proc_ssize_t)len, cp);
    if (n <= 0) {
        *cp = -1;
        return 1;
    }
    return (size_t)n;
}

/* Append one code point's UTF-8 to out (when not NULL) at *at. */
static void put_cp(utf8proc_int32_t cp, char *out, size_t *at) {
    utf8proc_uint8_t buf[4];
    utf8proc_ssize_t n = utf8proc_encode_char(cp, buf);
    if (out) memcpy(out + *at, buf, (size_t)n);
    *at += (size_t)n;
}

/* Full upper-case mapping of one code point.  utf8proc_toupper is the
 * simple (one-to-one) mapping of UnicodeData.txt; the unconditional
 * one-to-many mappings of SpecialCasing.txt (ß -> SS, ŉ -> ʼN, ﬁ -> FI,
 * ΐ -> Ϊ́, ᾳ -> ΑΙ, ...) belong to lower- and title-case letters whose case
 * folding is several code points, and are the upper case of that folding.
 * This is what Java's String.toUpperCase (Flink, Spark) and ICU return. */
static void upper_cp(utf8proc_int32_t cp, char *out, size_t *at) {
    const utf8proc_property_t *p = utf8proc_get_property(cp);
    if ((p->category == UTF8PROC_CATEGORY_LL || p->category == UTF8PROC_CATEGORY_LT) &&
        p->casefold_seqindex != UINT16_MAX) {
        utf8proc_int32_t fold[8];
        int boundclass = 0;
        utf8proc_ssize_t n = utf8proc_decompose_char(cp, fold, 8, UTF8PROC_CASEFOLD, &boundclass);
        if (n > 1 && n <= 8) {
            for (utf8proc_ssize_t i = 0; i < n; i++) put_cp(utf8proc_toupper(fold[i]), out, at);
            return;
        }
    }
    put_cp(utf8proc_toupper(cp), out, at);
}

/* Map s[0..len) into out (NULL: only measure); returns the output length. */
static size_t map_case(const char *s, size_t len, int upper, char *out) {
    size_t at = 0;
    for (size_t i = 0; i < len;) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x80) { /* ASCII maps within ASCII: no table lookup */
            if (out) out[at] = (char)(upper ? (c >= 'a' && c <= 'z' ? c - 32 : c)
                                            : (c >= 'A' && c <= 'Z' ? c + 32 : c));
            at++;
            i++;
            continue;
        }
        utf8proc_int32_t cp;
        size_t n = next_cp(s + i, len - i, &cp);
        if (cp < 0) {
            if (out) out[at] = s[i];
            at++;
        } else if (upper) {
            upper_cp(cp, out, &at);
        } else {
            /* the simple mapping: SpecialCasing's only unconditional
             * one-to-many lower-case entry is U+0130 (İ -> i̇); utf8proc,
             * like PostgreSQL's libc and ICU-less builds, maps it to i */
            put_cp(utf8proc_tolower(cp), out, &at);
        }
        i += n;
    }
    return at;
}

sluice_value sluice_text_case(const char *s, size_t len, int upper, sluice_arena *arena) {
    size_t n = map_case(s, len, upper, NULL);
    if (n > UINT32_MAX) return sluice_value_null();
    char *p = sluice_arena_alloc(arena, n ? n : 1);
    if (!p) return sluice_value_null();
    map_case(s, len, upper, p);
    return sluice_value_varchar(p, n);
}

/* Bytes of the character at s (len > 0). */
static size_t char_len(const char *s, size_t len) {
    int ok;
    return sluice_utf8_seq(s, len, &ok);
}

int sluice_like_match(const char *s, size_t slen, const char *p, size_t plen) {
    /* iterative matcher with backtracking to the last '%'; '_' and the
     * backtracking step take one character (UTF-8 sequence), literal
     * pattern bytes compare bytes (UTF-8 is self-synchronizing) */
    size_t si = 0, pi = 0, star_p = (size_t)-1, star_s = 0;
    while (si < slen) {
        if (pi < plen && p[pi] == '_') {
            si += char_len(s + si, slen - si);
            pi++;
        } else if (pi < plen && p[pi] != '%' && p[pi] == s[si]) {
            si++;
            pi++;
        } else if (pi < plen && p[pi] == '%') {
            star_p = pi++;
            star_s = si;
        } else if (star_p != (size_t)-1) {
            pi = star_p + 1;
            star_s += char_len(s + star_s, slen - star_s);
            si = star_s;
        } else {
            return 0;
        }
    }
    while (pi < plen && p[pi] == '%') pi++;
    return pi == plen;
}
