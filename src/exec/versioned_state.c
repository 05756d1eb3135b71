/*
 * The versioned table of an event-time temporal join
 * (exec/versioned_state.h): key groups found through an open-addressing
 * table, each with its versions in a sorted array (versions mostly arrive
 * in time order, so a new one is placed by a binary search and rarely
 * moves others).
 */
#include <stdlib.h>
#include <string.h>

#include "exec/row_copy.h"
#include "exec/versioned_state.h"



sluice_vrow *sluice_vrow_new(const sluice_value *row, size_t width) {
    size_t bytes = sizeof(sluice_vrow) + width * sizeof(sluice_value);
    for (size_t c = 0; c < width; c++) bytes += sluice_row_deep_bytes(&row[c]);
    sluice_vrow *r = malloc(bytes);
    if (!r) return NULL;
    memset(r, 0, sizeof *r);
    r->bytes = bytes;
    char *cur = (char *)(r->v + width);
    for (size_t c = 0; c < width; c++) sluice_row_deep_copy(&row[c], &r->v[c], &cur);
    return r;
}

uint64_t sluice_vtable_keys_hash(const sluice_value *keys, size_t n) {
    uint64_t hash = 0x51ed270b27eb0bULL;
    for (size_t k = 0; k < n; k++) hash = sluice_value_hash(&keys[k], hash);
    return hash;
}

/* ---------------- the group table ---------------- */

/* Room for one more group, the load at most 1/2.  0, or -1 out of memory. */
static int tab_reserve(sluice_vtable *t) {
    if ((t->ngroups + 1) * 2 <= t->cap) return 0;
    size_t nc = t->cap ? t->cap * 2 : 64;
    void **ns = calloc(nc, sizeof *ns);
    uint64_t *nh = calloc(nc, sizeof *nh);
    if (!ns || !nh) {
        free(ns);
        free(nh);
        return t->ngroups + 2 <= t->cap ? 0 : -1;
    }
    for (size_t i = 0; i < t->cap; i++) {
        if (!t->slots[i]) continue;
        size_t j = t->hashes[i] & (nc - 1);
        while (ns[j]) j = (j + 1) & (nc - 1);
        ns[j] = t->slots[i];
        nh[j] = t->hashes[i];
    }
    free(t->slots);
    free(t->hashes);
    t->bytes += (nc - t->cap) * (sizeof *ns + sizeof *nh);
    t->slots = ns;
    t->hashes = nh;
    t->cap = nc;
    return 0;
}

static void tab_insert(sluice_vtable *t, uint64_t hash, void *p) {
    size_t mask = t->cap - 1, i = hash & mask;
    while (t->slots[i]) i = (i + 1) & mask;
    t->slots[i] = p;
    t->hashes[i] = hash;
    t->ngroups++;
}

/* Remove p (present), shifting back the entries of its probe run (no
 * tombstones). */
static void tab_remove(sluice_vtable *t, uint64_t hash, const void *p) {
    size_t mask = t->cap - 1, i = hash & mask;
    while (t->slots[i] != p) i = (i + 1) & mask;
    for (size_t j = (i + 1) & mask; t->slots[j]; j = (j + 1) & mask) {
        size_t home = t->hashes[j] & mask;
        if (((j - home) & mask) >= ((j - i) & mask)) {
            t->slots[i] = t->slots[j];
            t->hashes[i] = t->hashes[j];
            i = j;
        }
    }
    t->slots[i] = NULL;
    t->ngroups--;
}

/* ---------------- groups ---------------- */

void sluice_vtable_init(sluice_vtable *t, size_t width, size_t nkeys) {
    memset(t, 0, sizeof *t);
    t->width = width;
    t->nkeys = nkeys;
}

static void group_free(sluice_vgroup *g) {
    for (size_t i = 0; i < g->n; i++) free(g->vs[i]);
    free(g->vs);
    free(g);
}

void sluice_vtable_clear(sluice_vtable *t) {
    for (sluice_vgroup *g = t->head, *n; g; g = n) {
        n = g->next;
        group_free(g);
    }
    if (t->slots) memset(t->slots, 0, t->cap * sizeof *t->slots);
    t->ngroups = 0;
    t->head = t->tail = t->clean = NULL;
    t->nversions = 0;
    t->bytes = t->cap * (sizeof *t->slots + sizeof *t->hashes);
}

void sluice_vtable_free(sluice_vtable *t) {
    sluice_vtable_clear(t);
    free(t->slots);
    free(t->hashes);
    t->slots = NULL;
    t->hashes = NULL;
    t->cap = 0;
    t->bytes = 0;
}

static int keys_equal(const sluice_value *a, const sluice_value *b, size_t n) {
    for (size_t k = 0; k < n; k++)
        if (!sluice_value_equal(&a[k], &b[k])) return 0;
    return 1;
}

sluice_vgroup *sluice_vtable_group(const sluice_vtable *t, const sluice_value *keys, uint64_t khash) {
    if (!t->cap) return NULL;
    size_t mask = t->cap - 1;
    for (size_t i = khash & mask; t->slots[i]; i = (i + 1) & mask)
        if (t->hashes[i] == khash) {
            sluice_vgroup *g = t->slots[i];
            if (keys_equal(g->keys, keys, t->nkeys)) return g;
        }
    return NULL;
}

