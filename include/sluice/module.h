/*
 * sluice — the module contracts.
 *
 * A module is a `const` ops struct of function pointers plus an instance
 * struct whose first field points at it (SQLite's sqlite3_io_methods /
 * sqlite3_file pattern).  Ops structs are always filled by field name.
 * Optional methods may be NULL and are checked before the call.
 *
 * Three kinds: source (getDataSource), transform (the query engine), sink.
 * execute() (sluice/execute.h) drives them; it never knows which concrete
 * connector it talks to.
 */
#ifndef SLUICE_MODULE_H
#define SLUICE_MODULE_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "sluice/batch.h"
#include "sluice/error.h"
#include "sluice/value.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Version of the ops structs below; modules set `.version` to it. */
#define SLUICE_MODULE_VERSION 1

/* ------------------------------------------------------------------ */
/* Option tables                                                       */
/* ------------------------------------------------------------------ */

/** The type of an option's value: what the generic check accepts before
 *  a connector is opened (`sluice check` and `sluice run` alike). */
typedef enum sluice_option_type {
    SLUICE_OPT_STRING = 0, /**< any text */
    SLUICE_OPT_BOOL,       /**< true or false (also yes/no, on/off, 1/0) */
    SLUICE_OPT_INT,        /**< a decimal integer in [min, max] (max 0: no upper bound) */
    SLUICE_OPT_DURATION,   /**< an integer with unit ms, s, m, h or d (bare: ms) */
    SLUICE_OPT_SIZE,       /**< bytes: an integer with an optional k, M or G (powers of 1024) */
    SLUICE_OPT_ENUM,       /**< one of `choices` ("json|csv") */
    SLUICE_OPT_CHAR,       /**< one character, or \t */
    SLUICE_OPT_LIST        /**< comma-separated names */
} sluice_option_type;

/** The section must set the option. */
#define SLUICE_OPT_REQUIRED 0x1u
/** The value is a secret: never shown (`sluice check` prints ****). */
#define SLUICE_OPT_SECRET 0x2u
/** `name` is a prefix ("kafka."): every key that starts with it is
 *  accepted and handed to the connector, which passes it on (a client
 *  library's own property). */
#define SLUICE_OPT_PREFIX 0x4u
/** The value names the input a source reads (a file's path, a topic, a
 *  table): a checkpoint records it, and a restart reading other input is
 *  refused, since the checkpoint's positions are the old input's. */
#define SLUICE_OPT_IDENTITY 0x8u
/** The value is a file's path (relative to the working directory): the
 *  checkpoint records it resolved (realpath), so another spelling of the
 *  same file is the same input. */
#define SLUICE_OPT_FILE 0x10u

/** One entry of a connector's option table, in the style of Fluent Bit's
 *  config_map and librdkafka's property table: the single description of
 *  an option, from which the keys are checked, `sluice connectors`
 *  prints the reference, and docs/connectors.md is generated.  A table
 *  ends with an entry whose name is NULL. */
typedef struct sluice_option_spec {
    const char *name;
    sluice_option_type type;
    const char *default_value;     /**< as written in a profile; NULL: none, or
                                        computed (the description says how) */
    const char *description;       /**< one or two sentences: meaning and units */
    const char *choices;           /**< ENUM: the values, '|'-separated */
    int64_t min, max;              /**< INT: the bounds (max 0: none) */
    unsigned flags;                /**< SLUICE_OPT_REQUIRED, _SECRET, _PREFIX */
} sluice_option_spec;

/** One `key = value` of a source's or sink's INI section, after ${VAR}
 *  expansion.  file/line locate it for error messages. */
typedef struct sluice_option {
    const char *key;
    const char *value;
    const char *file;   /**< INI file path, or "--set" */
    int line;           /**< 1-based; 0 when unknown */
} sluice_option;

/** What a module instance is opened with.  Everything is borrowed and lives
 *  until the instance is closed. */
