/*
 * The aggregate functions (aggregate.h): one descriptor each, in `fns`
 * at the end of this file.
 *
 * Semantics follow SQL as in PostgreSQL and Flink: every function but
 * COUNT(*) ignores NULL arguments, and over no value COUNT is 0 and the
 * others are NULL.  Exceptions: an integer SUM that leaves the BIGINT
 * range is NULL for its group from then on (README "Integer overflow":
 * Flink wraps around and Spark in ANSI mode fails the query; one row must
 * not stop a pipeline, and a wrapped total is a wrong answer that looks
 * right, hence NULL).
 *
 * Snapshot bytes of COUNT, SUM, AVG, MIN and MAX are the ones the engine
 * wrote before this table existed (fixtures/snapshots/aggregates-v2.snap
 * checks it): u8 tag, then the value's bytes for a VARCHAR, else 8 raw
 * bytes of the payload (accumulators under the NULL tag, an overflowed
 * integer SUM under SLOT_TAG_OVERFLOWED), then i64 n.
 */
#include "exec/aggregate.h"
#include "exec/agg_hll.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

/* Snapshot tag of an overflowed integer SUM slot (a normal accumulator is
 * stored under the NULL tag). */
#define SLOT_TAG_OVERFLOWED 0x80

static double num(const sluice_value *v) {
    return v->type == SLUICE_TYPE_DOUBLE ? v->u.d : (double)v->u.i;
}

static int is_numeric(sluice_type_t t) {
    return t == SLUICE_TYPE_BIGINT || t == SLUICE_TYPE_DOUBLE;
}

/* Copy a VARCHAR's bytes into arena (the input batch's are reused). */
static int copy_string(sluice_arena *a, sluice_value *v) {
    if (v->type != SLUICE_TYPE_VARCHAR) return 0;
    char *p = sluice_arena_alloc(a, v->len ? v->len : 1);
    if (!p) return -1;
    if (v->len) memcpy(p, v->u.s, v->len);
    v->u.s = p;
    return 0;
}

/* ---------------- typing ---------------- */

static int type_bigint(sluice_type_t arg, char *why, size_t n) {
    (void)arg, (void)why, (void)n;
    return SLUICE_TYPE_BIGINT;
}

static int need_number(const char *name, sluice_type_t arg, char *why, size_t n) {
    if (is_numeric(arg) || arg == SLUICE_TYPE_NULL) return 0;
    snprintf(why, n, "%s needs a number, got %s", name, sluice_type_name(arg));
    return -1;
}

/* SUM: the argument's type (a NULL literal sums as BIGINT). */
static int type_sum(sluice_type_t arg, char *why, size_t n) {
    if (need_number("SUM", arg, why, n) != 0) return -1;
    return arg == SLUICE_TYPE_NULL ? SLUICE_TYPE_BIGINT : (int)arg;
}

#define TYPE_DOUBLE_OF_NUMBER(fn, NAME)                                    \
    static int fn(sluice_type_t arg, char *why, size_t n) {                \
        return need_number(NAME, arg, why, n) != 0 ? -1 : SLUICE_TYPE_DOUBLE; \
    }
TYPE_DOUBLE_OF_NUMBER(type_avg, "AVG")
TYPE_DOUBLE_OF_NUMBER(type_var_samp, "VAR_SAMP")
TYPE_DOUBLE_OF_NUMBER(type_var_pop, "VAR_POP")
TYPE_DOUBLE_OF_NUMBER(type_stddev_samp, "STDDEV_SAMP")
TYPE_DOUBLE_OF_NUMBER(type_stddev_pop, "STDDEV_POP")

#define TYPE_EXTREME(fn, NAME)                                                      \
    static int fn(sluice_type_t arg, char *why, size_t n) {                         \
        if (arg != SLUICE_TYPE_INTERVAL) return arg;                                \
        snprintf(why, n, "%s of an INTERVAL is not supported", NAME);              \
        return -1;                                                                  \
    }
