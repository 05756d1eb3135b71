#include "kafka_support.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <librdkafka/rdkafka.h>

struct sluice_test_broker {
    pid_t pid;
    int to_child;     /* its stdin */
    int from_child;   /* its stdout */
    char bootstrap[1024];
    char buf[1024];   /* unread output */
    size_t used;
};

int64_t sluice_test_now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Read one line of the broker's output into line (NUL-terminated, without
 * the newline), waiting until deadline_ms.  Returns 0, or -1. */
static int read_line(sluice_test_broker *b, char *line, size_t size, int64_t deadline_ms) {
    for (;;) {
        char *nl = memchr(b->buf, '\n', b->used);
        if (nl) {
            size_t n = (size_t)(nl - b->buf);
            snprintf(line, size, "%.*s", (int)n, b->buf);
            memmove(b->buf, nl + 1, b->used - n - 1);
            b->used -= n + 1;
            return 0;
        }
        int64_t left = deadline_ms - sluice_test_now_ms();
        if (left <= 0 || b->used == sizeof b->buf) return -1;
        struct pollfd pfd = {.fd = b->from_child, .events = POLLIN};
        int r = poll(&pfd, 1, (int)left);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) return -1;
        ssize_t n = read(b->from_child, b->buf + b->used, sizeof b->buf - b->used);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return -1;
        b->used += (size_t)n;
    }
}

sluice_test_broker *sluice_test_broker_start(int nbrokers, const char *const *topics) {
    int in[2], out[2];
    if (pipe(in) != 0) return NULL;
    if (pipe(out) != 0) {
        close(in[0]);
        close(in[1]);
        return NULL;
    }
    char nb[16];
    snprintf(nb, sizeof nb, "%d", nbrokers);
    const char *argv[64] = {SLUICE_MOCK_BROKER, "--brokers", nb};
    size_t argc = 3;
    for (size_t i = 0; topics && topics[i] && argc < 60; i++) {
        argv[argc++] = "--topic";
        argv[argc++] = topics[i];
    }
    argv[argc] = NULL;
    signal(SIGPIPE, SIG_IGN);
    pid_t pid = fork();
    if (pid < 0) return NULL;
    if (pid == 0) {
        dup2(in[0], STDIN_FILENO);
        dup2(out[1], STDOUT_FILENO);
        close(in[0]);
        close(in[1]);
        close(out[0]);
        close(out[1]);
        execv(SLUICE_MOCK_BROKER, (char *const *)argv);
        _exit(127);
    }
    close(in[0]);
    close(out[1]);
    sluice_test_broker *b = calloc(1, sizeof *b);
    b->pid = pid;
    b->to_child = in[1];
    b->from_child = out[0];
    fcntl(b->to_child, F_SETFD, FD_CLOEXEC);
    fcntl(b->from_child, F_SETFD, FD_CLOEXEC);
    char line[600];
    if (read_line(b, line, sizeof line, sluice_test_now_ms() + 10000) != 0 || strncmp(line, "bootstrap=", 10) != 0) {
        fprintf(stderr, "sluice-mock-broker did not print its address\n");
        sluice_test_broker_stop(b);
        return NULL;
    }
    snprintf(b->bootstrap, sizeof b->bootstrap, "%s", line + 10);
    return b;
}

const char *sluice_test_broker_bootstrap(const sluice_test_broker *b) {
    return b->bootstrap;
}

