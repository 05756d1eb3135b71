/*
 * The state of one side of a join (exec/join_state.h): rows with counts,
 * grouped by key, found through two open-addressing tables (key groups
 * by key hash, rows by row hash); each row and each group one allocation
 * that carries the copies of its strings.
 */
#include <stdlib.h>
#include <string.h>

#include "exec/row_copy.h"
#include "exec/join_state.h"


uint64_t sluice_join_keys_hash(const sluice_value *keys, size_t n) {
    uint64_t hash = 0x51ed270b27eb0bULL;
    for (size_t k = 0; k < n; k++) hash = sluice_value_hash(&keys[k], hash);
    return hash;
}

uint64_t sluice_join_row_hash(const sluice_value *row, size_t width) {
    return sluice_join_keys_hash(row, width);
}


/* ---------------- the open-addressing tables ---------------- */

/* Make room for one more entry, keeping the load at most 1/2 (the table
 * doubles); a table that cannot grow still takes entries until it is
 * nearly full.  0, or -1 out of memory. */
static int tab_reserve(sluice_join_table *t, size_t *bytes) {
    if ((t->n + 1) * 2 <= t->cap) return 0;
    size_t nc = t->cap ? t->cap * 2 : 64;
    sluice_join_slot *ns = calloc(nc, sizeof *ns);
    if (!ns) return t->n + 2 <= t->cap ? 0 : -1;
    for (size_t i = 0; i < t->cap; i++) {
        if (!t->slots[i].p) continue;
        size_t j = t->slots[i].hash & (nc - 1);
        while (ns[j].p) j = (j + 1) & (nc - 1);
        ns[j] = t->slots[i];
    }
    free(t->slots);
    *bytes += (nc - t->cap) * sizeof *ns;
    t->slots = ns;
    t->cap = nc;
    return 0;
}

/* Insert p (room reserved). */
static void tab_insert(sluice_join_table *t, uint64_t hash, void *p) {
    size_t mask = t->cap - 1, i = hash & mask;
    while (t->slots[i].p) i = (i + 1) & mask;
    t->slots[i].hash = hash;
    t->slots[i].p = p;
    t->n++;
}

/* Remove p (present), shifting back the entries of its probe run so that
 * no probe stops early (no tombstones). */
static void tab_remove(sluice_join_table *t, uint64_t hash, const void *p) {
    size_t mask = t->cap - 1, i = hash & mask;
    while (t->slots[i].p != p) i = (i + 1) & mask;
    for (size_t j = (i + 1) & mask; t->slots[j].p; j = (j + 1) & mask) {
        size_t home = t->slots[j].hash & mask;
        /* j's entry may fill the hole at i when its home is not in (i, j] */
        if (((j - home) & mask) >= ((j - i) & mask)) {
            t->slots[i] = t->slots[j];
            i = j;
        }
    }
    t->slots[i].p = NULL;
    t->n--;
}

/* ---------------- the side ---------------- */

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
    for (size_t i = 0; i < s->groups.cap; i++) free(s->groups.slots[i].p);
    if (s->groups.slots) memset(s->groups.slots, 0, s->groups.cap * sizeof *s->groups.slots);
    if (s->rows.slots) memset(s->rows.slots, 0, s->rows.cap * sizeof *s->rows.slots);
    s->groups.n = s->rows.n = 0;
    s->head = s->tail = NULL;
    s->ndistinct = 0;
    s->nrows = 0;
    s->bytes = (s->groups.cap + s->rows.cap) * sizeof(sluice_join_slot);
}

void sluice_join_side_free(sluice_join_side *s) {
    sluice_join_side_clear(s);
    free(s->groups.slots);
    free(s->rows.slots);
    memset(&s->groups, 0, sizeof s->groups);
    memset(&s->rows, 0, sizeof s->rows);
    s->bytes = 0;
}

static int keys_equal(const sluice_value *a, const sluice_value *b, size_t n) {
    for (size_t k = 0; k < n; k++)
        if (!sluice_value_equal(&a[k], &b[k])) return 0;
    return 1;
}

sluice_join_group *sluice_join_side_group(const sluice_join_side *s, const sluice_value *keys, uint64_t khash) {
    const sluice_join_table *t = &s->groups;
    if (!t->cap) return NULL;
    size_t mask = t->cap - 1;
    for (size_t i = khash & mask; t->slots[i].p; i = (i + 1) & mask)
        if (t->slots[i].hash == khash) {
            sluice_join_group *g = t->slots[i].p;
            if (keys_equal(g->keys, keys, s->nkeys)) return g;
        }
    return NULL;
}

sluice_join_row *sluice_join_side_row(const sluice_join_side *s, const sluice_value *row, uint64_t rhash) {
    const sluice_join_table *t = &s->rows;
    if (!t->cap) return NULL;
    size_t mask = t->cap - 1;
    for (size_t i = rhash & mask; t->slots[i].p; i = (i + 1) & mask)
        if (t->slots[i].hash == rhash) {
            sluice_join_row *r = t->slots[i].p;
            if (keys_equal(r->v, row, s->width)) return r;
        }
    return NULL;
}

sluice_join_row *sluice_join_side_add(sluice_join_side *s, const sluice_value *keys, uint64_t khash,
                                      const sluice_value *row, uint64_t rhash) {
    if (tab_reserve(&s->rows, &s->bytes) != 0) return NULL;
    sluice_join_group *g = sluice_join_side_group(s, keys, khash);
    if (!g) {
        if (tab_reserve(&s->groups, &s->bytes) != 0) return NULL;
        size_t bytes = sizeof *g + s->nkeys * sizeof(sluice_value);
        for (size_t k = 0; k < s->nkeys; k++) bytes += sluice_row_deep_bytes(&keys[k]);
        g = malloc(bytes);
        if (!g) return NULL;
        g->hash = khash;
        g->rows = g->last = NULL;
        g->bytes = bytes;
        char *cur = (char *)(g->keys + s->nkeys);
        for (size_t k = 0; k < s->nkeys; k++) sluice_row_deep_copy(&keys[k], &g->keys[k], &cur);
        tab_insert(&s->groups, khash, g);
        s->bytes += bytes;
    }
    size_t bytes = sizeof(sluice_join_row) + s->width * sizeof(sluice_value);
    for (size_t c = 0; c < s->width; c++) bytes += sluice_row_deep_bytes(&row[c]);
    sluice_join_row *r = malloc(bytes);
    if (!r) {
        if (!g->rows) {
            /* the group made for it stays empty: take it back */
            tab_remove(&s->groups, khash, g);
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
    for (size_t c = 0; c < s->width; c++) sluice_row_deep_copy(&row[c], &r->v[c], &cur);
    r->group = g;
    r->gprev = g->last;
    if (g->last) g->last->gnext = r;
    else g->rows = r;
    g->last = r;
    tab_insert(&s->rows, rhash, r);
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
    tab_remove(&s->rows, r->hash, r);
    sluice_join_group *g = r->group;
    if (r->gprev) r->gprev->gnext = r->gnext;
    else g->rows = r->gnext;
    if (r->gnext) r->gnext->gprev = r->gprev;
    else g->last = r->gprev;
    if (!g->rows) {
        tab_remove(&s->groups, g->hash, g);
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
