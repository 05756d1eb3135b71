/*
 * sluice formats — an output buffer: a growable byte array that row
 * writers render into, so that a sink issues one write(2) per batch (or per
 * buffer-full) instead of a stdio call per character or field.  Private to
 * the engine.
 */
#ifndef SLUICE_FORMAT_OUTBUF_H
#define SLUICE_FORMAT_OUTBUF_H

#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "sluice/error.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Bytes rendered so far (data[0..len)), in a buffer of cap bytes.  The
 *  buffer is malloc()ed, or the caller's own storage (sluice_outbuf_init
 *  with `stack`) until it must grow.  `failed` is set when growing ran out
 *  of memory: every later append is dropped, and sluice_outbuf_status()
 *  reports SLUICE_ERR_NOMEM, so renderers need not check each append. */
typedef struct sluice_outbuf {
    char *data;
    size_t len, cap;
    char *stack;      /**< caller storage data started in, or NULL */
    size_t stack_cap; /**< its size */
    int failed;
} sluice_outbuf;

/** Start empty in `stack` (cap bytes, may be NULL/0: the first append
 *  allocates). */
void sluice_outbuf_init(sluice_outbuf *o, char *stack, size_t cap);

/** Release the buffer (unless it is the caller's storage); o is empty. */
void sluice_outbuf_free(sluice_outbuf *o);

/** Make room for n more bytes; returns the place to write them, or NULL
 *  (and o->failed set) when out of memory.  Growth doubles the buffer. */
char *sluice_outbuf_grow(sluice_outbuf *o, size_t n);

/** Room for n more bytes (the fast path of sluice_outbuf_grow). */
static inline char *sluice_outbuf_reserve(sluice_outbuf *o, size_t n) {
    if (o->cap - o->len >= n) return o->data + o->len;
    return sluice_outbuf_grow(o, n);
}

/** Append n bytes. */
static inline void sluice_outbuf_put(sluice_outbuf *o, const void *s, size_t n) {
    char *p = sluice_outbuf_reserve(o, n);
    if (!p) return;
    if (n) memcpy(p, s, n);
    o->len += n;
}

/** Append one byte. */
static inline void sluice_outbuf_putc(sluice_outbuf *o, char c) {
    char *p = sluice_outbuf_reserve(o, 1);
    if (!p) return;
    *p = c;
    o->len++;
}

/** SLUICE_ERR_NOMEM when an append was dropped, else SLUICE_OK. */
static inline sluice_err_t sluice_outbuf_status(const sluice_outbuf *o) {
    return o->failed ? SLUICE_ERR_NOMEM : SLUICE_OK;
}

/** Write data[0..len) to f with one fwrite and empty the buffer (len = 0,
 *  the memory kept for the next batch).  Returns SLUICE_ERR_NOMEM when an
 *  append was dropped (nothing is written: the rows are incomplete),
 *  SLUICE_ERR_IO when the write fails (errno as fwrite left it). */
sluice_err_t sluice_outbuf_flush(sluice_outbuf *o, FILE *f);

#ifdef __cplusplus
}
#endif
#endif
