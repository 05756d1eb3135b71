/*
 * Aggregates over a multiset of their argument's values (exec/aggregate.h:
 * sluice_agg_distinct, sluice_agg_retractable_extreme).  A slot's ext is a
 * value -> count map (open addressing, linear probing, backward-shift
 * deletion), allocated at the first non-NULL value; slot n is the number
 * of values in the multiset.  VARCHAR values are copied into memory the
 * map owns, so that a value leaves with its last copy.
 *
 * DISTINCT keeps the slot of ag->inner (COUNT, SUM, AVG, ...) beside the
 * map: a value reaches inner's add when its count goes 0 -> 1 and inner's
 * retract when it goes 1 -> 0, so inner sees each distinct value once.
 * The retractable MIN/MAX keeps the extreme of the map's values; when the
 * extreme's last copy leaves, the next one is found by a scan of the map.
 *
 * Snapshot bytes: u8 0 (no map) or 1, then u32 k and k pairs (value, i64
 * count > 0); DISTINCT then inner's slot as inner encodes it; then i64 n.
 * Restore checks the values' type, that no value repeats and that the
 * counts add up to n.
 */
#include <stdlib.h>
#include <string.h>

#include "exec/aggregate.h"

typedef struct vm_entry {
    sluice_value v;
    int64_t count;                 /* 0: an empty table slot */
} vm_entry;

typedef struct vmap {
    vm_entry *e;
    size_t n, cap;                 /* live entries; slots (a power of two) */
    size_t str_bytes;              /* bytes of the VARCHAR copies */
    int dir;                       /* extreme: -1 MIN, +1 MAX; 0 DISTINCT */
    sluice_value best;             /* extreme: the current one (a map string) */
    sluice_agg_slot inner;         /* DISTINCT: inner's slot */
} vmap;

#define VM_SEED 0x6d756c7469736574ULL

static int is_max(const sluice_agg_plan *ag) {
    return ag->inner && strcmp(ag->inner->name, "MAX") == 0;
}

static vmap *vm_new(const sluice_agg_plan *ag, int extreme) {
    vmap *m = calloc(1, sizeof *m);
    if (!m) return NULL;
    m->cap = 8;
    m->e = calloc(m->cap, sizeof *m->e);
    if (!m->e) {
        free(m);
        return NULL;
    }
    m->dir = extreme ? (is_max(ag) ? 1 : -1) : 0;
    if (!extreme) ag->inner->init(ag, &m->inner);
    return m;
}

static void vm_free_value(vmap *m, sluice_value *v) {
    if (v->type != SLUICE_TYPE_VARCHAR) return;
    m->str_bytes -= v->len ? v->len : 1;
    free((char *)v->u.s);
}

static void vm_free(const sluice_agg_plan *ag, vmap *m) {
    if (!m) return;
    for (size_t i = 0; i < m->cap; i++)
        if (m->e[i].count) vm_free_value(m, &m->e[i].v);
    if (!m->dir && ag->inner->destroy) ag->inner->destroy(ag, &m->inner);
    free(m->e);
    free(m);
}

/* The slot holding v, or the empty slot where it would go. */
static size_t vm_find(const vmap *m, const sluice_value *v) {
    size_t mask = m->cap - 1, h = sluice_value_hash(v, VM_SEED) & mask;
    while (m->e[h].count && !sluice_value_equal(&m->e[h].v, v)) h = (h + 1) & mask;
    return h;
}

static int vm_grow(vmap *m) {
    size_t nc = m->cap * 2;
    vm_entry *ne = calloc(nc, sizeof *ne), *old = m->e;
    if (!ne) return -1;
    size_t oc = m->cap;
    m->e = ne;
    m->cap = nc;
    for (size_t i = 0; i < oc; i++)
        if (old[i].count) m->e[vm_find(m, &old[i].v)] = old[i];
    free(old);
    return 0;
}

/* Remove slot i (backward-shift deletion keeps every probe chain whole). */
static void vm_remove(vmap *m, size_t i) {
    size_t mask = m->cap - 1;
    vm_free_value(m, &m->e[i].v);
    m->e[i].count = 0;
    m->n--;
    for (size_t j = (i + 1) & mask; m->e[j].count; j = (j + 1) & mask) {
        size_t home = sluice_value_hash(&m->e[j].v, VM_SEED) & mask;
        /* j's entry may move to i when i lies cyclically in [home, j) */
        if (((j - home) & mask) >= ((j - i) & mask)) {
            m->e[i] = m->e[j];
            m->e[j].count = 0;
            i = j;
        }
    }
}

static int beyond(const sluice_value *a, const sluice_value *b, int dir) {
    int c = sluice_value_compare(a, b);
    return dir < 0 ? c < 0 : c > 0;
}

