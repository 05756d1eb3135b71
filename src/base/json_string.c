/*
 * A JSON string literal (RFC 8259): escaping by cJSON, ill-formed UTF-8
 * replaced by U+FFFD first.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "base/json_string.h"
#include "base/utf8.h"

#define PUT(f, s, n) \
    do { \
        size_t n_ = (n); \
        if (n_ && fwrite((s), 1, n_, (f)) != n_) return SLUICE_ERR_IO; \
    } while (0)

#define PUTC(f, c) \
    do { \
        if (fputc((c), (f)) == EOF) return SLUICE_ERR_IO; \
    } while (0)

/* Write the escaped contents (no quotes) of a NUL-free segment. */
static sluice_err_t json_segment(FILE *f, const char *s, size_t len) {
    int plain = 1;
    for (size_t i = 0; i < len && plain; i++) {
        unsigned char c = (unsigned char)s[i];
        plain = c >= 0x20 && c != '"' && c != '\\';
    }
    if (plain) { /* nothing to escape: the bytes are their own JSON */
        PUT(f, s, len);
        return SLUICE_OK;
    }
    /* cJSON needs a C string; it escapes into at most 6 bytes per input
     * byte, plus quotes, NUL and the 5 spare bytes its manual asks for. */
    char stack_in[256], stack_out[6 * sizeof stack_in + 8];
    size_t out_size = 6 * len + 8;
    char *in = len < sizeof stack_in ? stack_in : malloc(len + 1);
    char *out = out_size <= sizeof stack_out ? stack_out : malloc(out_size);
    cJSON *item = NULL;
    sluice_err_t rc = SLUICE_ERR_NOMEM;
    if (!in || !out || out_size > INT32_MAX) goto done;
    memcpy(in, s, len);
    in[len] = '\0';
    item = cJSON_CreateStringReference(in);
    if (!item || !cJSON_PrintPreallocated(item, out, (int)out_size, 0)) goto done;
    size_t n = strlen(out); /* "..." */
    rc = SLUICE_OK;
    if (n >= 2 && fwrite(out + 1, 1, n - 2, f) != n - 2) rc = SLUICE_ERR_IO;
done:
    cJSON_Delete(item);
    if (in != stack_in) free(in);
    if (out != stack_out) free(out);
    return rc;
}

/* Write well-formed UTF-8 text (no quotes). */
static sluice_err_t json_text(FILE *f, const char *s, size_t len) {
    /* cJSON works on C strings, so embedded NUL bytes split the text into
     * segments; each NUL itself is written as the JSON escape \u0000. */
    const char *end = s + len;
    for (;;) {
        const char *nul = memchr(s, '\0', (size_t)(end - s));
        const char *seg_end = nul ? nul : end;
        sluice_err_t rc = json_segment(f, s, (size_t)(seg_end - s));
        if (rc != SLUICE_OK) return rc;
        if (!nul) break;
        PUT(f, "\\u0000", 6);
        s = nul + 1;
    }
    return SLUICE_OK;
}

sluice_err_t sluice_json_write_string(FILE *f, const char *s, size_t len) {
    PUTC(f, '"');
    /* JSON text is UTF-8 (RFC 8259 section 8.1): bytes that are not are
     * replaced, one U+FFFD per maximal subpart, never copied raw. */
    if (sluice_utf8_valid(s, len)) {
        sluice_err_t rc = json_text(f, s, len);
        if (rc != SLUICE_OK) return rc;
    } else {
        for (;;) {
            size_t bad = 0, at = sluice_utf8_find_invalid(s, len, &bad);
            sluice_err_t rc = json_text(f, s, at);
            if (rc != SLUICE_OK) return rc;
            if (at == len) break;
            PUT(f, "\xEF\xBF\xBD", 3);
            s += at + bad;
            len -= at + bad;
        }
    }
    PUTC(f, '"');
    return SLUICE_OK;
}
