/*
 * The "kafka" sink: every emitted row becomes one Kafka message on `topic`.
 *
 * Value: the row as a JSON object, keys in SELECT order (the same rendering
 * as the file sink's JSON lines, without the newline).  Key: the PRIMARY
 * KEY columns as a JSON object (`{"window_start":"...","origin":"DTW"}`),
 * so that a compacted topic keeps the latest result per key and the
 * default partitioner sends every version of a key to one partition, in
 * order; no key when the query has no PRIMARY KEY.
 *
 * The rows are a changelog (sluice/changelog.h), written as Flink's
 * upsert-kafka and Kafka Streams' KTable changelog topics write one: an
 * insert or update-after is a record as above; a delete is a tombstone, a
 * record with the key and a NULL value (log compaction then drops the key);
 * an update-before is not written (the update-after that follows replaces
 * the key's value).  A topic without a key cannot express a retraction: an
 * update-before or delete there is handed to the sink's on_error.
 *
 * Delivery, at least once (no checkpoint_dir, or `transactional = false`):
 * an idempotent producer (enable.idempotence = true, acks = all, both
 * pinned; librdkafka retries failed sends by itself without duplicating or
 * reordering -- librdkafka INTRODUCTION.md, "Idempotent Producer").
 * write() hands the rows to librdkafka; commit(epoch) waits (rd_kafka_flush)
 * until every message of the epoch was acknowledged or failed -- at most
 * message.timeout.ms -- and fails the epoch with SLUICE_ERR_RUNTIME when any
 * delivery report carried an error.  Nothing is dropped silently.
 *
 * Delivery, exactly once (the pipeline has a checkpoint_dir; `transactional`
 * defaults to true then): a transactional producer (librdkafka
 * INTRODUCTION.md, "Transactional Producer"; Kafka KIP-98) with
 * transactional.id `sluice-<pipeline>-<sink>` (option
 * `kafka.transactional.id` overrides it).  Each epoch that has rows is one
 * transaction: begin, the epoch's records, then one marker record in the
 * commits topic (`commits_topic`, default `__sluice_commits`, created
 * compacted with one partition when missing):
 *
 *     key    {"pipeline":P,"sink":S,"topic":T}
 *     value  {"pipeline":P,"sink":S,"topic":T,"epoch":E,"run":R,"records":N}
 *
 * (keyed by everything that identifies the target: pipeline, sink and
 * topic; a marker with this sink's key whose value does not repeat the key
 * or lacks a valid epoch is refused at open, SLUICE_ERR_CONFIG; a
 * tombstone for the key clears the record)
 *
 * and commit.  Consumers reading with isolation.level = read_committed see
 * an epoch's records and its marker together or not at all.  Every record of
 * a transaction carries the headers `sluice.epoch` (E, decimal) and
 * `sluice.run` (R, a token unique to one transaction attempt), so a reader
 * can also tie records to their marker.  On open, init_transactions fences
 * any earlier producer with the same transactional.id and aborts its open
 * transaction (the one a crash left); then the sink reads its markers
 * (read_committed) and committed_epoch() answers the newest epoch, which a
 * replay then skips.  An abortable commit error (a record that could not be
 * delivered) aborts the transaction and sends the epoch again, up to 5
 * times; a fatal one (fenced by another instance) fails the pipeline.
 *
 * Records refused for their size (the sink's on_error,
 * sluice_module_config's reject()): one over the producer's
 * message.max.bytes, which librdkafka refuses at produce time, is set aside
 * at once.  A broker refuses a whole batch (MSG_SIZE_TOO_LARGE,
 * RECORD_LIST_TOO_LARGE), so records refused at delivery are sent again one
 * at a time, each awaited, and only one refused alone is set aside:
 * idempotent, in commit()'s wait for the delivery reports; transactional,
 * by aborting the epoch's transaction and sending it again with those
 * records alone, then without the one refused alone.
 *
 * Options: `topic` (required), `format` (json, the only one),
 * `transactional` (true/false), `commits_topic`, `kafka.X = Y` for any
 * librdkafka producer property X (over the shared [kafka] section).
 */
#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <librdkafka/rdkafka.h>
#include <zlib.h>

#include "connectors/connectors.h"
#include "connectors/connectors_int.h"
#include "connectors/kafka_int.h"
#include "base/clock.h"
#include "base/log.h"
#include "base/stop.h"
#include "format/format.h"

/* The option table (sluice/module.h): checked before open(), printed by
 * `sluice connectors`.  The shared [kafka] section has no table: see
 * kafka_common.c. */
static const sluice_option_spec kafka_sink_specs[] = {
    {"topic", SLUICE_OPT_STRING, NULL, "the topic written to", NULL, 0, 0, SLUICE_OPT_REQUIRED},
    {"format", SLUICE_OPT_ENUM, "json", "a record's value: the row as a JSON object, keys in SELECT order", "json",
     0, 0, 0},
    {"transactional", SLUICE_OPT_BOOL, NULL,
     "one Kafka transaction per epoch (exactly once, KIP-98), else an idempotent producer (at least once); default "
     "true with a `checkpoint_dir`, else false", NULL, 0, 0, 0},
    {"commits_topic", SLUICE_OPT_STRING, "__sluice_commits",
     "the compacted topic of the commit markers of a transactional sink, created when missing", NULL, 0, 0, 0},
    {"kafka.", SLUICE_OPT_STRING, NULL,
     "`kafka.X = Y` sets librdkafka producer property X to Y, over the `[kafka]` section; checked by librdkafka",
     NULL, 0, 0, SLUICE_OPT_PREFIX},
    {NULL, 0, NULL, NULL, NULL, 0, 0, 0},
};

/** Default topic of the commit markers (docs/checkpoints.md). */
#define COMMITS_TOPIC "__sluice_commits"
/** Attempts at one epoch's transaction before the epoch fails. */
#define TXN_ATTEMPTS 5