typedef struct sluice_module_config {
    const char *pipeline;          /**< pipeline name: the .sql file's stem */
    const char *instance;          /**< the SOURCE or SINK name in the SQL */
    const sluice_option *options;  /**< the instance's INI section */
    size_t noptions;
    const sluice_schema *schema;   /**< source: declared columns; sink: output rows */
    const char *const *shared;     /**< NULL-terminated key,value pairs of the
                                        connector's shared section (its ops'
                                        shared_section, e.g. [kafka]) or NULL */
    int checkpointing;             /**< 1: the pipeline has a checkpoint_dir: a
                                        sink keeps what earlier runs committed
                                        (docs/checkpoints.md); a source's
                                        positions come from the checkpoint
                                        (the Kafka source assigns itself its
                                        partitions); a source that cannot
                                        replay says so at start */
    int output_mode;               /**< sinks: the query's output mode,
                                        SLUICE_OUTPUT_APPEND/UPDATE/COMPLETE;
                                        0 when unknown (sources, tests) */
    const char *default_group;     /**< sources: the consumer group to use when
                                        the section sets none (the pipeline
                                        gives each of several Kafka sources
                                        its own); NULL: the connector's
                                        default */

    /** Sinks: hand back one row the sink cannot store, so that one bad row
     *  never stops the pipeline for good (the sink's `on_error`, as Kafka
     *  Connect's `errors.tolerance`).  A sink calls it for a row the
     *  destination refuses for the row's own content -- a value longer
     *  than its column, bytes its character set cannot hold, a number it
     *  cannot represent, a record over the broker's size limit -- never for
     *  a fault of the connection or the server (those are retried or fail
     *  the run as before).
     *
     *  `row` is the row (cfg->schema's ncolumns values, borrowed for the
     *  call), or NULL when only `raw` is at hand: the row already rendered
     *  as a JSON object (raw_len bytes; NULL when `row` is given).
     *  `reason` says what the destination cannot hold, naming the column
     *  ("column 'origin': 300 characters, VARCHAR(255) holds 255").
     *
     *  Returns SLUICE_OK when the row was set aside (on_error = dead_letter:
     *  written to the dead letter with the sink's name and the reason, and
     *  counted): the sink then skips it and commits the rest of the epoch.
     *  Any other code (on_error = fail) comes with a message in errstr
     *  naming the sink, the epoch and the reason: the sink returns it from
     *  the write() or commit() it was in, and the run fails.
     *
     *  NULL (a sink opened outside a pipeline): the sink fails the call as
     *  if on_error were fail. */
    sluice_err_t (*reject)(void *ctx, int64_t epoch, const sluice_value *row, const char *raw,
                           size_t raw_len, const char *reason, char *errstr, size_t errstr_size);
    void *reject_ctx;              /**< the first argument of reject() */
    int available_now;             /**< sources: 1 when the pipeline's trigger is
                                        available_now (the run ends once the
                                        input has nothing more); a source whose
                                        input has no end of its own (a socket)
                                        then ends it when its peer closes */
} sluice_module_config;

/** Call cfg->reject for one row, or without a callback write the
 *  on_error = fail message ("sink NAME: epoch E: REASON") into errstr and
 *  return SLUICE_ERR_RUNTIME. */
sluice_err_t sluice_module_reject(const sluice_module_config *cfg, int64_t epoch, const sluice_value *row,
                                  const char *raw, size_t raw_len, const char *reason, char *errstr,
                                  size_t errstr_size);

/** Output modes of a sink's query (Spark's OutputMode): APPEND emits each
 *  row once, final; UPDATE emits rows that changed since the last epoch;
 *  COMPLETE emits the whole result table every epoch. */
#define SLUICE_OUTPUT_APPEND 1
#define SLUICE_OUTPUT_UPDATE 2
#define SLUICE_OUTPUT_COMPLETE 3

/** The option's value, or NULL when the section does not set it. */
const char *sluice_module_config_get(const sluice_module_config *cfg, const char *key);

/** Find the option record for key (for file:line in errors), or NULL. */
const sluice_option *sluice_module_config_find(const sluice_module_config *cfg, const char *key);

/* ------------------------------------------------------------------ */
/* Sources                                                             */
/* ------------------------------------------------------------------ */

