/*
 * sluice base — writing one JSON string literal.  Below the logger, which
 * writes JSON log lines with it; the row writers of format/ use it too.
 * Private to the engine.
 */
#ifndef SLUICE_BASE_JSON_STRING_H
#define SLUICE_BASE_JSON_STRING_H

#include <stddef.h>
#include <stdio.h>

#include "sluice/error.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Write a JSON string literal (quotes included, escaped as RFC 8259) of
 *  len bytes to f; embedded NUL bytes become \u0000; well-formed UTF-8
 *  passes through; each maximal subpart of an ill-formed UTF-8 sequence
 *  becomes one U+FFFD (written as its UTF-8 bytes EF BF BD), the Unicode
 *  Standard's recommended practice (section 3.9), so the output is always
 *  valid UTF-8 and valid JSON.  Every JSON writer (rows, dead letters, logs,
 *  progress lines) goes through here. */
sluice_err_t sluice_json_write_string(FILE *f, const char *s, size_t len);

#ifdef __cplusplus
}
#endif
#endif