TYPE_EXTREME(type_min, "MIN")
TYPE_EXTREME(type_max, "MAX")

/* ---------------- the snapshot bytes of COUNT, SUM, AVG, MIN, MAX ---------------- */

static void enc_classic(const sluice_agg_plan *ag, sluice_enc *e, const sluice_agg_slot *s) {
    (void)ag;
    if (s->v.type == SLUICE_TYPE_VARCHAR) {
        sluice_enc_value(e, &s->v);
    } else if (s->v.type == SLUICE_TYPE_NULL && s->v.len == SLUICE_AGG_SUM_OVERFLOWED) {
        sluice_enc_u8(e, SLOT_TAG_OVERFLOWED);
        sluice_enc_i64(e, 0);
    } else {
        sluice_enc_u8(e, s->v.type);
        sluice_enc_i64(e, s->v.u.i);
    }
    sluice_enc_i64(e, s->n);
}

/* Read a slot written by enc_classic; returns its tag (0x80 for an
 * overflowed SUM), or -1 on a short or invalid read. */
static int dec_classic(sluice_dec *d, sluice_agg_slot *s, sluice_arena *arena) {
    size_t save = d->pos;
    uint8_t t = sluice_dec_u8(d);
    if (t == SLUICE_TYPE_VARCHAR) {
        d->pos = save;
        s->v = sluice_dec_value(d, arena);
    } else {
        s->v.type = t == SLOT_TAG_OVERFLOWED ? SLUICE_TYPE_NULL : t;
        s->v.len = t == SLOT_TAG_OVERFLOWED ? SLUICE_AGG_SUM_OVERFLOWED : 0;
        s->v.u.i = sluice_dec_i64(d);
    }
    s->n = sluice_dec_i64(d);
    if (d->bad || s->n < 0) {
        d->bad = 1;
        return -1;
    }
    return t;
}

static int bad(sluice_dec *d) {
    d->bad = 1;
    return -1;
}

/* COUNT: the payload is 0 under the NULL tag. */
static int dec_count(const sluice_agg_plan *ag, sluice_dec *d, sluice_agg_slot *s, sluice_arena *arena) {
    (void)ag;
    int t = dec_classic(d, s, arena);
    if (t < 0) return -1;
    return t == SLUICE_TYPE_NULL && s->v.u.i == 0 ? 0 : bad(d);
}

/* SUM: an accumulator under the NULL tag, or an overflowed integer SUM
 * (payload 0). */
static int dec_sum(const sluice_agg_plan *ag, sluice_dec *d, sluice_agg_slot *s, sluice_arena *arena) {
    int t = dec_classic(d, s, arena);
    if (t < 0) return -1;
    if (t == SLOT_TAG_OVERFLOWED) return ag->result_type != SLUICE_TYPE_DOUBLE && s->v.u.i == 0 ? 0 : bad(d);
    return t == SLUICE_TYPE_NULL ? 0 : bad(d);
}

/* AVG: a DOUBLE sum under the NULL tag. */
static int dec_avg(const sluice_agg_plan *ag, sluice_dec *d, sluice_agg_slot *s, sluice_arena *arena) {
    (void)ag;
    int t = dec_classic(d, s, arena);
    if (t < 0) return -1;
    return t == SLUICE_TYPE_NULL ? 0 : bad(d);
}

/* MIN, MAX: NULL and 0 while n = 0, else a value of the argument's type. */
static int dec_extreme(const sluice_agg_plan *ag, sluice_dec *d, sluice_agg_slot *s, sluice_arena *arena) {
    int t = dec_classic(d, s, arena);
    if (t < 0) return -1;
    sluice_type_t want = ag->arg ? ag->arg->type : ag->result_type;
    int ok;
    if (s->n == 0) ok = t == SLUICE_TYPE_NULL && s->v.u.i == 0;
    else ok = t != SLOT_TAG_OVERFLOWED && s->v.type == want && want != SLUICE_TYPE_NULL &&
              (t != SLUICE_TYPE_BOOLEAN || (s->v.u.i & ~1LL) == 0);
    return ok ? 0 : bad(d);
}

