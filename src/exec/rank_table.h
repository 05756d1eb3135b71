/*
 * sluice exec — the state of the rank operator (exec/op_rank.c): a hash
 * table of partitions (PARTITION BY values), each holding its rows sorted
 * by the ORDER BY values.  Private.
 *
 * The sorted structure is a chunked sorted array (a one-level B+ tree):
 * a directory of chunks of at most SLUICE_RANK_CHUNK row pointers, each
 * chunk sorted and every row of a chunk before every row of the next.
 * Finding a row's place is a binary search over the chunks' last rows
 * then within one chunk, O(log n) comparisons; the insert moves at most
 * 64 pointers, and a split (every 32 inserts at worst) the directory's
 * n / 32 pointers.  A plain sorted array was measured first: with its
 * memmove of every later row, an updating partition growing to 1.5 M
 * rows took 471 s instead of 5 s (docs/architecture.md "The rank
 * operator").  A skip
 * list would give O(log n) too, but would take a node per row and, to
 * know a row's rank, widths per link; the common cases keep few rows per
 * partition — an append-only input only the rows that still rank (LIMIT
 * plus the ties at the boundary), deduplication one — where one small
 * chunk is the smallest and fastest structure.
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

/** Rows a chunk holds at most: a full chunk splits in two.  The memmove
 *  of an insert is within one chunk, that of a split within the chunk
 *  directory (n / 64 .. n / 32 pointers). */
#define SLUICE_RANK_CHUNK 64

/** A run of consecutive rows of a partition (grown by doubling up to
 *  SLUICE_RANK_CHUNK, so that a partition of one row takes little). */
typedef struct sluice_rank_chunk {
    uint32_t n, cap;
    sluice_rank_row *rows[];
} sluice_rank_chunk;

/** One partition: its key values (npartition, in the same block) and its
 *  rows in rank order (ties in arrival order), as a directory of chunks
 *  none of which is empty. */
typedef struct sluice_rank_part {
    struct sluice_rank_part *next; /**< hash chain */
    uint64_t hash;                 /**< sluice_snap_keys_hash() of the keys */
    sluice_rank_chunk **chunks;
    size_t nchunks, cap_chunks;
    size_t n;                      /**< rows */
    size_t bytes;                  /**< the block's size */
    sluice_value keys[];
} sluice_rank_part;

/** A position in a partition: row i of chunk c.  The end is (nchunks, 0). */
typedef struct sluice_rank_pos {
    size_t c, i;
} sluice_rank_pos;

static inline sluice_rank_row *sluice_rank_at(const sluice_rank_part *p, sluice_rank_pos pos) {
    return p->chunks[pos.c]->rows[pos.i];
}
static inline int sluice_rank_is_end(const sluice_rank_part *p, sluice_rank_pos pos) {
    return pos.c >= p->nchunks;
}
/** The position after pos (the end after the last row). */
static inline sluice_rank_pos sluice_rank_next(const sluice_rank_part *p, sluice_rank_pos pos) {
    if (++pos.i >= p->chunks[pos.c]->n) {
        pos.c++;
        pos.i = 0;
    }
    return pos;
}
/** The row before pos, or NULL at the first position; *prev (may be NULL)
 *  set to its position. */
static inline sluice_rank_row *sluice_rank_before(const sluice_rank_part *p, sluice_rank_pos pos,
                                                  sluice_rank_pos *prev) {
    if (pos.i == 0) {
        if (pos.c == 0) return NULL;
        pos.c--;
        pos.i = p->chunks[pos.c]->n;
    }
    pos.i--;
    if (prev) *prev = pos;
    return sluice_rank_at(p, pos);
}
static inline int sluice_rank_pos_eq(sluice_rank_pos a, sluice_rank_pos b) {
    return a.c == b.c && a.i == b.i;
}
/** The 0-based index of pos among the partition's rows: O(chunks before
 *  it), so meant for positions in the result (a prefix). */
size_t sluice_rank_index(const sluice_rank_part *p, sluice_rank_pos pos);

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
 *  (upper == 1) or not less than order (upper == 0): binary search over
 *  the chunks, then within one. */
sluice_rank_pos sluice_rank_part_search(const sluice_rank_table *t, const sluice_rank_part *p,
                                        const sluice_value *order, int upper);

/** Put r at position pos of p (before the row there; at the end for the
 *  end); *at (may be NULL) set to r's position.  0, or -1 out of memory.
 *  Other positions of p are invalid afterwards. */
int sluice_rank_part_insert(sluice_rank_table *t, sluice_rank_part *p, sluice_rank_pos pos, sluice_rank_row *r,
                            sluice_rank_pos *at);
/** Take the row at position pos out of p (not freed); *after (may be
 *  NULL) set to the position of the row that followed it.  Other
 *  positions of p are invalid afterwards. */
sluice_rank_row *sluice_rank_part_remove(sluice_rank_table *t, sluice_rank_part *p, sluice_rank_pos pos,
                                         sluice_rank_pos *after);
/** The position of the last row (p not empty). */
sluice_rank_pos sluice_rank_last(const sluice_rank_part *p);

#endif
