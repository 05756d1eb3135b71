/*
 * sluice exec — the scan operator: the root of the DAG for one source.  It
 * decodes each record of a poll once into a row of the source's columns
 * (malformed records to the dead letter), tracks the source's partitions
 * and its watermark, and pushes the rows to the first operator of every
 * query over the source.  Private.
 *
 * Watermark (Flink's rule): the minimum over the source's non-idle
 * partitions of (max event time - delay); a bounded source that ended has
 * watermark +infinity.
 */
#ifndef SLUICE_EXEC_OP_SCAN_H
#define SLUICE_EXEC_OP_SCAN_H

#include "exec/engine.h"
#include "exec/operator.h"
#include "format/format.h"

typedef struct sluice_scan_partition {
    char *topic;               /**< NULL for sources without topics */
    int32_t partition;
    int64_t max_ts;            /**< SLUICE_TS_MIN until an event time is seen */
    int64_t last_seen_ms;      /**< processing time (wall clock ms) of its last record */
} sluice_scan_partition;

/** The scan of one source; its fields are read by the DAG (exec/dag.c). */
typedef struct sluice_op_scan {
    sluice_op base;
    const sluice_source_plan *sp;
    sluice_engine_source_options opts;
    sluice_decoder *dec;
    sluice_field_spec *specs;
    size_t *spec_col;
    size_t nspecs;
    sluice_value *decoded;     /**< nspecs scratch */
    sluice_value *rows;        /**< nrows * ncolumns of the current poll */
    const sluice_record **recs;
    size_t nrows, rows_cap;
    sluice_scan_partition *parts;
    size_t nparts, pcap;
    int64_t watermark;         /**< ms, SLUICE_TS_MIN before any */
    int ended;
    int had_input;             /**< records arrived in the current micro-batch */
    int proctime;              /**< some query of the source has PROCTIME() windows */
    int reads_record_time;     /**< a used column is METADATA FROM 'timestamp' */
    sluice_op **downs;         /**< first operator of each query over the source (borrowed) */
    size_t ndowns;
    sluice_source *src;        /**< borrowed, for dead-letter positions */
    uint64_t input_rows, malformed_rows;
    /* without a dead-letter file: malformed records dropped in this
     * micro-batch, and the first one's position and reason, for the warning */
    uint64_t malformed_unlogged;
    char first_malformed[512];
    size_t snap_pos;           /**< snapshot iterator: next piece */
} sluice_op_scan;

/** A scan for source `index` of plan (borrowed) with opts; src (borrowed,
 *  may be NULL) gives the CSV header.  The decoder is set up here: a column
 *  missing from a header fails (SLUICE_ERR_CONFIG, errstr says which).
 *  downs: room for the plan's queries, filled by the DAG. */
sluice_err_t sluice_op_scan_new(const sluice_plan *plan, size_t index, const sluice_engine_source_options *opts,
                                sluice_source *src, sluice_op_ctx *ctx, sluice_op_scan **out, char *errstr,
                                size_t errstr_size);

/** Decode the records of one poll (borrowed until the next poll) into rows;
 *  `now` is the micro-batch's processing time (idle partitions).
 *  SLUICE_OK or SLUICE_ERR_NOMEM. */
sluice_err_t sluice_op_scan_decode(sluice_op_scan *s, sluice_source *src, const sluice_record_batch *in, int64_t now);

/** Push the decoded rows to every downstream operator, with the times of
 *  the batch (operator.h).  The first error stops it (ctx->err may say
 *  more). */
sluice_err_t sluice_op_scan_push(sluice_op_scan *s, int64_t proc_watermark, int64_t proc_time, size_t *failed_down);

/** Advance the watermark at the end of a micro-batch (processing time now). */
void sluice_op_scan_advance_watermark(sluice_op_scan *s, int64_t now);

/** One warning per micro-batch about malformed records dropped without a
 *  dead-letter file. */
void sluice_op_scan_warn_malformed(sluice_op_scan *s);

#endif
