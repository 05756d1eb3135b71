/*
 * sluice state — a small binary codec for checkpoint payloads: little-endian
 * fixed-width integers, IEEE doubles, length-prefixed byte strings and
 * typed values.  The reader checks every bound: a short or corrupt payload
 * sets its error flag and yields zeros, it never reads out of range.
 * Private.
 */
#ifndef SLUICE_STATE_CODEC_H
#define SLUICE_STATE_CODEC_H

#include <stddef.h>
#include <stdint.h>

#include "sluice/arena.h"
#include "sluice/value.h"

/** A growable output buffer.  oom is set when an allocation failed (every
 *  later put is then a no-op).  Free `data` with free(). */
typedef struct sluice_enc {
    unsigned char *data;
    size_t len, cap;
    int oom;
} sluice_enc;

void sluice_enc_u8(sluice_enc *e, uint8_t v);
void sluice_enc_u32(sluice_enc *e, uint32_t v);
void sluice_enc_i64(sluice_enc *e, int64_t v);
void sluice_enc_f64(sluice_enc *e, double v);
/** len bytes, prefixed by their length (u32).  s may be NULL when len 0. */
void sluice_enc_bytes(sluice_enc *e, const void *s, size_t len);
/** A NUL-terminated string, or NULL (encoded distinctly from ""). */
void sluice_enc_str(sluice_enc *e, const char *s);
/** A value: type tag (u8) then its payload. */
void sluice_enc_value(sluice_enc *e, const sluice_value *v);

/** A bounds-checked reader over len bytes (borrowed). */
typedef struct sluice_dec {
    const unsigned char *p;
    size_t len, pos;
    int bad;       /**< set on a short read or an invalid encoding */
} sluice_dec;

void sluice_dec_init(sluice_dec *d, const void *data, size_t len);
uint8_t sluice_dec_u8(sluice_dec *d);
uint32_t sluice_dec_u32(sluice_dec *d);
int64_t sluice_dec_i64(sluice_dec *d);
double sluice_dec_f64(sluice_dec *d);
/** A byte string: *len set, pointer into the input (not NUL-terminated),
 *  NULL on error. */
const void *sluice_dec_bytes(sluice_dec *d, size_t *len);
/** A string copied into arena (NUL-terminated); NULL for an encoded NULL
 *  or on error (check d->bad). */
char *sluice_dec_str(sluice_dec *d, sluice_arena *arena);
/** A value; VARCHAR bytes and ARRAY elements copied into arena (an ARRAY:
 *  type, element type u8, count u32, then each element as a value; elements
 *  are scalars of the element type or NULL, anything else is invalid). */
sluice_value sluice_dec_value(sluice_dec *d, sluice_arena *arena);

#endif