typedef struct sluice_source sluice_source;
typedef struct sluice_source_ops sluice_source_ops;

/** Base of every source instance: the concrete struct embeds it first. */
struct sluice_source {
    const sluice_source_ops *ops;
    /** CSV only: the header line (column names) when the source has one,
     *  e.g. a file's first line; NULL otherwise (then CSV fields are taken
     *  in the declared column order).  Owned by the source. */
    const char *csv_header;
    size_t csv_header_len;
};

struct sluice_source_ops {
    int version;                   /**< SLUICE_MODULE_VERSION */
    const char *name;              /**< connector name in the INI ("file") */
    const char *const *options;    /**< NULL-terminated accepted keys; NULL: the
                                        module checks its own keys in open() */

    /** Open an instance.  Validates its options (an unknown value is
     *  SLUICE_ERR_CONFIG naming file:line).  Must not read input yet beyond
     *  what is needed to validate (a CSV header).  On success *out is set
     *  and owned by the caller, who frees it with close(). */
    sluice_err_t (*open)(const sluice_module_config *cfg, sluice_source **out,
                         char *errstr, size_t errstr_size);

    /** Fill `out` (already cleared by the engine) with up to max_records
     *  records, waiting at most timeout_ms (0: do not wait) for the first
     *  one.  Returns SLUICE_OK with out->count == 0 when nothing arrived.
     *  A bounded source sets out->end_of_input once it has handed out its
     *  last record (in the same or a later call).  Record bytes stay valid
     *  until the next poll() or close(). */
    sluice_err_t (*poll)(sluice_source *src, sluice_record_batch *out,
                         size_t max_records, int timeout_ms,
                         char *errstr, size_t errstr_size);

    /** Optional.  Every sink has committed `epoch`, which contains all the
     *  records handed out so far: the source may acknowledge them
     *  upstream (Kafka offset commit). */
    sluice_err_t (*commit)(sluice_source *src, int64_t epoch,
                           char *errstr, size_t errstr_size);

    /** Optional.  Write a human-readable position of `rec` for dead
     *  letters ("fixtures/x.jsonl:12").  Default: "partition P offset O". */
    void (*position)(sluice_source *src, const sluice_record *rec,
                     char *buf, size_t size);

    /** Release the instance.  NULL-safe. */
    void (*close)(sluice_source *src);

    /** Optional (checkpointing: replay and recovery).  Position partition
     *  (topic, partition) so that the next record poll() hands out from it
     *  is the one at `offset` (an offset as this source fills
     *  sluice_record.offset).  SLUICE_ERR_RUNTIME when the input no longer
     *  holds that offset. */
    sluice_err_t (*seek)(sluice_source *src, const char *topic, int32_t partition, int64_t offset,
                         char *errstr, size_t errstr_size);

    /** Optional (metrics).  The consumer lag: for up to `max` partitions
     *  the source reads, the partition (parts[i], borrowed until the next
     *  poll) and the records between the next one to hand out and the
     *  partition's end (lags[i]).  Returns how many were filled.  Must not
     *  block on the network. */
    size_t (*lag)(sluice_source *src, sluice_partition_ref *parts, int64_t *lags, size_t max);

    /** Optional (`sluice check`).  Validate the options as open() does
     *  (SLUICE_ERR_CONFIG naming file:line), without connecting, opening a
     *  file or reading input.  NULL: only the option keys are checked. */
    sluice_err_t (*validate)(const sluice_module_config *cfg, char *errstr, size_t errstr_size);

    /** Optional.  The INI section holding settings every instance of this
     *  connector shares ("kafka": [kafka] with the brokers), handed to
     *  open() as cfg->shared; NULL: none.  Appended last so that ops filled
     *  by field name stay valid. */
    const char *shared_section;

    /** 1: the source cannot hand out again what it handed out before (a
     *  socket keeps no copy of its lines).  Recovery then replays an epoch
     *  that read from it without those records, logging an error that
     *  names the source, the epoch and the lost range, rather than waiting
     *  for input that never comes; seek() only makes new input follow the
     *  checkpoint's positions.  0 (default): seek() can go back. */
    int no_replay;

