/*
 * sluice exec — the state of the rank operator (exec/op_rank.c): a hash
 * table of partitions (PARTITION BY values), each holding its rows sorted
 * by the ORDER BY values.  Private.
 *
 * The sorted structure is a sorted array of row pointers with binary
 * search: finding a row's place is O(log n) comparisons, the insert itself
 * a memmove of 8 bytes per row after it.  It was chosen over a skip list
 * because the common cases keep few rows per partition — an append-only
 * input keeps only the rows that still rank (LIMIT plus the ties at the
 * boundary), deduplication one — where an array is the fastest and
 * smallest structure, and because ranks are positions in it (a skip list
 * would need widths per link to know a position).  An updating input
 * keeps the whole partition; there the memmove grows with the partition
 * (docs/architecture.md "The rank operator" gives a measurement).
 *
 * Every row and every partition is one malloc'ed block that holds its
 * values and the bytes of its strings and arrays, so that a row taken
 * back frees exactly its memory and the input's strings (borrowed for one
 * process() call) are never kept.
 */
#ifndef SLUICE_EXEC_RANK_TABLE_H
#define SLUICE_EXEC_RANK_TABLE_H

#include <stddef.h>
#include <stdint.h>

#include "plan/rel.h"

/** One kept row: the input row's `width` values, then the `norder`
 *  ORDER BY values computed from it, then (in the same block) the bytes
 *  its VARCHAR and ARRAY values point to. */
typedef struct sluice_rank_row {
    uint32_t out_rank;             /**< the rank it is in the output with; 0: not in the output */
    uint32_t mark;                 /**< scratch of the operator's diff (0 between rows) */
    size_t bytes;                  /**< the block's size, for state_bytes */
    sluice_value v[];
} sluice_rank_row;

/** The ORDER BY values of row r of a table whose input rows are `width` wide. */
static inline const sluice_value *sluice_rank_row_order(const sluice_rank_row *r, size_t width) {
    return r->v + width;
}

/** One partition: its key values (npartition, in the same block) and its
 *  rows in rank order (ties in arrival order). */
typedef struct sluice_rank_part {
    struct sluice_rank_part *next; /**< hash chain */
    uint64_t hash;                 /**< sluice_snap_keys_hash() of the keys */
    sluice_rank_row **rows;
    size_t n, cap;
    size_t bytes;                  /**< the block's size */
    sluice_value keys[];
} sluice_rank_part;

typedef struct sluice_rank_table {
    const struct sluice_rank_plan *rp;   /**< borrowed */
    sluice_rank_part **buckets;    /**< chained; nbuckets a power of two (0 before the first partition) */
    size_t nbuckets;
    size_t nparts;
    size_t nrows;                  /**< rows over every partition */
    size_t bytes;                  /**< every block, row array and the buckets */
} sluice_rank_table;

void sluice_rank_table_init(sluice_rank_table *t, const struct sluice_rank_plan *rp);
/** Free every partition and row (the table stays usable). */
void sluice_rank_table_clear(sluice_rank_table *t);
void sluice_rank_table_free(sluice_rank_table *t);

/** The partition of keys (npartition values) with their hash, or NULL. */
sluice_rank_part *sluice_rank_part_find(const sluice_rank_table *t, const sluice_value *keys, uint64_t hash);
/** The partition of keys, created (keys copied) when missing; NULL out of
 *  memory. */
sluice_rank_part *sluice_rank_part_get(sluice_rank_table *t, const sluice_value *keys, uint64_t hash);
/** Unlink and free partition p and its rows. */
void sluice_rank_part_drop(sluice_rank_table *t, sluice_rank_part *p);

/** A kept copy of `row` (width values) with its ORDER BY values `order`
 *  (norder), out_rank 0; NULL out of memory.  Not yet in a partition. */
sluice_rank_row *sluice_rank_row_new(sluice_rank_table *t, const sluice_value *row, const sluice_value *order);
/** Free a row that is in no partition any more. */
void sluice_rank_row_free(sluice_rank_table *t, sluice_rank_row *r);

/** Compare two rows' ORDER BY values: each key ASC or DESC as the plan
 *  says, NULL first in ASC and last in DESC (Flink); <0, 0 or >0. */
int sluice_rank_order_cmp(const struct sluice_rank_plan *rp, const sluice_value *a, const sluice_value *b);

/** The first position of p whose ORDER BY values are greater than order
 *  (upper == 1) or not less than order (upper == 0): binary search. */
size_t sluice_rank_part_search(const sluice_rank_table *t, const sluice_rank_part *p, const sluice_value *order,
                               int upper);

/** Put r at position pos of p (rows from pos move one down); 0, or -1 out
 *  of memory. */
int sluice_rank_part_insert(sluice_rank_table *t, sluice_rank_part *p, size_t pos, sluice_rank_row *r);
/** Take the row at position pos out of p (not freed). */
sluice_rank_row *sluice_rank_part_remove(sluice_rank_table *t, sluice_rank_part *p, size_t pos);

#endif