static void vm_rescan(vmap *m) {
    m->best = sluice_value_null();
    for (size_t i = 0; i < m->cap; i++)
        if (m->e[i].count && (m->best.type == SLUICE_TYPE_NULL || beyond(&m->e[i].v, &m->best, m->dir)))
            m->best = m->e[i].v;
}

/* Add `count` copies of a (not NULL).  *fresh: a was not in the map.
 * Returns the slot, or -1 out of memory. */
static long vm_add(vmap *m, const sluice_value *a, int64_t count, int *fresh) {
    if ((m->n + 1) * 2 > m->cap && vm_grow(m) != 0) return -1;
    size_t i = vm_find(m, a);
    *fresh = m->e[i].count == 0;
    if (*fresh) {
        sluice_value v = *a;
        if (v.type == SLUICE_TYPE_VARCHAR) {
            char *p = malloc(v.len ? v.len : 1);
            if (!p) return -1;
            if (v.len) memcpy(p, a->u.s, v.len);
            v.u.s = p;
            m->str_bytes += v.len ? v.len : 1;
        }
        m->e[i].v = v;
        m->n++;
        if (m->dir && (m->n == 1 || beyond(&v, &m->best, m->dir))) m->best = v;
    }
    m->e[i].count += count;
    return (long)i;
}

static int ms_init_map(const sluice_agg_plan *ag, sluice_agg_slot *s, int extreme) {
    if (s->ext) return 0;
    return (s->ext = vm_new(ag, extreme)) ? 0 : -1;
}

/* ---------------- DISTINCT ---------------- */

static int type_none(sluice_type_t arg, char *why, size_t n) {
    (void)arg, (void)why, (void)n;
    return -1; /* never looked up by name: the planner types the inner function */
}

static void ms_init(const sluice_agg_plan *ag, sluice_agg_slot *s) {
    (void)ag, (void)s; /* zeroed: no map yet */
}

static int add_distinct(const sluice_agg_plan *ag, sluice_agg_slot *s, const sluice_value *a, sluice_arena *arena) {
    if (a->type == SLUICE_TYPE_NULL) return 0;
    if (ms_init_map(ag, s, 0) != 0) return -1;
    vmap *m = s->ext;
    int fresh;
    long i = vm_add(m, a, 1, &fresh);
    if (i < 0) return -1;
    s->n++;
    return fresh ? ag->inner->add(ag, &m->inner, &m->e[i].v, arena) : 0;
}

static int retract_distinct(const sluice_agg_plan *ag, sluice_agg_slot *s, const sluice_value *a) {
    vmap *m = s->ext;
    if (a->type == SLUICE_TYPE_NULL || !m) return 0;
    size_t i = vm_find(m, a);
    if (!m->e[i].count) return 0; /* never added: nothing to take back */
    s->n--;
    if (--m->e[i].count) return 0;
    int rc = ag->inner->retract(ag, &m->inner, &m->e[i].v);
    vm_remove(m, i);
    return rc;
}

static int merge_distinct(const sluice_agg_plan *ag, sluice_agg_slot *into, const sluice_agg_slot *from) {
    const vmap *f = from->ext;
    if (!f) return 0;
    if (ms_init_map(ag, into, 0) != 0) return -1;
    vmap *m = into->ext;
    int rc = 0;
    for (size_t j = 0; j < f->cap; j++) {
        if (!f->e[j].count) continue;
        int fresh;
        long i = vm_add(m, &f->e[j].v, f->e[j].count, &fresh);
        if (i < 0) return -1;
        /* the map owns the string: inner keeps none (COUNT, SUM, AVG, ...) */
        if (fresh) {
            int r = ag->inner->add(ag, &m->inner, &m->e[i].v, NULL);
            if (r < 0) return -1;
            rc |= r;
        }
    }
    into->n += from->n;
    return rc;
}

static sluice_value result_distinct(const sluice_agg_plan *ag, const sluice_agg_slot *s) {
    const vmap *m = s->ext;
    if (m) return ag->inner->result(ag, &m->inner);
    sluice_agg_slot empty;
    memset(&empty, 0, sizeof empty);
    ag->inner->init(ag, &empty);
    return ag->inner->result(ag, &empty);
}

/* ---------------- MIN, MAX with retraction ---------------- */

static int add_extreme(const sluice_agg_plan *ag, sluice_agg_slot *s, const sluice_value *a, sluice_arena *arena) {
    (void)arena;
    if (a->type == SLUICE_TYPE_NULL) return 0;
    if (ms_init_map(ag, s, 1) != 0) return -1;
    int fresh;
    if (vm_add(s->ext, a, 1, &fresh) < 0) return -1;
    s->n++;
    return 0;
}