    /** 1: the source is a member of a consumer group (Kafka's group
     *  protocol, KIP-62/KIP-429).  When a pipeline has several sources of
     *  such connectors, each gets its own default group
     *  (cfg->default_group = sluice.<pipeline>.<source>), so that one
     *  source's rebalance never waits for another's consumer, which is not
     *  polled meanwhile.  0 (default): no group. */
    int consumer_group;

    /** Optional.  The connector's option table (sluice_option_spec, ended
     *  by a NULL name): when set, the pipeline checks every key and value
     *  of the instance's section against it before open() or validate()
     *  (an unknown key, a value of the wrong type, a missing required
     *  option: SLUICE_ERR_CONFIG naming file:line), and `options` is not
     *  used. */
    const sluice_option_spec *option_specs;
    /** Optional.  The table of its shared section (shared_section). */
    const sluice_option_spec *shared_specs;
};

/* ------------------------------------------------------------------ */
/* Sinks                                                               */
/* ------------------------------------------------------------------ */

typedef struct sluice_sink sluice_sink;
typedef struct sluice_sink_ops sluice_sink_ops;

/** Base of every sink instance: the concrete struct embeds it first. */
struct sluice_sink {
    const sluice_sink_ops *ops;
};

struct sluice_sink_ops {
    int version;                   /**< SLUICE_MODULE_VERSION */
    const char *name;              /**< connector name in the INI ("memory") */
    const char *const *options;    /**< NULL-terminated accepted keys; NULL: the
                                        module checks its own keys in open() */

    /** Open an instance for rows of cfg->schema.  On success *out is set;
     *  free with close(). */
    sluice_err_t (*open)(const sluice_module_config *cfg, sluice_sink **out,
                         char *errstr, size_t errstr_size);

    /** Take the rows one query emitted in micro-batch `epoch` (borrowed for
     *  the call; may be empty).  Called at most once per epoch.
     *
     *  The rows are a changelog: each has a change kind
     *  (sluice_row_batch_kind(), Flink's RowKind, sluice/changelog.h).  An
     *  APPEND query's rows are all inserts.  An UPDATE or COMPLETE query's
     *  rows are update-afters (upserts keyed by cfg->schema's PRIMARY KEY,
     *  the query's group key) and may include deletes (a row leaving a
     *  top-N ranking; later, retractions) and update-befores.  A sink
     *  applies every kind to its destination: an insert or update-after
     *  stores the row (an upsert where the destination has keys), a delete
     *  removes the row with the row's key, an update-before is either
     *  ignored (a keyed destination: the update-after that follows replaces
     *  the row) or removes the row it retracts; a sink that writes rows as
     *  text writes the kind with each row when cfg->output_mode is not
     *  APPEND.  Each connector's choices: docs/connectors.md, "Changelog at
     *  the sinks".  A kind the destination cannot express goes to
     *  cfg->reject; no kind is dropped silently. */
    sluice_err_t (*write)(sluice_sink *sink, int64_t epoch,
                          const sluice_row_batch *rows,
                          char *errstr, size_t errstr_size);

    /** Optional.  Make epoch's rows durable and visible, atomically where
     *  the connector can (see docs/checkpoints.md). */
    sluice_err_t (*commit)(sluice_sink *sink, int64_t epoch,
                           char *errstr, size_t errstr_size);

    /** Optional.  The run ended normally: print the sink's summary to
     *  `out` (the memory sink prints its result table). */
    sluice_err_t (*report)(sluice_sink *sink, FILE *out,
                           char *errstr, size_t errstr_size);

    /** Release the instance (flushes nothing on its own).  NULL-safe. */
    void (*close)(sluice_sink *sink);

    /** Optional (checkpointing).  The newest epoch an earlier run of this
     *  pipeline committed durably to this sink, or -1.  When replaying,
     *  execute() does not write epochs at or below it again. */
    int64_t (*committed_epoch)(sluice_sink *sink);