/* Whether a watermark may drop something of g: an older version once a
 * newer one is at or below it, or an end. */
static int needs_cleanup(const sluice_vgroup *g) {
    return g->n >= 2 || (g->n == 1 && g->vs[0]->end);
}

/* Put g on or off the list of groups to clean, as needs_cleanup says. */
static void update_clean(sluice_vtable *t, sluice_vgroup *g) {
    int want = needs_cleanup(g);
    if (want == g->on_clean) return;
    if (want) {
        g->cprev = NULL;
        g->cnext = t->clean;
        if (t->clean) t->clean->cprev = g;
        t->clean = g;
    } else {
        if (g->cprev) g->cprev->cnext = g->cnext;
        else t->clean = g->cnext;
        if (g->cnext) g->cnext->cprev = g->cprev;
        g->cprev = g->cnext = NULL;
    }
    g->on_clean = want;
}

/* Unlink an empty group from everything and free it. */
static void group_remove(sluice_vtable *t, sluice_vgroup *g) {
    update_clean(t, g); /* n == 0: off the list */
    tab_remove(t, g->hash, g);
    if (g->prev) g->prev->next = g->next;
    else t->head = g->next;
    if (g->next) g->next->prev = g->prev;
    else t->tail = g->prev;
    t->bytes -= g->bytes + g->cap * sizeof *g->vs;
    group_free(g);
}

/* Index of the first version of g with time > t (n when none). */
static size_t upper_bound(const sluice_vgroup *g, int64_t t) {
    size_t lo = 0, hi = g->n;
    /* versions mostly arrive in time order: try the end first */
    if (hi == 0 || g->vs[hi - 1]->time <= t) return hi;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (g->vs[mid]->time <= t) lo = mid + 1;
        else hi = mid;
    }
    return lo;
}

int sluice_vtable_put(sluice_vtable *t, const sluice_value *keys, uint64_t khash, const sluice_value *row,
                      int64_t time, int end, int append_only) {
    sluice_vgroup *g = sluice_vtable_group(t, keys, khash);
    if (g && append_only && g->n && g->vs[g->n - 1]->time >= time) return 1;
    sluice_vrow *r = sluice_vrow_new(row, t->width);
    if (!r) return -1;
    r->time = time;
    r->end = end != 0;
    if (!g) {
        size_t bytes = sizeof *g + t->nkeys * sizeof(sluice_value);
        for (size_t k = 0; k < t->nkeys; k++) bytes += sluice_row_deep_bytes(&keys[k]);
        if (tab_reserve(t) != 0 || !(g = malloc(bytes))) {
            free(r);
            return -1;
        }
        memset(g, 0, sizeof *g);
        g->hash = khash;
        g->bytes = bytes;
        char *cur = (char *)(g->keys + t->nkeys);
        for (size_t k = 0; k < t->nkeys; k++) sluice_row_deep_copy(&keys[k], &g->keys[k], &cur);
        tab_insert(t, khash, g);
        g->prev = t->tail;
        if (t->tail) t->tail->next = g;
        else t->head = g;
        t->tail = g;
        t->bytes += bytes;
    }
    size_t at = upper_bound(g, time);
    if (at > 0 && g->vs[at - 1]->time == time) {
        /* the same time: the later arrival replaces the version */
        t->bytes -= g->vs[at - 1]->bytes;
        free(g->vs[at - 1]);
        g->vs[at - 1] = r;
        t->bytes += r->bytes;
        update_clean(t, g);
        return 0;
    }
    if (g->n == g->cap) {
        size_t nc = g->cap ? g->cap * 2 : 2;
        sluice_vrow **nv = realloc(g->vs, nc * sizeof *nv);
        if (!nv) {
            free(r);
            if (!g->n) group_remove(t, g);
            return -1;
        }
        t->bytes += (nc - g->cap) * sizeof *nv;
        g->vs = nv;
        g->cap = nc;
    }
    memmove(g->vs + at + 1, g->vs + at, (g->n - at) * sizeof *g->vs);
    g->vs[at] = r;
    g->n++;
    t->nversions++;
    t->bytes += r->bytes;
    update_clean(t, g);
    return 0;
}

const sluice_vrow *sluice_vtable_at(const sluice_vgroup *g, int64_t t) {
    size_t at = upper_bound(g, t);
    return at ? g->vs[at - 1] : NULL;
}

void sluice_vtable_cleanup(sluice_vtable *t, int64_t wm) {
    for (sluice_vgroup *g = t->clean, *next; g; g = next) {
        next = g->cnext;
        size_t at = upper_bound(g, wm); /* versions [0, at) are at or below wm */
        if (at == 0) continue;
        /* the newest at or below wm is kept, unless it is an end */
        size_t drop = g->vs[at - 1]->end ? at : at - 1;
        if (drop == 0) continue;
        for (size_t i = 0; i < drop; i++) {
            t->bytes -= g->vs[i]->bytes;
            free(g->vs[i]);
        }
        memmove(g->vs, g->vs + drop, (g->n - drop) * sizeof *g->vs);
        g->n -= drop;
        t->nversions -= drop;
        if (g->n == 0) group_remove(t, g);
        else update_clean(t, g);
    }
}
