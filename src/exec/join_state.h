/*
 * sluice exec — the state of one side of a join (exec/op_join.c): a
 * multiset of rows grouped by their equi-key values, as Flink's
 * JoinRecordStateView keeps a map row -> count per key.
 *
 * Each distinct row is one allocation holding its values and a deep copy
 * of their strings (VARCHAR bytes, ARRAY elements), with the number of
 * equal rows held (count), so that duplicates cost a counter.  Rows leave
 * the state one by one and in any order (a retraction, a TTL, an interval
 * bound passed by the watermark), so each is freed when its count drops to
 * zero rather than living in an arena that would need compacting.  A key
 * group (the key values, copied) is freed with its last row.  A second
 * table finds a row by its values in constant time.
 *
 * Every row is also on one list of the side (head = oldest), whose order
 * the operator chooses: arrival, last use (for a TTL), or event time (for
 * an interval join); its cleanup pops from the head.  Private.
 */
#ifndef SLUICE_EXEC_JOIN_STATE_H
#define SLUICE_EXEC_JOIN_STATE_H

#include <stddef.h>
#include <stdint.h>

#include "sluice/value.h"

struct sluice_join_group;

/** One distinct row and how many equal rows the side holds. */
typedef struct sluice_join_row {
    struct sluice_join_row *gprev, *gnext; /**< in its key group */
    struct sluice_join_row *lprev, *lnext; /**< in the side's list */
    struct sluice_join_group *group;
    uint64_t hash;           /**< of all its values (sluice_join_row_hash) */
    int64_t count;           /**< equal rows held, >= 1 */
    int64_t partners;        /**< outer sides: rows of the other side each copy joins */
    int64_t touched;         /**< processing time (ms) of its last match or update */
    int64_t time;            /**< INTERVAL: its time column (ms) */
    size_t bytes;            /**< its allocation */
    sluice_value v[];        /**< width values; their strings follow */
} sluice_join_row;

/** The rows of one key. */
typedef struct sluice_join_group {
    uint64_t hash;                  /**< of the keys (sluice_join_keys_hash) */
    sluice_join_row *rows;          /**< first row (in arrival order); NULL never (freed when empty) */
    sluice_join_row *last;          /**< last row */
    size_t bytes;
    sluice_value keys[];            /**< nkeys values; their strings follow */
} sluice_join_group;

/** An open-addressing table (linear probing) of pointers with their
 *  hashes, so that a probe compares hashes without touching the rows. */
typedef struct sluice_join_slot {
    uint64_t hash;
    void *p;                        /**< NULL: empty */
} sluice_join_slot;
typedef struct sluice_join_table {
    sluice_join_slot *slots;
    size_t cap, n;                  /**< cap a power of two, n < cap */
} sluice_join_table;

/** One side's state. */
typedef struct sluice_join_side {
    size_t width, nkeys;
    sluice_join_table groups;       /**< the key groups by key hash */
    sluice_join_table rows;         /**< every row by the hash of its values, so
                                         that finding the row a retraction or
                                         duplicate names does not walk a large
                                         key group */
    sluice_join_row *head, *tail;   /**< the list, oldest first */
    size_t ndistinct;               /**< rows allocated */
    int64_t nrows;                  /**< rows held, duplicates counted */
    size_t bytes;                   /**< allocations of rows, groups and tables */
} sluice_join_side;

/** The hash of n key values (as the grouping operators compute it). */
uint64_t sluice_join_keys_hash(const sluice_value *keys, size_t n);
/** The hash of a row's width values. */
uint64_t sluice_join_row_hash(const sluice_value *row, size_t width);

/** An empty side of rows of `width` values and `nkeys` key values. */
void sluice_join_side_init(sluice_join_side *s, size_t width, size_t nkeys);
/** Free every row and group (the side stays usable). */
void sluice_join_side_clear(sluice_join_side *s);
/** Free everything. */
void sluice_join_side_free(sluice_join_side *s);

/** The group of keys (hash khash), or NULL. */
sluice_join_group *sluice_join_side_group(const sluice_join_side *s, const sluice_value *keys, uint64_t khash);
/** The row equal to row (grouping equality of every value; rhash its
 *  sluice_join_row_hash), or NULL. */
sluice_join_row *sluice_join_side_row(const sluice_join_side *s, const sluice_value *row, uint64_t rhash);

/**
 * Add a new distinct row (count 1, partners 0) under keys, copying both
 * deeply (the caller's values are borrowed), its group created when
 * missing.  The row is not on the list yet: link it with
 * sluice_join_list_append() or sluice_join_list_insert_by_time().
 * Returns the row, or NULL out of memory (nothing changed).
 */
sluice_join_row *sluice_join_side_add(sluice_join_side *s, const sluice_value *keys, uint64_t khash,
                                      const sluice_value *row, uint64_t rhash);
/** Unlink r from its group (freed when empty) and the list, and free it. */
void sluice_join_side_remove(sluice_join_side *s, sluice_join_row *r);

/** Put r at the tail of the list (r on the list or not yet). */
void sluice_join_list_append(sluice_join_side *s, sluice_join_row *r);
/** Put r (not on the list) after the last row whose time is <= r->time,
 *  walking from the tail (rows mostly arrive in time order). */
void sluice_join_list_insert_by_time(sluice_join_side *s, sluice_join_row *r);

#endif
