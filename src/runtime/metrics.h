/*
 * sluice — metrics in the Prometheus text exposition format (version
 * 0.0.4), served over HTTP by libmicrohttpd, with a liveness endpoint.
 * Private.
 *
 *   GET /metrics  counters, gauges and histograms of the pipeline
 *   GET /healthz  200 "ok" while micro-batches complete; 503 when none
 *                 completed within the stuck timeout (a liveness probe)
 *
 * The execute loop updates the values; the HTTP thread reads them; a mutex
 * guards them.
 */
#ifndef SLUICE_RUNTIME_METRICS_H
#define SLUICE_RUNTIME_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include "sluice/error.h"

typedef struct sluice_metrics sluice_metrics;

/** Create the registry for one pipeline with its sources and queries
 *  (names are copied).  Free with sluice_metrics_free(). */
sluice_err_t sluice_metrics_new(const char *pipeline, const char *const *sources, size_t nsources,
                                const char *const *queries, size_t nqueries, sluice_metrics **out);

/** Totals of source i since start (counters: rows). */
void sluice_metrics_set_source(sluice_metrics *m, size_t i, uint64_t input_rows, uint64_t malformed_rows);

/** Per-partition consumer lag of source i (records behind the end of the
 *  partition), replacing what was set before; topics[k], partitions[k],
 *  lags[k] for k < n.  For sources that know it (Kafka). */
void sluice_metrics_set_lag(sluice_metrics *m, size_t i, const char *const *topics, const int32_t *partitions,
                            const int64_t *lags, size_t n);

/** State of query k now and its late rows since start; watermark in ms
 *  (INT64_MIN before any, INT64_MAX after the end of input). */
void sluice_metrics_set_query(sluice_metrics *m, size_t k, uint64_t late_rows, uint64_t state_rows,
                              uint64_t state_bytes, int64_t watermark_ms);

/** One micro-batch took duration_s seconds, processing rows_per_second. */
void sluice_metrics_observe_batch(sluice_metrics *m, double duration_s, double rows_per_second);

/** Sink k wrote `rows` rows in an epoch whose commit took seconds. */
void sluice_metrics_observe_sink(sluice_metrics *m, size_t k, uint64_t rows, double commit_seconds);

/** Rows sink k set aside since start (on_error = dead_letter): the
 *  counter sluice_sink_rejected_rows_total. */
void sluice_metrics_set_sink_rejected(sluice_metrics *m, size_t k, uint64_t rejected_rows);

/** A loop iteration completed (with or without input): the pipeline is
 *  alive. */
void sluice_metrics_heartbeat(sluice_metrics *m);

/** Whether reading is paused because state reached max_state_bytes. */
void sluice_metrics_set_backpressure(sluice_metrics *m, int on);

/** The exposition text (malloc'd, NUL-terminated; *len its length).
 *  NULL when out of memory. */
char *sluice_metrics_render(sluice_metrics *m, size_t *len);

/** 1 when a loop iteration completed within the last stuck_ms. */
int sluice_metrics_healthy(sluice_metrics *m, int64_t stuck_ms);

/** Limits of the HTTP endpoint, so that no client can take file
 *  descriptors or threads from the pipeline.  0 in a field: its default. */
typedef struct sluice_metrics_limits {
    unsigned max_connections;      /**< at once; default 64 */
    unsigned max_per_client;       /**< at once from one IP address; default 8 */
    unsigned idle_timeout_s;       /**< an idle connection is closed after it; default 10 */
} sluice_metrics_limits;

/** Serve /metrics and /healthz on `listen` ("HOST:PORT", IPv4; port 0
 *  picks a free one) from one background thread (epoll), within `limits`
 *  (NULL: the defaults; connections over a limit are closed on accept).
 *  /healthz answers 503 after stuck_ms without a completed iteration.
 *  libmicrohttpd's messages go to sluice_log (module "metrics").  Returns
 *  SLUICE_ERR_CONFIG for a bad address, SLUICE_ERR_IO when the port cannot
 *  be bound. */
sluice_err_t sluice_metrics_serve(sluice_metrics *m, const char *listen, int64_t stuck_ms,
                                  const sluice_metrics_limits *limits, char *errstr, size_t errstr_size);

/** The port the server listens on (0 when not serving). */
int sluice_metrics_port(const sluice_metrics *m);

/** Stop serving and free.  NULL-safe. */
void sluice_metrics_free(sluice_metrics *m);

#endif
