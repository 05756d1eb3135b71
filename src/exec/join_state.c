/*
 * The state of one side of a join (exec/join_state.h): rows with counts,
 * grouped by key in a chained hash table, each row and each group one
 * allocation that carries the copies of its strings.
 */
#include <stdlib.h>
#include <string.h>

#include "exec/join_state.h"

#define ALIGN8(n) (((n) + 7u) & ~(size_t)7u)

uint64_t sluice_join_keys_hash(const sluice_value *keys, size_t n) {
    uint64_t hash = 0x51ed270b27eb0bULL;
    for (size_t k = 0; k < n; k++) hash = sluice_value_hash(&keys[k], hash);
    return hash;
}

uint64_t sluice_join_row_hash(const sluice_value *row, size_t width) {
    return sluice_join_keys_hash(row, width);
}

/* Bytes the strings of v take once copied behind a row (8-aligned). */
static size_t deep_bytes(const sluice_value *v) {
    if (v->type == SLUICE_TYPE_VARCHAR) return ALIGN8(v->len);
    if (v->type != SLUICE_TYPE_ARRAY) return 0;
    size_t n = sizeof(sluice_array) + (size_t)v->u.a->count * sizeof(sluice_value);
    for (uint32_t i = 0; i < v->u.a->count; i++) n += deep_bytes(&v->u.a->values[i]);
    return ALIGN8(n);
}

/* Copy v into *out, its strings at *cur (advanced); room as deep_bytes. */
static void deep_copy(const sluice_value *v, sluice_value *out, char **cur) {
    *out = *v;
    if (v->type == SLUICE_TYPE_VARCHAR) {
        if (v->len) memcpy(*cur, v->u.s, v->len);
        out->u.s = *cur;
        *cur += ALIGN8(v->len);
    } else if (v->type == SLUICE_TYPE_ARRAY) {
        char *start = *cur;
        sluice_array *a = (sluice_array *)(void *)*cur;
        a->elem_type = v->u.a->elem_type;
        a->count = v->u.a->count;
        a->values = (sluice_value *)(a + 1);
        *cur += sizeof(sluice_array) + (size_t)a->count * sizeof(sluice_value);
        for (uint32_t i = 0; i < a->count; i++) deep_copy(&v->u.a->values[i], &a->values[i], cur);
        *cur = start + ALIGN8((size_t)(*cur - start));
        out->u.a = a;
    }
}

void sluice_join_side_init(sluice_join_side *s, size_t width, size_t nkeys) {
    memset(s, 0, sizeof *s);
    s->width = width;
    s->nkeys = nkeys;
}

void sluice_join_side_clear(sluice_join_side *s) {
    for (sluice_join_row *r = s->head, *n; r; r = n) {
        n = r->lnext;
        free(r);
    }
    for (size_t b = 0; b < s->nbuckets; b++)
        for (sluice_join_group *g = s->buckets[b], *n; g; g = n) {
            n = g->next;
            free(g);
        }
    if (s->buckets) memset(s->buckets, 0, s->nbuckets * sizeof *s->buckets);
    if (s->rbuckets) memset(s->rbuckets, 0, s->nrbuckets * sizeof *s->rbuckets);
    s->head = s->tail = NULL;
    s->ngroups = s->ndistinct = 0;
    s->nrows = 0;
    s->bytes = (s->nbuckets + s->nrbuckets) * sizeof *s->buckets;
}

void sluice_join_side_free(sluice_join_side *s) {
    sluice_join_side_clear(s);
    free(s->buckets);
    free(s->rbuckets);
    s->buckets = NULL;
    s->rbuckets = NULL;
    s->nbuckets = s->nrbuckets = 0;
    s->bytes = 0;
}

static int keys_equal(const sluice_value *a, const sluice_value *b, size_t n) {
    for (size_t k = 0; k < n; k++)
        if (!sluice_value_equal(&a[k], &b[k])) return 0;
    return 1;
}

sluice_join_group *sluice_join_side_group(const sluice_join_side *s, const sluice_value *keys, uint64_t khash) {
    if (!s->nbuckets) return NULL;
    for (sluice_join_group *g = s->buckets[khash & (s->nbuckets - 1)]; g; g = g->next)
        if (g->hash == khash && keys_equal(g->keys, keys, s->nkeys)) return g;
    return NULL;
}

sluice_join_row *sluice_join_side_row(const sluice_join_side *s, const sluice_value *row, uint64_t rhash) {
    if (!s->nrbuckets) return NULL;
    for (sluice_join_row *r = s->rbuckets[rhash & (s->nrbuckets - 1)]; r; r = r->rnext)
        if (r->hash == rhash && keys_equal(r->v, row, s->width)) return r;
    return NULL;
}

/* Double the row table when the rows outnumber it; -1 out of memory. */
static int grow_rows(sluice_join_side *s) {
    if (s->ndistinct < s->nrbuckets) return 0;
    size_t nb = s->nrbuckets ? s->nrbuckets * 2 : 64;
    sluice_join_row **nt = calloc(nb, sizeof *nt);
    if (!nt) return s->nrbuckets ? 0 : -1; /* a fuller table still works */
    for (size_t b = 0; b < s->nrbuckets; b++)
        for (sluice_join_row *r = s->rbuckets[b], *n; r; r = n) {
            n = r->rnext;
            r->rnext = nt[r->hash & (nb - 1)];
            nt[r->hash & (nb - 1)] = r;
        }
    free(s->rbuckets);
    s->bytes += (nb - s->nrbuckets) * sizeof *nt;
    s->rbuckets = nt;
    s->nrbuckets = nb;
    return 0;
}

