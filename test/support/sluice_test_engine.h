/*
 * Test harness for the query engine end to end through the embedding API:
 * a pipeline whose source `ev` is the memory source (JSON records, fed one
 * by one) and whose sinks are CSV files, so that each emitted row is seen,
 * batch by batch, in order.  One pipeline at a time (cmocka runs tests
 * sequentially); use sluice_test_engine_setup/teardown as the test's
 * setup and teardown.
 */
#ifndef SLUICE_TEST_ENGINE_H
#define SLUICE_TEST_ENGINE_H

#include <stdint.h>

#include "sluice/sluice.h"
#include "sluice_test.h"

#define SLUICE_TEST_T2001 INT64_C(978307200000) /* 2001-01-01 00:00:00 UTC, ms */
#define SLUICE_TEST_MIN_MS INT64_C(60000)

/** The usual source: event time `ts`, watermark without delay. */
#define SLUICE_TEST_SOURCE                                                                         \
    "CREATE SOURCE ev (ts TIMESTAMP, k VARCHAR, v BIGINT, x DOUBLE,\n"                            \
    "                  WATERMARK FOR ts AS ts);\n"

/** cmocka setup: a fresh temporary directory, no pipeline. */
int sluice_test_engine_setup(void **state);

/** cmocka teardown: closes the pipeline, if any. */
int sluice_test_engine_teardown(void **state);

/** The test's temporary directory (borrowed until teardown). */
const char *sluice_test_engine_dir(void);

/** Path of the dead-letter file of the pipeline (borrowed). */
const char *sluice_test_engine_dead_letter_path(void);

/** Open the pipeline `sql` with sinks `names` (comma separated), each a CSV
 *  file DIR/NAME.csv; `pipeline_extra` (or NULL) goes into [pipeline]. */
void sluice_test_engine_open(const char *sql, const char *names, const char *pipeline_extra);

/** Make `p` the pipeline closed at teardown. */
void sluice_test_engine_adopt(sluice_pipeline *p);

/** The open pipeline and its source `ev`. */
sluice_pipeline *sluice_test_engine_pipeline(void);
sluice_source *sluice_test_engine_source(void);

/** Push a JSON record to `ev` (partition 0, or `partition`). */
void sluice_test_push(const char *json);
void sluice_test_push_p(int32_t partition, const char *json);
/** Push a JSON record to `ev`, partition 0, with record timestamp ts_ms
 *  (what METADATA FROM 'timestamp' reads). */
void sluice_test_push_at(const char *json, int64_t ts_ms);

/** Push {"ts": "2001-01-01 HH:MM:SS", "k": k, "v": v}; k NULL = absent. */
void sluice_test_push_ev(const char *hhmmss, const char *k, long v);
void sluice_test_push_ev_p(int32_t partition, const char *hhmmss, const char *k, long v);

/** One micro-batch; returns 1 when the pipeline is done. */
int sluice_test_step(void);

/** End the input of `ev` and step until the pipeline is done. */
void sluice_test_end_input(void);

sluice_pipeline_stats sluice_test_stats(void);

/** The rows sink `name` received since the last take, as CSV text (no
 *  header), its lines sorted (the order of rows within one batch is not
 *  specified).  Static buffer, valid until the next take. */
const char *sluice_test_take(const char *name);

/** Like sluice_test_take, in the order the rows were written. */
const char *sluice_test_take_in_order(const char *name);

#endif
