#include <arpa/inet.h>
#include <math.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <microhttpd.h>

#include "base/clock.h"
#include "base/log.h"
#include "runtime/metrics.h"

/* Default limits of the HTTP endpoint, so that no client can take file
 * descriptors or threads from the pipeline: one polling thread (epoll)
 * serves every connection; at most MAX_CONNECTIONS at once, MAX_PER_CLIENT
 * of them from one IP address (the rest are accepted and closed at once),
 * and a connection idle for IDLE_TIMEOUT_S seconds is closed.  A Prometheus
 * scraper or a liveness probe needs one connection at a time. */
enum { MAX_CONNECTIONS = 64, MAX_PER_CLIENT = 8, IDLE_TIMEOUT_S = 10 };

/* Histogram buckets, seconds (Prometheus client defaults, extended down). */
static const double buckets[] = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
#define NBUCKETS (sizeof buckets / sizeof buckets[0])

typedef struct histogram {
    uint64_t counts[NBUCKETS]; /* non-cumulative */
    uint64_t count;
    double sum;
} histogram;

typedef struct lag_entry {
    char *topic;
    int32_t partition;
    int64_t lag;
} lag_entry;

typedef struct source_m {
    char *name;
    uint64_t input_rows, malformed_rows;
    lag_entry *lags;
    size_t nlags;
} source_m;

typedef struct query_m {
    char *name;
    uint64_t late_rows, state_rows, state_bytes, sink_rows;
    uint64_t sink_rejected;        /* rows the sink set aside (on_error) */
    int64_t watermark;
    histogram commit;
} query_m;

struct sluice_metrics {
    pthread_mutex_t mu;
    char *pipeline;
    source_m *sources;
    size_t nsources;
    query_m *queries;
    size_t nqueries;
    histogram batch;
    uint64_t batches;
    double rows_per_second;
    int backpressure;
    int64_t last_heartbeat_ms;
    int64_t stuck_ms;
    struct MHD_Daemon *daemon;
    int port;
};

static void observe(histogram *h, double v) {
    size_t i = 0;
    while (i < NBUCKETS && v > buckets[i]) i++;
    if (i < NBUCKETS) h->counts[i]++;
    h->count++;
    h->sum += v;
}

sluice_err_t sluice_metrics_new(const char *pipeline, const char *const *sources, size_t nsources,
                                const char *const *queries, size_t nqueries, sluice_metrics **out) {
    sluice_metrics *m = calloc(1, sizeof *m);
    if (!m) return SLUICE_ERR_NOMEM;
    pthread_mutex_init(&m->mu, NULL);
    m->pipeline = strdup(pipeline);
    m->sources = calloc(nsources + 1, sizeof *m->sources);
    m->queries = calloc(nqueries + 1, sizeof *m->queries);
    if (!m->pipeline || !m->sources || !m->queries) {
        sluice_metrics_free(m);
        return SLUICE_ERR_NOMEM;
    }
    m->nsources = nsources;
    m->nqueries = nqueries;
    for (size_t i = 0; i < nsources; i++)
        if (!(m->sources[i].name = strdup(sources[i]))) {
            sluice_metrics_free(m);
            return SLUICE_ERR_NOMEM;
        }
    for (size_t k = 0; k < nqueries; k++) {
        m->queries[k].watermark = INT64_MIN;
        if (!(m->queries[k].name = strdup(queries[k]))) {
            sluice_metrics_free(m);
            return SLUICE_ERR_NOMEM;
        }
    }
    m->last_heartbeat_ms = sluice_clock_monotonic_ms();
    *out = m;
    return SLUICE_OK;
}

void sluice_metrics_set_source(sluice_metrics *m, size_t i, uint64_t input_rows, uint64_t malformed_rows) {
    pthread_mutex_lock(&m->mu);
    m->sources[i].input_rows = input_rows;
    m->sources[i].malformed_rows = malformed_rows;
    pthread_mutex_unlock(&m->mu);
}

void sluice_metrics_set_lag(sluice_metrics *m, size_t i, const char *const *topics, const int32_t *partitions,
                            const int64_t *lags, size_t n) {
    lag_entry *e = calloc(n + 1, sizeof *e);
    if (!e) return;
    for (size_t k = 0; k < n; k++) {
        e[k].topic = strdup(topics[k] ? topics[k] : "");
        e[k].partition = partitions[k];
        e[k].lag = lags[k];
    }
    pthread_mutex_lock(&m->mu);
    source_m *s = &m->sources[i];
    for (size_t k = 0; k < s->nlags; k++) free(s->lags[k].topic);
    free(s->lags);
    s->lags = e;
    s->nlags = n;
    pthread_mutex_unlock(&m->mu);
}

