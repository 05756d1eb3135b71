/*
 * Helpers for Kafka tests: start and stop sluice-mock-broker (a real
 * Kafka-protocol broker on loopback), send it commands (broker down/up,
 * injected request errors), produce test data and read a topic back with
 * librdkafka.
 */
#ifndef SLUICE_KAFKA_SUPPORT_H
#define SLUICE_KAFKA_SUPPORT_H

#include <stddef.h>
#include <stdint.h>

typedef struct sluice_test_broker sluice_test_broker;

/** Start sluice-mock-broker with `nbrokers` brokers and the topics
 *  `topics` ("NAME:PARTITIONS", NULL-terminated; may be NULL), wait (at most
 *  10 s) for its bootstrap address.  NULL on failure (with a message on
 *  stderr).  Stop with sluice_test_broker_stop(). */
sluice_test_broker *sluice_test_broker_start(int nbrokers, const char *const *topics);

/** The bootstrap.servers list ("127.0.0.1:PORT,..."), owned by b. */
const char *sluice_test_broker_bootstrap(const sluice_test_broker *b);

/** Send one command line (printf format; see mock_broker.c: "down 1",
 *  "up 1", "error Produce 3 NOT_LEADER_FOR_PARTITION", "topic t:4") and
 *  wait (at most 10 s) for its answer.  Returns 0 on "ok", -1 otherwise
 *  (the answer is printed on stderr). */
int sluice_test_broker_cmd(sluice_test_broker *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/** Stop the broker (stdin closed, SIGTERM, then SIGKILL after 5 s) and
 *  free b.  NULL-safe. */
void sluice_test_broker_stop(sluice_test_broker *b);

/** Produce n messages to `topic`  (values[i], NULL: a tombstone; keys[i] when keys != NULL and
 *  keys[i] != NULL) with an idempotent producer and wait until all are
 *  acknowledged.  partition < 0: the default partitioner.  Returns 0, or -1
 *  (message on stderr). */
int sluice_test_kafka_produce(const char *bootstrap, const char *topic, int32_t partition,
                              const char *const *values, const char *const *keys, size_t n);

/** Produce every non-empty line of the file at `path` to `topic`, keyed
 *  by the string value of top-level JSON field `key_field` (NULL: no key).
 *  Returns the number of messages produced, or -1. */
long sluice_test_kafka_produce_file(const char *bootstrap, const char *topic, const char *path,
                                    const char *key_field);

/** One message read back. */
typedef struct sluice_test_kmsg {
    char *key;           /**< NUL-terminated copy, NULL when the message has no key */
    char *value;         /**< NUL-terminated copy */
    int value_null;      /**< 1: the value is NULL (a tombstone; `value` is "") */
    int32_t partition;
    int64_t offset;
    int nheaders;        /**< message headers kept (at most SLUICE_TEST_KMSG_HEADERS) */
    char *header_name[8];
    char *header_value[8]; /**< NUL-terminated copies */
} sluice_test_kmsg;

#define SLUICE_TEST_KMSG_HEADERS 8

/** The value of header `name` of m (the first one of that name), or NULL. */
const char *sluice_test_kmsg_header(const sluice_test_kmsg *m, const char *name);

/** Read every message of every partition of `topic`, from the beginning up
 *  to the high watermarks at the call (no consumer group), ordered by
 *  partition then offset.  *out is malloc'd (free with
 *  sluice_test_kafka_msgs_free).  Returns the count, or -1. */
long sluice_test_kafka_consume_all(const char *bootstrap, const char *topic, sluice_test_kmsg **out);

void sluice_test_kafka_msgs_free(sluice_test_kmsg *msgs, long n);

/** Number of messages in `topic` now (sum of high - low watermarks), or -1. */
long sluice_test_kafka_count(const char *bootstrap, const char *topic);

/** Sum over the partitions of `topic` of the offsets committed by consumer
 *  group `group` (partitions without a committed offset count 0), or -1. */
long sluice_test_kafka_committed(const char *bootstrap, const char *group, const char *topic);

/** Sum of input_rows over the progress lines in a sluice stderr file (0
 *  when it cannot be read). */
long sluice_test_progress_input_rows(const char *stderr_path);

/** The partition count of the last "(kafka): assigned ..." line of a
 *  sluice stderr file, or -1 when there is none. */
int sluice_test_last_assignment(const char *stderr_path);

/** Monotonic clock in milliseconds, for test deadlines. */
int64_t sluice_test_now_ms(void);

#endif
