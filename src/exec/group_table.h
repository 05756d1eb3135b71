/*
 * sluice exec — the open windows of a grouped aggregate and, per window,
 * the hash table of its groups (used by the window aggregate and top-N
 * operators).  Private.
 *
 * A window holds its groups as fixed-size entries (an 8-byte header,
 * ngroup key values, naggs aggregate slots) inline in one array, with no
 * allocation per group (only an aggregate that owns memory, one with
 * `destroy`, points outside its slot); an open-addressing table over them
 * (linear probing, at most 3/4 full); the list of entries changed since the
 * last emit; and an arena interning the key strings, freed with the
 * window.  A group's 64-bit hash is split: its high 32 bits are the tag in
 * its table slot, its low 32 bits (which pick the home slot) are in its
 * header.  The lookup is inline: it is the per-row hot path of aggregation.
 */
#ifndef SLUICE_EXEC_GROUP_TABLE_H
#define SLUICE_EXEC_GROUP_TABLE_H

#include <assert.h>
#include <stddef.h>
#include <stdint.h>

#include "exec/aggregate.h"
#include "plan/plan.h"
#include "sluice/arena.h"

#define SLUICE_GROUP_DIRTY 1u   /**< changed since the last emit (listed in the window's dirty list) */
#define SLUICE_GROUP_EMITTED 2u /**< a row of it went downstream before: the next one is an update */

/** The most groups a window holds: a rank fits the header's 30 bits, and
 *  the table's slot count 32 bits (its home slots come from hash_lo). */
#define SLUICE_WINDOW_MAX_GROUPS (((size_t)1 << 30) - 1)

/** Group entry: this header, then ngroup key values, then naggs slots. */
typedef struct sluice_group_hdr {
    uint32_t hash_lo;              /**< the low 32 bits of the group's hash */
    uint32_t flags : 2;            /**< SLUICE_GROUP_DIRTY | SLUICE_GROUP_EMITTED */
    uint32_t rank : 30;            /**< top-N: rank in the last emitted ranking, 0 = none */
} sluice_group_hdr;

/* A slot of a window's group table: the entry index + 1 in the low 32 bits
 * (0 = empty), the high 32 bits of the group's hash above them, so that a
 * probe compares keys only when the tags match. */
typedef uint64_t sluice_gslot;

static inline sluice_gslot sluice_gslot_make(uint64_t hash, size_t idx) {
    return (hash & 0xffffffff00000000ULL) | (uint64_t)(uint32_t)(idx + 1);
}
static inline int sluice_gslot_tag_eq(sluice_gslot s, uint64_t hash) {
    return (s >> 32) == (hash >> 32);
}
static inline size_t sluice_gslot_idx(sluice_gslot s) {
    return (size_t)(uint32_t)s - 1;
}
/** The full hash of the group in slot s, whose header is e. */
static inline uint64_t sluice_gslot_hash(sluice_gslot s, const sluice_group_hdr *e) {
    return (s & 0xffffffff00000000ULL) | e->hash_lo;
}
/** 1 when a table of tcap slots holding n groups must grow: linear probing
 *  stays short (about 2.5 slots per hit, 8.5 per miss, Knuth) up to 3/4. */
static inline int sluice_gtable_full(size_t n, size_t tcap) {
    return n * 4 > tcap * 3;
}

/** One window [start, end) and its groups. */
typedef struct sluice_window {
    int64_t start, end;            /**< ms; end SLUICE_TS_MAX without a window */
    sluice_value *prev;            /**< keep_prev: per dirty-list position, naggs results
                                        the group had when it was last emitted */
    sluice_arena *arena;           /**< key strings (and MIN/MAX strings) */
    size_t arena_live;             /**< arena bytes in use after the last compaction */
    unsigned char *entries;
    size_t nentries, cap;
    sluice_gslot *table;           /**< 0 = empty */
    size_t tcap;                   /**< power of two, at least 4/3 x nentries */
    uint32_t *dirty;               /**< entries changed since the last emit */
    size_t ndirty, dcap;
    size_t nranked;                /**< top-N: rows of the last emitted ranking */
} sluice_window;

/** The open windows of one query, sorted by start. */
typedef struct sluice_windows {
    const sluice_query_plan *q;    /**< borrowed */
    size_t stride;                 /**< bytes per entry */
    size_t rows_off;               /**< q->input_updating: offset in an entry of its
                                        int64_t count of rows (the group is deleted at 0);
                                        0 otherwise (append-only: no count kept) */
    int owns;                      /**< some aggregate's slot owns memory (destroy) */
    int keep_prev;                 /**< the dirty list keeps each group's last results */
    sluice_window **w;
    size_t n, cap;
    size_t last;                   /**< index of the window used last */
} sluice_windows;

void sluice_windows_init(sluice_windows *ws, const sluice_query_plan *q);
/** Free every window (ws stays usable, empty). */
void sluice_windows_clear(sluice_windows *ws);
/** Free every window and the list. */
void sluice_windows_free(sluice_windows *ws);
/** The window starting at start, created when missing; NULL on OOM. */
sluice_window *sluice_windows_get_slow(sluice_windows *ws, int64_t start);
static inline sluice_window *sluice_windows_get(sluice_windows *ws, int64_t start) {
    if (ws->n && ws->w[ws->last]->start == start) return ws->w[ws->last];
    return sluice_windows_get_slow(ws, start);
}
/** Drop the windows whose end is at or before wm (never the single state
 *  of a non-windowed aggregate). */