/* ---------------- COUNT(*), COUNT(x) ---------------- */

static void init_zero(const sluice_agg_plan *ag, sluice_agg_slot *s) {
    (void)ag, (void)s; /* the slot is zeroed: n = 0, a NULL v */
}

static int add_count_star(const sluice_agg_plan *ag, sluice_agg_slot *s, const sluice_value *a, sluice_arena *arena) {
    (void)ag, (void)a, (void)arena;
    s->n++;
    return 0;
}

static int retract_count_star(const sluice_agg_plan *ag, sluice_agg_slot *s, const sluice_value *a) {
    (void)ag, (void)a;
    s->n--;
    return 0;
}

static int add_count(const sluice_agg_plan *ag, sluice_agg_slot *s, const sluice_value *a, sluice_arena *arena) {
    (void)ag, (void)arena;
    s->n += a->type != SLUICE_TYPE_NULL;
    return 0;
}

static int retract_count(const sluice_agg_plan *ag, sluice_agg_slot *s, const sluice_value *a) {
    (void)ag;
    s->n -= a->type != SLUICE_TYPE_NULL;
    return 0;
}

static int merge_count(const sluice_agg_plan *ag, sluice_agg_slot *into, const sluice_agg_slot *from) {
    (void)ag;
    into->n += from->n;
    return 0;
}

static sluice_value result_count(const sluice_agg_plan *ag, const sluice_agg_slot *s) {
    (void)ag;
    return sluice_value_bigint(s->n);
}

/* ---------------- SUM, AVG ---------------- */

static void init_accum(const sluice_agg_plan *ag, sluice_agg_slot *s) {
    if (ag->result_type == SLUICE_TYPE_DOUBLE) s->v.u.d = 0.0;
}

/* Add x to an integer SUM; 1 when this overflowed it (NULL from then on). */
static int sum_add_int(sluice_agg_slot *s, int64_t x, int negate) {
    if (s->v.len == SLUICE_AGG_SUM_OVERFLOWED) return 0;
    int over = negate ? __builtin_sub_overflow(s->v.u.i, x, &s->v.u.i) : __builtin_add_overflow(s->v.u.i, x, &s->v.u.i);
    if (!over) return 0;
    s->v.u.i = 0;
    s->v.len = SLUICE_AGG_SUM_OVERFLOWED;
    return 1;
}

static int add_sum(const sluice_agg_plan *ag, sluice_agg_slot *s, const sluice_value *a, sluice_arena *arena) {
    (void)arena;
    if (a->type == SLUICE_TYPE_NULL) return 0;
    s->n++;
    if (ag->result_type == SLUICE_TYPE_DOUBLE) {
        s->v.u.d += num(a);
        return 0;
    }
    return sum_add_int(s, a->u.i, 0);
}

static int retract_sum(const sluice_agg_plan *ag, sluice_agg_slot *s, const sluice_value *a) {
    if (a->type == SLUICE_TYPE_NULL) return 0;
    s->n--;
    if (ag->result_type == SLUICE_TYPE_DOUBLE) {
        s->v.u.d -= num(a);
        return 0;
    }
    return sum_add_int(s, a->u.i, 1);
}

static int merge_sum(const sluice_agg_plan *ag, sluice_agg_slot *into, const sluice_agg_slot *from) {
    int overflowed = 0;
    if (ag->result_type == SLUICE_TYPE_DOUBLE) into->v.u.d += from->v.u.d;
    else if (from->v.len == SLUICE_AGG_SUM_OVERFLOWED) into->v.u.i = 0, into->v.len = SLUICE_AGG_SUM_OVERFLOWED;
    else overflowed = sum_add_int(into, from->v.u.i, 0);
    into->n += from->n;
    return overflowed;
}

