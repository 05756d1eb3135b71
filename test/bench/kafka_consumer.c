/*
 * kafka_consumer BOOTSTRAP TOPIC GROUP N — the bare librdkafka consumer of
 * the Kafka benchmark (README.md): joins consumer group GROUP on TOPIC
 * (rd_kafka_subscribe, auto.offset.reset = earliest), reads N messages with
 * rd_kafka_consumer_poll and destroys them, nothing else.  Prints
 * `rows=N seconds=S` where S is the wall time from the group's assignment
 * (the rebalance callback) to the N-th message, the same span the benchmark
 * measures for sluice.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <librdkafka/rdkafka.h>

static double assigned_at = -1;

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void rebalance_cb(rd_kafka_t *rk, rd_kafka_resp_err_t err, rd_kafka_topic_partition_list_t *parts,
                         void *opaque) {
    (void)opaque;
    if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
        if (assigned_at < 0) assigned_at = now_s();
        rd_kafka_assign(rk, parts);
    } else {
        rd_kafka_assign(rk, NULL);
    }
}

int main(int argc, char **argv) {
    if (argc != 5) {
        fprintf(stderr, "usage: kafka_consumer BOOTSTRAP TOPIC GROUP N\n");
        return 2;
    }
    long want = atol(argv[4]);
    char err[512];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    if (rd_kafka_conf_set(conf, "bootstrap.servers", argv[1], err, sizeof err) ||
        rd_kafka_conf_set(conf, "group.id", argv[3], err, sizeof err) ||
        rd_kafka_conf_set(conf, "auto.offset.reset", "earliest", err, sizeof err) ||
        rd_kafka_conf_set(conf, "enable.auto.commit", "false", err, sizeof err)) {
        fprintf(stderr, "kafka_consumer: %s\n", err);
        return 2;
    }
    rd_kafka_conf_set_rebalance_cb(conf, rebalance_cb);
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof err);
    if (!rk) {
        fprintf(stderr, "kafka_consumer: %s\n", err);
        return 1;
    }
    rd_kafka_poll_set_consumer(rk);
    rd_kafka_topic_partition_list_t *topics = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(topics, argv[2], RD_KAFKA_PARTITION_UA);
    rd_kafka_subscribe(rk, topics);
    rd_kafka_topic_partition_list_destroy(topics);
    long n = 0;
    size_t bytes = 0;
    double deadline = now_s() + 300;
    while (n < want && now_s() < deadline) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 100);
        if (!m) continue;
        if (!m->err) {
            n++;
            bytes += m->len;
        }
        rd_kafka_message_destroy(m);
    }
    double done = now_s();
    rd_kafka_consumer_close(rk);
    rd_kafka_destroy(rk);
    if (n < want) {
        fprintf(stderr, "kafka_consumer: read %ld of %ld messages\n", n, want);
        return 1;
    }
    printf("rows=%ld bytes=%zu seconds=%.3f\n", n, bytes, done - assigned_at);
    return 0;
}
