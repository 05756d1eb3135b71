/*
 * latency_kafka BOOTSTRAP IN_TOPIC OUT_TOPIC RATE SECONDS WARMUP_S — the
 * feeder and the clock of the latency benchmark (README.md, "The latency
 * benchmark").
 *
 * One thread produces RATE records per second to IN_TOPIC for SECONDS
 * seconds, paced against the monotonic clock in 1 ms steps (so the rate is
 * steady, not bursts of a second's worth), each record a JSON object
 *   {"seq":N,"ts":MICROS,"k":"kNNN"}
 * whose `ts` is the wall-clock time (microseconds since the epoch) at which
 * it was handed to librdkafka, and whose Kafka timestamp (CreateTime) is
 * the same instant in milliseconds; `linger.ms = 1`, so the append follows
 * within about a millisecond.  Another thread reads OUT_TOPIC with
 * `isolation.level = read_committed` from the start and, for every result
 * record that carries a `"ts":` field, takes the latency as the wall-clock
 * time it was handed to the consumer minus that `ts`: from the input's
 * append to the result being readable (committed) in the output topic.
 * Producing starts once the consumer's partitions are assigned (its
 * group's join is not counted); results of inputs produced in the first
 * WARMUP_S seconds are not counted either (the pipeline's first
 * micro-batches).
 *
 * Prints one line:
 *   produced=P rate=R results=N p50_ms= p99_ms= p999_ms= max_ms=
 * after the last result arrives or 10 s after the last record was produced.
 * Exit status: 0; 1 when no result was counted or librdkafka fails; 2 usage.
 */
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <librdkafka/rdkafka.h>

static const char *bootstrap, *in_topic, *out_topic;
static long rate, seconds;
static double warmup_s;
static atomic_long produced;
static atomic_int producing = 1;
static int64_t first_counted_us; /* inputs with ts below this are warm-up */

static int assigned; /* the consumer's partitions are assigned (main thread only) */

static void rebalance_cb(rd_kafka_t *rk, rd_kafka_resp_err_t err, rd_kafka_topic_partition_list_t *parts,
                         void *opaque) {
    (void)opaque;
    if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
        rd_kafka_assign(rk, parts);
        assigned = 1;
    } else {
        rd_kafka_assign(rk, NULL);
    }
}