typedef struct kafka_sink {
    sluice_sink base;            /* first: the engine sees a sluice_sink */
    sluice_kafka_errors errs;    /* librdkafka's opaque points here */
    const char *instance;
    const char *pipeline;
    const char *topic;
    const sluice_schema *schema;
    rd_kafka_t *rk;
    rd_kafka_topic_t *rkt;
    FILE *vals, *keys;           /* open_memstream: one batch of values, keys */
    char *vbuf, *kbuf;
    size_t vsize, ksize;
    off_t *voff, *koff;          /* start of row i in vbuf/kbuf; [nrows] = end */
    size_t offcap;
    size_t nrendered;            /* rows rendered in vbuf/kbuf (this epoch's) */
    sluice_column *pkcols;       /* the PRIMARY KEY columns */
    sluice_value *pkvals;        /* one row's key values (scratch) */
    int64_t timeout_ms;          /* message.timeout.ms */
    uint64_t produced;           /* messages handed to librdkafka, this epoch */
    uint64_t delivered, failed;  /* delivery reports, this epoch */
    rd_kafka_resp_err_t first_err;
    /* exactly once */
    int transactional;           /* 1: one transaction per epoch */
    int markers;                 /* 1: write and read commit markers (checkpointing) */
    const char *commits_topic;
    int32_t commits_partition;   /* where this sink's markers go */
    char *marker_key;            /* {"pipeline":..,"sink":..,"topic":..} */
    size_t marker_key_len;
    char run_base[48];           /* unique to this open */
    char run[64];                /* run_base.attempt: the sluice.run header */
    unsigned attempt;
    int in_txn;                  /* a transaction is open */
    int64_t txn_epoch;
    int64_t committed;           /* newest epoch with a committed marker, or -1 */
    /* records refused for their size (on_error) */
    sluice_module_config cfg;    /* a copy: its reject() callback */
    unsigned char *skip;         /* per rendered row: set aside, never sent again */
    unsigned char *alone;        /* per rendered row: refused in a batch, to be sent alone */
    unsigned char *tomb;         /* per rendered row: a delete, sent as a tombstone (NULL value) */
    size_t flagcap;
    uintptr_t cur_row;           /* row index + 1 of the record produce_one() sends; 0: none */
    size_t *refused;             /* rows whose delivery report was a size refusal */
    size_t nrefused, refcap;
    int refused_fail;            /* no room to note a refusal: it counts as a failure */
    int64_t max_bytes;           /* the producer's message.max.bytes */
    rd_kafka_resp_err_t produce_err; /* produce_one()'s last refusal */
} kafka_sink;

/* Delivery errors that refuse a record for its size (Kafka's
 * MESSAGE_TOO_LARGE for a batch over the topic's max.message.bytes,
 * RECORD_LIST_TOO_LARGE, INVALID_MSG_SIZE): the records, not the
 * connection, so the pipeline may set them aside. */
static int err_is_size(rd_kafka_resp_err_t e) {
    static const rd_kafka_resp_err_t size_errors[] = {RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE,
                                                      RD_KAFKA_RESP_ERR_RECORD_LIST_TOO_LARGE,
                                                      RD_KAFKA_RESP_ERR_INVALID_MSG_SIZE};
    for (size_t i = 0; i < sizeof size_errors / sizeof size_errors[0]; i++)
        if (size_errors[i] == e) return 1;
    return 0;
}

static kafka_sink *from_opaque(void *opaque) {
    return (kafka_sink *)((char *)opaque - offsetof(kafka_sink, errs));
}

/* librdkafka's blocking calls (transactions, metadata, flush) are made with
 * this timeout, again and again until their own deadline: each call is
 * resumable after a timeout, and a stop request is looked at in between. */
#define WAIT_SLICE_MS (2 * SLUICE_STOP_SLICE_MS)

/* SLUICE_ERR_STOPPED naming what the sink was waiting for. */
static sluice_err_t stopped(const kafka_sink *s, const char *what, char *errstr, size_t errstr_size) {
    return sluice_seterr(errstr, errstr_size, SLUICE_ERR_STOPPED, "sink %s (kafka): stopped while %s", s->instance,
                         what);
}

/* librdkafka's delivery report callback (rd_kafka_conf_set_dr_msg_cb),
 * served by rd_kafka_poll() and rd_kafka_flush(). */
static void dr_msg_cb(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque) {
    (void)rk;
    kafka_sink *s = from_opaque(opaque);
    if (m->err && m->_private && err_is_size(m->err) && !s->refused_fail) {
        /* a row refused for its size: sent again alone, then set aside if
         * refused alone (a broker refuses a whole batch) */
        if (s->nrefused == s->refcap) {
            size_t cap = s->refcap ? 2 * s->refcap : 64;
            size_t *r = realloc(s->refused, cap * sizeof *r);
            if (r) s->refused = r, s->refcap = cap;
        }
        if (s->nrefused < s->refcap) {
            s->refused[s->nrefused++] = (size_t)((uintptr_t)m->_private - 1);
            /* a transaction with a refused record can only abort: it
             * counts as a failure there */
            if (!s->transactional) {
                s->delivered++; /* accounted for: isolate_refused() sends it again */
                return;
            }
        } else {
            s->refused_fail = 1;
        }
    }
    if (m->err) {
        if (!s->failed) s->first_err = m->err;
        s->failed++;
    } else {
        s->delivered++;
    }
}