static sluice_value result_sum(const sluice_agg_plan *ag, const sluice_agg_slot *s) {
    if (!s->n || s->v.len == SLUICE_AGG_SUM_OVERFLOWED) return sluice_value_null();
    return ag->result_type == SLUICE_TYPE_DOUBLE ? sluice_value_double(s->v.u.d) : sluice_value_bigint(s->v.u.i);
}

/* AVG keeps a DOUBLE sum (no overflow to track) and the count. */
static void init_avg(const sluice_agg_plan *ag, sluice_agg_slot *s) {
    (void)ag;
    s->v.u.d = 0.0;
}

static int add_avg(const sluice_agg_plan *ag, sluice_agg_slot *s, const sluice_value *a, sluice_arena *arena) {
    (void)ag, (void)arena;
    if (a->type == SLUICE_TYPE_NULL) return 0;
    s->v.u.d += num(a);
    s->n++;
    return 0;
}

static int retract_avg(const sluice_agg_plan *ag, sluice_agg_slot *s, const sluice_value *a) {
    (void)ag;
    if (a->type == SLUICE_TYPE_NULL) return 0;
    s->v.u.d -= num(a);
    s->n--;
    return 0;
}

static int merge_avg(const sluice_agg_plan *ag, sluice_agg_slot *into, const sluice_agg_slot *from) {
    (void)ag;
    into->v.u.d += from->v.u.d;
    into->n += from->n;
    return 0;
}

static sluice_value result_avg(const sluice_agg_plan *ag, const sluice_agg_slot *s) {
    (void)ag;
    return s->n ? sluice_value_double(s->v.u.d / (double)s->n) : sluice_value_null();
}

/* ---------------- MIN, MAX ---------------- */

/* Keep a when it is beyond the slot's value in direction dir (-1 MIN,
 * +1 MAX).  No retract: the next extreme is not kept in a fixed slot. */
static int beyond(const sluice_value *a, const sluice_value *b, int dir) {
    int c = sluice_value_compare(a, b);
    return dir < 0 ? c < 0 : c > 0;
}

static int add_extreme(sluice_agg_slot *s, const sluice_value *a, sluice_arena *arena, int dir) {
    if (a->type == SLUICE_TYPE_NULL) return 0;
    if (!s->n || beyond(a, &s->v, dir)) {
        s->v = *a;
        if (copy_string(arena, &s->v) != 0) return -1;
    }
    s->n++;
    return 0;
}

static void merge_extreme(sluice_agg_slot *into, const sluice_agg_slot *from, int dir) {
    if (from->n && (!into->n || beyond(&from->v, &into->v, dir))) into->v = from->v;
    into->n += from->n;
}

static int add_min(const sluice_agg_plan *ag, sluice_agg_slot *s, const sluice_value *a, sluice_arena *arena) {
    (void)ag;
    return add_extreme(s, a, arena, -1);
}

static int add_max(const sluice_agg_plan *ag, sluice_agg_slot *s, const sluice_value *a, sluice_arena *arena) {
    (void)ag;
    return add_extreme(s, a, arena, 1);
}

static int merge_min(const sluice_agg_plan *ag, sluice_agg_slot *into, const sluice_agg_slot *from) {
    (void)ag;
    merge_extreme(into, from, -1);
    return 0;
}

static int merge_max(const sluice_agg_plan *ag, sluice_agg_slot *into, const sluice_agg_slot *from) {
    (void)ag;
    merge_extreme(into, from, 1);
    return 0;
}

static sluice_value result_extreme(const sluice_agg_plan *ag, const sluice_agg_slot *s) {
    (void)ag;
    return s->n ? s->v : sluice_value_null();
}

/* ---------------- VAR_SAMP, VAR_POP, STDDEV_SAMP, STDDEV_POP ---------------- */