/* Double the bucket array when the groups outnumber it; -1 out of memory. */
static int grow(sluice_join_side *s) {
    if (s->ngroups < s->nbuckets) return 0;
    size_t nb = s->nbuckets ? s->nbuckets * 2 : 64;
    sluice_join_group **nt = calloc(nb, sizeof *nt);
    if (!nt) return s->nbuckets ? 0 : -1; /* a fuller table still works */
    for (size_t b = 0; b < s->nbuckets; b++)
        for (sluice_join_group *g = s->buckets[b], *n; g; g = n) {
            n = g->next;
            g->next = nt[g->hash & (nb - 1)];
            nt[g->hash & (nb - 1)] = g;
        }
    free(s->buckets);
    s->bytes += (nb - s->nbuckets) * sizeof *nt;
    s->buckets = nt;
    s->nbuckets = nb;
    return 0;
}

sluice_join_row *sluice_join_side_add(sluice_join_side *s, const sluice_value *keys, uint64_t khash,
                                      const sluice_value *row, uint64_t rhash) {
    if (grow_rows(s) != 0) return NULL;
    sluice_join_group *g = sluice_join_side_group(s, keys, khash);
    if (!g) {
        if (grow(s) != 0) return NULL;
        size_t bytes = sizeof *g + s->nkeys * sizeof(sluice_value);
        for (size_t k = 0; k < s->nkeys; k++) bytes += deep_bytes(&keys[k]);
        g = malloc(bytes);
        if (!g) return NULL;
        g->hash = khash;
        g->rows = g->last = NULL;
        g->bytes = bytes;
        char *cur = (char *)(g->keys + s->nkeys);
        for (size_t k = 0; k < s->nkeys; k++) deep_copy(&keys[k], &g->keys[k], &cur);
        size_t b = khash & (s->nbuckets - 1);
        g->next = s->buckets[b];
        s->buckets[b] = g;
        s->ngroups++;
        s->bytes += bytes;
    }
    size_t bytes = sizeof(sluice_join_row) + s->width * sizeof(sluice_value);
    for (size_t c = 0; c < s->width; c++) bytes += deep_bytes(&row[c]);
    sluice_join_row *r = malloc(bytes);
    if (!r) {
        if (!g->rows) {
            /* the group made for it stays empty: take it back */
            sluice_join_group **pp = &s->buckets[khash & (s->nbuckets - 1)];
            while (*pp != g) pp = &(*pp)->next;
            *pp = g->next;
            s->ngroups--;
            s->bytes -= g->bytes;
            free(g);
        }
        return NULL;
    }
    memset(r, 0, sizeof *r);
    r->hash = rhash;
    r->count = 1;
    r->bytes = bytes;
    char *cur = (char *)(r->v + s->width);
    for (size_t c = 0; c < s->width; c++) deep_copy(&row[c], &r->v[c], &cur);
    r->group = g;
    r->gprev = g->last;
    if (g->last) g->last->gnext = r;
    else g->rows = r;
    g->last = r;
    size_t rb = rhash & (s->nrbuckets - 1);
    r->rnext = s->rbuckets[rb];
    s->rbuckets[rb] = r;
    s->ndistinct++;
    s->nrows++;
    s->bytes += bytes;
    return r;
}

static void list_unlink(sluice_join_side *s, sluice_join_row *r) {
    if (r->lprev) r->lprev->lnext = r->lnext;
    else if (s->head == r) s->head = r->lnext;
    if (r->lnext) r->lnext->lprev = r->lprev;
    else if (s->tail == r) s->tail = r->lprev;
    r->lprev = r->lnext = NULL;
}

void sluice_join_side_remove(sluice_join_side *s, sluice_join_row *r) {
    list_unlink(s, r);
    sluice_join_row **rp = &s->rbuckets[r->hash & (s->nrbuckets - 1)];
    while (*rp != r) rp = &(*rp)->rnext;
    *rp = r->rnext;
    sluice_join_group *g = r->group;
    if (r->gprev) r->gprev->gnext = r->gnext;
    else g->rows = r->gnext;
    if (r->gnext) r->gnext->gprev = r->gprev;
    else g->last = r->gprev;
    if (!g->rows) {
        sluice_join_group **pp = &s->buckets[g->hash & (s->nbuckets - 1)];
        while (*pp != g) pp = &(*pp)->next;
        *pp = g->next;
        s->ngroups--;
        s->bytes -= g->bytes;
        free(g);
    }
    s->ndistinct--;
    s->nrows -= r->count;
    s->bytes -= r->bytes;
    free(r);
}

void sluice_join_list_append(sluice_join_side *s, sluice_join_row *r) {
    if (s->tail == r) return;
    list_unlink(s, r);
    r->lprev = s->tail;
    if (s->tail) s->tail->lnext = r;
    else s->head = r;
    s->tail = r;
}

void sluice_join_list_insert_by_time(sluice_join_side *s, sluice_join_row *r) {
    sluice_join_row *after = s->tail;
    while (after && after->time > r->time) after = after->lprev;
    r->lprev = after;
    r->lnext = after ? after->lnext : s->head;
    if (r->lnext) r->lnext->lprev = r;
    else s->tail = r;
    if (after) after->lnext = r;
    else s->head = r;
}
