/*
 * The output buffer of outbuf.h.
 */
#include <stdint.h>
#include <stdlib.h>

#include "format/outbuf.h"

void sluice_outbuf_init(sluice_outbuf *o, char *stack, size_t cap) {
    o->data = stack;
    o->stack = stack;
    o->stack_cap = stack ? cap : 0;
    o->len = 0;
    o->cap = stack ? cap : 0;
    o->failed = 0;
}

void sluice_outbuf_free(sluice_outbuf *o) {
    if (o->data != o->stack) free(o->data);
    sluice_outbuf_init(o, o->stack, o->stack_cap);
}

char *sluice_outbuf_grow(sluice_outbuf *o, size_t n) {
    if (o->failed) return NULL;
    if (o->cap - o->len >= n) return o->data + o->len;
    if (n > SIZE_MAX / 2 - o->len) {
        o->failed = 1;
        return NULL;
    }
    size_t cap = o->cap ? o->cap : 256;
    while (cap - o->len < n) cap *= 2;
    char *d;
    if (o->data == o->stack) {
        d = malloc(cap);
        if (d && o->len) memcpy(d, o->data, o->len);
    } else {
        d = realloc(o->data, cap);
    }
    if (!d) {
        o->failed = 1;
        return NULL;
    }
    o->data = d;
    o->cap = cap;
    return d + o->len;
}

sluice_err_t sluice_outbuf_flush(sluice_outbuf *o, FILE *f) {
    if (o->failed) {
        o->len = 0;
        o->failed = 0;
        return SLUICE_ERR_NOMEM;
    }
    size_t n = o->len;
    o->len = 0;
    if (n && fwrite(o->data, 1, n, f) != n) return SLUICE_ERR_IO;
    return SLUICE_OK;
}
