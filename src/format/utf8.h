/*
 * sluice — UTF-8 validity (RFC 3629: no overlong forms, no surrogates,
 * nothing above U+10FFFF), checked by simdjson's validator.  Private.
 */
#ifndef SLUICE_FORMAT_UTF8_H
#define SLUICE_FORMAT_UTF8_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/** 1 when the len bytes at s are valid UTF-8, else 0. */
int sluice_utf8_valid(const char *s, size_t len);

#ifdef __cplusplus
}
#endif
#endif