int sluice_test_broker_cmd(sluice_test_broker *b, const char *fmt, ...) {
    char cmd[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(cmd, sizeof cmd - 1, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof cmd - 1) return -1;
    cmd[n++] = '\n';
    if (write(b->to_child, cmd, (size_t)n) != n) return -1;
    char line[600];
    if (read_line(b, line, sizeof line, sluice_test_now_ms() + 10000) != 0) return -1;
    if (strcmp(line, "ok") == 0) return 0;
    fprintf(stderr, "sluice-mock-broker: %.*s: %s\n", n - 1, cmd, line);
    return -1;
}

void sluice_test_broker_stop(sluice_test_broker *b) {
    if (!b) return;
    close(b->to_child);
    kill(b->pid, SIGTERM);
    int64_t deadline = sluice_test_now_ms() + 5000;
    int status;
    for (;;) {
        pid_t r = waitpid(b->pid, &status, WNOHANG);
        if (r == b->pid || (r < 0 && errno != EINTR)) break;
        if (sluice_test_now_ms() > deadline) {
            kill(b->pid, SIGKILL);
            waitpid(b->pid, &status, 0);
            break;
        }
        struct timespec ts = {.tv_sec = 0, .tv_nsec = 10 * 1000000L};
        nanosleep(&ts, NULL);
    }
    close(b->from_child);
    free(b);
}

/* ---------------- producing ---------------- */

static void count_dr(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque) {
    (void)rk;
    long *failed = opaque;
    if (m->err) {
        if (!*failed) fprintf(stderr, "test producer: delivery failed: %s\n", rd_kafka_err2str(m->err));
        (*failed)++;
    }
}

static rd_kafka_t *new_client(rd_kafka_type_t type, const char *bootstrap, void *opaque) {
    char err[512];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    if (rd_kafka_conf_set(conf, "bootstrap.servers", bootstrap, err, sizeof err) ||
        (type == RD_KAFKA_PRODUCER &&
         (rd_kafka_conf_set(conf, "enable.idempotence", "true", err, sizeof err) ||
          rd_kafka_conf_set(conf, "linger.ms", "5", err, sizeof err))) ||
        (type == RD_KAFKA_CONSUMER &&
         (rd_kafka_conf_set(conf, "enable.partition.eof", "false", err, sizeof err) ||
          rd_kafka_conf_set(conf, "group.id", "sluice-test-reader", err, sizeof err) ||
          rd_kafka_conf_set(conf, "enable.auto.commit", "false", err, sizeof err)))) {
        fprintf(stderr, "test client: %s\n", err);
        rd_kafka_conf_destroy(conf);
        return NULL;
    }
    if (type == RD_KAFKA_PRODUCER) rd_kafka_conf_set_dr_msg_cb(conf, count_dr);
    rd_kafka_conf_set_opaque(conf, opaque);
    rd_kafka_t *rk = rd_kafka_new(type, conf, err, sizeof err);
    if (!rk) {
        fprintf(stderr, "test client: %s\n", err);
        rd_kafka_conf_destroy(conf);
    }
    return rk;
}

static int produce_one(rd_kafka_t *rk, const char *topic, int32_t partition, const char *v, size_t vlen,
                       const char *k, size_t klen) {
    for (;;) {
        rd_kafka_resp_err_t e = rd_kafka_producev(
            rk, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_PARTITION(partition < 0 ? RD_KAFKA_PARTITION_UA : partition),
            RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_VALUE((void *)v, vlen),
            RD_KAFKA_V_KEY((void *)k, klen), RD_KAFKA_V_END);
        if (!e) return 0;
        if (e != RD_KAFKA_RESP_ERR__QUEUE_FULL) {
            fprintf(stderr, "test producer: %s\n", rd_kafka_err2str(e));
            return -1;
        }
        rd_kafka_poll(rk, 50);
    }
}

static int finish_producer(rd_kafka_t *rk, long *failed) {
    int64_t deadline = sluice_test_now_ms() + 60000;
    while (rd_kafka_outq_len(rk) > 0 && sluice_test_now_ms() < deadline) rd_kafka_flush(rk, 500);
    int ok = rd_kafka_outq_len(rk) == 0 && *failed == 0;
    rd_kafka_destroy(rk);
    return ok ? 0 : -1;
}

int sluice_test_kafka_produce(const char *bootstrap, const char *topic, int32_t partition,
                              const char *const *values, const char *const *keys, size_t n) {
    long failed = 0;
    rd_kafka_t *rk = new_client(RD_KAFKA_PRODUCER, bootstrap, &failed);
    if (!rk) return -1;
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        const char *k = keys ? keys[i] : NULL;
        rc = produce_one(rk, topic, partition, values[i], values[i] ? strlen(values[i]) : 0, k, k ? strlen(k) : 0);
    }
    int fin = finish_producer(rk, &failed);
    return rc == 0 && fin == 0 ? 0 : -1;
}

/* The string value of top-level "field" in a flat JSON object line. */
static int json_field(const char *line, const char *field, const char **v, size_t *len) {
    char pat[128];
    snprintf(pat, sizeof pat, "\"%s\":\"", field);
    const char *p = strstr(line, pat);
    if (!p) return -1;
    p += strlen(pat);
    const char *e = strchr(p, '"');
    if (!e) return -1;
    *v = p;
    *len = (size_t)(e - p);
    return 0;
}