void sluice_metrics_set_query(sluice_metrics *m, size_t k, uint64_t late_rows, uint64_t state_rows,
                              uint64_t state_bytes, int64_t watermark_ms) {
    pthread_mutex_lock(&m->mu);
    query_m *q = &m->queries[k];
    q->late_rows = late_rows;
    q->state_rows = state_rows;
    q->state_bytes = state_bytes;
    q->watermark = watermark_ms;
    pthread_mutex_unlock(&m->mu);
}

void sluice_metrics_observe_batch(sluice_metrics *m, double duration_s, double rows_per_second) {
    pthread_mutex_lock(&m->mu);
    observe(&m->batch, duration_s);
    m->batches++;
    m->rows_per_second = rows_per_second;
    pthread_mutex_unlock(&m->mu);
}

void sluice_metrics_set_sink_rejected(sluice_metrics *m, size_t k, uint64_t rejected_rows) {
    pthread_mutex_lock(&m->mu);
    m->queries[k].sink_rejected = rejected_rows;
    pthread_mutex_unlock(&m->mu);
}

void sluice_metrics_observe_sink(sluice_metrics *m, size_t k, uint64_t rows, double commit_seconds) {
    pthread_mutex_lock(&m->mu);
    m->queries[k].sink_rows += rows;
    observe(&m->queries[k].commit, commit_seconds);
    pthread_mutex_unlock(&m->mu);
}

void sluice_metrics_heartbeat(sluice_metrics *m) {
    pthread_mutex_lock(&m->mu);
    m->last_heartbeat_ms = sluice_clock_monotonic_ms();
    pthread_mutex_unlock(&m->mu);
}

void sluice_metrics_set_backpressure(sluice_metrics *m, int on) {
    pthread_mutex_lock(&m->mu);
    m->backpressure = on;
    pthread_mutex_unlock(&m->mu);
}

int sluice_metrics_healthy(sluice_metrics *m, int64_t stuck_ms) {
    pthread_mutex_lock(&m->mu);
    int ok = sluice_clock_monotonic_ms() - m->last_heartbeat_ms < stuck_ms;
    pthread_mutex_unlock(&m->mu);
    return ok;
}

/* ---------------- exposition text ---------------- */

typedef struct buf {
    char *p;
    size_t len, cap;
    int oom;
} buf;

static void put(buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void put(buf *b, const char *fmt, ...) {
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        size_t room = b->cap - b->len;
        int n = vsnprintf(b->p ? b->p + b->len : NULL, b->p ? room : 0, fmt, ap);
        va_end(ap);
        if (n < 0) return;
        if ((size_t)n < room && b->p) {
            b->len += (size_t)n;
            return;
        }
        size_t nc = (b->cap ? b->cap * 2 : 8192) + (size_t)n;
        char *np = realloc(b->p, nc);
        if (!np) {
            b->oom = 1;
            return;
        }
        b->p = np;
        b->cap = nc;
    }
}

/* label values: escape backslash, quote and newline (exposition format) */
static const char *label(const char *s, char *out, size_t size) {
    size_t o = 0;
    for (; *s && o + 2 < size; s++) {
        if (*s == '\\' || *s == '"') out[o++] = '\\', out[o++] = *s;
        else if (*s == '\n') out[o++] = '\\', out[o++] = 'n';
        else out[o++] = *s;
    }
    out[o] = '\0';
    return out;
}

