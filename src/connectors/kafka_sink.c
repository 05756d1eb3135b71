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
 * Delivery: an idempotent producer (enable.idempotence = true, acks = all,
 * both pinned; librdkafka retries failed sends by itself without
 * duplicating or reordering -- librdkafka INTRODUCTION.md, "Idempotent
 * Producer").  write() hands the rows to librdkafka; commit(epoch) waits
 * (rd_kafka_flush) until every message of the epoch was acknowledged or
 * failed -- at most message.timeout.ms -- and fails the epoch with
 * SLUICE_ERR_RUNTIME when any delivery report carried an error, so an epoch
 * counts as committed only when all its records are in Kafka.  A fatal
 * producer error (rd_kafka_fatal_error) fails write() and commit() the same
 * way.  Nothing is dropped silently.
 *
 * Options: `topic` (required), `format` (json, the only one), `kafka.X = Y`
 * for any librdkafka producer property X (over the shared [kafka] section).
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <librdkafka/rdkafka.h>

#include "connectors/connectors.h"
#include "connectors/connectors_int.h"
#include "connectors/kafka_int.h"
#include "core/clock.h"
#include "format/format.h"

static const char *const kafka_sink_options[] = {"topic", "format", NULL};

typedef struct kafka_sink {
    sluice_sink base;            /* first: the engine sees a sluice_sink */
    sluice_kafka_errors errs;    /* librdkafka's opaque points here */
    const char *instance;
    const char *topic;
    const sluice_schema *schema;
    rd_kafka_t *rk;
    rd_kafka_topic_t *rkt;
    FILE *vals, *keys;           /* open_memstream: one batch of values, keys */
    char *vbuf, *kbuf;
    size_t vsize, ksize;
    off_t *voff, *koff;          /* start of row i in vbuf/kbuf; [nrows] = end */
    size_t offcap;
    sluice_column *pkcols;       /* the PRIMARY KEY columns */
    sluice_value *pkvals;        /* one row's key values (scratch) */
    int64_t timeout_ms;          /* message.timeout.ms */
    uint64_t produced;           /* messages handed to librdkafka, this epoch */
    uint64_t delivered, failed;  /* delivery reports, this epoch */
    rd_kafka_resp_err_t first_err;
} kafka_sink;

static kafka_sink *from_opaque(void *opaque) {
    return (kafka_sink *)((char *)opaque - offsetof(kafka_sink, errs));
}

/* librdkafka's delivery report callback (rd_kafka_conf_set_dr_msg_cb),
 * served by rd_kafka_poll() and rd_kafka_flush(). */
static void dr_msg_cb(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque) {
    (void)rk;
    kafka_sink *s = from_opaque(opaque);
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
    free(s);
}

static sluice_err_t kafka_sink_open(const sluice_module_config *cfg, sluice_sink **out, char *errstr,
                                    size_t errstr_size) {
    const char *inst = cfg->instance ? cfg->instance : "?";
    sluice_err_t err = sluice_kafka_check_options(cfg, "sink", kafka_sink_options, errstr, errstr_size);
    if (err) return err;
    const char *topic = sluice_module_config_get(cfg, "topic");
    if (!topic || !topic[0])
        return sluice_seterr(errstr, errstr_size, SLUICE_ERR_CONFIG, "sink %s (kafka): option 'topic' is required",
                             inst);
    const char *format = sluice_module_config_get(cfg, "format");
    if (format && strcmp(format, "json") != 0)
        return sluice_conn_bad_option(cfg, "format", "sink", "kafka", "expected json", errstr, errstr_size);
    if (!cfg->schema)
        return sluice_seterr(errstr, errstr_size, SLUICE_ERR_INVALID, "sink %s (kafka): no schema", inst);

    kafka_sink *s = calloc(1, sizeof *s);
    if (!s) return SLUICE_ERR_NOMEM;
    s->base.ops = &sluice_kafka_sink_ops;
    s->instance = inst;
    s->topic = topic;
    s->schema = cfg->schema;
    s->errs.kind = "sink";
    s->errs.instance = inst;
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
    static const char *const pinned[] = {"enable.idempotence", "true", "acks", "all", NULL};
    rd_kafka_conf_t *conf = NULL;
    err = sluice_kafka_conf_build(cfg, "sink", defaults, NULL, pinned, &s->errs, &conf, errstr, errstr_size);
    if (err) goto fail;
    char tmo[32];
    size_t tmo_size = sizeof tmo;
    s->timeout_ms = 300000;
    if (rd_kafka_conf_get(conf, "message.timeout.ms", tmo, &tmo_size) == RD_KAFKA_CONF_OK)
        s->timeout_ms = strtoll(tmo, NULL, 10);
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
    rewind(s->vals);
    rewind(s->keys);
    const sluice_schema *sc = s->schema;
    for (size_t i = 0; i < rows->nrows; i++) {
        const sluice_value *row = sluice_row_batch_row(rows, i);
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
    return SLUICE_OK;
}

static sluice_err_t kafka_sink_write(sluice_sink *sink, int64_t epoch, const sluice_row_batch *rows, char *errstr,
                                     size_t errstr_size) {
    kafka_sink *s = (kafka_sink *)sink;
    sluice_err_t err = sluice_kafka_check_fatal(s->rk, &s->errs, errstr, errstr_size);
    if (err || rows->nrows == 0) return err;
    if ((err = render(s, rows, errstr, errstr_size))) return err;
    int64_t give_up = sluice_clock_monotonic_ms() + s->timeout_ms + 10000;
    for (size_t i = 0; i < rows->nrows; i++) {
        /* each rendered row ends with '\n': not part of the message */
        char *v = s->vbuf + s->voff[i];
        size_t vlen = (size_t)(s->voff[i + 1] - s->voff[i]) - 1;
        char *k = s->schema->npk ? s->kbuf + s->koff[i] : NULL;
        size_t klen = k ? (size_t)(s->koff[i + 1] - s->koff[i]) - 1 : 0;
        while (rd_kafka_produce(s->rkt, RD_KAFKA_PARTITION_UA, RD_KAFKA_MSG_F_COPY, v, vlen, k, klen, NULL) != 0) {
            rd_kafka_resp_err_t e = rd_kafka_last_error();
            if (e != RD_KAFKA_RESP_ERR__QUEUE_FULL || sluice_clock_monotonic_ms() > give_up)
                return sluice_seterr(errstr, errstr_size, SLUICE_ERR_RUNTIME,
                                     "sink %s (kafka): topic '%s': cannot produce a record of epoch %lld: %s",
                                     s->instance, s->topic, (long long)epoch, rd_kafka_err2str(e));
            rd_kafka_poll(s->rk, 100); /* the local queue is full: serve delivery reports */
            if ((err = sluice_kafka_check_fatal(s->rk, &s->errs, errstr, errstr_size))) return err;
        }
        s->produced++;
    }
    rd_kafka_poll(s->rk, 0);
    return SLUICE_OK;
}

static sluice_err_t kafka_sink_commit(sluice_sink *sink, int64_t epoch, char *errstr, size_t errstr_size) {
    kafka_sink *s = (kafka_sink *)sink;
    int64_t give_up = sluice_clock_monotonic_ms() + s->timeout_ms + 10000;
    sluice_err_t err = SLUICE_OK;
    while (s->delivered + s->failed < s->produced) {
        rd_kafka_flush(s->rk, 1000);
        if ((err = sluice_kafka_check_fatal(s->rk, &s->errs, errstr, errstr_size))) return err;
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
    if (!err) s->produced = s->delivered = s->failed = 0;
    return err;
}

/** The "kafka" sink connector (see the top of this file). */
const sluice_sink_ops sluice_kafka_sink_ops = {
    .version = SLUICE_MODULE_VERSION,
    .name = "kafka",
    .options = NULL,
    .open = kafka_sink_open,
    .write = kafka_sink_write,
    .commit = kafka_sink_commit,
    .report = NULL,
    .close = kafka_sink_close,
};