long sluice_test_kafka_produce_file(const char *bootstrap, const char *topic, const char *path,
                                    const char *key_field) {
    FILE *f = fopen(path, "rb");
    if (!f) return -1;
    long failed = 0, n = 0;
    rd_kafka_t *rk = new_client(RD_KAFKA_PRODUCER, bootstrap, &failed);
    if (!rk) {
        fclose(f);
        return -1;
    }
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    int rc = 0;
    while (rc == 0 && (len = getline(&line, &cap, f)) > 0) {
        while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r')) line[--len] = '\0';
        if (len == 0) continue;
        const char *k = NULL;
        size_t klen = 0;
        if (key_field && json_field(line, key_field, &k, &klen) != 0) k = NULL;
        rc = produce_one(rk, topic, -1, line, (size_t)len, k, klen);
        n++;
    }
    free(line);
    fclose(f);
    int fin = finish_producer(rk, &failed);
    return rc == 0 && fin == 0 ? n : -1;
}

/* ---------------- reading back ---------------- */

static int partitions_of(rd_kafka_t *rk, const char *topic, int32_t **out) {
    const struct rd_kafka_metadata *md = NULL;
    rd_kafka_topic_t *rkt = rd_kafka_topic_new(rk, topic, NULL);
    rd_kafka_resp_err_t e = rd_kafka_metadata(rk, 0, rkt, &md, 10000);
    rd_kafka_topic_destroy(rkt);
    if (e || md->topic_cnt != 1 || md->topics[0].err) {
        fprintf(stderr, "test reader: metadata of '%s': %s\n", topic,
                rd_kafka_err2str(e ? e : md->topic_cnt ? md->topics[0].err : RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC));
        if (md) rd_kafka_metadata_destroy(md);
        return -1;
    }
    int n = md->topics[0].partition_cnt;
    *out = calloc((size_t)n + 1, sizeof **out);
    for (int i = 0; i < n; i++) (*out)[i] = md->topics[0].partitions[i].id;
    rd_kafka_metadata_destroy(md);
    return n;
}

long sluice_test_kafka_count(const char *bootstrap, const char *topic) {
    rd_kafka_t *rk = new_client(RD_KAFKA_CONSUMER, bootstrap, NULL);
    if (!rk) return -1;
    int32_t *parts = NULL;
    int np = partitions_of(rk, topic, &parts);
    long total = np < 0 ? -1 : 0;
    for (int i = 0; i < np && total >= 0; i++) {
        int64_t lo, hi;
        if (rd_kafka_query_watermark_offsets(rk, topic, parts[i], &lo, &hi, 10000)) total = -1;
        else total += (long)(hi - lo);
    }
    free(parts);
    rd_kafka_destroy(rk);
    return total;
}

long sluice_test_kafka_committed(const char *bootstrap, const char *group, const char *topic) {
    char err[512];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    if (rd_kafka_conf_set(conf, "bootstrap.servers", bootstrap, err, sizeof err) ||
        rd_kafka_conf_set(conf, "group.id", group, err, sizeof err)) {
        rd_kafka_conf_destroy(conf);
        return -1;
    }
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof err);
    if (!rk) {
        rd_kafka_conf_destroy(conf);
        return -1;
    }
    int32_t *parts = NULL;
    int np = partitions_of(rk, topic, &parts);
    long total = np < 0 ? -1 : 0;
    if (np > 0) {
        rd_kafka_topic_partition_list_t *list = rd_kafka_topic_partition_list_new(np);
        for (int i = 0; i < np; i++) rd_kafka_topic_partition_list_add(list, topic, parts[i]);
        if (rd_kafka_committed(rk, list, 10000)) total = -1;
        for (int i = 0; total >= 0 && i < list->cnt; i++)
            if (list->elems[i].offset > 0) total += (long)list->elems[i].offset;
        rd_kafka_topic_partition_list_destroy(list);
    }
    free(parts);
    rd_kafka_destroy(rk);
    return total;
}

static int cmp_msg(const void *a, const void *b) {
    const sluice_test_kmsg *x = a, *y = b;
    if (x->partition != y->partition) return x->partition < y->partition ? -1 : 1;
    return x->offset < y->offset ? -1 : x->offset > y->offset;
}