static void kafka_sink_close(sluice_sink *sink) {
    if (!sink) return;
    kafka_sink *s = (kafka_sink *)sink;
    if (s->rk && s->in_txn && !sluice_stop_requested()) {
        /* an epoch that did not commit: its records stay invisible to
         * read_committed readers (the next open would abort it anyway,
         * which is why a stop does not wait for it) */
        rd_kafka_error_t *e = rd_kafka_abort_transaction(s->rk, 5000);
        if (e) rd_kafka_error_destroy(e);
    }
    /* a stop abandons undelivered records (the epoch was not committed):
     * rd_kafka_destroy() then does not wait for them */
    if (s->rk && sluice_stop_requested()) rd_kafka_purge(s->rk, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
    if (s->rkt) rd_kafka_topic_destroy(s->rkt);
    if (s->rk) rd_kafka_destroy(s->rk);
    if (s->vals) fclose(s->vals);
    if (s->keys) fclose(s->keys);
    free(s->vbuf);
    free(s->kbuf);
    free(s->voff);
    free(s->koff);
    free(s->pkcols);
    free(s->pkvals);
    free(s->marker_key);
    free(s->skip);
    free(s->alone);
    free(s->tomb);
    free(s->refused);
    free(s);
}

/* "sink NAME (kafka): what: librdkafka's text" from an rd_kafka_error_t
 * (destroyed here). */
static sluice_err_t txn_error(kafka_sink *s, rd_kafka_error_t *e, sluice_err_t code, const char *what,
                              char *errstr, size_t errstr_size) {
    sluice_err_t err = sluice_seterr(errstr, errstr_size, code, "sink %s (kafka): %s: %s (%s)%s", s->instance,
                                     what, rd_kafka_error_string(e), rd_kafka_error_name(e),
                                     rd_kafka_error_is_fatal(e) && rd_kafka_error_code(e) ==
                                                                       RD_KAFKA_RESP_ERR__FENCED
                                         ? "; another sluice process uses the same transactional.id"
                                         : "");
    rd_kafka_error_destroy(e);
    return err;
}

/* The commits topic's partition count; creates the topic (compacted, one
 * partition) when the cluster does not have it.  -1 and errstr on failure. */
static int32_t commits_partitions(kafka_sink *s, char *errstr, size_t errstr_size) {
    int64_t give_up = sluice_clock_monotonic_ms() + 30000;
    int create_tried = 0;
    for (;;) {
        rd_kafka_topic_t *t = rd_kafka_topic_new(s->rk, s->commits_topic, NULL);
        const rd_kafka_metadata_t *md = NULL;
        rd_kafka_resp_err_t e = t ? rd_kafka_metadata(s->rk, 0, t, &md, WAIT_SLICE_MS) : rd_kafka_last_error();
        int32_t n = -1;
        if (!e && md && md->topic_cnt == 1 && !md->topics[0].err) n = md->topics[0].partition_cnt;
        else if (!e && md && md->topic_cnt == 1) e = md->topics[0].err;
        if (md) rd_kafka_metadata_destroy(md);
        if (t) rd_kafka_topic_destroy(t);
        if (n > 0) return n;
        if (!create_tried) {
            /* CreateTopics (Admin API); a broker without it, or without the
             * right, leaves the topic to auto-creation */
            create_tried = 1;
            rd_kafka_NewTopic_t *nt = rd_kafka_NewTopic_new(s->commits_topic, 1, -1, NULL, 0);
            rd_kafka_queue_t *q = rd_kafka_queue_new(s->rk);
            if (nt && q) {
                rd_kafka_NewTopic_set_config(nt, "cleanup.policy", "compact");
                rd_kafka_CreateTopics(s->rk, &nt, 1, NULL, q);
                int64_t until = sluice_clock_monotonic_ms() + 10000;
                rd_kafka_event_t *ev = NULL;
                while (!ev && !sluice_stop_requested() && sluice_clock_monotonic_ms() < until)
                    ev = rd_kafka_queue_poll(q, WAIT_SLICE_MS);
                if (ev) rd_kafka_event_destroy(ev);
            }
            if (nt) rd_kafka_NewTopic_destroy(nt);
            if (q) rd_kafka_queue_destroy(q);
            continue;
        }
        if (sluice_clock_monotonic_ms() > give_up) {
            sluice_seterr(errstr, errstr_size, SLUICE_ERR_RUNTIME,
                          "sink %s (kafka): the commits topic '%s' does not exist and could not be created "
                          "(%s); create it (compacted, one partition) or set commits_topic",
                          s->instance, s->commits_topic, rd_kafka_err2str(e));
            return -1;
        }
        if (sluice_stop_sleep_ms(200)) {
            stopped(s, "looking up the commits topic", errstr, errstr_size);
            return -1;
        }
    }
}

/* A marker's value must repeat its key's pipeline, sink and topic and
 * carry an integral epoch >= 0 (a marker is never trusted on its key
 * alone).  Returns NULL and sets *epoch, or what is wrong. */
static const char *marker_check(const kafka_sink *s, const void *payload, size_t len, int64_t *epoch) {
    cJSON *v = cJSON_ParseWithLength(payload, len);
    const char *why = NULL;
    if (!cJSON_IsObject(v)) {
        why = "a value that is not a JSON object";
    } else {
        const char *names[3] = {"pipeline", "sink", "topic"};
        const char *want[3] = {s->pipeline, s->instance, s->topic};
        for (int i = 0; i < 3 && !why; i++) {
            const char *got = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(v, names[i]));
            if (!got || strcmp(got, want[i]) != 0) why = "a value whose pipeline, sink or topic differs from its key";
        }
        const cJSON *ep = cJSON_GetObjectItemCaseSensitive(v, "epoch");
        if (!why && (!cJSON_IsNumber(ep) || ep->valuedouble < 0 || ep->valuedouble > 9007199254740992.0 ||
                     ep->valuedouble != (double)(int64_t)ep->valuedouble))
            why = "a value without a valid epoch";
        if (!why) *epoch = (int64_t)ep->valuedouble;
    }
    cJSON_Delete(v);
    return why;
}

/* Read this sink's markers from its partition of the commits topic
 * (read_committed, from the beginning to the end) into s->committed. */
static sluice_err_t read_markers(kafka_sink *s, const sluice_module_config *cfg, char *errstr,
                                 size_t errstr_size) {
    /* a group id for assign() only: the consumer never joins the group nor
     * commits offsets */
    char group[512];
    snprintf(group, sizeof group, "sluice-%s-%s-commits", s->pipeline, s->instance);
    const char *const mapped[] = {"group.id", group, "isolation.level", "read_committed", "enable.partition.eof",
                                  "true", "enable.auto.commit", "false", NULL};
    sluice_kafka_errors errs = {.kind = "sink", .instance = s->instance, .quiet = 1};
    /* the producer's configuration (connection, security), read as a
     * consumer's */
    rd_kafka_conf_t *conf = NULL;
    sluice_err_t err = sluice_kafka_conf_build(cfg, "sink", NULL, mapped, NULL, &errs, &conf, errstr, errstr_size);
    if (err) return err;
    /* librdkafka warns that producer properties (transactional.id, acks...)
     * mean nothing to a consumer: not worth a line */
    rd_kafka_conf_set(conf, "log_level", "3", NULL, 0);
    char why[512];
    rd_kafka_t *c_rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, why, sizeof why);
    if (!c_rk) {
        rd_kafka_conf_destroy(conf);
        return sluice_seterr(errstr, errstr_size, SLUICE_ERR_CONFIG, "sink %s (kafka): %s", s->instance, why);
    }
    int64_t lo = 0, hi = 0, bad_offset = -1;
    char bad_why[128] = "";
    rd_kafka_resp_err_t e = RD_KAFKA_RESP_ERR__TIMED_OUT;
    for (int64_t until = sluice_clock_monotonic_ms() + 30000;
         e == RD_KAFKA_RESP_ERR__TIMED_OUT && sluice_clock_monotonic_ms() < until && !sluice_stop_requested();)
        e = rd_kafka_query_watermark_offsets(c_rk, s->commits_topic, s->commits_partition, &lo, &hi, WAIT_SLICE_MS);
    if (!e && hi > lo) {
        rd_kafka_topic_partition_list_t *tp = rd_kafka_topic_partition_list_new(1);
        rd_kafka_topic_partition_list_add(tp, s->commits_topic, s->commits_partition)->offset =
            RD_KAFKA_OFFSET_BEGINNING;
        e = rd_kafka_assign(c_rk, tp);
        rd_kafka_topic_partition_list_destroy(tp);
        int64_t give_up = sluice_clock_monotonic_ms() + 60000;
        while (!e) {
            rd_kafka_message_t *m = rd_kafka_consumer_poll(c_rk, SLUICE_STOP_SLICE_MS);
            if (!m) {
                if (sluice_clock_monotonic_ms() > give_up || sluice_stop_requested()) e = RD_KAFKA_RESP_ERR__TIMED_OUT;
                continue;
            }
            if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
                rd_kafka_message_destroy(m);
                break;
            }
            if (m->err) {
                e = m->err;
            } else if (m->key_len == s->marker_key_len && memcmp(m->key, s->marker_key, m->key_len) == 0) {
                if (!m->payload) {
                    /* a tombstone clears the record, a bad marker before it
                     * included (README: after a reset) */
                    s->committed = -1;
                    bad_offset = -1;
                } else {
                    int64_t ep = -1;
                    const char *why_bad = marker_check(s, m->payload, m->len, &ep);
                    if (why_bad) {
                        bad_offset = m->offset;
                        snprintf(bad_why, sizeof bad_why, "%s", why_bad);
                    } else if (ep > s->committed) {
                        s->committed = ep;
                    }
                }
            }
            rd_kafka_message_destroy(m);
        }
    }
    rd_kafka_consumer_close(c_rk);
    rd_kafka_destroy(c_rk);
    if (e && sluice_stop_requested()) return stopped(s, "reading the committed epochs", errstr, errstr_size);
    if (bad_offset >= 0)
        return sluice_seterr(errstr, errstr_size, SLUICE_ERR_CONFIG,
                             "sink %s (kafka): the commit marker at topic '%s' partition %" PRId32 " offset %" PRId64
                             " has this sink's key %s but %s, so what this sink committed is unknown; produce a "
                             "tombstone (null value) for that key or use another commits_topic to start over, and "
                             "clear the checkpoint (sluice checkpoint reset DIR)",
                             s->instance, s->commits_topic, s->commits_partition, bad_offset, s->marker_key, bad_why);
    if (e)
        return sluice_seterr(errstr, errstr_size, SLUICE_ERR_RUNTIME,
                             "sink %s (kafka): cannot read the committed epochs from topic '%s' partition %" PRId32
                             ": %s",
                             s->instance, s->commits_topic, s->commits_partition, rd_kafka_err2str(e));
    return SLUICE_OK;
}

