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

/* The sketch: its registers, and the estimator's sum over them kept as
 * registers change, so that a result costs O(1), not a pass over 2^14
 * registers (an UPDATE query asks for it per changed group and batch).
 * The sum of 2^-rank is kept exactly, in units of 2^-HLL_MAX_RANK (at
 * most 2^14 * 2^51: an unsigned __int128), so that a sketch built value by
 * value and the same sketch restored give the same estimate. */
typedef struct hll {
    unsigned __int128 sum;     /* sum over registers of 2^(HLL_MAX_RANK - rank) */
    uint32_t zeros;            /* registers still 0 */
    uint8_t reg[SLUICE_HLL_M];
} hll;

#define UNIT(rank) ((unsigned __int128)1 << (HLL_MAX_RANK - (rank)))

static hll *hll_new(void) {
    hll *h = calloc(1, sizeof *h);
    if (!h) return NULL;
    h->sum = (unsigned __int128)SLUICE_HLL_M * UNIT(0);
    h->zeros = SLUICE_HLL_M;
    return h;
}

static void set_reg(hll *h, uint32_t i, uint8_t rank) {
    h->sum -= UNIT(h->reg[i]);
    h->sum += UNIT(rank);
    h->zeros -= h->reg[i] == 0;
    h->reg[i] = rank;
}

const uint8_t *sluice_hll_registers(const sluice_agg_slot *s) {
    return s->ext ? ((const hll *)s->ext)->reg : NULL;
}

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
    hll *h = s->ext;
    if (!h && !(h = s->ext = hll_new())) return -1;
    uint64_t x = sluice_value_hash(a, HLL_SEED);
    uint32_t idx = (uint32_t)(x >> (64 - SLUICE_HLL_P));
    /* the low bit set ends the zero run: the rank is at most HLL_MAX_RANK */
    uint64_t rest = (x << SLUICE_HLL_P) | ((uint64_t)1 << (SLUICE_HLL_P - 1));
    uint8_t rank = (uint8_t)(__builtin_clzll(rest) + 1);
    if (rank > h->reg[idx]) set_reg(h, idx, rank);
    s->n++;
    return 0;
}

int sluice_hll_merge(const sluice_agg_plan *ag, sluice_agg_slot *into, const sluice_agg_slot *from) {
    (void)ag;
    const hll *f = from->ext;
    if (f) {
        hll *t = into->ext;
        if (!t && !(t = into->ext = hll_new())) return -1;
        for (uint32_t i = 0; i < SLUICE_HLL_M; i++)
            if (f->reg[i] > t->reg[i]) set_reg(t, i, f->reg[i]);
    }
    into->n += from->n;
    return 0;
}

static int64_t estimate(const hll *h) {
    const double m = (double)SLUICE_HLL_M;
    double sum = ldexp((double)h->sum, -HLL_MAX_RANK);
    uint32_t zeros = h->zeros;
    double alpha = 0.7213 / (1.0 + 1.079 / m);
    double e = alpha * m * m / sum;
    /* small range: linear counting over the empty registers is the better
     * estimate (a 64-bit hash needs no large-range correction) */
    if (e <= 2.5 * m && zeros) e = m * log(m / (double)zeros);
    return llround(e);
}

sluice_value sluice_hll_result(const sluice_agg_plan *ag, const sluice_agg_slot *s) {
    (void)ag;
    return sluice_value_bigint(s->ext ? estimate(s->ext) : 0);
}

void sluice_hll_encode(const sluice_agg_plan *ag, sluice_enc *e, const sluice_agg_slot *s) {
    (void)ag;
    const uint8_t *reg = sluice_hll_registers(s);
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
    hll *h = NULL;
    if (form != FORM_EMPTY) {
        if (!(h = s->ext = hll_new())) return -1;
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
            set_reg(h, i, r);
            prev = (long)i;
        }
    } else if (form == FORM_DENSE) {
        for (uint32_t i = 0; i < SLUICE_HLL_M; i++) {
            uint8_t r = sluice_dec_u8(d);
            if (r > HLL_MAX_RANK) return hll_bad(d, s);
            set_reg(h, i, r);
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

size_t sluice_hll_owned_bytes(const sluice_agg_plan *ag, const sluice_agg_slot *s) {
    (void)ag;
    return s->ext ? sizeof(hll) : 0;
}
