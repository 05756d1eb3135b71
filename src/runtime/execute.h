/*
 * sluice — execute(): the one fixed flow, identical in every profile:
 * getDataSource (source.poll) -> transform -> sink (write, commit), one
 * micro-batch (epoch) at a time.  It never knows which connector it talks
 * to.  Private; the embedding API (sluice.h) wraps it.
 */
#ifndef SLUICE_RUNTIME_EXECUTE_H
#define SLUICE_RUNTIME_EXECUTE_H

#include <signal.h>
#include <stdint.h>
#include <stdio.h>

#include "base/dead_letter.h"
#include "state/checkpoint.h"
#include "sluice/module.h"

/** What one loop iteration did, for observers (metrics). */
typedef struct sluice_step_info {
    int64_t epoch;                 /**< the epoch run, or -1 when nothing happened */
    uint64_t input_rows;           /**< records polled in this iteration */
    double duration_s;             /**< wall time of the iteration */
    const uint64_t *sink_rows;     /**< per sink: rows written this epoch */
    const double *sink_commit_s;   /**< per sink: seconds in write+commit */
    int backpressure;              /**< reading paused: state is at max_state_bytes */
} sluice_step_info;

/** Where a source stands in one input partition: the offset of the next
 *  record to read. */
typedef struct sluice_exec_position {
    char *topic;                   /**< NULL for sources without topics */
    int32_t partition;
    int64_t next;
    int set_aside;                 /**< known only from records a replay set
                                        aside: `next` is the lowest of them */
} sluice_exec_position;

/** Values of sluice_exec.ended. */
#define SLUICE_EXEC_END 1
#define SLUICE_EXEC_DRAINED 2

typedef struct sluice_exec {
    /* wiring (borrowed) */
    sluice_source **sources;
    const char *const *source_names;
    size_t nsources;
    sluice_sink **sinks;
    const char *const *sink_names;
    size_t nsinks;
    sluice_transform *transform;
    sluice_dead_letter *dlq;       /**< flushed every epoch; may be NULL */
    /* policy */
    int64_t trigger_ms;            /**< micro-batch interval: a poll waits at
                                        most this long for input */
    int available_now;             /**< stop once the sources have nothing more */
    size_t max_records;            /**< per source per micro-batch */
    FILE *progress;                /**< one JSON line per micro-batch, or NULL */
    uint64_t max_state_bytes;      /**< 0: no cap; else stop polling while the
                                        transform's state is at least this big */
    void (*on_step)(void *ctx, const sluice_step_info *info); /**< optional */
    void *on_step_ctx;
    const char *pipeline;          /**< for log events */
    sluice_ckpt *ckpt;             /**< checkpoint directory, or NULL (borrowed) */
    int64_t checkpoint_every;      /**< snapshot every N epochs (>= 1) */
    /* state (owned; sluice_exec_init / sluice_exec_free) */
    sluice_record_batch *batches;
    int *ended;                    /**< per source: 0 read on; SLUICE_EXEC_END its input ended (end_of_input,
                                        kept in snapshots); SLUICE_EXEC_DRAINED nothing more under
                                        available_now, for this run only */
    uint64_t *rows_emitted;        /**< per sink, rows of the epochs committed by this run */
    int64_t epoch;                 /**< next epoch number */
    int64_t last_start_ms;
    sluice_transform_stats last_stats;
    int backpressure;              /**< currently paused by max_state_bytes */
    int64_t *committed;            /**< per sink: epoch committed by an earlier run */
    sluice_exec_position **pos;    /**< per source: positions (checkpointing) */
    size_t *npos;
    int64_t last_snapshot;         /**< epoch of the newest snapshot, -1 */
    int64_t replayed;              /**< epochs replayed at recovery */
    uint64_t rows_in;              /**< records polled by this run (replays excluded) */
    int64_t epochs_run;            /**< epochs committed by this run (replayed ones included) */
    int abandoned;                 /**< 1: a stop abandoned the current epoch
                                        (sluice_execute returned SLUICE_ERR_STOPPED):
                                        no snapshot may be taken */
    uint64_t abandoned_rows;       /**< records read in the abandoned epoch */
    uint64_t lost_rows;            /**< records of logged epochs that a source
                                        which cannot replay (no_replay) could
                                        not give again at recovery */
} sluice_exec;

/** Allocate the per-source batches; the wiring and policy fields must be
 *  set.  Returns SLUICE_ERR_NOMEM on failure. */
sluice_err_t sluice_exec_init(sluice_exec *x);

/** One micro-batch.  Sets *done when every source has ended (or, under
 *  available_now, had nothing to give).  An epoch in which no record came
 *  in and no row went out is not counted and not written. */
sluice_err_t sluice_exec_step(sluice_exec *x, int *done, char *errstr, size_t errstr_size);

/** With a checkpoint directory: load the newest intact snapshot, replay
 *  exactly the input ranges logged after it (sinks skip what they already
 *  committed), then position the sources where the log ends
 *  (docs/checkpoints.md "Recovery").  Call once after sluice_exec_init. */
sluice_err_t sluice_exec_recover(sluice_exec *x, char *errstr, size_t errstr_size);

/** Take a snapshot now if the newest epoch has none (a graceful stop: a
 *  restart then replays nothing). */
sluice_err_t sluice_exec_checkpoint(sluice_exec *x, char *errstr, size_t errstr_size);

/** Loop over sluice_exec_step() until done, *stop or a process-wide stop
 *  request (base/stop.h; *stop is turned into one).  A stop seen between
 *  micro-batches returns SLUICE_OK; a stop that made a wait inside a
 *  micro-batch give up abandons that epoch: x->abandoned is set and
 *  SLUICE_ERR_STOPPED returned (see sluice_exec.abandoned). */
sluice_err_t sluice_execute(sluice_exec *x, const volatile sig_atomic_t *stop, char *errstr, size_t errstr_size);

void sluice_exec_free(sluice_exec *x);

#endif