/* Initialise the transactional producer, then learn what earlier runs
 * committed. */
static sluice_err_t txn_init(kafka_sink *s, const sluice_module_config *cfg, char *errstr, size_t errstr_size) {
    int64_t give_up = sluice_clock_monotonic_ms() + SLUICE_KAFKA_STALL_MS;
    for (;;) {
        rd_kafka_error_t *e = rd_kafka_init_transactions(s->rk, WAIT_SLICE_MS);
        if (!e) break;
        if (sluice_stop_requested()) {
            rd_kafka_error_destroy(e);
            return stopped(s, "initialising the transactional producer", errstr, errstr_size);
        }
        if (!rd_kafka_error_is_retriable(e) || sluice_clock_monotonic_ms() > give_up)
            return txn_error(s, e, SLUICE_ERR_RUNTIME, "cannot initialise the transactional producer", errstr,
                             errstr_size);
        rd_kafka_error_destroy(e);
    }
    snprintf(s->run_base, sizeof s->run_base, "%llx-%x", (unsigned long long)sluice_clock_realtime_ms(),
             (unsigned)getpid());
    if (!s->markers) return SLUICE_OK;
    cJSON *k = cJSON_CreateObject();
    if (!k || !cJSON_AddStringToObject(k, "pipeline", s->pipeline) ||
        !cJSON_AddStringToObject(k, "sink", s->instance) || !cJSON_AddStringToObject(k, "topic", s->topic) ||
        !(s->marker_key = cJSON_PrintUnformatted(k))) {
        cJSON_Delete(k);
        return SLUICE_ERR_NOMEM;
    }
    cJSON_Delete(k);
    s->marker_key_len = strlen(s->marker_key);
    int32_t n = commits_partitions(s, errstr, errstr_size);
    if (n < 0) return SLUICE_ERR_RUNTIME;
    s->commits_partition = (int32_t)(crc32(0L, (const Bytef *)s->marker_key, (uInt)s->marker_key_len) % (uint32_t)n);
    sluice_err_t err = read_markers(s, cfg, errstr, errstr_size);
    if (!err && s->committed >= 0)
        sluice_log(SLUICE_LOG_INFO, s->pipeline, "kafka", s->instance,
                   "transactional.id's last committed epoch is %" PRId64 " (topic %s)", s->committed,
                   s->commits_topic);
    return err;
}

/* The sink's own settings, checked (no connection). */
typedef struct sink_settings {
    const char *topic, *commits_topic;
    int transactional;
} sink_settings;

static const char *const sink_pinned[] = {"enable.idempotence", "true", "acks", "all", NULL};

static sluice_err_t sink_check(const sluice_module_config *cfg, sink_settings *st, char *errstr, size_t errstr_size) {
    const char *inst = cfg->instance ? cfg->instance : "?";
    sluice_err_t err = sluice_conn_check_specs(cfg, kafka_sink_specs, "sink", "kafka", errstr, errstr_size);
    if (err) return err;
    const char *topic = sluice_module_config_get(cfg, "topic");
    if (!topic || !topic[0])
        return sluice_seterr(errstr, errstr_size, SLUICE_ERR_CONFIG, "sink %s (kafka): option 'topic' is required",
                             inst);
    const char *format = sluice_module_config_get(cfg, "format");
    if (format && strcmp(format, "json") != 0)
        return sluice_conn_bad_option(cfg, "format", "sink", "kafka", "expected json", errstr, errstr_size);
    int transactional = cfg->checkpointing;
    const char *tx = sluice_module_config_get(cfg, "transactional");
    if (tx && (strcasecmp(tx, "true") == 0 || strcmp(tx, "1") == 0)) transactional = 1;
    else if (tx && (strcasecmp(tx, "false") == 0 || strcmp(tx, "0") == 0)) transactional = 0;
    else if (tx)
        return sluice_conn_bad_option(cfg, "transactional", "sink", "kafka", "expected true or false", errstr,
                                      errstr_size);
    const char *commits_topic = sluice_module_config_get(cfg, "commits_topic");
    if (commits_topic && !commits_topic[0])
        return sluice_conn_bad_option(cfg, "commits_topic", "sink", "kafka", "expected a topic name", errstr,
                                      errstr_size);
    st->topic = topic;
    st->commits_topic = commits_topic;
    st->transactional = transactional;
    return SLUICE_OK;
}

/* sluice check: the options and every librdkafka property (names and
 * values, as rd_kafka_conf_set() checks them), without a client. */
static sluice_err_t kafka_sink_validate(const sluice_module_config *cfg, char *errstr, size_t errstr_size) {
    sink_settings st;
    sluice_err_t err = sink_check(cfg, &st, errstr, errstr_size);
    if (err) return err;
    sluice_kafka_errors errs = {.kind = "sink", .instance = cfg->instance ? cfg->instance : "?"};
    rd_kafka_conf_t *conf = NULL;
    if ((err = sluice_kafka_conf_build(cfg, "sink", NULL, NULL, sink_pinned, &errs, &conf, errstr, errstr_size)))
        return err;
    rd_kafka_conf_destroy(conf);
    return SLUICE_OK;
}

