/*
 * The payloads of the checkpoint's offsets and state records: see
 * state/epoch_log.h for the layouts.
 */
#include <stdlib.h>
#include <string.h>

#include "state/codec.h"
#include "state/epoch_log.h"

static sluice_err_t finish(sluice_enc *e, void **out, size_t *len) {
    if (e->oom) {
        free(e->data);
        *out = NULL;
        *len = 0;
        return SLUICE_ERR_NOMEM;
    }
    *out = e->data;
    *len = e->len;
    return SLUICE_OK;
}

sluice_err_t sluice_epoch_log_encode(int64_t now_ms, const sluice_logged_input *in, size_t nsources, void **out,
                                     size_t *len) {
    sluice_enc e = {0};
    sluice_enc_u32(&e, SLUICE_EPOCH_LOG_VERSION);
    sluice_enc_i64(&e, now_ms);
    for (size_t i = 0; i < nsources; i++) {
        sluice_enc_u8(&e, (uint8_t)(in[i].ended != 0));
        sluice_enc_u32(&e, in[i].n);
        for (uint32_t k = 0; k < in[i].n; k++) {
            sluice_enc_str(&e, in[i].r[k].topic);
            sluice_enc_u32(&e, (uint32_t)in[i].r[k].partition);
            sluice_enc_i64(&e, in[i].r[k].start);
            sluice_enc_i64(&e, in[i].r[k].end);
        }
        sluice_enc_u32(&e, in[i].na);
        for (uint32_t k = 0; k < in[i].na; k++) {
            sluice_enc_str(&e, in[i].assigned[k].topic);
            sluice_enc_u32(&e, (uint32_t)in[i].assigned[k].partition);
        }
    }
    return finish(&e, out, len);
}

/* One source's part; d->bad when it does not decode, -1 when tmp runs out.
 * A count is bounded by the bytes left (each entry takes at least 4). */
static int decode_input(sluice_dec *d, sluice_arena *tmp, sluice_logged_input *in) {
    memset(in, 0, sizeof *in);
    in->ended = sluice_dec_u8(d) != 0;
    in->n = sluice_dec_u32(d);
    if (d->bad || in->n > d->len - d->pos) {
        d->bad = 1;
        return 0;
    }
    sluice_log_range *r = NULL;
    if (in->n && !(r = sluice_arena_alloc(tmp, in->n * sizeof *r))) return -1;
    for (uint32_t k = 0; k < in->n && !d->bad; k++) {
        r[k].topic = sluice_dec_str(d, tmp);
        r[k].partition = (int32_t)sluice_dec_u32(d);
        r[k].start = sluice_dec_i64(d);
        r[k].end = sluice_dec_i64(d);
    }
    in->r = r;
    in->na = sluice_dec_u32(d);
    if (d->bad || in->na > d->len - d->pos) {
        d->bad = 1;
        return 0;
    }
    sluice_partition_ref *a = NULL;
    if (in->na && !(a = sluice_arena_alloc(tmp, in->na * sizeof *a))) return -1;
    for (uint32_t k = 0; k < in->na && !d->bad; k++) {
        a[k].topic = sluice_dec_str(d, tmp);
        a[k].partition = (int32_t)sluice_dec_u32(d);
    }
    in->assigned = a;
    return 0;
}

sluice_err_t sluice_epoch_log_decode(const void *payload, size_t len, size_t nsources, sluice_arena *tmp,
                                     int64_t *now_ms, sluice_logged_input *in) {
    sluice_dec d;
    sluice_dec_init(&d, payload, len);
    if (sluice_dec_u32(&d) != SLUICE_EPOCH_LOG_VERSION) return SLUICE_ERR_MALFORMED;
    *now_ms = sluice_dec_i64(&d);
    for (size_t i = 0; i < nsources && !d.bad; i++)
        if (decode_input(&d, tmp, &in[i]) != 0) return SLUICE_ERR_NOMEM;
    return d.bad || d.pos != len ? SLUICE_ERR_MALFORMED : SLUICE_OK;
}

sluice_err_t sluice_epoch_log_walk(const void *payload, size_t len, sluice_arena *tmp, uint32_t *version,
                                   int64_t *now_ms,
                                   void (*each)(void *ctx, size_t source, const sluice_logged_input *in), void *ctx) {
    sluice_dec d;
    sluice_dec_init(&d, payload, len);
    *version = sluice_dec_u32(&d);
    *now_ms = sluice_dec_i64(&d);
    if (d.bad || *version != SLUICE_EPOCH_LOG_VERSION) return SLUICE_ERR_MALFORMED;
    for (size_t i = 0; d.pos < len; i++) {
        sluice_logged_input in;
        if (decode_input(&d, tmp, &in) != 0) return SLUICE_ERR_NOMEM;
        if (d.bad) return SLUICE_ERR_MALFORMED;
        each(ctx, i, &in);
    }
    return SLUICE_OK;
}

sluice_err_t sluice_state_record_encode(const sluice_logged_positions *pos, size_t nsources, const void *blob,
                                        size_t blen, void **out, size_t *len) {
    sluice_enc e = {0};
    sluice_enc_u32(&e, SLUICE_EPOCH_LOG_VERSION);
    for (size_t i = 0; i < nsources; i++) {
        sluice_enc_u8(&e, (uint8_t)(pos[i].ended != 0));
        sluice_enc_u32(&e, pos[i].n);
        for (uint32_t j = 0; j < pos[i].n; j++) {
            sluice_enc_str(&e, pos[i].p[j].topic);
            sluice_enc_u32(&e, (uint32_t)pos[i].p[j].partition);
            sluice_enc_i64(&e, pos[i].p[j].next);
        }
    }
    sluice_enc_bytes(&e, blob, blen);
    return finish(&e, out, len);
}

sluice_err_t sluice_state_record_decode(const void *payload, size_t len, size_t nsources, sluice_arena *tmp,
                                        sluice_logged_positions *pos, const void **blob, size_t *blen) {
    sluice_dec d;
    sluice_dec_init(&d, payload, len);
    if (sluice_dec_u32(&d) != SLUICE_EPOCH_LOG_VERSION) return SLUICE_ERR_MALFORMED;
    for (size_t i = 0; i < nsources && !d.bad; i++) {
        pos[i].ended = sluice_dec_u8(&d) != 0;
        pos[i].n = sluice_dec_u32(&d);
        pos[i].p = NULL;
        if (d.bad || pos[i].n > len - d.pos) return SLUICE_ERR_MALFORMED;
        sluice_logged_position *p = NULL;
        if (pos[i].n && !(p = sluice_arena_alloc(tmp, pos[i].n * sizeof *p))) return SLUICE_ERR_NOMEM;
        for (uint32_t j = 0; j < pos[i].n && !d.bad; j++) {
            p[j].topic = sluice_dec_str(&d, tmp);
            p[j].partition = (int32_t)sluice_dec_u32(&d);
            p[j].next = sluice_dec_i64(&d);
        }
        pos[i].p = p;
    }
    *blob = d.bad ? NULL : sluice_dec_bytes(&d, blen);
    return d.bad || d.pos != len ? SLUICE_ERR_MALFORMED : SLUICE_OK;
}
