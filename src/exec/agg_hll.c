/*
 * APPROX_COUNT_DISTINCT as a HyperLogLog sketch (exec/agg_hll.h).
 *
 * A value's 64-bit hash (sluice_value_hash, stable across runs, so that a
 * restored sketch goes on counting the same values) picks a register with
 * its top SLUICE_HLL_P bits; the register keeps the largest rank, 1 + the
 * count of leading zeros of the remaining bits, seen so far.  NULL
 * arguments are not counted, as COUNT(DISTINCT x); over no value the
 * result is 0.
 *
 * Snapshot bytes: u8 form (0: no registers yet, 1: sparse, 2: dense); a
 * sparse sketch is u32 k then k pairs (u16 register, u8 rank) in
 * ascending register order, a dense one the 2^14 ranks; then i64 n (the
 * values added).  The sparse form is chosen while it is smaller.
 */
#include "exec/agg_hll.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Hash seed: not the group key's, so that a query grouping by x and
 * counting x does not correlate the two. */
#define HLL_SEED 0x68797065726c6f67ULL
#define HLL_MAX_RANK (64 - SLUICE_HLL_P + 1)

enum { FORM_EMPTY = 0, FORM_SPARSE = 1, FORM_DENSE = 2 };

int sluice_hll_type(sluice_type_t arg, char *why, size_t why_size) {
    if (arg == SLUICE_TYPE_ARRAY || arg == SLUICE_TYPE_INTERVAL) {
        snprintf(why, why_size, "APPROX_COUNT_DISTINCT of %s is not supported", sluice_type_name(arg));
        return -1;
    }
    return SLUICE_TYPE_BIGINT;
}

void sluice_hll_init(const sluice_agg_plan *ag, sluice_agg_slot *s) {
    (void)ag, (void)s; /* zeroed: no registers, n = 0 */
}

int sluice_hll_add(const sluice_agg_plan *ag, sluice_agg_slot *s, const sluice_value *a, sluice_arena *arena) {
    (void)ag, (void)arena;
    if (a->type == SLUICE_TYPE_NULL) return 0;
    uint8_t *reg = s->ext;
    if (!reg && !(reg = s->ext = calloc(SLUICE_HLL_M, 1))) return -1;
    uint64_t h = sluice_value_hash(a, HLL_SEED);
    uint32_t idx = (uint32_t)(h >> (64 - SLUICE_HLL_P));
    /* the low bit set ends the zero run: the rank is at most HLL_MAX_RANK */
    uint64_t rest = (h << SLUICE_HLL_P) | ((uint64_t)1 << (SLUICE_HLL_P - 1));
    uint8_t rank = (uint8_t)(__builtin_clzll(rest) + 1);
    if (rank > reg[idx]) reg[idx] = rank;
    s->n++;
    return 0;
}

int sluice_hll_merge(const sluice_agg_plan *ag, sluice_agg_slot *into, const sluice_agg_slot *from) {
    (void)ag;
    const uint8_t *f = from->ext;
    if (f) {
        uint8_t *t = into->ext;
        if (!t && !(t = into->ext = calloc(SLUICE_HLL_M, 1))) return -1;
        for (uint32_t i = 0; i < SLUICE_HLL_M; i++)
            if (f[i] > t[i]) t[i] = f[i];
    }
    into->n += from->n;
    return 0;
}

int64_t sluice_hll_estimate(const uint8_t *reg) {
    const double m = (double)SLUICE_HLL_M;
    double sum = 0.0;
    uint32_t zeros = 0;
    for (uint32_t i = 0; i < SLUICE_HLL_M; i++) {
        sum += ldexp(1.0, -(int)reg[i]);
        zeros += reg[i] == 0;
    }
    double alpha = 0.7213 / (1.0 + 1.079 / m);
    double e = alpha * m * m / sum;
    /* small range: linear counting over the empty registers is the better
     * estimate (a 64-bit hash needs no large-range correction) */
    if (e <= 2.5 * m && zeros) e = m * log(m / (double)zeros);
    return llround(e);
}

sluice_value sluice_hll_result(const sluice_agg_plan *ag, const sluice_agg_slot *s) {
    (void)ag;
    return sluice_value_bigint(s->ext ? sluice_hll_estimate(s->ext) : 0);
}

void sluice_hll_encode(const sluice_agg_plan *ag, sluice_enc *e, const sluice_agg_slot *s) {
    (void)ag;
    const uint8_t *reg = s->ext;
    uint32_t k = 0;
    if (reg)
        for (uint32_t i = 0; i < SLUICE_HLL_M; i++) k += reg[i] != 0;
    if (!reg) {
        sluice_enc_u8(e, FORM_EMPTY);
    } else if ((size_t)k * 3 + 4 < SLUICE_HLL_M) {
        sluice_enc_u8(e, FORM_SPARSE);
        sluice_enc_u32(e, k);
        for (uint32_t i = 0; i < SLUICE_HLL_M; i++) {
            if (!reg[i]) continue;
            sluice_enc_u8(e, (uint8_t)(i >> 8));
            sluice_enc_u8(e, (uint8_t)i);
            sluice_enc_u8(e, reg[i]);
        }
    } else {
        sluice_enc_u8(e, FORM_DENSE);
        for (uint32_t i = 0; i < SLUICE_HLL_M; i++) sluice_enc_u8(e, reg[i]);
    }
    sluice_enc_i64(e, s->n);
}

static int hll_bad(sluice_dec *d, sluice_agg_slot *s) {
    d->bad = 1;
    free(s->ext);
    s->ext = NULL;
    return -1;
}

int sluice_hll_decode(const sluice_agg_plan *ag, sluice_dec *d, sluice_agg_slot *s, sluice_arena *arena) {
    (void)ag, (void)arena;
    s->ext = NULL;
    uint8_t form = sluice_dec_u8(d);
    if (d->bad || form > FORM_DENSE) return hll_bad(d, s);
    uint8_t *reg = NULL;
    if (form != FORM_EMPTY) {
        if (!(reg = s->ext = calloc(SLUICE_HLL_M, 1))) return -1;
    }
    if (form == FORM_SPARSE) {
        uint32_t k = sluice_dec_u32(d);
        if (k > SLUICE_HLL_M || k > (d->len - d->pos) / 3) return hll_bad(d, s);
        long prev = -1;
        for (uint32_t j = 0; j < k; j++) {
            uint32_t hi = sluice_dec_u8(d), lo = sluice_dec_u8(d);
            uint32_t i = hi << 8 | lo;
            uint8_t r = sluice_dec_u8(d);
            if (d->bad || (long)i <= prev || i >= SLUICE_HLL_M || r == 0 || r > HLL_MAX_RANK) return hll_bad(d, s);
            reg[i] = r;
            prev = (long)i;
        }
    } else if (form == FORM_DENSE) {
        for (uint32_t i = 0; i < SLUICE_HLL_M; i++) {
            reg[i] = sluice_dec_u8(d);
            if (reg[i] > HLL_MAX_RANK) return hll_bad(d, s);
        }
    }
    s->n = sluice_dec_i64(d);
    if (d->bad || s->n < 0 || (form == FORM_EMPTY) != (s->n == 0)) return hll_bad(d, s);
    return 0;
}

void sluice_hll_destroy(const sluice_agg_plan *ag, sluice_agg_slot *s) {
    (void)ag;
    free(s->ext);
    s->ext = NULL;
    s->n = 0;
}