static sluice_err_t kafka_sink_open(const sluice_module_config *cfg, sluice_sink **out, char *errstr,
                                    size_t errstr_size) {
    const char *inst = cfg->instance ? cfg->instance : "?";
    sink_settings st;
    sluice_err_t err = sink_check(cfg, &st, errstr, errstr_size);
    if (err) return err;
    if (!cfg->schema)
        return sluice_seterr(errstr, errstr_size, SLUICE_ERR_INVALID, "sink %s (kafka): no schema", inst);
    const char *topic = st.topic, *commits_topic = st.commits_topic;
    int transactional = st.transactional;

    kafka_sink *s = calloc(1, sizeof *s);
    if (!s) return SLUICE_ERR_NOMEM;
    s->base.ops = &sluice_kafka_sink_ops;
    s->instance = inst;
    s->pipeline = cfg->pipeline ? cfg->pipeline : "?";
    s->topic = topic;
    s->schema = cfg->schema;
    s->errs.kind = "sink";
    s->errs.instance = inst;
    s->transactional = transactional;
    s->markers = transactional && cfg->checkpointing;
    s->commits_topic = commits_topic ? commits_topic : COMMITS_TOPIC;
    s->committed = -1;
    s->cfg = *cfg;
    s->vals = open_memstream(&s->vbuf, &s->vsize);
    s->keys = open_memstream(&s->kbuf, &s->ksize);
    s->pkcols = calloc(cfg->schema->npk + 1, sizeof *s->pkcols);
    s->pkvals = calloc(cfg->schema->npk + 1, sizeof *s->pkvals);
    if (!s->vals || !s->keys || !s->pkcols || !s->pkvals) {
        err = SLUICE_ERR_NOMEM;
        goto fail;
    }
    for (size_t k = 0; k < cfg->schema->npk; k++) s->pkcols[k] = cfg->schema->columns[cfg->schema->pk[k]];

    static const char *const defaults[] = {"client.id", "sluice", NULL};
    char txid[512];
    snprintf(txid, sizeof txid, "sluice-%s-%s", s->pipeline, inst);
    const char *mapped[] = {"transactional.id", txid, NULL};
    rd_kafka_conf_t *conf = NULL;
    err = sluice_kafka_conf_build(cfg, "sink", defaults, transactional ? mapped : NULL, sink_pinned, &s->errs, &conf,
                                  errstr, errstr_size);
    if (err) goto fail;
    char tmo[32];
    size_t tmo_size = sizeof tmo;
    s->timeout_ms = 300000;
    if (rd_kafka_conf_get(conf, "message.timeout.ms", tmo, &tmo_size) == RD_KAFKA_CONF_OK)
        s->timeout_ms = strtoll(tmo, NULL, 10);
    tmo_size = sizeof tmo;
    s->max_bytes = 1000000;
    if (rd_kafka_conf_get(conf, "message.max.bytes", tmo, &tmo_size) == RD_KAFKA_CONF_OK)
        s->max_bytes = strtoll(tmo, NULL, 10);
    if (!transactional) {
        char t[512];
        size_t tsize = sizeof t;
        if (rd_kafka_conf_get(conf, "transactional.id", t, &tsize) == RD_KAFKA_CONF_OK && t[0]) {
            rd_kafka_conf_destroy(conf);
            err = sluice_seterr(errstr, errstr_size, SLUICE_ERR_CONFIG,
                                "sink %s (kafka): transactional.id is set but the sink is not transactional "
                                "(set transactional = true, or give the pipeline a checkpoint_dir)",
                                inst);
            goto fail;
        }
    }
    rd_kafka_conf_set_dr_msg_cb(conf, dr_msg_cb);
    char why[512];
    s->rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, why, sizeof why);
    if (!s->rk) {
        rd_kafka_conf_destroy(conf);
        err = sluice_seterr(errstr, errstr_size, SLUICE_ERR_CONFIG, "sink %s (kafka): %s", inst, why);
        goto fail;
    }
    s->rkt = rd_kafka_topic_new(s->rk, topic, NULL);
    if (!s->rkt) {
        err = sluice_seterr(errstr, errstr_size, SLUICE_ERR_CONFIG, "sink %s (kafka): topic '%s': %s", inst, topic,
                            rd_kafka_err2str(rd_kafka_last_error()));
        goto fail;
    }
    if (transactional && (err = txn_init(s, cfg, errstr, errstr_size))) goto fail;
    *out = &s->base;
    return SLUICE_OK;
fail:
    kafka_sink_close(&s->base);
    return err;
}

static sluice_err_t nomem(kafka_sink *s, char *errstr, size_t errstr_size) {
    return sluice_seterr(errstr, errstr_size, SLUICE_ERR_NOMEM, "sink %s (kafka): out of memory", s->instance);
}

/* Render the batch: values (and keys) one after the other in the
 * memstreams, with each row's start offset. */
static sluice_err_t render(kafka_sink *s, const sluice_row_batch *rows, char *errstr, size_t errstr_size) {
    if (rows->nrows + 1 > s->offcap) {
        size_t cap = rows->nrows + 1 > 2 * s->offcap ? rows->nrows + 1 : 2 * s->offcap;
        off_t *v = realloc(s->voff, cap * sizeof *v);
        if (v) s->voff = v;
        off_t *k = realloc(s->koff, cap * sizeof *k);
        if (k) s->koff = k;
        if (!v || !k) return nomem(s, errstr, errstr_size);
        s->offcap = cap;
    }
    if (rows->nrows > s->flagcap) {
        unsigned char *a = realloc(s->skip, rows->nrows);
        if (a) s->skip = a;
        unsigned char *b = realloc(s->alone, rows->nrows);
        if (b) s->alone = b;
        unsigned char *c = realloc(s->tomb, rows->nrows);
        if (c) s->tomb = c;
        if (!a || !b || !c) return nomem(s, errstr, errstr_size);
        s->flagcap = rows->nrows;
    }
    if (rows->nrows) {
        memset(s->skip, 0, rows->nrows);
        memset(s->alone, 0, rows->nrows);
    }
    rewind(s->vals);
    rewind(s->keys);
    s->nrendered = 0;
    const sluice_schema *sc = s->schema;
    for (size_t i = 0; i < rows->nrows; i++) {
        const sluice_value *row = sluice_row_batch_row(rows, i);
        sluice_row_kind kind = sluice_row_batch_kind(rows, i);
        s->tomb[i] = kind == SLUICE_ROW_DELETE;
        /* an update-before is replaced by the update-after that follows */
        s->skip[i] = kind == SLUICE_ROW_UPDATE_BEFORE && sc->npk;
        s->voff[i] = ftello(s->vals);
        if (sluice_json_write_row(s->vals, sc->columns, row, sc->ncolumns) != SLUICE_OK)
            return nomem(s, errstr, errstr_size);
        if (sc->npk) {
            s->koff[i] = ftello(s->keys);
            for (size_t k = 0; k < sc->npk; k++) s->pkvals[k] = row[sc->pk[k]];
            if (sluice_json_write_row(s->keys, s->pkcols, s->pkvals, sc->npk) != SLUICE_OK)
                return nomem(s, errstr, errstr_size);
        }
    }
    s->voff[rows->nrows] = ftello(s->vals);
    s->koff[rows->nrows] = ftello(s->keys);
    if (fflush(s->vals) != 0 || fflush(s->keys) != 0) return nomem(s, errstr, errstr_size);
    s->nrendered = rows->nrows;
    return SLUICE_OK;
}

