/*
 * sluice-gen outputs: a JSON-lines file, or a Kafka topic through an
 * idempotent librdkafka producer (acks=all, every delivery report checked).
 */
#include "gen_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#ifdef SLUICE_WITH_KAFKA
#include <librdkafka/rdkafka.h>

#include "base/log.h"
#include "base/stop.h"
#endif

enum { OUT_FILE, OUT_KAFKA };

struct sluice_gen_output {
    int kind;
    uint64_t written;
    /* file */
    FILE *f;
    const char *path;
    int owns_f;
#ifdef SLUICE_WITH_KAFKA
    rd_kafka_t *rk;
    rd_kafka_topic_t *rkt;
    const char *topic;
    uint64_t delivered, failed;
    rd_kafka_resp_err_t first_err;
    int fatal;
    char fatal_reason[512];
#endif
};

sluice_gen_output *sluice_gen_output_file(const char *path, char *errstr, size_t errstr_size) {
    sluice_gen_output *out = calloc(1, sizeof *out);
    if (!out) {
        snprintf(errstr, errstr_size, "out of memory");
        return NULL;
    }
    out->kind = OUT_FILE;
    if (!path || strcmp(path, "-") == 0) {
        out->f = stdout;
        out->path = "standard output";
    } else {
        out->f = fopen(path, "wb");
        out->path = path;
        out->owns_f = 1;
        if (!out->f) {
            snprintf(errstr, errstr_size, "cannot open '%s' for writing: %s", path, strerror(errno));
            free(out);
            return NULL;
        }
    }
    return out;
}

#ifdef SLUICE_WITH_KAFKA

static void on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque) {
    (void)rk;
    sluice_gen_output *out = opaque;
    if (m->err) {
        if (out->failed++ == 0) out->first_err = m->err;
    } else {
        out->delivered++;
    }
}

/* librdkafka's log (connection failures, and everything -X debug=... asks
 * for), one line each.  Its syslog levels: 0-3 are errors, 4 warnings, the
 * rest (debug included) info, so that nothing it was asked for is hidden
 * at the default threshold. */
static void on_log(const rd_kafka_t *rk, int level, const char *fac, const char *buf) {
    (void)rk;
    sluice_log_level l = level <= 3 ? SLUICE_LOG_ERROR : level == 4 ? SLUICE_LOG_WARN : SLUICE_LOG_INFO;
    sluice_log_tool(l, "sluice-gen", "kafka %s: %s", fac, buf);
}

/* Errors: a fatal one stops the producer; "all brokers down" is not logged
 * by librdkafka, so it is printed here; the rest reach the log. */
static void on_error(rd_kafka_t *rk, int err, const char *reason, void *opaque) {
    sluice_gen_output *out = opaque;
    if (err == RD_KAFKA_RESP_ERR__FATAL) {
        char buf[256];
        rd_kafka_resp_err_t orig = rd_kafka_fatal_error(rk, buf, sizeof buf);
        out->fatal = 1;
        snprintf(out->fatal_reason, sizeof out->fatal_reason, "%s: %s", rd_kafka_err2name(orig), buf);
    } else if (err == RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN) {
        sluice_log_tool(SLUICE_LOG_ERROR, "sluice-gen", "kafka: %s", reason);
    }
}

static int set_property(rd_kafka_conf_t *conf, const char *key, const char *value, char *errstr,
                        size_t errstr_size) {
    char why[512];
    if (rd_kafka_conf_set(conf, key, value, why, sizeof why) != RD_KAFKA_CONF_OK) {
        snprintf(errstr, errstr_size, "kafka property %s=%s: %s", key, value, why);
        return -1;
    }
    return 0;
}

sluice_gen_output *sluice_gen_output_kafka(const sluice_gen_kafka_options *o, char *errstr,
                                           size_t errstr_size) {
    sluice_gen_output *out = calloc(1, sizeof *out);
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    if (!out || !conf) {
        snprintf(errstr, errstr_size, "out of memory");
        free(out);
        if (conf) rd_kafka_conf_destroy(conf);
        return NULL;
    }
    out->kind = OUT_KAFKA;
    out->topic = o->topic;
    int bad = set_property(conf, "bootstrap.servers", o->bootstrap, errstr, errstr_size) ||
              set_property(conf, "client.id", "sluice-gen", errstr, errstr_size) ||
              set_property(conf, "enable.idempotence", "true", errstr, errstr_size) ||
              set_property(conf, "acks", "all", errstr, errstr_size) ||
              (o->partition_by_key &&
               set_property(conf, "partitioner", "murmur2_random", errstr, errstr_size));
    for (size_t i = 0; !bad && i < o->nproperties; i++) {
        const char *kv = o->properties[i];
        const char *eq = strchr(kv, '=');
        if (!eq || eq == kv) {
            snprintf(errstr, errstr_size, "kafka property '%s': expected KEY=VALUE", kv);
            bad = 1;
            break;
        }
        char key[256];
        snprintf(key, sizeof key, "%.*s", (int)(eq - kv), kv);
        bad = set_property(conf, key, eq + 1, errstr, errstr_size);
    }
    if (bad) {
        rd_kafka_conf_destroy(conf);
        free(out);
        return NULL;
    }
    rd_kafka_conf_set_opaque(conf, out);
    rd_kafka_conf_set_dr_msg_cb(conf, on_delivery);
    rd_kafka_conf_set_error_cb(conf, on_error);
    rd_kafka_conf_set_log_cb(conf, on_log);
    char why[512];
    out->rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, why, sizeof why);
    if (!out->rk) {
        snprintf(errstr, errstr_size, "kafka producer: %s", why);
        rd_kafka_conf_destroy(conf);
        free(out);
        return NULL;
    }
    out->rkt = rd_kafka_topic_new(out->rk, o->topic, NULL);
    if (!out->rkt) {
        snprintf(errstr, errstr_size, "kafka topic '%s': %s", o->topic,
                 rd_kafka_err2str(rd_kafka_last_error()));
        rd_kafka_destroy(out->rk);
        free(out);
        return NULL;
    }
    return out;
}