static int retract_extreme(const sluice_agg_plan *ag, sluice_agg_slot *s, const sluice_value *a) {
    (void)ag;
    vmap *m = s->ext;
    if (a->type == SLUICE_TYPE_NULL || !m) return 0;
    size_t i = vm_find(m, a);
    if (!m->e[i].count) return 0;
    s->n--;
    if (--m->e[i].count) return 0;
    int was_best = sluice_value_equal(&m->e[i].v, &m->best);
    vm_remove(m, i);
    if (was_best) vm_rescan(m);
    return 0;
}

static int merge_extreme(const sluice_agg_plan *ag, sluice_agg_slot *into, const sluice_agg_slot *from) {
    const vmap *f = from->ext;
    if (!f) return 0;
    if (ms_init_map(ag, into, 1) != 0) return -1;
    for (size_t j = 0; j < f->cap; j++) {
        int fresh;
        if (f->e[j].count && vm_add(into->ext, &f->e[j].v, f->e[j].count, &fresh) < 0) return -1;
    }
    into->n += from->n;
    return 0;
}

static sluice_value result_extreme(const sluice_agg_plan *ag, const sluice_agg_slot *s) {
    (void)ag;
    const vmap *m = s->ext;
    return m && m->n ? m->best : sluice_value_null();
}

/* ---------------- snapshot, destroy ---------------- */

static void ms_encode(const sluice_agg_plan *ag, sluice_enc *e, const sluice_agg_slot *s) {
    const vmap *m = s->ext;
    sluice_enc_u8(e, m ? 1 : 0);
    if (m) {
        sluice_enc_u32(e, (uint32_t)m->n);
        for (size_t i = 0; i < m->cap; i++) {
            if (!m->e[i].count) continue;
            sluice_enc_value(e, &m->e[i].v);
            sluice_enc_i64(e, m->e[i].count);
        }
        if (!m->dir) ag->inner->encode(ag, e, &m->inner);
    }
    sluice_enc_i64(e, s->n);
}

static void ms_destroy(const sluice_agg_plan *ag, sluice_agg_slot *s) {
    vm_free(ag, s->ext);
    s->ext = NULL;
    s->n = 0;
}

static size_t ms_owned_bytes(const sluice_agg_plan *ag, const sluice_agg_slot *s) {
    (void)ag;
    const vmap *m = s->ext;
    return m ? sizeof *m + m->cap * sizeof *m->e + m->str_bytes : 0;
}

static int ms_bad(const sluice_agg_plan *ag, sluice_dec *d, sluice_agg_slot *s) {
    d->bad = 1;
    ms_destroy(ag, s);
    return -1;
}

static int ms_decode_as(const sluice_agg_plan *ag, sluice_dec *d, sluice_agg_slot *s, sluice_arena *arena,
                        int extreme) {
    s->ext = NULL;
    uint8_t has = sluice_dec_u8(d);
    if (d->bad || has > 1) return ms_bad(ag, d, s);
    int64_t total = 0;
    if (has) {
        uint32_t k = sluice_dec_u32(d);
        /* a value takes at least 9 bytes with its count */
        if (d->bad || k > (d->len - d->pos) / 9) return ms_bad(ag, d, s);
        if (ms_init_map(ag, s, extreme) != 0) return -1;
        vmap *m = s->ext;
        for (uint32_t j = 0; j < k; j++) {
            sluice_value v = sluice_dec_value(d, arena);
            int64_t c = sluice_dec_i64(d);
            if (d->bad || v.type != ag->arg->type || c <= 0 || c > INT64_MAX - total) return ms_bad(ag, d, s);
            int fresh;
            if (vm_add(m, &v, c, &fresh) < 0) return -1;
            if (!fresh) return ms_bad(ag, d, s);
            total += c;
        }
        if (!extreme && ag->inner->decode(ag, d, &m->inner, arena) != 0) return ms_bad(ag, d, s);
    }
    s->n = sluice_dec_i64(d);
    if (d->bad || s->n != total) return ms_bad(ag, d, s);
    return 0;
}

static int dec_distinct(const sluice_agg_plan *ag, sluice_dec *d, sluice_agg_slot *s, sluice_arena *arena) {
    return ms_decode_as(ag, d, s, arena, 0);
}

static int dec_extreme(const sluice_agg_plan *ag, sluice_dec *d, sluice_agg_slot *s, sluice_arena *arena) {
    return ms_decode_as(ag, d, s, arena, 1);
}

const sluice_agg_fn sluice_agg_distinct = {"DISTINCT", 0, 0, type_none, ms_init, add_distinct, retract_distinct,
                                           merge_distinct, result_distinct, ms_encode, dec_distinct, ms_destroy,
                                           ms_owned_bytes};

const sluice_agg_fn sluice_agg_retractable_extreme = {"MIN/MAX", 0, 0, type_none, ms_init, add_extreme,
                                                      retract_extreme, merge_extreme, result_extreme, ms_encode,
                                                      dec_extreme, ms_destroy, ms_owned_bytes};