/* Hand one message to librdkafka, waiting while its local queue is full. */
static sluice_err_t produce_one(kafka_sink *s, int64_t epoch, rd_kafka_topic_t *rkt, int32_t partition,
                                char *v, size_t vlen, char *k, size_t klen, int64_t give_up, char *errstr,
                                size_t errstr_size) {
    for (;;) {
        rd_kafka_resp_err_t e;
        if (s->transactional) {
            char ep[24];
            int eplen = snprintf(ep, sizeof ep, "%" PRId64, epoch);
            e = rd_kafka_producev(s->rk, RD_KAFKA_V_RKT(rkt), RD_KAFKA_V_PARTITION(partition),
                                  RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_VALUE(v, vlen),
                                  RD_KAFKA_V_KEY(k, klen), RD_KAFKA_V_OPAQUE((void *)s->cur_row),
                                  RD_KAFKA_V_HEADER("sluice.epoch", ep, eplen),
                                  RD_KAFKA_V_HEADER("sluice.run", s->run, -1), RD_KAFKA_V_END);
        } else {
            e = rd_kafka_produce(rkt, partition, RD_KAFKA_MSG_F_COPY, v, vlen, k, klen, (void *)s->cur_row) == 0
                    ? RD_KAFKA_RESP_ERR_NO_ERROR
                    : rd_kafka_last_error();
        }
        if (!e) break;
        s->produce_err = e;
        if (e != RD_KAFKA_RESP_ERR__QUEUE_FULL || sluice_clock_monotonic_ms() > give_up)
            return sluice_seterr(errstr, errstr_size, SLUICE_ERR_RUNTIME,
                                 "sink %s (kafka): topic '%s': cannot produce a record of epoch %lld: %s",
                                 s->instance, rd_kafka_topic_name(rkt), (long long)epoch, rd_kafka_err2str(e));
        rd_kafka_poll(s->rk, SLUICE_STOP_SLICE_MS); /* the local queue is full: serve delivery reports */
        sluice_err_t err = sluice_kafka_check_fatal(s->rk, &s->errs, errstr, errstr_size);
        if (err) return err;
        if (sluice_stop_overdue()) return stopped(s, "producing (the local queue is full)", errstr, errstr_size);
    }
    s->produced++;
    return SLUICE_OK;
}

static sluice_err_t wait_delivered(kafka_sink *s, int64_t epoch, char *errstr, size_t errstr_size);

/* Set rendered row i aside through the sink's on_error (its value is the
 * row as a JSON object); it is never sent again. */
static sluice_err_t reject_rendered(kafka_sink *s, int64_t epoch, size_t i, const char *reason, char *errstr,
                                    size_t errstr_size) {
    s->skip[i] = 1;
    s->alone[i] = 0;
    const char *v = s->vbuf + s->voff[i];
    size_t vlen = (size_t)(s->voff[i + 1] - s->voff[i]) - 1;
    return sluice_module_reject(&s->cfg, epoch, NULL, v, vlen, reason, errstr, errstr_size);
}

/* Produce rendered row i; a record over the producer's message.max.bytes
 * (refused by librdkafka at once) is set aside. */
static sluice_err_t produce_row(kafka_sink *s, int64_t epoch, size_t i, int64_t give_up, char *errstr,
                                size_t errstr_size) {
    /* each rendered row ends with '\n': not part of the message */
    char *v = s->vbuf + s->voff[i];
    size_t vlen = (size_t)(s->voff[i + 1] - s->voff[i]) - 1;
    char *k = s->schema->npk ? s->kbuf + s->koff[i] : NULL;
    size_t klen = k ? (size_t)(s->koff[i + 1] - s->koff[i]) - 1 : 0;
    if (s->tomb[i]) { /* a tombstone: the key, a NULL value */
        v = NULL;
        vlen = 0;
    }
    s->cur_row = (uintptr_t)i + 1;
    s->produce_err = RD_KAFKA_RESP_ERR_NO_ERROR;
    sluice_err_t err = produce_one(s, epoch, s->rkt, RD_KAFKA_PARTITION_UA, v, vlen, k, klen, give_up, errstr,
                                   errstr_size);
    s->cur_row = 0;
    if (err && s->produce_err == RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE) {
        char reason[300];
        snprintf(reason, sizeof reason,
                 "topic '%s': a record of %zu bytes (key %zu, value %zu) is over the producer's message.max.bytes "
                 "(%" PRId64 ")",
                 s->topic, vlen + klen, klen, vlen, s->max_bytes);
        return reject_rendered(s, epoch, i, reason, errstr, errstr_size);
    }
    return err;
}

/* Produce the rendered rows (in a transaction: begun here when none is
 * open). */
static sluice_err_t produce_rendered(kafka_sink *s, int64_t epoch, char *errstr, size_t errstr_size) {
    sluice_err_t err = SLUICE_OK;
    if (s->transactional && !s->in_txn) {
        snprintf(s->run, sizeof s->run, "%s.%u", s->run_base, ++s->attempt);
        rd_kafka_error_t *e = rd_kafka_begin_transaction(s->rk);
        if (e) return txn_error(s, e, SLUICE_ERR_RUNTIME, "cannot begin a transaction", errstr, errstr_size);
        s->in_txn = 1;
        s->txn_epoch = epoch;
    }
    int64_t give_up = sluice_clock_monotonic_ms() + s->timeout_ms + 10000;
    for (size_t i = 0; i < s->nrendered && !err; i++) {
        if (s->skip[i] || s->alone[i]) continue;
        err = produce_row(s, epoch, i, give_up, errstr, errstr_size);
    }
    /* rows a broker refused in a batch: each alone, waiting for its
     * report; one refused alone is set aside, and the transaction, which
     * can then only abort, is sent again without it */
    for (size_t i = 0; i < s->nrendered && !err; i++) {
        if (s->skip[i] || !s->alone[i]) continue;
        size_t before = s->nrefused;
        err = produce_row(s, epoch, i, give_up, errstr, errstr_size);
        if (err) return err;
        /* a failed delivery dooms the transaction: the commit aborts it and
         * sends the epoch again (the abort also bumps the producer epoch
         * when the sequence numbers need it) */
        int failed = wait_delivered(s, epoch, errstr, errstr_size) != SLUICE_OK;
        if (s->nrefused > before) {
            char reason[300];
            snprintf(reason, sizeof reason, "topic '%s': the broker refused the record alone: %s",
                     s->topic, rd_kafka_err2name(s->first_err ? s->first_err : RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE));
            sluice_err_t rerr = reject_rendered(s, epoch, i, reason, errstr, errstr_size);
            return rerr ? rerr : SLUICE_OK; /* the transaction fails at commit and is sent again */
        }
        if (failed) return SLUICE_OK;
    }
    rd_kafka_poll(s->rk, 0);
    return err;
}

