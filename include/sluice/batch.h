/*
 * sluice — batches: what a source hands to the engine (records: bytes plus
 * envelope) and what the engine hands to a sink (typed rows).
 *
 * Work moves in batches of thousands of rows; every operator loops over a
 * whole batch, never row by row through function pointers.
 */
#ifndef SLUICE_BATCH_H
#define SLUICE_BATCH_H

#include <stddef.h>
#include <stdint.h>

#include "sluice/arena.h"
#include "sluice/changelog.h"
#include "sluice/error.h"
#include "sluice/value.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Bytes that must be readable (any content) after the end of every record
 *  value a source hands out, so that SIMD JSON parsing may over-read.  A
 *  source that copies values into the batch arena adds them itself. */
#define SLUICE_RECORD_PADDING 64

/** One raw input record and its envelope (Kafka's record fields; a file
 *  source fills what it can, see each connector). */
typedef struct sluice_record {
    const char *value;      /**< the payload: one JSON object, one CSV line;
                                 followed by >= SLUICE_RECORD_PADDING readable bytes */
    size_t value_len;       /**< bytes, without any line terminator */
    const char *key;        /**< record key, NULL if none */
    size_t key_len;
    const char *topic;      /**< Kafka topic, or NULL (file: NULL) */
    int32_t partition;      /**< input partition (a file is partition 0) */
    int64_t offset;         /**< Kafka offset; file source: 1-based line number */
    int64_t timestamp_ms;   /**< Kafka record timestamp; file source: read time */
} sluice_record;

/** One input partition a source reads from. */
typedef struct sluice_partition_ref {
    const char *topic;      /**< NULL for sources without topics */
    int32_t partition;
} sluice_partition_ref;

/** What one source poll() returns.  The engine owns the struct and the
 *  arena and resets both before each poll(); the records array grows with
 *  sluice_record_batch_push().  Record bytes either point into the source's
 *  own buffers (valid until the source's next poll()) or into `arena`. */
typedef struct sluice_record_batch {
    sluice_record *records;
    size_t count;           /**< records filled */
    size_t capacity;        /**< records allocated */
    int end_of_input;       /**< set by a bounded source: no record will follow,
                                 its watermark goes to +infinity */
    sluice_arena *arena;    /**< per-poll memory the source may allocate from */
    /** Optional: every partition the source reads now (Kafka: its current
     *  assignment; borrowed until the next poll), so that a partition that
     *  has not delivered a record yet holds the watermark back until it is
     *  idle (Flink's rule for splits).  NULL: the records' partitions. */
    const sluice_partition_ref *assigned;
    size_t nassigned;
} sluice_record_batch;

/** Initialise an empty record batch with its own arena.
 *  Returns SLUICE_ERR_NOMEM on failure. */
sluice_err_t sluice_record_batch_init(sluice_record_batch *b);

/** Append one zeroed record and return it (NULL when out of memory).  The
 *  pointer is valid until the next push (the array may move). */
sluice_record *sluice_record_batch_push(sluice_record_batch *b);

/** Forget all records and reset the arena (keeps allocations for reuse). */
void sluice_record_batch_clear(sluice_record_batch *b);

/** Free the records array and arena.  NULL-safe on a zeroed struct. */
void sluice_record_batch_free(sluice_record_batch *b);

/** Typed rows for a sink: nrows rows of schema->ncolumns values each,
 *  row-major, each with a change kind (sluice/changelog.h).  VARCHAR bytes
 *  live in `arena` (or are otherwise borrowed).  A sink receives it
 *  borrowed for the duration of write() and copies what it keeps. */
typedef struct sluice_row_batch {
    const sluice_schema *schema;
    size_t nrows;
    size_t capacity;        /**< rows allocated */
    sluice_value *values;   /**< nrows * schema->ncolumns */
    sluice_arena *arena;
    uint8_t *kinds; /**< nrows change kinds (sluice_row_kind), or NULL: every row is an insert */
} sluice_row_batch;

/** Initialise an empty row batch for `schema` (borrowed; must outlive the
 *  batch) with its own arena.  Returns SLUICE_ERR_NOMEM on failure. */
sluice_err_t sluice_row_batch_init(sluice_row_batch *b, const sluice_schema *schema);

/** Append one insert row (all values NULL) and return its ncolumns values,
 *  or NULL when out of memory.  Valid until the next append. */
sluice_value *sluice_row_batch_append(sluice_row_batch *b);

/** Append one row of change kind k (all values NULL) and return its
 *  ncolumns values, or NULL when out of memory (the batch is then
 *  unchanged).  The kinds array is allocated the first time a kind other
 *  than SLUICE_ROW_INSERT is appended, so a batch of inserts never has one.
 *  Valid until the next append. */
sluice_value *sluice_row_batch_append_kind(sluice_row_batch *b, sluice_row_kind k);

/** Row i's change kind: SLUICE_ROW_INSERT when the batch has no kinds
 *  (no bounds check). */
sluice_row_kind sluice_row_batch_kind(const sluice_row_batch *b, size_t i);

/** Row i's values (no bounds check). */
static inline const sluice_value *sluice_row_batch_row(const sluice_row_batch *b, size_t i) {
    return b->values + i * b->schema->ncolumns;
}

/** Forget all rows and reset the arena (a kinds array is kept for reuse). */
void sluice_row_batch_clear(sluice_row_batch *b);

/** Free rows and arena.  NULL-safe on a zeroed struct. */
void sluice_row_batch_free(sluice_row_batch *b);

#ifdef __cplusplus
}
#endif
#endif