static void head(buf *b, const char *name, const char *type, const char *help) {
    put(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void put_histogram(buf *b, const char *name, const char *labels, const histogram *h) {
    uint64_t cum = 0;
    for (size_t i = 0; i < NBUCKETS; i++) {
        cum += h->counts[i];
        put(b, "%s_bucket{%s,le=\"%g\"} %llu\n", name, labels, buckets[i], (unsigned long long)cum);
    }
    put(b, "%s_bucket{%s,le=\"+Inf\"} %llu\n", name, labels, (unsigned long long)h->count);
    put(b, "%s_sum{%s} %.9g\n%s_count{%s} %llu\n", name, labels, h->sum, name, labels, (unsigned long long)h->count);
}

char *sluice_metrics_render(sluice_metrics *m, size_t *len) {
    buf b = {0};
    char pl[256], nm[256], tp[256], labels[700];
    pthread_mutex_lock(&m->mu);
    label(m->pipeline, pl, sizeof pl);
    double now_s = (double)sluice_clock_realtime_ms() / 1000.0;

    head(&b, "sluice_input_rows_total", "counter", "Records read, per source.");
    for (size_t i = 0; i < m->nsources; i++)
        put(&b, "sluice_input_rows_total{pipeline=\"%s\",source=\"%s\"} %llu\n", pl,
            label(m->sources[i].name, nm, sizeof nm), (unsigned long long)m->sources[i].input_rows);
    head(&b, "sluice_malformed_rows_total", "counter", "Records that did not decode (sent to the dead letters).");
    for (size_t i = 0; i < m->nsources; i++)
        put(&b, "sluice_malformed_rows_total{pipeline=\"%s\",source=\"%s\"} %llu\n", pl,
            label(m->sources[i].name, nm, sizeof nm), (unsigned long long)m->sources[i].malformed_rows);
    head(&b, "sluice_processed_rows_per_second", "gauge", "Rows processed per second in the last micro-batch.");
    put(&b, "sluice_processed_rows_per_second{pipeline=\"%s\"} %.3f\n", pl, m->rows_per_second);
    head(&b, "sluice_batch_duration_seconds", "histogram", "Duration of micro-batches.");
    snprintf(labels, sizeof labels, "pipeline=\"%s\"", pl);
    put_histogram(&b, "sluice_batch_duration_seconds", labels, &m->batch);
    head(&b, "sluice_backpressure", "gauge", "1 while reading is paused because state reached max_state_bytes.");
    put(&b, "sluice_backpressure{pipeline=\"%s\"} %d\n", pl, m->backpressure);

    head(&b, "sluice_watermark_timestamp_seconds", "gauge", "Event-time watermark of each query's source.");
    for (size_t k = 0; k < m->nqueries; k++) {
        const query_m *q = &m->queries[k];
        if (q->watermark == INT64_MIN) continue;
        label(q->name, nm, sizeof nm);
        if (q->watermark == INT64_MAX)
            put(&b, "sluice_watermark_timestamp_seconds{pipeline=\"%s\",query=\"%s\"} +Inf\n", pl, nm);
        else
            put(&b, "sluice_watermark_timestamp_seconds{pipeline=\"%s\",query=\"%s\"} %.3f\n", pl, nm,
                (double)q->watermark / 1000.0);
    }
    head(&b, "sluice_watermark_lag_seconds", "gauge", "Wall-clock time minus the watermark.");
    for (size_t k = 0; k < m->nqueries; k++) {
        const query_m *q = &m->queries[k];
        if (q->watermark == INT64_MIN || q->watermark == INT64_MAX) continue;
        put(&b, "sluice_watermark_lag_seconds{pipeline=\"%s\",query=\"%s\"} %.3f\n", pl,
            label(q->name, nm, sizeof nm), now_s - (double)q->watermark / 1000.0);
    }
    head(&b, "sluice_state_rows", "gauge", "Aggregate groups held in state.");
    for (size_t k = 0; k < m->nqueries; k++)
        put(&b, "sluice_state_rows{pipeline=\"%s\",query=\"%s\"} %llu\n", pl, label(m->queries[k].name, nm, sizeof nm),
            (unsigned long long)m->queries[k].state_rows);
    head(&b, "sluice_state_bytes", "gauge", "Bytes of aggregate state.");
    for (size_t k = 0; k < m->nqueries; k++)
        put(&b, "sluice_state_bytes{pipeline=\"%s\",query=\"%s\"} %llu\n", pl, label(m->queries[k].name, nm, sizeof nm),
            (unsigned long long)m->queries[k].state_bytes);
    head(&b, "sluice_late_rows_total", "counter", "Rows dropped as late (sent to the dead letters).");
    for (size_t k = 0; k < m->nqueries; k++)
        put(&b, "sluice_late_rows_total{pipeline=\"%s\",query=\"%s\"} %llu\n", pl,
            label(m->queries[k].name, nm, sizeof nm), (unsigned long long)m->queries[k].late_rows);
    head(&b, "sluice_sink_rows_total", "counter", "Rows written to each sink.");
    for (size_t k = 0; k < m->nqueries; k++)
        put(&b, "sluice_sink_rows_total{pipeline=\"%s\",sink=\"%s\"} %llu\n", pl,
            label(m->queries[k].name, nm, sizeof nm), (unsigned long long)m->queries[k].sink_rows);
    head(&b, "sluice_sink_rejected_rows_total", "counter",
         "Rows a sink could not store and set aside in the dead letter (on_error = dead_letter).");
    for (size_t k = 0; k < m->nqueries; k++)
        put(&b, "sluice_sink_rejected_rows_total{pipeline=\"%s\",sink=\"%s\"} %llu\n", pl,
            label(m->queries[k].name, nm, sizeof nm), (unsigned long long)m->queries[k].sink_rejected);
    head(&b, "sluice_sink_commit_seconds", "histogram", "Duration of each sink's epoch commit.");
    for (size_t k = 0; k < m->nqueries; k++) {
        snprintf(labels, sizeof labels, "pipeline=\"%s\",sink=\"%s\"", pl, label(m->queries[k].name, nm, sizeof nm));
        put_histogram(&b, "sluice_sink_commit_seconds", labels, &m->queries[k].commit);
    }
    int any_lag = 0;
    for (size_t i = 0; i < m->nsources; i++) any_lag |= m->sources[i].nlags > 0;
    if (any_lag) {
        head(&b, "sluice_consumer_lag_records", "gauge", "Records between the consumer position and the partition end.");
        for (size_t i = 0; i < m->nsources; i++)
            for (size_t k = 0; k < m->sources[i].nlags; k++)
                put(&b, "sluice_consumer_lag_records{pipeline=\"%s\",source=\"%s\",topic=\"%s\",partition=\"%d\"} %lld\n",
                    pl, label(m->sources[i].name, nm, sizeof nm), label(m->sources[i].lags[k].topic, tp, sizeof tp),
                    (int)m->sources[i].lags[k].partition, (long long)m->sources[i].lags[k].lag);
    }
    pthread_mutex_unlock(&m->mu);
    if (b.oom) {
        free(b.p);
        return NULL;
    }
    *len = b.len;
    return b.p;
}

/* ---------------- HTTP ---------------- */

static enum MHD_Result respond(struct MHD_Connection *c, unsigned status, const char *type, char *body, size_t len,
                               int take) {
    struct MHD_Response *r =
        MHD_create_response_from_buffer(len, body, take ? MHD_RESPMEM_MUST_FREE : MHD_RESPMEM_PERSISTENT);
    if (!r) {
        if (take) free(body);
        return MHD_NO;
    }
    MHD_add_response_header(r, "Content-Type", type);
    enum MHD_Result ret = MHD_queue_response(c, status, r);
    MHD_destroy_response(r);
    return ret;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url, const char *method,
                                  const char *version, const char *upload_data, size_t *upload_size, void **req_cls) {
    (void)version;
    (void)upload_data;
    (void)upload_size;
    (void)req_cls;
    sluice_metrics *m = cls;
    if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0)
        return respond(c, MHD_HTTP_METHOD_NOT_ALLOWED, "text/plain", "only GET\n", 9, 0);
    if (strcmp(url, "/metrics") == 0) {
        size_t len = 0;
        char *text = sluice_metrics_render(m, &len);
        if (!text) return respond(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "text/plain", "out of memory\n", 14, 0);
        return respond(c, MHD_HTTP_OK, "text/plain; version=0.0.4; charset=utf-8", text, len, 1);
    }
    if (strcmp(url, "/healthz") == 0) {
        if (sluice_metrics_healthy(m, m->stuck_ms)) return respond(c, MHD_HTTP_OK, "text/plain", "ok\n", 3, 0);
        return respond(c, MHD_HTTP_SERVICE_UNAVAILABLE, "text/plain", "stuck: no micro-batch completed in time\n", 40,
                       0);
    }
    return respond(c, MHD_HTTP_NOT_FOUND, "text/plain", "not found: try /metrics or /healthz\n", 36, 0);
}

/* libmicrohttpd's messages (its error log) as sluice log events, so that
 * --log-format json stays one JSON object per line.  A message repeated
 * within LOG_REPEAT_MS (e.g. "connection limit" once per refused client) is
 * counted, not written: a flood of clients must not flood the log. */
enum { LOG_REPEAT_MS = 10000 };
static pthread_mutex_t mhd_log_mu = PTHREAD_MUTEX_INITIALIZER;
static char mhd_log_last[256];
static int64_t mhd_log_last_ms;
static unsigned long mhd_log_repeats;

static void mhd_logger(void *cls, const char *fmt, va_list ap) {
    (void)cls;
    char msg[256];
    vsnprintf(msg, sizeof msg, fmt, ap);
    size_t n = strlen(msg);
    while (n && (msg[n - 1] == '\n' || msg[n - 1] == '\r')) msg[--n] = '\0';
    int64_t now = sluice_clock_monotonic_ms();
    pthread_mutex_lock(&mhd_log_mu);
    if (strcmp(msg, mhd_log_last) == 0 && now - mhd_log_last_ms < LOG_REPEAT_MS) {
        mhd_log_repeats++;
        pthread_mutex_unlock(&mhd_log_mu);
        return;
    }
    unsigned long repeats = mhd_log_repeats;
    mhd_log_repeats = 0;
    mhd_log_last_ms = now;
    snprintf(mhd_log_last, sizeof mhd_log_last, "%s", msg);
    pthread_mutex_unlock(&mhd_log_mu);
    if (repeats)
        sluice_log(SLUICE_LOG_WARN, NULL, "metrics", "libmicrohttpd", "%s (the previous message repeated %lu times)",
                   msg, repeats);
    else
        sluice_log(SLUICE_LOG_WARN, NULL, "metrics", "libmicrohttpd", "%s", msg);
}

sluice_err_t sluice_metrics_serve(sluice_metrics *m, const char *listen, int64_t stuck_ms,
                                  const sluice_metrics_limits *limits, char *errstr, size_t errstr_size) {
    unsigned max_conn = limits && limits->max_connections ? limits->max_connections : MAX_CONNECTIONS;
    unsigned per_client = limits && limits->max_per_client ? limits->max_per_client : MAX_PER_CLIENT;
    unsigned idle_s = limits && limits->idle_timeout_s ? limits->idle_timeout_s : IDLE_TIMEOUT_S;
    char host[64];
    const char *colon = strrchr(listen, ':');
    if (!colon || (size_t)(colon - listen) >= sizeof host)
        return sluice_seterr(errstr, errstr_size, SLUICE_ERR_CONFIG, "metrics = '%s': expected HOST:PORT, e.g. 127.0.0.1:9464",
                             listen);
    memcpy(host, listen, (size_t)(colon - listen));
    host[colon - listen] = '\0';
    char *end;
    long port = strtol(colon + 1, &end, 10);
    struct sockaddr_in addr;
    memset(&addr, 0, sizeof addr);
    addr.sin_family = AF_INET;
    if (*end || port < 0 || port > 65535 || inet_pton(AF_INET, host, &addr.sin_addr) != 1)
        return sluice_seterr(errstr, errstr_size, SLUICE_ERR_CONFIG,
                             "metrics = '%s': expected an IPv4 HOST:PORT, e.g. 127.0.0.1:9464", listen);
    addr.sin_port = htons((uint16_t)port);
    m->stuck_ms = stuck_ms;
    m->daemon = MHD_start_daemon(MHD_USE_EPOLL_INTERNAL_THREAD | MHD_USE_ERROR_LOG, (uint16_t)port, NULL, NULL,
                                 on_request, m, MHD_OPTION_EXTERNAL_LOGGER, mhd_logger, NULL,
                                 MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&addr,
                                 MHD_OPTION_CONNECTION_LIMIT, max_conn, MHD_OPTION_PER_IP_CONNECTION_LIMIT, per_client,
                                 MHD_OPTION_CONNECTION_TIMEOUT, idle_s, MHD_OPTION_END);
    if (!m->daemon)
        return sluice_seterr(errstr, errstr_size, SLUICE_ERR_IO, "metrics: cannot listen on %s (port in use?)", listen);
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(m->daemon, MHD_DAEMON_INFO_BIND_PORT);
    m->port = info ? (int)info->port : (int)port;
    return SLUICE_OK;
}

int sluice_metrics_port(const sluice_metrics *m) {
    return m ? m->port : 0;
}

void sluice_metrics_free(sluice_metrics *m) {
    if (!m) return;
    if (m->daemon) MHD_stop_daemon(m->daemon);
    for (size_t i = 0; m->sources && i < m->nsources; i++) {
        free(m->sources[i].name);
        for (size_t k = 0; k < m->sources[i].nlags; k++) free(m->sources[i].lags[k].topic);
        free(m->sources[i].lags);
    }
    for (size_t k = 0; m->queries && k < m->nqueries; k++) free(m->queries[k].name);
    free(m->sources);
    free(m->queries);
    free(m->pipeline);
    pthread_mutex_destroy(&m->mu);
    free(m);
}