/* Welford's online algorithm (Welford 1962; Knuth TAOCP vol. 2, 4.2.2):
 * the running mean and M2, the sum of squared deviations from it, are
 * updated per value without the cancellation of sum(x^2) - sum(x)^2/n.
 * Two states merge with Chan, Golub and LeVeque's formula (1979). */

static int add_welford(const sluice_agg_plan *ag, sluice_agg_slot *s, const sluice_value *a, sluice_arena *arena) {
    (void)ag, (void)arena;
    if (a->type == SLUICE_TYPE_NULL) return 0;
    double x = num(a);
    s->n++;
    double delta = x - s->w.mean;
    s->w.mean += delta / (double)s->n;
    s->w.m2 += delta * (x - s->w.mean);
    return 0;
}

/* Welford run backwards: the state of the values without x. */
static int retract_welford(const sluice_agg_plan *ag, sluice_agg_slot *s, const sluice_value *a) {
    (void)ag;
    if (a->type == SLUICE_TYPE_NULL || s->n <= 0) return 0;
    double x = num(a);
    if (--s->n == 0) {
        s->w.mean = s->w.m2 = 0.0;
        return 0;
    }
    double mean = s->w.mean - (x - s->w.mean) / (double)s->n;
    s->w.m2 -= (x - s->w.mean) * (x - mean);
    s->w.mean = mean;
    if (s->w.m2 < 0) s->w.m2 = 0.0; /* rounding */
    return 0;
}

static int merge_welford(const sluice_agg_plan *ag, sluice_agg_slot *into, const sluice_agg_slot *from) {
    (void)ag;
    if (from->n == 0) return 0;
    if (into->n == 0) {
        *into = *from;
        return 0;
    }
    double na = (double)into->n, nb = (double)from->n, n = na + nb;
    double delta = from->w.mean - into->w.mean;
    into->w.mean += delta * nb / n;
    into->w.m2 += from->w.m2 + delta * delta * na * nb / n;
    into->n += from->n;
    return 0;
}

/* M2 / (n - ddof), NULL for n <= ddof (the sample forms need 2 values). */
static double variance(const sluice_agg_slot *s, int64_t ddof) {
    return s->w.m2 / (double)(s->n - ddof);
}

static sluice_value result_var_samp(const sluice_agg_plan *ag, const sluice_agg_slot *s) {
    (void)ag;
    return s->n > 1 ? sluice_value_double(variance(s, 1)) : sluice_value_null();
}

static sluice_value result_var_pop(const sluice_agg_plan *ag, const sluice_agg_slot *s) {
    (void)ag;
    return s->n > 0 ? sluice_value_double(variance(s, 0)) : sluice_value_null();
}

static sluice_value result_stddev_samp(const sluice_agg_plan *ag, const sluice_agg_slot *s) {
    (void)ag;
    return s->n > 1 ? sluice_value_double(sqrt(variance(s, 1))) : sluice_value_null();
}

static sluice_value result_stddev_pop(const sluice_agg_plan *ag, const sluice_agg_slot *s) {
    (void)ag;
    return s->n > 0 ? sluice_value_double(sqrt(variance(s, 0))) : sluice_value_null();
}

/* u8 NULL tag, f64 mean, f64 m2, i64 n. */
static void enc_welford(const sluice_agg_plan *ag, sluice_enc *e, const sluice_agg_slot *s) {
    (void)ag;
    sluice_enc_u8(e, SLUICE_TYPE_NULL);
    sluice_enc_f64(e, s->w.mean);
    sluice_enc_f64(e, s->w.m2);
    sluice_enc_i64(e, s->n);
}

static int dec_welford(const sluice_agg_plan *ag, sluice_dec *d, sluice_agg_slot *s, sluice_arena *arena) {
    (void)ag, (void)arena;
    uint8_t t = sluice_dec_u8(d);
    s->w.mean = sluice_dec_f64(d);
    s->w.m2 = sluice_dec_f64(d);
    s->n = sluice_dec_i64(d);
    if (d->bad || t != SLUICE_TYPE_NULL || s->n < 0 || s->w.m2 < 0 ||
        (s->n == 0 && (s->w.mean != 0.0 || s->w.m2 != 0.0)))
        return bad(d);
    return 0;
}

