#include <stdlib.h>
#include <string.h>

#include "state/codec.h"

static unsigned char *reserve(sluice_enc *e, size_t n) {
    if (e->oom) return NULL;
    if (e->cap - e->len < n) {
        size_t nc = e->cap ? e->cap : 4096;
        while (nc - e->len < n) nc *= 2;
        unsigned char *nd = realloc(e->data, nc);
        if (!nd) {
            e->oom = 1;
            return NULL;
        }
        e->data = nd;
        e->cap = nc;
    }
    unsigned char *p = e->data + e->len;
    e->len += n;
    return p;
}

static void put_le(sluice_enc *e, uint64_t v, size_t n) {
    unsigned char *p = reserve(e, n);
    if (!p) return;
    for (size_t i = 0; i < n; i++) p[i] = (unsigned char)(v >> (8 * i));
}

void sluice_enc_u8(sluice_enc *e, uint8_t v) { put_le(e, v, 1); }
void sluice_enc_u32(sluice_enc *e, uint32_t v) { put_le(e, v, 4); }
void sluice_enc_i64(sluice_enc *e, int64_t v) { put_le(e, (uint64_t)v, 8); }

void sluice_enc_f64(sluice_enc *e, double v) {
    uint64_t bits;
    memcpy(&bits, &v, sizeof bits);
    put_le(e, bits, 8);
}

void sluice_enc_bytes(sluice_enc *e, const void *s, size_t len) {
    if (len > UINT32_MAX - 1) {
        e->oom = 1;
        return;
    }
    sluice_enc_u32(e, (uint32_t)len);
    unsigned char *p = reserve(e, len);
    if (p && len) memcpy(p, s, len);
}

void sluice_enc_str(sluice_enc *e, const char *s) {
    if (!s) {
        sluice_enc_u32(e, UINT32_MAX); /* NULL */
        return;
    }
    sluice_enc_bytes(e, s, strlen(s));
}

void sluice_enc_value(sluice_enc *e, const sluice_value *v) {
    sluice_enc_u8(e, v->type);
    switch (v->type) {
    case SLUICE_TYPE_NULL: break;
    case SLUICE_TYPE_DOUBLE: sluice_enc_f64(e, v->u.d); break;
    case SLUICE_TYPE_VARCHAR: sluice_enc_bytes(e, v->u.s, v->len); break;
    case SLUICE_TYPE_ARRAY:
        /* elem_type u8, count u32, then each element as a value */
        sluice_enc_u8(e, v->u.a->elem_type);
        sluice_enc_u32(e, v->u.a->count);
        for (uint32_t i = 0; i < v->u.a->count; i++) sluice_enc_value(e, &v->u.a->values[i]);
        break;
    default: sluice_enc_i64(e, v->u.i); break;
    }
}

void sluice_dec_init(sluice_dec *d, const void *data, size_t len) {
    d->p = data;
    d->len = len;
    d->pos = 0;
    d->bad = 0;
}

static inline uint64_t get_le(sluice_dec *d, size_t n) {
    if (d->bad || d->len - d->pos < n) {
        d->bad = 1;
        return 0;
    }
    uint64_t v = 0;
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    if (n == 8) memcpy(&v, d->p + d->pos, 8);
    else if (n == 4) {
        uint32_t w;
        memcpy(&w, d->p + d->pos, 4);
        v = w;
    } else
#endif
        for (size_t i = 0; i < n; i++) v |= (uint64_t)d->p[d->pos + i] << (8 * i);
    d->pos += n;
    return v;
}

uint8_t sluice_dec_u8(sluice_dec *d) { return (uint8_t)get_le(d, 1); }
uint32_t sluice_dec_u32(sluice_dec *d) { return (uint32_t)get_le(d, 4); }
int64_t sluice_dec_i64(sluice_dec *d) { return (int64_t)get_le(d, 8); }

double sluice_dec_f64(sluice_dec *d) {
    uint64_t bits = get_le(d, 8);
    double v;
    memcpy(&v, &bits, sizeof v);
    return v;
}

const void *sluice_dec_bytes(sluice_dec *d, size_t *len) {
    uint32_t n = sluice_dec_u32(d);
    if (d->bad || n == UINT32_MAX || d->len - d->pos < n) {
        d->bad = 1;
        *len = 0;
        return NULL;
    }
    const void *p = d->p + d->pos;
    d->pos += n;
    *len = n;
    return p;
}

char *sluice_dec_str(sluice_dec *d, sluice_arena *arena) {
    size_t save = d->pos;
    uint32_t n = sluice_dec_u32(d);
    if (d->bad) return NULL;
    if (n == UINT32_MAX) return NULL; /* an encoded NULL */
    d->pos = save;
    size_t len;
    const void *p = sluice_dec_bytes(d, &len);
    if (!p) return NULL;
    char *s = sluice_arena_strndup(arena, p, len);
    if (!s) d->bad = 1;
    return s;
}

sluice_value sluice_dec_value(sluice_dec *d, sluice_arena *arena) {
    sluice_value v = sluice_value_null();
    uint8_t t = sluice_dec_u8(d);
    switch (t) {
    case SLUICE_TYPE_NULL: break;
    case SLUICE_TYPE_DOUBLE: v = sluice_value_double(sluice_dec_f64(d)); break;
    case SLUICE_TYPE_VARCHAR: {
        size_t len;
        const void *p = sluice_dec_bytes(d, &len);
        if (!p) break;
        char *s = sluice_arena_alloc(arena, len ? len : 1);
        if (!s) {
            d->bad = 1;
            break;
        }
        if (len) memcpy(s, p, len);
        v = sluice_value_varchar(s, len);
        break;
    }
    case SLUICE_TYPE_BIGINT:
    case SLUICE_TYPE_BOOLEAN:
    case SLUICE_TYPE_TIMESTAMP:
    case SLUICE_TYPE_INTERVAL:
        v.type = t;
        v.u.i = sluice_dec_i64(d);
        if (t == SLUICE_TYPE_BOOLEAN && (v.u.i & ~1LL)) d->bad = 1;
        break;
    case SLUICE_TYPE_ARRAY: {
        uint8_t et = sluice_dec_u8(d);
        uint32_t n = sluice_dec_u32(d);
        /* a scalar element type; each element takes at least one byte, so a
         * count beyond the bytes left is corrupt (and no huge allocation) */
        if (d->bad || et == SLUICE_TYPE_NULL || et >= SLUICE_TYPE_ARRAY || n > d->len - d->pos) {
            d->bad = 1;
            break;
        }
        sluice_array *a = sluice_array_new(arena, (sluice_type_t)et, n);
        if (!a) {
            d->bad = 1;
            break;
        }
        for (uint32_t i = 0; i < n && !d->bad; i++) {
            a->values[i] = sluice_dec_value(d, arena); /* never an ARRAY: checked below */
            if (a->values[i].type != SLUICE_TYPE_NULL && a->values[i].type != et) d->bad = 1;
        }
        v = sluice_value_array(a);
        break;
    }
    default: d->bad = 1; break;
    }
    return d->bad ? sluice_value_null() : v;
}
