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

static size_t chunk_bytes(uint32_t cap) {
    return sizeof(sluice_rank_chunk) + cap * sizeof(sluice_rank_row *);
}

static void part_free(sluice_rank_table *t, sluice_rank_part *p) {
    for (size_t c = 0; c < p->nchunks; c++) {
        sluice_rank_chunk *ch = p->chunks[c];
        for (uint32_t i = 0; i < ch->n; i++) sluice_rank_row_free(t, ch->rows[i]);
        t->bytes -= chunk_bytes(ch->cap);
        free(ch);
    }
    t->bytes -= p->cap_chunks * sizeof *p->chunks + p->bytes;
    t->nparts--;
    free(p->chunks);
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

static const sluice_value *order_of(const sluice_rank_table *t, const sluice_rank_row *r) {
    return sluice_rank_row_order(r, t->rp->width);
}

/* 1 when row r goes after order: greater (upper) or not less (lower). */
static int goes_after(const sluice_rank_table *t, const sluice_rank_row *r, const sluice_value *order, int upper) {
    int c = sluice_rank_order_cmp(t->rp, order_of(t, r), order);
    return upper ? c > 0 : c >= 0;
}

sluice_rank_pos sluice_rank_part_search(const sluice_rank_table *t, const sluice_rank_part *p,
                                        const sluice_value *order, int upper) {
    /* the first chunk whose last row goes after order */
    size_t lo = 0, hi = p->nchunks;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        const sluice_rank_chunk *ch = p->chunks[mid];
        if (goes_after(t, ch->rows[ch->n - 1], order, upper))
            hi = mid;
        else
            lo = mid + 1;
    }
    sluice_rank_pos pos = {lo, 0};
    if (lo == p->nchunks) return pos;
    const sluice_rank_chunk *ch = p->chunks[lo];
    size_t a = 0, b = ch->n - 1; /* the last goes after */
    while (a < b) {
        size_t mid = a + (b - a) / 2;
        if (goes_after(t, ch->rows[mid], order, upper))
            b = mid;
        else
            a = mid + 1;
    }
    pos.i = a;
    return pos;
}

size_t sluice_rank_index(const sluice_rank_part *p, sluice_rank_pos pos) {
    size_t idx = pos.i;
    for (size_t c = 0; c < pos.c && c < p->nchunks; c++) idx += p->chunks[c]->n;
    return idx;
}

sluice_rank_pos sluice_rank_last(const sluice_rank_part *p) {
    sluice_rank_pos pos = {p->nchunks - 1, p->chunks[p->nchunks - 1]->n - 1};
    return pos;
}

/* Make room for one more chunk in the directory of p; 0 or -1. */
static int reserve_chunks(sluice_rank_table *t, sluice_rank_part *p) {
    if (p->nchunks < p->cap_chunks) return 0;
    size_t nc = p->cap_chunks ? p->cap_chunks * 2 : 1;
    sluice_rank_chunk **d = realloc(p->chunks, nc * sizeof *d);
    if (!d) return -1;
    t->bytes += (nc - p->cap_chunks) * sizeof *d;
    p->chunks = d;
    p->cap_chunks = nc;
    return 0;
}

static sluice_rank_chunk *chunk_new(sluice_rank_table *t, uint32_t cap) {
    sluice_rank_chunk *ch = malloc(chunk_bytes(cap));
    if (!ch) return NULL;
    ch->n = 0;
    ch->cap = cap;
    t->bytes += chunk_bytes(cap);
    return ch;
}

int sluice_rank_part_insert(sluice_rank_table *t, sluice_rank_part *p, sluice_rank_pos pos, sluice_rank_row *r,
                            sluice_rank_pos *at) {
    if (p->nchunks == 0) {
        if (reserve_chunks(t, p) != 0) return -1;
        sluice_rank_chunk *ch = chunk_new(t, 1);
        if (!ch) return -1;
        p->chunks[p->nchunks++] = ch;
        pos.c = pos.i = 0;
    } else if (pos.c >= p->nchunks) {
        /* the end: after the last row of the last chunk */
        pos.c = p->nchunks - 1;
        pos.i = p->chunks[pos.c]->n;
    }
    sluice_rank_chunk *ch = p->chunks[pos.c];
    if (ch->n == ch->cap && ch->cap < SLUICE_RANK_CHUNK) {
        uint32_t nc = ch->cap * 2 < SLUICE_RANK_CHUNK ? ch->cap * 2 : SLUICE_RANK_CHUNK;
        sluice_rank_chunk *g = realloc(ch, chunk_bytes(nc));
        if (!g) return -1;
        t->bytes += chunk_bytes(nc) - chunk_bytes(g->cap);
        g->cap = nc;
        p->chunks[pos.c] = ch = g;
    }
    if (ch->n == ch->cap) {
        /* full: the upper half moves to a new chunk after it */
        if (reserve_chunks(t, p) != 0) return -1;
        sluice_rank_chunk *hi = chunk_new(t, SLUICE_RANK_CHUNK);
        if (!hi) return -1;
        uint32_t half = ch->n / 2;
        hi->n = ch->n - half;
        memcpy(hi->rows, ch->rows + half, hi->n * sizeof *hi->rows);
        ch->n = half;
        memmove(p->chunks + pos.c + 2, p->chunks + pos.c + 1, (p->nchunks - pos.c - 1) * sizeof *p->chunks);
        p->chunks[pos.c + 1] = hi;
        p->nchunks++;
        if (pos.i > half) {
            pos.c++;
            pos.i -= half;
            ch = hi;
        }
    }
    memmove(ch->rows + pos.i + 1, ch->rows + pos.i, (ch->n - pos.i) * sizeof *ch->rows);
    ch->rows[pos.i] = r;
    ch->n++;
    p->n++;
    if (at) *at = pos;
    return 0;
}

sluice_rank_row *sluice_rank_part_remove(sluice_rank_table *t, sluice_rank_part *p, sluice_rank_pos pos,
                                         sluice_rank_pos *after) {
    sluice_rank_chunk *ch = p->chunks[pos.c];
    sluice_rank_row *r = ch->rows[pos.i];
    memmove(ch->rows + pos.i, ch->rows + pos.i + 1, (ch->n - pos.i - 1) * sizeof *ch->rows);
    ch->n--;
    p->n--;
    if (ch->n == 0) {
        /* no empty chunks: the search reads every chunk's last row */
        t->bytes -= chunk_bytes(ch->cap);
        free(ch);
        memmove(p->chunks + pos.c, p->chunks + pos.c + 1, (p->nchunks - pos.c - 1) * sizeof *p->chunks);
        p->nchunks--;
        pos.i = 0;
    } else if (pos.i == ch->n) {
        pos.c++;
        pos.i = 0;
    }
    if (after) *after = pos;
    return r;
}