long sluice_test_kafka_consume_all(const char *bootstrap, const char *topic, sluice_test_kmsg **out) {
    *out = NULL;
    rd_kafka_t *rk = new_client(RD_KAFKA_CONSUMER, bootstrap, NULL);
    if (!rk) return -1;
    int32_t *parts = NULL;
    int np = partitions_of(rk, topic, &parts);
    if (np < 0) {
        rd_kafka_destroy(rk);
        return -1;
    }
    rd_kafka_topic_partition_list_t *list = rd_kafka_topic_partition_list_new(np);
    int64_t *end = calloc((size_t)np + 1, sizeof *end);
    long want = 0;
    for (int i = 0; i < np; i++) {
        int64_t lo = 0, hi = 0;
        if (rd_kafka_query_watermark_offsets(rk, topic, parts[i], &lo, &hi, 10000)) lo = hi = 0;
        end[i] = hi;
        want += (long)(hi - lo);
        if (hi > lo) rd_kafka_topic_partition_list_add(list, topic, parts[i])->offset = lo;
    }
    sluice_test_kmsg *msgs = calloc((size_t)want + 1, sizeof *msgs);
    long n = 0;
    if (list->cnt > 0) rd_kafka_assign(rk, list);
    int64_t deadline = sluice_test_now_ms() + 60000;
    while (n < want && sluice_test_now_ms() < deadline) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 200);
        if (!m) continue;
        int keep = !m->err;
        for (int i = 0; keep && i < np; i++)
            if (parts[i] == m->partition && m->offset >= end[i]) keep = 0;
        if (keep) {
            sluice_test_kmsg *t = &msgs[n++];
            t->partition = m->partition;
            t->offset = m->offset;
            t->value = strndup(m->payload ? (const char *)m->payload : "", m->len);
            t->value_null = m->payload == NULL;
            t->key = m->key ? strndup(m->key, m->key_len) : NULL;
            rd_kafka_headers_t *hdrs = NULL;
            if (rd_kafka_message_headers(m, &hdrs) == RD_KAFKA_RESP_ERR_NO_ERROR) {
                const char *name;
                const void *val;
                size_t len;
                for (size_t h = 0; t->nheaders < SLUICE_TEST_KMSG_HEADERS &&
                                   rd_kafka_header_get_all(hdrs, h, &name, &val, &len) == RD_KAFKA_RESP_ERR_NO_ERROR;
                     h++) {
                    t->header_name[t->nheaders] = strdup(name);
                    t->header_value[t->nheaders++] = strndup(val ? (const char *)val : "", len);
                }
            }
        }
        rd_kafka_message_destroy(m);
    }
    rd_kafka_topic_partition_list_destroy(list);
    free(end);
    free(parts);
    rd_kafka_consumer_close(rk);
    rd_kafka_destroy(rk);
    if (n < want) {
        fprintf(stderr, "test reader: read %ld of %ld messages of '%s'\n", n, want, topic);
        sluice_test_kafka_msgs_free(msgs, n);
        return -1;
    }
    qsort(msgs, (size_t)n, sizeof *msgs, cmp_msg);
    *out = msgs;
    return n;
}

void sluice_test_kafka_msgs_free(sluice_test_kmsg *msgs, long n) {
    for (long i = 0; msgs && i < n; i++) {
        free(msgs[i].key);
        free(msgs[i].value);
        for (int h = 0; h < msgs[i].nheaders; h++) {
            free(msgs[i].header_name[h]);
            free(msgs[i].header_value[h]);
        }
    }
    free(msgs);
}

const char *sluice_test_kmsg_header(const sluice_test_kmsg *m, const char *name) {
    for (int h = 0; h < m->nheaders; h++)
        if (strcmp(m->header_name[h], name) == 0) return m->header_value[h];
    return NULL;
}

/* ---------------- sluice's stderr ---------------- */

static char *slurp(const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    char *text = NULL;
    size_t cap = 0;
    ssize_t n = getdelim(&text, &cap, '\0', f);
    fclose(f);
    if (n < 0) {
        free(text);
        return NULL;
    }
    return text;
}

long sluice_test_progress_input_rows(const char *stderr_path) {
    char *text = slurp(stderr_path);
    if (!text) return 0;
    long total = 0;
    for (const char *p = strstr(text, "\"input_rows\":"); p; p = strstr(p + 1, "\"input_rows\":"))
        total += strtol(p + 13, NULL, 10);
    free(text);
    return total;
}

int sluice_test_last_assignment(const char *stderr_path) {
    char *text = slurp(stderr_path);
    if (!text) return -1;
    int n = -1;
    for (const char *p = strstr(text, "(kafka): assigned"); p; p = strstr(p + 1, "(kafka): assigned")) {
        const char *eol = strchr(p, '\n');
        const char *paren = NULL;
        for (const char *q = p + 17; *q && (!eol || q < eol); q++)
            if (*q == '(') paren = q;
        if (paren) n = atoi(paren + 1);
    }
    free(text);
    return n;
}