static int kafka_write(sluice_gen_output *out, const char *line, size_t len, const char *key,
                       size_t keylen, char *errstr, size_t errstr_size) {
    for (;;) {
        if (out->fatal) {
            snprintf(errstr, errstr_size, "kafka producer failed: %s", out->fatal_reason);
            return -1;
        }
        rd_kafka_resp_err_t err = rd_kafka_producev(
            out->rk, RD_KAFKA_V_RKT(out->rkt), RD_KAFKA_V_VALUE((void *)line, len),
            RD_KAFKA_V_KEY((const void *)key, key ? keylen : 0), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
            RD_KAFKA_V_END);
        if (err == RD_KAFKA_RESP_ERR__QUEUE_FULL) {
            if (sluice_stop_requested()) {
                snprintf(errstr, errstr_size, "stopped while the producer's queue was full");
                return -1;
            }
            rd_kafka_poll(out->rk, SLUICE_STOP_SLICE_MS);
            continue;
        }
        if (err) {
            snprintf(errstr, errstr_size, "cannot produce to kafka topic '%s': %s", out->topic,
                     rd_kafka_err2str(err));
            return -1;
        }
        out->written++;
        return 0;
    }
}

static int kafka_close(sluice_gen_output *out, uint64_t *delivered, char *errstr, size_t errstr_size) {
    /* in slices: a stop gives the undelivered records up (purged, so that
     * rd_kafka_destroy does not wait for them either) */
    while (rd_kafka_outq_len(out->rk) > 0 && !sluice_stop_requested()) rd_kafka_flush(out->rk, SLUICE_STOP_SLICE_MS);
    int rc = 0;
    if (rd_kafka_outq_len(out->rk) > 0) {
        rd_kafka_purge(out->rk, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
        rd_kafka_poll(out->rk, 0); /* the purged records' delivery reports */
        snprintf(errstr, errstr_size, "stopped: %llu of %llu records not delivered to kafka topic '%s'",
                 (unsigned long long)(out->written - out->delivered), (unsigned long long)out->written, out->topic);
        rc = -1;
    } else if (out->fatal) {
        snprintf(errstr, errstr_size, "kafka producer failed: %s (%llu of %llu records delivered)",
                 out->fatal_reason, (unsigned long long)out->delivered, (unsigned long long)out->written);
        rc = -1;
    } else if (out->failed) {
        snprintf(errstr, errstr_size, "%llu of %llu records failed delivery to kafka topic '%s': %s",
                 (unsigned long long)out->failed, (unsigned long long)out->written, out->topic,
                 rd_kafka_err2str(out->first_err));
        rc = -1;
    }
    if (delivered) *delivered = out->delivered;
    rd_kafka_topic_destroy(out->rkt);
    rd_kafka_destroy(out->rk);
    free(out);
    return rc;
}

#else

sluice_gen_output *sluice_gen_output_kafka(const sluice_gen_kafka_options *o, char *errstr,
                                           size_t errstr_size) {
    (void)o;
    snprintf(errstr, errstr_size,
             "--kafka: this sluice-gen was built without Kafka support "
             "(configure with -DSLUICE_WITH_KAFKA=ON and librdkafka-dev installed)");
    return NULL;
}

#endif

int sluice_gen_output_write(sluice_gen_output *out, const char *line, size_t len, const char *key,
                            size_t keylen, char *errstr, size_t errstr_size) {
#ifdef SLUICE_WITH_KAFKA
    if (out->kind == OUT_KAFKA) return kafka_write(out, line, len, key, keylen, errstr, errstr_size);
#else
    (void)key;
    (void)keylen;
#endif
    if (fwrite(line, 1, len, out->f) != len || putc('\n', out->f) == EOF) {
        snprintf(errstr, errstr_size, "cannot write to %s%s%s: %s", out->owns_f ? "'" : "", out->path,
                 out->owns_f ? "'" : "", strerror(errno));
        return -1;
    }
    out->written++;
    return 0;
}

void sluice_gen_output_poll(sluice_gen_output *out) {
#ifdef SLUICE_WITH_KAFKA
    if (out->kind == OUT_KAFKA) rd_kafka_poll(out->rk, 0);
#else
    (void)out;
#endif
}

int sluice_gen_output_close(sluice_gen_output *out, uint64_t *delivered, char *errstr,
                            size_t errstr_size) {
    if (!out) return 0;
#ifdef SLUICE_WITH_KAFKA
    if (out->kind == OUT_KAFKA) return kafka_close(out, delivered, errstr, errstr_size);
#endif
    int rc = 0;
    int failed = fflush(out->f) != 0 || ferror(out->f);
    int err = errno;
    if (out->owns_f && fclose(out->f) != 0 && !failed) {
        failed = 1;
        err = errno;
    }
    if (failed) {
        snprintf(errstr, errstr_size, "cannot write to %s%s%s: %s", out->owns_f ? "'" : "", out->path,
                 out->owns_f ? "'" : "", strerror(err));
        rc = -1;
    }
    if (delivered) *delivered = out->written;
    free(out);
    return rc;
}
