/*
 * UTF-8 well-formedness, byte by byte, after the Unicode Standard's Table
 * 3-7 ("Well-Formed UTF-8 Byte Sequences"), and its recommended practice
 * for replacing ill-formed input (section 3.9, "U+FFFD Substitution of
 * Maximal Subparts"): each maximal subpart of an ill-formed sequence — the
 * longest prefix of a well-formed sequence that the bytes start, or one
 * byte when they start none — becomes one U+FFFD.
 *
 * The whole-buffer check (sluice_utf8_valid) uses simdjson's validator; this
 * file serves the slow path that locates and measures the bad bytes.
 */
#include <stdint.h>
#include <string.h>

#include "base/utf8.h"

/* Table 3-7: for each lead byte, how many continuation bytes follow and
 * the range allowed for the first of them (the others are 80..BF). */
typedef struct utf8_lead {
    unsigned char lo, hi;       /* lead byte range */
    unsigned char follow;       /* continuation bytes */
    unsigned char first_lo, first_hi;
} utf8_lead;

static const utf8_lead LEADS[] = {
    {0xC2, 0xDF, 1, 0x80, 0xBF},
    {0xE0, 0xE0, 2, 0xA0, 0xBF},  /* no overlong 3-byte forms */
    {0xE1, 0xEC, 2, 0x80, 0xBF},
    {0xED, 0xED, 2, 0x80, 0x9F},  /* no surrogates */
    {0xEE, 0xEF, 2, 0x80, 0xBF},
    {0xF0, 0xF0, 3, 0x90, 0xBF},  /* no overlong 4-byte forms */
    {0xF1, 0xF3, 3, 0x80, 0xBF},
    {0xF4, 0xF4, 3, 0x80, 0x8F},  /* nothing above U+10FFFF */
};

size_t sluice_utf8_seq(const char *s, size_t len, int *ok) {
    const unsigned char *p = (const unsigned char *)s;
    *ok = 0;
    if (len == 0) return 0;
    if (p[0] < 0x80) {
        *ok = 1;
        return 1;
    }
    const utf8_lead *lead = NULL;
    for (size_t i = 0; i < sizeof LEADS / sizeof LEADS[0] && p[0] >= LEADS[i].lo; i++)
        if (p[0] <= LEADS[i].hi) {
            lead = &LEADS[i];
            break;
        }
    if (!lead) return 1; /* C0, C1, F5..FF, or a stray continuation byte */
    size_t n = 1;
    for (unsigned k = 0; k < lead->follow; k++, n++) {
        unsigned char lo = k == 0 ? lead->first_lo : 0x80, hi = k == 0 ? lead->first_hi : 0xBF;
        if (n >= len || p[n] < lo || p[n] > hi) return n; /* maximal subpart */
    }
    *ok = 1;
    return n;
}

size_t sluice_utf8_find_invalid(const char *s, size_t len, size_t *bad_len) {
    size_t i = 0;
    while (i < len) {
        /* ASCII runs, eight bytes at a time */
        uint64_t w;
        if (len - i >= 8 && (memcpy(&w, s + i, 8), (w & UINT64_C(0x8080808080808080)) == 0)) {
            i += 8;
            continue;
        }
        if ((unsigned char)s[i] < 0x80) {
            i++;
            continue;
        }
        int ok;
        size_t n = sluice_utf8_seq(s + i, len - i, &ok);
        if (!ok) {
            if (bad_len) *bad_len = n;
            return i;
        }
        i += n;
    }
    if (bad_len) *bad_len = 0;
    return len;
}
