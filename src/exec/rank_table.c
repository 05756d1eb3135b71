/*
 * The rank operator's partitions and sorted rows (exec/rank_table.h).
 */
#include <stdlib.h>
#include <string.h>

#include "exec/rank_table.h"

/* ---------------- values copied into one block ---------------- */

#define ALIGN16(x) (((x) + 15u) & ~(size_t)15u)

/* Bytes that n values point to once copied: array blocks (aligned) and
 * string bytes. */
static size_t deep_bytes(const sluice_value *v, size_t n) {
    size_t b = 0;
    for (size_t i = 0; i < n; i++) {
        if (v[i].type == SLUICE_TYPE_VARCHAR) {
            b += v[i].len;
        } else if (v[i].type == SLUICE_TYPE_ARRAY && v[i].u.a) {
            const sluice_array *a = v[i].u.a;
            b += ALIGN16(sizeof(sluice_array) + a->count * sizeof(sluice_value)) + 16;
            for (uint32_t e = 0; e < a->count; e++)
                if (a->values[e].type == SLUICE_TYPE_VARCHAR) b += a->values[e].len;
        }
    }
    return b;
}

/* Copy n values from src to dst, their bytes to *mem (advanced). */
static void deep_copy(sluice_value *dst, const sluice_value *src, size_t n, char **mem) {
    /* arrays first (aligned), then the strings of everything */
    for (size_t i = 0; i < n; i++) {
        dst[i] = src[i];
        if (src[i].type != SLUICE_TYPE_ARRAY || !src[i].u.a) continue;
        const sluice_array *a = src[i].u.a;
        char *p = (char *)(((uintptr_t)*mem + 15u) & ~(uintptr_t)15u);
        sluice_array *na = (sluice_array *)p;
        na->elem_type = a->elem_type;
        na->count = a->count;
        na->values = (sluice_value *)(p + ALIGN16(sizeof(sluice_array)));
        memcpy(na->values, a->values, a->count * sizeof(sluice_value));
        *mem = p + ALIGN16(sizeof(sluice_array) + a->count * sizeof(sluice_value));
        dst[i].u.a = na;
    }
    for (size_t i = 0; i < n; i++) {
        if (dst[i].type == SLUICE_TYPE_VARCHAR) {
            if (dst[i].len) memcpy(*mem, src[i].u.s, dst[i].len);
            dst[i].u.s = *mem;
            *mem += dst[i].len;
        } else if (dst[i].type == SLUICE_TYPE_ARRAY && dst[i].u.a) {
            sluice_array *na = (sluice_array *)dst[i].u.a;
            for (uint32_t e = 0; e < na->count; e++) {
                sluice_value *ev = &na->values[e];
                if (ev->type != SLUICE_TYPE_VARCHAR) continue;
                if (ev->len) memcpy(*mem, ev->u.s, ev->len);
                ev->u.s = *mem;
                *mem += ev->len;
            }
        }
    }
}

/* ---------------- table ---------------- */

void sluice_rank_table_init(sluice_rank_table *t, const sluice_rank_plan *rp) {
    memset(t, 0, sizeof *t);
    t->rp = rp;
}

static void part_free(sluice_rank_table *t, sluice_rank_part *p) {
    for (size_t i = 0; i < p->n; i++) sluice_rank_row_free(t, p->rows[i]);
    t->bytes -= p->cap * sizeof *p->rows + p->bytes;
    t->nparts--;
    free(p->rows);
    free(p);
}

void sluice_rank_table_clear(sluice_rank_table *t) {
    for (size_t b = 0; b < t->nbuckets; b++) {
        sluice_rank_part *p = t->buckets[b];
        while (p) {
            sluice_rank_part *next = p->next;
            part_free(t, p);
            p = next;
        }
        t->buckets[b] = NULL;
    }
}

void sluice_rank_table_free(sluice_rank_table *t) {
    sluice_rank_table_clear(t);
    free(t->buckets);
    t->buckets = NULL;
    t->nbuckets = 0;
    t->bytes = 0;
}

static int keys_equal(const sluice_value *a, const sluice_value *b, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (!sluice_value_equal(&a[i], &b[i])) return 0;
    return 1;
}

sluice_rank_part *sluice_rank_part_find(const sluice_rank_table *t, const sluice_value *keys, uint64_t hash) {
    if (!t->nbuckets) return NULL;
    for (sluice_rank_part *p = t->buckets[hash & (t->nbuckets - 1)]; p; p = p->next)
        if (p->hash == hash && keys_equal(p->keys, keys, t->rp->npartition)) return p;
    return NULL;
}

