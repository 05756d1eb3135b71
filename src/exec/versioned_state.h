/*
 * sluice exec — the state of an event-time temporal join
 * (exec/op_temporal_join.c): a versioned table, per key the versions of
 * the row ordered by their time, as Flink's TemporalRowTimeJoinOperator
 * keeps a map time -> row per key; and the copied rows both sides hold.
 *
 * A version is the row that became valid at its time (an insert or
 * update-after) or the end of the key's validity from its time (a
 * delete).  Each row is one allocation holding its values and a deep copy
 * of their strings (VARCHAR bytes, ARRAY elements): versions and waiting
 * probe rows leave the state one by one, so no arena would do.  A key
 * group (the key values, copied) is one allocation too, freed with its
 * last version.  Private.
 */
#ifndef SLUICE_EXEC_VERSIONED_STATE_H
#define SLUICE_EXEC_VERSIONED_STATE_H

#include <stddef.h>
#include <stdint.h>

#include "sluice/value.h"

/** A row copied into the state's own memory. */
typedef struct sluice_vrow {
    int64_t time;        /**< its time column (ms) */
    int64_t seq;         /**< probe rows: arrival number (ties of time keep arrival order) */
    int end;             /**< versions: 1 = a delete, the key has no version from time on */
    size_t bytes;        /**< its allocation */
    sluice_value v[];    /**< width values; their strings follow */
} sluice_vrow;

/** Copy width values (borrowed) deeply into a new row; NULL out of memory. */
sluice_vrow *sluice_vrow_new(const sluice_value *row, size_t width);

/** The versions of one key, oldest first (strictly increasing times). */
typedef struct sluice_vgroup {
    uint64_t hash;                        /**< of the keys */
    sluice_vrow **vs;                     /**< n versions */
    size_t n, cap;
    struct sluice_vgroup *prev, *next;    /**< every group, in creation order */
    struct sluice_vgroup *cprev, *cnext;  /**< groups a watermark may clean (see below) */
    int on_clean;
    size_t bytes;                         /**< its allocation */
    sluice_value keys[];                  /**< nkeys values; their strings follow */
} sluice_vgroup;

/** A versioned table: groups by key hash (open addressing, linear probing). */
typedef struct sluice_vtable {
    size_t width, nkeys;
    void **slots;                    /**< groups; NULL empty */
    uint64_t *hashes;                /**< of slots[i] */
    size_t cap, ngroups;             /**< cap a power of two, ngroups < cap */
    sluice_vgroup *head, *tail;      /**< every group, in creation order */
    sluice_vgroup *clean;            /**< groups with two versions or more, or an end (others need no cleanup) */
    size_t nversions;                /**< versions held, ends included */
    size_t bytes;                    /**< rows, groups, version arrays and slots */
} sluice_vtable;

/** The hash of n key values (as the grouping operators compute it). */
uint64_t sluice_vtable_keys_hash(const sluice_value *keys, size_t n);

void sluice_vtable_init(sluice_vtable *t, size_t width, size_t nkeys);
/** Free every group and version (the table stays usable). */
void sluice_vtable_clear(sluice_vtable *t);
void sluice_vtable_free(sluice_vtable *t);

/** The group of keys (hash khash), or NULL. */
sluice_vgroup *sluice_vtable_group(const sluice_vtable *t, const sluice_value *keys, uint64_t khash);

/**
 * Put the version `row` (width values, borrowed, copied) of keys at time
 * (end: a delete) into its group, created when missing.  A version at a
 * time the group already holds replaces it (the later arrival wins, as a
 * map keyed by time).  append_only: refuse (return 1) a time not greater
 * than the group's newest, for restore.  0, 1, or -1 out of memory
 * (nothing changed).
 */
int sluice_vtable_put(sluice_vtable *t, const sluice_value *keys, uint64_t khash, const sluice_value *row,
                      int64_t time, int end, int append_only);

/** The version of g valid at time t: the one with the greatest time <= t
 *  (possibly an end), or NULL. */
const sluice_vrow *sluice_vtable_at(const sluice_vgroup *g, int64_t t);

/** Drop, per key, the versions older than the newest one at or below wm,
 *  and that one too when it is an end (no later probe row can choose
 *  them); a group left empty is freed.  Walks only the groups that hold
 *  two versions or more or an end. */
void sluice_vtable_cleanup(sluice_vtable *t, int64_t wm);

#endif
