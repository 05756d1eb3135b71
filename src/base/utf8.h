/*
 * sluice base — UTF-8 well-formedness (the Unicode Standard's Table 3-7: no
 * overlong forms, no surrogates, nothing above U+10FFFF) and the maximal
 * subparts that one U+FFFD replaces (section 3.9).  Below the logger, so
 * that log lines are valid UTF-8 too.  Private to the engine.
 */
#ifndef SLUICE_BASE_UTF8_H
#define SLUICE_BASE_UTF8_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/** 1 when s[0..len) is well-formed UTF-8 (Unicode Table 3-7: no overlong
 *  forms, surrogates or code points above U+10FFFF), else 0.  Fast
 *  (simdjson's validator). */
int sluice_utf8_valid(const char *s, size_t len);

/** The sequence at s (len > 0 bytes available): its length in bytes, with
 *  *ok = 1 when it is one well-formed code point, or *ok = 0 and the length
 *  of its maximal subpart (>= 1 byte: the bytes that one U+FFFD replaces).
 *  Returns 0 only when len is 0. */
size_t sluice_utf8_seq(const char *s, size_t len, int *ok);

/** Offset of the first ill-formed byte sequence in s[0..len), or len when
 *  there is none; *bad_len (may be NULL) gets its maximal subpart's
 *  length (0 when none). */
size_t sluice_utf8_find_invalid(const char *s, size_t len, size_t *bad_len);

#ifdef __cplusplus
}
#endif
#endif