/* Double the buckets (load factor 1); 0 or -1. */
static int grow(sluice_rank_table *t) {
    size_t nb = t->nbuckets ? t->nbuckets * 2 : 16;
    sluice_rank_part **b = calloc(nb, sizeof *b);
    if (!b) return -1;
    for (size_t i = 0; i < t->nbuckets; i++) {
        sluice_rank_part *p = t->buckets[i];
        while (p) {
            sluice_rank_part *next = p->next;
            p->next = b[p->hash & (nb - 1)];
            b[p->hash & (nb - 1)] = p;
            p = next;
        }
    }
    free(t->buckets);
    t->bytes += (nb - t->nbuckets) * sizeof *b;
    t->buckets = b;
    t->nbuckets = nb;
    return 0;
}

sluice_rank_part *sluice_rank_part_get(sluice_rank_table *t, const sluice_value *keys, uint64_t hash) {
    sluice_rank_part *p = sluice_rank_part_find(t, keys, hash);
    if (p) return p;
    if (t->nparts >= t->nbuckets && grow(t) != 0) return NULL;
    size_t nk = t->rp->npartition;
    size_t bytes = sizeof *p + nk * sizeof(sluice_value) + deep_bytes(keys, nk);
    p = malloc(bytes);
    if (!p) return NULL;
    memset(p, 0, sizeof *p);
    char *mem = (char *)(p->keys + nk);
    deep_copy(p->keys, keys, nk, &mem);
    p->hash = hash;
    p->bytes = bytes;
    p->next = t->buckets[hash & (t->nbuckets - 1)];
    t->buckets[hash & (t->nbuckets - 1)] = p;
    t->nparts++;
    t->bytes += bytes;
    return p;
}

void sluice_rank_part_drop(sluice_rank_table *t, sluice_rank_part *p) {
    sluice_rank_part **pp = &t->buckets[p->hash & (t->nbuckets - 1)];
    while (*pp != p) pp = &(*pp)->next;
    *pp = p->next;
    part_free(t, p);
}

/* ---------------- rows ---------------- */

sluice_rank_row *sluice_rank_row_new(sluice_rank_table *t, const sluice_value *row, const sluice_value *order) {
    size_t w = t->rp->width, no = t->rp->norder;
    size_t bytes = sizeof(sluice_rank_row) + (w + no) * sizeof(sluice_value) + deep_bytes(row, w) +
                   deep_bytes(order, no);
    sluice_rank_row *r = malloc(bytes);
    if (!r) return NULL;
    r->out_rank = 0;
    r->mark = 0;
    r->bytes = bytes;
    char *mem = (char *)(r->v + w + no);
    deep_copy(r->v, row, w, &mem);
    deep_copy(r->v + w, order, no, &mem);
    t->nrows++;
    t->bytes += bytes;
    return r;
}

void sluice_rank_row_free(sluice_rank_table *t, sluice_rank_row *r) {
    if (!r) return;
    t->nrows--;
    t->bytes -= r->bytes;
    free(r);
}

int sluice_rank_order_cmp(const sluice_rank_plan *rp, const sluice_value *a, const sluice_value *b) {
    for (size_t k = 0; k < rp->norder; k++) {
        /* sluice_value_compare puts NULL first: negated, NULL is last in DESC */
        int c = sluice_value_compare(&a[k], &b[k]);
        if (c) return rp->order_desc && rp->order_desc[k] ? -c : c;
    }
    return 0;
}

size_t sluice_rank_part_search(const sluice_rank_table *t, const sluice_rank_part *p, const sluice_value *order,
                               int upper) {
    size_t lo = 0, hi = p->n, w = t->rp->width;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = sluice_rank_order_cmp(t->rp, sluice_rank_row_order(p->rows[mid], w), order);
        if (upper ? c <= 0 : c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

int sluice_rank_part_insert(sluice_rank_table *t, sluice_rank_part *p, size_t pos, sluice_rank_row *r) {
    if (p->n == p->cap) {
        size_t nc = p->cap ? p->cap * 2 : 4;
        sluice_rank_row **nr = realloc(p->rows, nc * sizeof *nr);
        if (!nr) return -1;
        t->bytes += (nc - p->cap) * sizeof *nr;
        p->rows = nr;
        p->cap = nc;
    }
    memmove(p->rows + pos + 1, p->rows + pos, (p->n - pos) * sizeof *p->rows);
    p->rows[pos] = r;
    p->n++;
    return 0;
}

sluice_rank_row *sluice_rank_part_remove(sluice_rank_table *t, sluice_rank_part *p, size_t pos) {
    (void)t;
    sluice_rank_row *r = p->rows[pos];
    memmove(p->rows + pos, p->rows + pos + 1, (p->n - pos - 1) * sizeof *p->rows);
    p->n--;
    return r;
}