static sluice_err_t kafka_sink_write(sluice_sink *sink, int64_t epoch, const sluice_row_batch *rows, char *errstr,
                                     size_t errstr_size) {
    kafka_sink *s = (kafka_sink *)sink;
    s->nrendered = 0;
    sluice_err_t err = sluice_kafka_check_fatal(s->rk, &s->errs, errstr, errstr_size);
    if (err || rows->nrows == 0) return err;
    if ((err = render(s, rows, errstr, errstr_size))) return err;
    for (size_t i = 0; i < s->nrendered && !s->schema->npk && !err; i++) {
        sluice_row_kind kind = sluice_row_batch_kind(rows, i);
        if (kind != SLUICE_ROW_DELETE && kind != SLUICE_ROW_UPDATE_BEFORE) continue;
        char reason[300];
        snprintf(reason, sizeof reason,
                 "topic '%s': a %s row (a retraction) needs a record key, and the sink has no PRIMARY KEY", s->topic,
                 sluice_row_kind_name(kind));
        err = reject_rendered(s, epoch, i, reason, errstr, errstr_size);
    }
    if (err) return err;
    return produce_rendered(s, epoch, errstr, errstr_size);
}

/* Wait until every message handed to librdkafka has a delivery report. */
static sluice_err_t wait_delivered(kafka_sink *s, int64_t epoch, char *errstr, size_t errstr_size) {
    int64_t start = sluice_clock_monotonic_ms(), give_up = start + s->timeout_ms + 10000;
    int told = 0;
    sluice_err_t err = SLUICE_OK;
    while (s->delivered + s->failed < s->produced) {
        if (!told && sluice_clock_monotonic_ms() - start >= 1000) {
            /* an operator sees why the pipeline stands still (librdkafka
             * retries until message.timeout.ms) */
            told = 1;
            sluice_log(SLUICE_LOG_WARN, s->pipeline, "kafka", s->instance,
                       "waiting for deliveries: %llu record(s) of epoch %lld not acknowledged after 1 s",
                       (unsigned long long)(s->produced - s->delivered - s->failed), (long long)epoch);
        }
        rd_kafka_flush(s->rk, SLUICE_STOP_SLICE_MS);
        if ((err = sluice_kafka_check_fatal(s->rk, &s->errs, errstr, errstr_size))) return err;
        /* deliveries that are coming in get SLUICE_STOP_GRACE_MS to finish the epoch */
        if (s->delivered + s->failed < s->produced && sluice_stop_overdue())
            return stopped(s, "waiting for deliveries", errstr, errstr_size);
        if (sluice_clock_monotonic_ms() > give_up)
            return sluice_seterr(errstr, errstr_size, SLUICE_ERR_TIMED_OUT,
                                 "sink %s (kafka): topic '%s': %llu record(s) of epoch %lld not acknowledged "
                                 "after message.timeout.ms + 10 s",
                                 s->instance, s->topic,
                                 (unsigned long long)(s->produced - s->delivered - s->failed), (long long)epoch);
    }
    if (s->failed)
        err = sluice_seterr(errstr, errstr_size, SLUICE_ERR_RUNTIME,
                            "sink %s (kafka): topic '%s': %llu of %llu record(s) of epoch %lld were not delivered: "
                            "%s (%s)",
                            s->instance, s->topic, (unsigned long long)s->failed, (unsigned long long)s->produced,
                            (long long)epoch, rd_kafka_err2str(s->first_err), rd_kafka_err2name(s->first_err));
    if (!err) err = sluice_kafka_check_fatal(s->rk, &s->errs, errstr, errstr_size);
    return err;
}

/* Abort the open transaction of `epoch` because of `why`, and set *retry
 * (the epoch is sent again in a new transaction). */
static sluice_err_t abort_for_retry(kafka_sink *s, int64_t epoch, const char *why, int *retry, char *errstr,
                                    size_t errstr_size) {
    if (sluice_stop_requested()) return stopped(s, "aborting a failed transaction", errstr, errstr_size);
    rd_kafka_error_t *a = NULL;
    for (int64_t until = sluice_clock_monotonic_ms() + 30000;;) {
        a = rd_kafka_abort_transaction(s->rk, WAIT_SLICE_MS);
        if (!a || !rd_kafka_error_is_retriable(a) || sluice_clock_monotonic_ms() > until) break;
        rd_kafka_error_destroy(a);
        if (sluice_stop_requested()) return stopped(s, "aborting a failed transaction", errstr, errstr_size);
    }
    if (a) return txn_error(s, a, SLUICE_ERR_RUNTIME, "cannot abort a failed transaction", errstr, errstr_size);
    s->in_txn = 0;
    *retry = 1;
    return sluice_seterr(errstr, errstr_size, SLUICE_ERR_RUNTIME,
                         "sink %s (kafka): the transaction of epoch %lld was aborted: %s", s->instance,
                         (long long)epoch, why);
}

/* Add the epoch's marker to the open transaction and commit it.  On an
 * abortable error the transaction is aborted (s->in_txn cleared) and
 * *retry set. */