/* ---------------- the table ---------------- */

#define WELFORD(NAME, type_fn, result_fn) \
    {NAME, 0, 0, type_fn, init_zero, add_welford, retract_welford, merge_welford, result_fn, enc_welford, dec_welford, NULL, NULL}

static const sluice_agg_fn fns[] = {
    {"COUNT", 1, 0, type_bigint, init_zero, add_count_star, retract_count_star, merge_count, result_count,
     enc_classic, dec_count, NULL, NULL},
    {"COUNT", 0, 0, type_bigint, init_zero, add_count, retract_count, merge_count, result_count, enc_classic,
     dec_count, NULL, NULL},
    {"SUM", 0, 0, type_sum, init_accum, add_sum, retract_sum, merge_sum, result_sum, enc_classic, dec_sum, NULL, NULL},
    {"AVG", 0, 0, type_avg, init_avg, add_avg, retract_avg, merge_avg, result_avg, enc_classic, dec_avg, NULL, NULL},
    {"MIN", 0, 1, type_min, init_zero, add_min, NULL, merge_min, result_extreme, enc_classic, dec_extreme, NULL, NULL},
    {"MAX", 0, 1, type_max, init_zero, add_max, NULL, merge_max, result_extreme, enc_classic, dec_extreme, NULL, NULL},
    WELFORD("VAR_SAMP", type_var_samp, result_var_samp),
    WELFORD("VAR_POP", type_var_pop, result_var_pop),
    WELFORD("STDDEV_SAMP", type_stddev_samp, result_stddev_samp),
    WELFORD("STDDEV_POP", type_stddev_pop, result_stddev_pop),
    /* exec/agg_hll.c: HyperLogLog, no retract */
    {"APPROX_COUNT_DISTINCT", 0, 0, sluice_hll_type, sluice_hll_init, sluice_hll_add, NULL, sluice_hll_merge,
     sluice_hll_result, sluice_hll_encode, sluice_hll_decode, sluice_hll_destroy, sluice_hll_owned_bytes},
};
enum { NFNS = sizeof fns / sizeof fns[0] };

/* Other names of the same functions (Calcite's and Flink's: STDDEV is the
 * sample standard deviation, VARIANCE the sample variance). */
static const struct {
    const char *alias, *name;
} aliases[] = {{"STDDEV", "STDDEV_SAMP"}, {"VARIANCE", "VAR_SAMP"}};

static const char *canonical(const char *name) {
    for (size_t i = 0; i < sizeof aliases / sizeof aliases[0]; i++)
        if (strcmp(aliases[i].alias, name) == 0) return aliases[i].name;
    return name;
}

const sluice_agg_fn *sluice_agg_find(const char *name, int star) {
    name = canonical(name);
    for (size_t i = 0; i < NFNS; i++)
        if (fns[i].star == !!star && strcmp(fns[i].name, name) == 0) return &fns[i];
    return NULL;
}

int sluice_agg_is_name(const char *name) {
    name = canonical(name);
    for (size_t i = 0; i < NFNS; i++)
        if (strcmp(fns[i].name, name) == 0) return 1;
    return 0;
}

void sluice_agg_names(char *buf, size_t size) {
    size_t len = 0;
    if (size) buf[0] = '\0';
    for (size_t i = 0; i < NFNS; i++) {
        if (i > 0 && strcmp(fns[i - 1].name, fns[i].name) == 0) continue; /* COUNT(*), COUNT(x) */
        int n = snprintf(buf + len, size - len, "%s%s", len ? " " : "", fns[i].name);
        if (n < 0 || (size_t)n >= size - len) return;
        len += (size_t)n;
    }
}