static int64_t mono_us(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static int64_t wall_us(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static int set(rd_kafka_conf_t *conf, const char *k, const char *v) {
    char err[512];
    if (rd_kafka_conf_set(conf, k, v, err, sizeof err) == RD_KAFKA_CONF_OK) return 0;
    fprintf(stderr, "latency_kafka: %s=%s: %s\n", k, v, err);
    return -1;
}

static void *produce(void *arg) {
    (void)arg;
    char err[512];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    if (set(conf, "bootstrap.servers", bootstrap) || set(conf, "linger.ms", "1") ||
        set(conf, "queue.buffering.max.messages", "1000000"))
        exit(2);
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
    if (!rk) {
        fprintf(stderr, "latency_kafka: %s\n", err);
        exit(1);
    }
    const int64_t start = mono_us(), end = start + (int64_t)seconds * 1000000;
    long n = 0;
    char buf[128];
    for (int64_t now = start; now < end; now = mono_us()) {
        /* records due by now at RATE per second */
        long due = (long)((now - start) * (double)rate / 1e6);
        for (; n < due; n++) {
            int64_t ts = wall_us();
            int len = snprintf(buf, sizeof buf, "{\"seq\":%ld,\"ts\":%" PRId64 ",\"k\":\"k%03ld\"}", n, ts, n % 300);
            rd_kafka_resp_err_t e;
            while ((e = rd_kafka_producev(rk, RD_KAFKA_V_TOPIC(in_topic), RD_KAFKA_V_VALUE(buf, (size_t)len),
                                          RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                                          RD_KAFKA_V_TIMESTAMP(ts / 1000), RD_KAFKA_V_END)) ==
                   RD_KAFKA_RESP_ERR__QUEUE_FULL)
                rd_kafka_poll(rk, 1);
            if (e) {
                fprintf(stderr, "latency_kafka: produce: %s\n", rd_kafka_err2str(e));
                exit(1);
            }
        }
        rd_kafka_poll(rk, 0);
        struct timespec step = {0, 1000000}; /* 1 ms */
        nanosleep(&step, NULL);
    }
    rd_kafka_flush(rk, 10000);
    rd_kafka_destroy(rk);
    atomic_store(&produced, n);
    atomic_store(&producing, 0);
    return NULL;
}

static int cmp(const void *a, const void *b) {
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

static double pct(const int64_t *v, size_t n, double p) {
    size_t i = (size_t)(p * (double)(n - 1) + 0.5);
    return (double)v[i] / 1000.0;
}

int main(int argc, char **argv) {
    if (argc != 7 || (rate = atol(argv[4])) <= 0 || (seconds = atol(argv[5])) <= 0 ||
        (warmup_s = atof(argv[6])) < 0 || warmup_s >= (double)seconds) {
        fprintf(stderr, "usage: latency_kafka BOOTSTRAP IN_TOPIC OUT_TOPIC RATE SECONDS WARMUP_S\n");
        return 2;
    }
    bootstrap = argv[1], in_topic = argv[2], out_topic = argv[3];
    char err[512];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    if (set(conf, "bootstrap.servers", bootstrap) || set(conf, "group.id", out_topic) ||
        set(conf, "auto.offset.reset", "earliest") || set(conf, "enable.auto.commit", "false") ||
        set(conf, "isolation.level", "read_committed") || set(conf, "fetch.wait.max.ms", "5"))
        return 2;
    rd_kafka_conf_set_rebalance_cb(conf, rebalance_cb);
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof err);
    if (!rk) {
        fprintf(stderr, "latency_kafka: %s\n", err);
        return 1;
    }
    rd_kafka_poll_set_consumer(rk);
    rd_kafka_topic_partition_list_t *topics = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(topics, out_topic, RD_KAFKA_PARTITION_UA);
    rd_kafka_subscribe(rk, topics);
    rd_kafka_topic_partition_list_destroy(topics);

    /* the group's join takes seconds: feed only once the results can be
     * read, so that the join is not counted as latency */
    for (int64_t give_up = mono_us() + 30000000; !assigned;) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 50);
        if (m) rd_kafka_message_destroy(m);
        if (mono_us() > give_up) {
            fprintf(stderr, "latency_kafka: no partition of %s assigned within 30 s\n", out_topic);
            return 1;
        }
    }
    first_counted_us = wall_us() + (int64_t)(warmup_s * 1e6);
    pthread_t th;
    if (pthread_create(&th, NULL, produce, NULL) != 0) return 1;

    size_t cap = (size_t)rate * (size_t)seconds + 1024, n = 0;
    int64_t *lat = malloc(cap * sizeof *lat);
    if (!lat) return 1;
    long results = 0;
    int64_t idle_deadline = 0;
    for (;;) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 20);
        int64_t now = wall_us();
        if (m) {
            if (!m->err && m->payload) {
                const char *p = memmem(m->payload, m->len, "\"ts\":", 5);
                if (p) {
                    int64_t ts = strtoll(p + 5, NULL, 10);
                    results++;
                    if (ts >= first_counted_us && n < cap) lat[n++] = now - ts;
                }
            }
            rd_kafka_message_destroy(m);
        }
        if (!atomic_load(&producing)) {
            if (!idle_deadline) idle_deadline = mono_us() + 10000000;
            if ((long)results >= atomic_load(&produced) || mono_us() > idle_deadline) break;
        }
    }
    pthread_join(th, NULL);
    rd_kafka_consumer_close(rk);
    rd_kafka_destroy(rk);
    long p = atomic_load(&produced);
    if (n == 0) {
        fprintf(stderr, "latency_kafka: no result counted (%ld results of %ld records)\n", results, p);
        free(lat);
        return 1;
    }
    qsort(lat, n, sizeof *lat, cmp);
    printf("produced=%ld rate=%.0f results=%ld counted=%zu p50_ms=%.1f p99_ms=%.1f p999_ms=%.1f max_ms=%.1f\n", p,
           (double)p / (double)seconds, results, n, pct(lat, n, 0.50), pct(lat, n, 0.99), pct(lat, n, 0.999),
           (double)lat[n - 1] / 1000.0);
    free(lat);
    return 0;
}