static sluice_err_t txn_commit(kafka_sink *s, int64_t epoch, int *retry, char *errstr, size_t errstr_size) {
    *retry = 0;
    sluice_err_t err = SLUICE_OK;
    if (s->markers) {
        /* The epoch's records are acknowledged before its marker is sent:
         * with read_committed consumers the transaction alone makes them
         * visible together, but a broker that shows uncommitted records
         * (or a reader at read_uncommitted) must never see a marker whose
         * records are still in flight.  A failed record aborts the
         * transaction here, before any marker. */
        char why[512];
        sluice_err_t w = wait_delivered(s, epoch, why, sizeof why);
        if (w == SLUICE_ERR_STOPPED) return sluice_seterr(errstr, errstr_size, w, "%s", why);
        if (w != SLUICE_OK) return abort_for_retry(s, epoch, why, retry, errstr, errstr_size);
        char val[1024];
        /* the key's JSON object, with epoch, run and records appended */
        int n = snprintf(val, sizeof val, "%.*s,\"epoch\":%" PRId64 ",\"run\":\"%s\",\"records\":%zu}",
                         (int)s->marker_key_len - 1, s->marker_key, epoch, s->run, s->nrendered);
        char *v = val;
        if (n < 0 || (size_t)n >= sizeof val) {
            size_t cap = s->marker_key_len + 128;
            if (!(v = malloc(cap))) return nomem(s, errstr, errstr_size);
            n = snprintf(v, cap, "%.*s,\"epoch\":%" PRId64 ",\"run\":\"%s\",\"records\":%zu}",
                         (int)s->marker_key_len - 1, s->marker_key, epoch, s->run, s->nrendered);
        }
        rd_kafka_topic_t *ct = rd_kafka_topic_new(s->rk, s->commits_topic, NULL);
        if (!ct) err = nomem(s, errstr, errstr_size);
        else
            err = produce_one(s, epoch, ct, s->commits_partition, v, (size_t)n, s->marker_key, s->marker_key_len,
                              sluice_clock_monotonic_ms() + s->timeout_ms, errstr, errstr_size);
        if (ct) rd_kafka_topic_destroy(ct);
        if (v != val) free(v);
        if (err) return err;
    }
    int64_t give_up = sluice_clock_monotonic_ms() + s->timeout_ms + 10000;
    for (;;) {
        rd_kafka_error_t *e = rd_kafka_commit_transaction(s->rk, WAIT_SLICE_MS);
        if (!e) break;
        if (sluice_stop_overdue() && rd_kafka_error_is_retriable(e)) {
            rd_kafka_error_destroy(e);
            return stopped(s, "committing a transaction", errstr, errstr_size);
        }
        if (rd_kafka_error_txn_requires_abort(e)) {
            char why[512];
            snprintf(why, sizeof why, "%s (%s)", rd_kafka_error_string(e), rd_kafka_error_name(e));
            rd_kafka_error_destroy(e);
            return abort_for_retry(s, epoch, why, retry, errstr, errstr_size);
        }
        if (!rd_kafka_error_is_retriable(e) || sluice_clock_monotonic_ms() > give_up)
            return txn_error(s, e, SLUICE_ERR_RUNTIME, "cannot commit a transaction", errstr, errstr_size);
        rd_kafka_error_destroy(e);
    }
    s->in_txn = 0;
    if (s->markers) s->committed = epoch;
    return SLUICE_OK;
}

/* Idempotent producer: the rows whose batch a broker refused for its size
 * are sent again one at a time, each awaited; one refused alone is set
 * aside. */
static sluice_err_t isolate_refused(kafka_sink *s, int64_t epoch, char *errstr, size_t errstr_size) {
    if (s->nrefused == 0) return SLUICE_OK;
    size_t n = s->nrefused;
    size_t *rows = malloc(n * sizeof *rows);
    if (!rows) return nomem(s, errstr, errstr_size);
    memcpy(rows, s->refused, n * sizeof *rows);
    s->nrefused = 0;
    sluice_err_t err = SLUICE_OK;
    int64_t give_up = sluice_clock_monotonic_ms() + s->timeout_ms + 10000;
    for (size_t j = 0; j < n && !err; j++) {
        size_t i = rows[j];
        if (i >= s->nrendered || s->skip[i]) continue;
        err = produce_row(s, epoch, i, give_up, errstr, errstr_size);
        if (!err) err = wait_delivered(s, epoch, errstr, errstr_size);
        if (!err && s->nrefused) {
            s->nrefused = 0;
            char reason[300];
            snprintf(reason, sizeof reason, "topic '%s': the broker refused the record alone: %s", s->topic,
                     rd_kafka_err2name(RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE));
            err = reject_rendered(s, epoch, i, reason, errstr, errstr_size);
        }
    }
    free(rows);
    return err;
}

static sluice_err_t kafka_sink_commit(sluice_sink *sink, int64_t epoch, char *errstr, size_t errstr_size) {
    kafka_sink *s = (kafka_sink *)sink;
    sluice_err_t err;
    if (!s->transactional) {
        err = wait_delivered(s, epoch, errstr, errstr_size);
        if (!err) err = isolate_refused(s, epoch, errstr, errstr_size);
        if (!err) s->produced = s->delivered = s->failed = 0;
        s->nrefused = 0;
        s->refused_fail = 0;
        return err;
    }
    if (!s->in_txn) return sluice_kafka_check_fatal(s->rk, &s->errs, errstr, errstr_size); /* no rows */
    size_t marked = 0; /* rows sent alone or set aside so far in this epoch */
    for (unsigned attempt = 1;; attempt++) {
        int retry = 0;
        err = txn_commit(s, epoch, &retry, errstr, errstr_size);
        s->produced = s->delivered = s->failed = 0;
        /* rows refused for their size: sent alone from the next attempt on
         * (one refused alone is then set aside).  Rows only ever move from
         * the batch to alone to aside, so an attempt that moved one does
         * not count against TXN_ATTEMPTS, and the loop ends. */
        for (size_t j = 0; j < s->nrefused; j++)
            if (s->refused[j] < s->nrendered) s->alone[s->refused[j]] = 1;
        s->nrefused = 0;
        s->refused_fail = 0;
        size_t now = 0;
        for (size_t i = 0; i < s->nrendered; i++) now += s->alone[i] || s->skip[i];
        if (retry && now > marked && attempt > 1) attempt--;
        marked = now;
        if (!err || !retry || attempt >= TXN_ATTEMPTS) return err;
        sluice_log(SLUICE_LOG_WARN, s->pipeline, "kafka", s->instance, "%s; sending the epoch again (attempt %u of %d)",
                   errstr, attempt + 1, TXN_ATTEMPTS);
        if (sluice_stop_sleep_ms((int64_t)attempt * 200))
            return stopped(s, "waiting to send an epoch again", errstr, errstr_size);
        if ((err = produce_rendered(s, epoch, errstr, errstr_size))) return err;
    }
}

static int64_t kafka_sink_committed_epoch(sluice_sink *sink) {
    return ((kafka_sink *)sink)->committed;
}

/** The "kafka" sink connector (see the top of this file). */
const sluice_sink_ops sluice_kafka_sink_ops = {
    .version = SLUICE_MODULE_VERSION,
    .name = "kafka",
    .shared_section = "kafka",
    .option_specs = kafka_sink_specs,
    /* no .shared_specs: [kafka] takes any librdkafka property (kafka_common.c) */
    .open = kafka_sink_open,
    .write = kafka_sink_write,
    .commit = kafka_sink_commit,
    .report = NULL,
    .close = kafka_sink_close,
    .committed_epoch = kafka_sink_committed_epoch,
    .validate = kafka_sink_validate,
};