void sluice_windows_finalize(sluice_windows *ws, int64_t wm);
/** Bytes the windows take in memory. */
size_t sluice_windows_bytes(const sluice_windows *ws);

static inline sluice_group_hdr *sluice_window_entry(const sluice_windows *ws, const sluice_window *w, size_t i) {
    return (sluice_group_hdr *)(w->entries + i * ws->stride);
}
static inline sluice_value *sluice_group_keys(sluice_group_hdr *e) {
    return (sluice_value *)(e + 1);
}
static inline sluice_agg_slot *sluice_group_slots(const sluice_windows *ws, sluice_group_hdr *e) {
    return (sluice_agg_slot *)(sluice_group_keys(e) + ws->q->ngroup);
}

/** The count of input rows of group e (only when ws->rows_off). */
static inline int64_t *sluice_group_rows(const sluice_windows *ws, sluice_group_hdr *e) {
    return (int64_t *)((unsigned char *)e + ws->rows_off);
}

/** Remove entry i from w (its slots destroyed): the last entry takes its
 *  index.  The dirty list must not name either (call it after an emit). */
void sluice_window_remove_group(sluice_windows *ws, sluice_window *w, size_t i);

/** Copy the strings of w's groups into a fresh arena and drop the old
 *  one, once it holds more than twice the bytes live at the last
 *  compaction (removed groups and replaced MIN/MAX strings leave garbage
 *  there).  No row may borrow a string of w (flush first).  0 or -1 OOM
 *  (w unchanged). */
int sluice_window_compact_strings(sluice_windows *ws, sluice_window *w);

/** The group with keys (hash) in w, or NULL when it has none. */
static inline sluice_group_hdr *sluice_window_find(const sluice_windows *ws, const sluice_window *w,
                                                   const sluice_value *keys, uint64_t hash, size_t *slot) {
    size_t ng = ws->q->ngroup;
    size_t mask = w->tcap - 1, h = hash & mask;
    for (sluice_gslot s; (s = w->table[h]) != 0; h = (h + 1) & mask) {
        if (!sluice_gslot_tag_eq(s, hash)) continue;
        sluice_group_hdr *e = sluice_window_entry(ws, w, sluice_gslot_idx(s));
        if (e->hash_lo != (uint32_t)hash) continue;
        sluice_value *k = sluice_group_keys(e);
        size_t i;
        for (i = 0; i < ng; i++)
            if (!sluice_value_equal(&k[i], &keys[i])) break;
        if (i == ng) return e;
    }
    *slot = h;
    return NULL;
}

/** Add a group with keys (hash) to w (not there yet; its table slot is h).
 *  NULL on OOM. */
sluice_group_hdr *sluice_window_add_group(sluice_windows *ws, sluice_window *w, const sluice_value *keys,
                                          uint64_t hash, size_t h);

/** Find the group with keys (hash) in w, or add it.  NULL on OOM. */
static inline sluice_group_hdr *sluice_window_group(sluice_windows *ws, sluice_window *w, const sluice_value *keys,
                                                    uint64_t hash) {
    size_t h = 0;
    sluice_group_hdr *e = sluice_window_find(ws, w, keys, hash, &h);
    return e ? e : sluice_window_add_group(ws, w, keys, hash, h);
}

int sluice_window_mark_dirty_slow(sluice_windows *ws, sluice_window *w, sluice_group_hdr *e);
/** List e among the groups of w changed since the last emit; 0 or -1 OOM. */
static inline int sluice_window_mark_dirty(sluice_windows *ws, sluice_window *w, sluice_group_hdr *e) {
    return (e->flags & SLUICE_GROUP_DIRTY) ? 0 : sluice_window_mark_dirty_slow(ws, w, e);
}
/** The results group e had when last emitted, saved when it became dirty
 *  (keep_prev), or NULL. */
static inline const sluice_value *sluice_window_prev(const sluice_windows *ws, const sluice_window *w, size_t dirty_pos) {
    return ws->keep_prev ? w->prev + dirty_pos * ws->q->naggs : NULL;
}

/** Forget which groups changed. */
void sluice_window_clear_dirty(sluice_windows *ws, sluice_window *w);

/** Make room for n more groups (restore: sizes known), so that they are
 *  added without growing the entries or the table.  0 or -1 OOM (or more
 *  than SLUICE_WINDOW_MAX_GROUPS in all). */
int sluice_window_reserve(sluice_windows *ws, sluice_window *w, size_t n);
/** Insert entry i of w (decoded, its hash_lo set to hash's low bits) into
 *  the table sized by sluice_window_reserve(); -1 when a group with the
 *  same keys is there. */
static inline int sluice_window_restore_insert(sluice_windows *ws, sluice_window *w, size_t i, uint64_t hash) {
    sluice_group_hdr *e = sluice_window_entry(ws, w, i);
    assert(e->hash_lo == (uint32_t)hash);
    size_t mask = w->tcap - 1, h = hash & mask;
    for (sluice_gslot s; (s = w->table[h]) != 0; h = (h + 1) & mask) {
        if (!sluice_gslot_tag_eq(s, hash)) continue;
        sluice_group_hdr *o = sluice_window_entry(ws, w, sluice_gslot_idx(s));
        if (o->hash_lo != (uint32_t)hash) continue;
        size_t g;
        for (g = 0; g < ws->q->ngroup; g++)
            if (!sluice_value_equal(&sluice_group_keys(o)[g], &sluice_group_keys(e)[g])) break;
        if (g == ws->q->ngroup) return -1;
    }
    w->table[h] = sluice_gslot_make(hash, i);
    return 0;
}

#endif