    /** Optional (`sluice check`).  Validate the options as open() does
     *  (SLUICE_ERR_CONFIG naming file:line), without connecting or opening
     *  anything.  NULL: only the option keys are checked. */
    sluice_err_t (*validate)(const sluice_module_config *cfg, char *errstr, size_t errstr_size);

    /** Optional.  The INI section holding settings every instance of this
     *  connector shares ("kafka": [kafka] with the brokers), handed to
     *  open() as cfg->shared; NULL: none.  Appended last so that ops filled
     *  by field name stay valid. */
    const char *shared_section;

    /** Optional.  The option table, as a source's option_specs. */
    const sluice_option_spec *option_specs;
    /** Optional.  The table of its shared section (shared_section). */
    const sluice_option_spec *shared_specs;
};

/* ------------------------------------------------------------------ */
/* Transform                                                           */
/* ------------------------------------------------------------------ */

typedef struct sluice_transform sluice_transform;
typedef struct sluice_transform_ops sluice_transform_ops;

struct sluice_transform {
    const sluice_transform_ops *ops;
};

/** Counters a transform keeps for the progress line (since start). */
typedef struct sluice_transform_stats {
    uint64_t input_rows;       /**< records received */
    uint64_t late_rows;        /**< rows dropped as late */
    uint64_t malformed_rows;   /**< records that failed to decode */
    uint64_t state_rows;       /**< open aggregate groups now */
    uint64_t state_bytes;      /**< bytes of aggregate state now */
    int64_t watermark;         /**< lowest watermark over event-time sources (ms);
                                    SLUICE_TS_MIN before any */
    uint64_t kept_state_bytes; /**< of state_bytes, what nothing will free
                                    without more input (COMPLETE mode and
                                    aggregation without a window keep every
                                    group; event-time windows when no
                                    watermark can advance); 0 if unknown */
} sluice_transform_stats;

struct sluice_transform_ops {
    int version;
    const char *name;

    /** Consume one polled batch of source `source` (an index into the
     *  pipeline's sources).  Rows are judged against the watermark as it
     *  stood when the micro-batch began. */
    sluice_err_t (*process)(sluice_transform *t, size_t source,
                            sluice_source *src, const sluice_record_batch *in,
                            char *errstr, size_t errstr_size);

    /** End of micro-batch `epoch`: advance watermarks (a source whose
     *  input ended goes to +infinity), then set out[k] (nsinks entries) to
     *  the rows sink k must receive in this epoch, per its output mode.
     *  The batches belong to the transform and stay valid until its next
     *  process() or end_batch(). */
    sluice_err_t (*end_batch)(sluice_transform *t, int64_t epoch,
                              const sluice_row_batch **out, size_t nsinks,
                              char *errstr, size_t errstr_size);

    /** Optional.  Current counters. */
    void (*stats)(sluice_transform *t, sluice_transform_stats *out);

    /** Release.  NULL-safe. */
    void (*destroy)(sluice_transform *t);

    /** Optional.  The processing time (wall clock, ms since the Unix epoch)
     *  of the micro-batch about to run; every processing-time decision of
     *  that batch (idle partitions) uses it, so that a replay given the
     *  logged time decides the same. */
    void (*set_time)(sluice_transform *t, int64_t now_ms);

    /** Optional (checkpointing).  Serialise the whole state between
     *  micro-batches into *buf (malloc'd, *len bytes; caller frees). */
    sluice_err_t (*snapshot)(sluice_transform *t, void **buf, size_t *len, char *errstr, size_t errstr_size);

    /** Optional (checkpointing).  Recovery is over and processing resumes
     *  at now_ms (wall clock): the time the pipeline was down must not count
     *  as idleness of its input partitions. */
    void (*resume)(sluice_transform *t, int64_t now_ms);

    /** Optional (checkpointing).  Replace the state with one produced by
     *  snapshot() of the same plan.  SLUICE_ERR_MALFORMED when it does not
     *  decode. */
    sluice_err_t (*restore)(sluice_transform *t, const void *buf, size_t len, char *errstr, size_t errstr_size);
};

#ifdef __cplusplus
}
#endif
#endif
