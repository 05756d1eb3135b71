/*
 * Base64 (RFC 4648 section 4, the standard alphabet, with '=' padding), to
 * carry bytes that are not text inside JSON (dead letters' raw_base64).
 */
#include <stdint.h>

#include "base/base64.h"

static const char ALPHABET[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

sluice_err_t sluice_base64_write(FILE *f, const void *data, size_t len) {
    const unsigned char *p = data;
    char out[4 * 256];
    size_t n = 0;
    for (size_t i = 0; i < len; i += 3) {
        size_t left = len - i;
        uint32_t v = (uint32_t)p[i] << 16;
        if (left > 1) v |= (uint32_t)p[i + 1] << 8;
        if (left > 2) v |= p[i + 2];
        out[n++] = ALPHABET[(v >> 18) & 63];
        out[n++] = ALPHABET[(v >> 12) & 63];
        out[n++] = left > 1 ? ALPHABET[(v >> 6) & 63] : '=';
        out[n++] = left > 2 ? ALPHABET[v & 63] : '=';
        if (n == sizeof out) {
            if (fwrite(out, 1, n, f) != n) return SLUICE_ERR_IO;
            n = 0;
        }
    }
    if (n && fwrite(out, 1, n, f) != n) return SLUICE_ERR_IO;
    return SLUICE_OK;
}
