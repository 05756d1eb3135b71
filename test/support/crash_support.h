/*
 * Helpers shared by the crash tests (docs/checkpoints.md "What a test must
 * show"): start the sluice binary in a child, kill it or let a planned fault
 * abort it, and pick the crash point of each run.
 */
#ifndef SLUICE_CRASH_SUPPORT_H
#define SLUICE_CRASH_SUPPORT_H

#include <sys/types.h>

/** The pipeline of the crash tests over flights-20k (source `flights`): an
 *  APPEND sink `hourly` (count and maximum delay per origin per hour; a
 *  duplicate or a lost row shows) and a keyed UPDATE sink `totals` (count
 *  and sum of delays per origin).  A string literal, so a test may append
 *  queries. */
#define SLUICE_CRASH_SQL                                                                        \
    "CREATE SOURCE flights (\n"                                                                 \
    "    date TIMESTAMP FORMAT '%Y/%m/%d %H:%M', delay BIGINT, origin VARCHAR,\n"               \
    "    WATERMARK FOR date AS date - INTERVAL '5' MINUTE);\n"                                  \
    "CREATE SINK hourly AS SELECT window_start, origin, COUNT(*) AS n, MAX(delay) AS max_delay\n" \
    "FROM flights GROUP BY TUMBLE(date, INTERVAL '1' HOUR), origin EMIT APPEND;\n"               \
    "CREATE SINK totals AS SELECT origin, COUNT(*) AS n, SUM(delay) AS total FROM flights\n"     \
    "GROUP BY origin EMIT UPDATE;\n"

/** Fork and exec `sluice run SQL_PATH --quiet --log-level info EXTRA...` (extra: NULL or a
 *  NULL-terminated list of at most 24 arguments), with stderr appended to
 *  `err_path` and stdout sent to /dev/null.  Returns the child's pid (the
 *  test fails when fork fails). */
pid_t sluice_crash_start(const char *sql_path, const char *err_path, const char *const *extra);

/** As sluice_crash_start(), but with `progress` set the run is started
 *  without --quiet: its progress line per micro-batch (JSON with
 *  input_rows and state_rows, docs/operations.md) goes to `err_path` too. */
pid_t sluice_crash_start_ex(const char *sql_path, const char *err_path, const char *const *extra, int progress);

/** waitpid() for pid, retrying on EINTR; the wait status, or -1. */
int sluice_crash_wait(pid_t pid);

/** Sleep `us` microseconds (resumed across signals). */
void sluice_crash_sleep_us(long us);

/** Where a planned crash (abort()) lands, besides SIGKILLs at random
 *  instants. */
typedef enum sluice_crash_point {
    SLUICE_CRASH_BEFORE_COMMIT,  /**< in a sink's commit, before the sink commits */
    SLUICE_CRASH_AFTER_COMMIT,   /**< in a sink's commit, once the sink has committed */
    SLUICE_CRASH_IN_SNAPSHOT,    /**< halfway through writing a state snapshot */
    SLUICE_CRASH_IN_OFFSETS,     /**< halfway through writing an epoch's offsets */
    SLUICE_CRASH_POINTS
} sluice_crash_point;

/** A short name of a crash point, for messages. */
const char *sluice_crash_point_name(sluice_crash_point p);

/** The --set arguments for one run. */
typedef struct sluice_crash_args {
    char buf[6][256];
    const char *argv[13];
} sluice_crash_args;

/** Fill `a` with the `--set` arguments that make a run abort() at point
 *  `p` on the `nth` (1-based) occurrence: for the commit points, sink
 *  `sink` is wrapped in the fault connector around `inner` (its connector);
 *  the checkpoint points use [pipeline] fault.abort_in_snapshot /
 *  fault.abort_in_offsets.  Returns a->argv (NULL-terminated). */
const char *const *sluice_crash_fault_args(sluice_crash_args *a, sluice_crash_point p, const char *sink,
                                           const char *inner, int nth);

/** One crash test, as sluice_crash_drive() runs it. */
typedef struct sluice_crash_test {
    const char *name;              /**< for the summary line, e.g. "kafka-to-mysql" */
    const char *sql_path;          /**< the pipeline each run starts */
    const char *err_path;          /**< the runs' stderr (appended); its end is quoted when a run fails */
    const char *const *sinks;      /**< NULL-terminated: the sinks whose commit the planned aborts hit, in turn */
    const char *connector;         /**< those sinks' connector, which the fault connector wraps */
    unsigned seed;                 /**< for the kill instants and the abort occurrences */
    long kill_min_us, kill_span_us; /**< a SIGKILL lands min + random % span microseconds after the start */
    /** NULL, or a line fragment a run writes to stderr once it has started
     *  (opened its sinks, recovered): every other SIGKILL then lands
     *  random % (span / 2) microseconds after it appears, so that slow
     *  start-ups do not take most of the kills */
    const char *started_marker;
    /** At least this many runs must resume from a checkpoint (their log
     *  shows the recovery event "recovered:"), or the test fails: a crash
     *  test whose runs never get to a checkpoint shows nothing.  0: 10. */
    int min_recoveries;
    /** Run without --quiet, so that the log holds the progress lines
     *  (state_rows after each micro-batch) that `state_restored` reads. */
    int progress;
    /** NULL, or: given the log of one run that shows the recovery event
     *  (NUL-terminated, borrowed), whether it shows that the state of
     *  interest (e.g. a join's rows) came back from the snapshot; the
     *  summary counts such runs, and fewer than min_state_restores fail the
     *  test. */
    int (*state_restored)(void *ctx, const char *log);
    int min_state_restores;        /**< see state_restored */
    const char *state_name;        /**< that state, for messages, e.g. "join rows" */
    void *ctx;                     /**< passed to the callbacks */
    /** Before each run of cycle `cycle` (1-based), e.g. a profile with a new
     *  consumer group; NULL: nothing to do. */
    void (*before_run)(void *ctx, int cycle);
    /** A run of cycle `cycle` got to the end of its input: fail the test
     *  unless its outputs equal the uninterrupted run's. */
    void (*compare)(void *ctx, int cycle);
    /** Start cycle `cycle` over: no checkpoint, no outputs. */
    void (*new_cycle)(void *ctx, int cycle);
} sluice_crash_test;

/** Run the pipeline again and again: every fifth run is planned to abort()
 *  at the next crash point in turn (on a random 1st..8th occurrence), the
 *  others get a SIGKILL at a random instant.  A run that gets to the end of
 *  its input closes a cycle (see started_marker for the kill instants): t->compare checks the outputs, and unless 20
 *  SIGKILLs and an abort at every crash point have landed, t->new_cycle
 *  starts the next one.  A run that fails, or dies of another signal, fails
 *  the test.  A run whose log shows the recovery event ("recovered:",
 *  logged at info level by the executor) resumed from a checkpoint; fewer
 *  such runs than t->min_recoveries fail the test.  Prints a summary line
 *  (kills, aborts per point, runs that recovered, runs, cycles). */
void sluice_crash_drive(const sluice_crash_test *t);

#endif
