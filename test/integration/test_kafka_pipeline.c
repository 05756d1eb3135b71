/*
 * The flights example against a Kafka-protocol broker (sluice-mock-broker):
 * flights-20k produced keyed by origin into a 4-partition topic, the
 * pipeline run by the sluice binary with a prod-like profile (Kafka source,
 * Kafka sink), the result topic's last value per key compared with the
 * oracle (fixtures/expected/flights/delays_by_origin.csv).
 *
 * The mock cluster's coordinator holds a rebalance of a group that had
 * members for the members' session timeout (less a second), so the profile
 * sets session.timeout.ms = 4000 to keep the tests short.
 *
 * The SQL is a copy of fixtures/pipelines/flights.sql with EMIT UPDATE:
 * under trigger = available_now a Kafka source does not finalize its
 * windows (docs/connectors.md), so with EMIT APPEND the last windows would
 * stay open; with UPDATE every key's last value must equal the oracle.
 */
#include "sluice_test.h"
#include "kafka_support.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static char *tmpdir;
static sluice_test_broker *broker;
static char sql_path[4096];

#define FLIGHTS 20000

static void nap_ms(int ms) {
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* The profile: Kafka in, Kafka out. */
static void write_profile(const char *path, const char *trigger, const char *in_topic, const char *group,
                          const char *out_topic) {
    char text[4096];
    snprintf(text, sizeof text,
             "[pipeline]\n"
             "trigger = %s\n"
             "dead_letter = %s/dead.jsonl\n"
             "\n"
             "[kafka]\n"
             "bootstrap.servers = %s\n"
             "session.timeout.ms = 4000\n"     /* the mock's rebalance waits for it */
             "heartbeat.interval.ms = 500\n"
             "\n"
             "[source flights]\n"
             "topic = %s\n"
             "group.id = %s\n"
             "startingOffsets = earliest\n"
             "format = json\n"
             "\n"
             "[sink delays_by_origin]\n"
             "connector = kafka\n"
             "topic = %s\n",
             trigger, tmpdir, sluice_test_broker_bootstrap(broker), in_topic, group, out_topic);
    assert_int_equal(sluice_test_write_file(path, text), 0);
}

typedef struct kv {
    const char *key;
    const char *value;
    long order;
} kv;

static int cmp_kv(const void *a, const void *b) {
    const kv *x = a, *y = b;
    int c = strcmp(x->key, y->key);
    if (c) return c;
    return x->order < y->order ? -1 : x->order > y->order;
}

static int close_enough(double a, double b) {
    return fabs(a - b) <= 1e-9 * fmax(1.0, fmax(fabs(a), fabs(b)));
}

/* Every oracle row is the last value of its key in the topic, and the topic
 * holds no other key. */
static void compare_with_oracle(const char *topic) {
    sluice_test_kmsg *msgs = NULL;
    long n = sluice_test_kafka_consume_all(sluice_test_broker_bootstrap(broker), topic, &msgs);
    assert_true(n > 0);
    kv *all = calloc((size_t)n, sizeof *all);
    for (long i = 0; i < n; i++) {
        assert_non_null(msgs[i].key);
        all[i] = (kv){.key = msgs[i].key, .value = msgs[i].value, .order = i};
    }
    qsort(all, (size_t)n, sizeof *all, cmp_kv);
    /* keep the last of each key */
    long u = 0;
    for (long i = 0; i < n; i++) {
        if (i + 1 < n && strcmp(all[i].key, all[i + 1].key) == 0) continue;
        all[u++] = all[i];
    }
    char *csv = sluice_test_read_file(sluice_test_fixture("expected/flights/delays_by_origin.csv"), NULL);
    assert_non_null(csv);
    char *save = NULL;
    char *line = strtok_r(csv, "\n", &save); /* header */
    long rows = 0;
    while ((line = strtok_r(NULL, "\n", &save))) {
        char ws[32], we[32], origin[16];
        long flights, max_delay;
        double avg;
        if (sscanf(line, "%31[^,],%31[^,],%15[^,],%ld,%lf,%ld", ws, we, origin, &flights, &avg, &max_delay) != 6)
            fail_msg("oracle line: %s", line);
        rows++;
        char key[128];
        snprintf(key, sizeof key, "{\"window_start\":\"%s\",\"origin\":\"%s\"}", ws, origin);
        long lo = 0, hi = u;
        while (lo < hi) { /* first >= key */
            long mid = (lo + hi) / 2;
            if (strcmp(all[mid].key, key) < 0) lo = mid + 1;
            else hi = mid;
        }
        if (lo == u || strcmp(all[lo].key, key) != 0) fail_msg("no result for key %s", key);
        cJSON *v = cJSON_Parse(all[lo].value);
        assert_non_null(v);
        const cJSON *j_we = cJSON_GetObjectItemCaseSensitive(v, "window_end");
        const cJSON *j_fl = cJSON_GetObjectItemCaseSensitive(v, "flights");
        const cJSON *j_avg = cJSON_GetObjectItemCaseSensitive(v, "avg_delay");
        const cJSON *j_max = cJSON_GetObjectItemCaseSensitive(v, "max_delay");
        if (!cJSON_IsString(j_we) || strcmp(j_we->valuestring, we) != 0 || !cJSON_IsNumber(j_fl) ||
            (long)j_fl->valuedouble != flights || !cJSON_IsNumber(j_avg) || !close_enough(j_avg->valuedouble, avg) ||
            !cJSON_IsNumber(j_max) || (long)j_max->valuedouble != max_delay)
            fail_msg("key %s: got %s, expected %s", key, all[lo].value, line);
        cJSON_Delete(v);
    }
    assert_int_equal(u, rows);
    free(csv);
    free(all);
    sluice_test_kafka_msgs_free(msgs, n);
}

static void path_in_tmp(char *buf, size_t size, const char *name) {
    snprintf(buf, size, "%s/%s", tmpdir, name);
}

/* ---------------- tests ---------------- */

static void flights_available_now_matches_oracle(void **state) {
    (void)state;
    const char *b = sluice_test_broker_bootstrap(broker);
    assert_int_equal(sluice_test_broker_cmd(broker, "topic flights-a:4"), 0);
    assert_int_equal(sluice_test_broker_cmd(broker, "topic delays-a:4"), 0);
    assert_int_equal(sluice_test_kafka_produce_file(b, "flights-a", sluice_test_fixture("data/flights-20k.jsonl"),
                                                    "origin"),
                     FLIGHTS);
    char ini[4096], err[4096];
    path_in_tmp(ini, sizeof ini, "a.ini");
    path_in_tmp(err, sizeof err, "a.stderr");
    write_profile(ini, "available_now", "flights-a", "group-a", "delays-a");
    const char *argv[] = {"run", sql_path, "--profile", "prod", "--config", ini, NULL};
    int pid = sluice_test_spawn_cli(argv, NULL, err);
    int rc = sluice_test_wait_cli(pid, 90000);
    if (rc != 0) fail_msg("sluice exited %d: %s", rc, sluice_test_read_file(err, NULL));
    assert_int_equal(sluice_test_progress_input_rows(err), FLIGHTS);
    compare_with_oracle("delays-a");

    /* the offsets were committed: a second run of the group reads nothing */
    long before = sluice_test_kafka_count(b, "delays-a");
    pid = sluice_test_spawn_cli(argv, NULL, err);
    rc = sluice_test_wait_cli(pid, 60000);
    if (rc != 0) fail_msg("second run exited %d: %s", rc, sluice_test_read_file(err, NULL));
    assert_int_equal(sluice_test_progress_input_rows(err), 0);
    assert_int_equal(sluice_test_kafka_count(b, "delays-a"), before);
}

/* How many "(kafka): assigned" lines a stderr file holds. */
static int assignments(const char *path) {
    char *text = sluice_test_read_file(path, NULL);
    int n = 0;
    for (const char *p = text ? strstr(text, "(kafka): assigned") : NULL; p; p = strstr(p + 1, "(kafka): assigned"))
        n++;
    free(text);
    return n;
}

static void two_instances_split_the_partitions(void **state) {
    (void)state;
    const char *b = sluice_test_broker_bootstrap(broker);
    assert_int_equal(sluice_test_broker_cmd(broker, "topic flights-b:4"), 0);
    assert_int_equal(sluice_test_broker_cmd(broker, "topic delays-b:4"), 0);
    char ini[4096], err1[4096], err2[4096];
    path_in_tmp(ini, sizeof ini, "b.ini");
    path_in_tmp(err1, sizeof err1, "b1.stderr");
    path_in_tmp(err2, sizeof err2, "b2.stderr");
    write_profile(ini, "1s", "flights-b", "group-b", "delays-b");
    const char *argv[] = {"run", sql_path, "--profile", "prod", "--config", ini, NULL};
    int pid1 = sluice_test_spawn_cli(argv, NULL, err1);
    int pid2 = sluice_test_spawn_cli(argv, NULL, err2);
    assert_true(pid1 > 0 && pid2 > 0);

    /* Without checkpoints a window's state cannot move between members, so
     * the group must be settled -- two partitions each, and no assignment
     * change for 1.5 s (three heartbeat intervals) -- before any record is
     * produced.  (The mock coordinator may fail a follower's first
     * SyncGroup and rebalance again.) */
    int64_t deadline = sluice_test_now_ms() + 60000, quiet_since = sluice_test_now_ms();
    int seen = -1;
    for (;;) {
        int now_seen = assignments(err1) + assignments(err2);
        if (now_seen != seen) {
            seen = now_seen;
            quiet_since = sluice_test_now_ms();
        }
        if (sluice_test_last_assignment(err1) == 2 && sluice_test_last_assignment(err2) == 2 &&
            sluice_test_now_ms() - quiet_since >= 1500)
            break;
        if (sluice_test_now_ms() > deadline) {
            kill(pid1, SIGKILL);
            kill(pid2, SIGKILL);
            fail_msg("the group did not settle: %s / %s", sluice_test_read_file(err1, NULL),
                     sluice_test_read_file(err2, NULL));
        }
        nap_ms(50);
    }
    /* The engine holds a source's watermark at the minimum over the
     * partitions it has seen records from, so a member's first micro-batch
     * must hold records of both its partitions: one broker (one fetch
     * response for all partitions) and a 1 s trigger. */
    assert_int_equal(sluice_test_kafka_produce_file(b, "flights-b", sluice_test_fixture("data/flights-20k.jsonl"),
                                                    "origin"),
                     FLIGHTS);
    deadline = sluice_test_now_ms() + 60000;
    while (sluice_test_progress_input_rows(err1) + sluice_test_progress_input_rows(err2) < FLIGHTS &&
           sluice_test_now_ms() < deadline)
        nap_ms(50);
    long n1 = sluice_test_progress_input_rows(err1), n2 = sluice_test_progress_input_rows(err2);
    int a1 = sluice_test_last_assignment(err1), a2 = sluice_test_last_assignment(err2);
    /* graceful stop: the current micro-batch is finished and committed */
    kill(pid1, SIGTERM);
    kill(pid2, SIGTERM);
    int rc1 = sluice_test_wait_cli(pid1, 30000), rc2 = sluice_test_wait_cli(pid2, 30000);
    if (rc1 != 0 || rc2 != 0)
        fail_msg("exit %d and %d: %s / %s", rc1, rc2, sluice_test_read_file(err1, NULL),
                 sluice_test_read_file(err2, NULL));
    if (a1 != 2 || a2 != 2 || n1 + n2 != FLIGHTS || n1 == 0 || n2 == 0)
        fail_msg("partitions %d and %d, rows %ld and %ld: %s / %s", a1, a2, n1, n2, sluice_test_read_file(err1, NULL),
                 sluice_test_read_file(err2, NULL));
    compare_with_oracle("delays-b");
    /* every offset was committed before the members left */
    assert_int_equal(sluice_test_kafka_committed(b, "group-b", "flights-b"), FLIGHTS);
}

static long count_lines(const char *path) {
    char *text = sluice_test_read_file(path, NULL);
    long n = 0;
    for (char *c = text; c && *c; c++) n += *c == '\n';
    free(text);
    return n;
}

/* Two Kafka sources and no group.id: each gets a consumer group of its own,
 * sluice.<pipeline>.<source>, so that neither rebalance waits for the other
 * consumer, and an available_now run ends. */
static void two_sources_get_a_consumer_group_each(void **state) {
    (void)state;
    const char *b = sluice_test_broker_bootstrap(broker);
    assert_int_equal(sluice_test_broker_cmd(broker, "topic two-a:2"), 0);
    assert_int_equal(sluice_test_broker_cmd(broker, "topic two-b:3"), 0);
    enum { NA = 700, NB = 300 };
    char *va[NA], *vb[NB];
    for (int i = 0; i < NA; i++) assert_true(asprintf(&va[i], "{\"origin\":\"A%d\",\"delay\":%d}", i % 7, i) > 0);
    for (int i = 0; i < NB; i++) assert_true(asprintf(&vb[i], "{\"origin\":\"B%d\",\"delay\":%d}", i % 5, i) > 0);
    assert_int_equal(sluice_test_kafka_produce(b, "two-a", -1, (const char *const *)va, NULL, NA), 0);
    assert_int_equal(sluice_test_kafka_produce(b, "two-b", -1, (const char *const *)vb, NULL, NB), 0);
    for (int i = 0; i < NA; i++) free(va[i]);
    for (int i = 0; i < NB; i++) free(vb[i]);

    char sql[4096], ini[4096], err[4096], out_a[4096], out_b[4096];
    path_in_tmp(sql, sizeof sql, "two.sql");
    path_in_tmp(ini, sizeof ini, "two.ini");
    path_in_tmp(err, sizeof err, "two.stderr");
    path_in_tmp(out_a, sizeof out_a, "two-a.csv");
    path_in_tmp(out_b, sizeof out_b, "two-b.csv");
    assert_int_equal(sluice_test_write_file(sql, "CREATE SOURCE a (origin VARCHAR, delay BIGINT);\n"
                                                 "CREATE SOURCE b (origin VARCHAR, delay BIGINT);\n"
                                                 "CREATE SINK late_a AS SELECT origin, delay FROM a;\n"
                                                 "CREATE SINK late_b AS SELECT origin, delay FROM b;\n"),
                     0);
    char text[16384];
    snprintf(text, sizeof text,
             "[pipeline]\ntrigger = available_now\n"
             "[kafka]\nbootstrap.servers = %s\nsession.timeout.ms = 4000\nheartbeat.interval.ms = 500\n"
             "[source a]\ntopic = two-a\nstartingOffsets = earliest\nformat = json\n"
             "[source b]\ntopic = two-b\nstartingOffsets = earliest\nformat = json\n"
             "[sink late_a]\nconnector = file\npath = %s\n"
             "[sink late_b]\nconnector = file\npath = %s\n",
             b, out_a, out_b);
    assert_int_equal(sluice_test_write_file(ini, text), 0);
    const char *argv[] = {"run", sql, "--profile", "prod", "--config", ini, NULL};
    int rc = sluice_test_wait_cli(sluice_test_spawn_cli(argv, NULL, err), 60000);
    if (rc != 0) fail_msg("exit %d: %s", rc, sluice_test_read_file(err, NULL));
    assert_int_equal(count_lines(out_a), NA + 1); /* with the CSV header */
    assert_int_equal(count_lines(out_b), NB + 1);
    assert_int_equal(sluice_test_kafka_committed(b, "sluice.two.a", "two-a"), NA);
    assert_int_equal(sluice_test_kafka_committed(b, "sluice.two.b", "two-b"), NB);
    assert_int_equal(sluice_test_kafka_committed(b, "sluice.two", "two-a"), 0);
}

int main(void) {
    tmpdir = sluice_test_mkdtemp("kafka_pipeline");
    broker = sluice_test_broker_start(1, NULL);
    if (!tmpdir || !broker) return 1;
    /* flights.sql with EMIT UPDATE, under the same stem (pipeline name) */
    char *sql = sluice_test_read_file(sluice_test_fixture("pipelines/flights.sql"), NULL);
    char *emit = sql ? strstr(sql, "EMIT APPEND") : NULL;
    if (!emit) return 1;
    memcpy(emit, "EMIT UPDATE", 11);
    snprintf(sql_path, sizeof sql_path, "%s/flights.sql", tmpdir);
    if (sluice_test_write_file(sql_path, sql) != 0) return 1;
    free(sql);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(flights_available_now_matches_oracle),
        cmocka_unit_test(two_instances_split_the_partitions),
        cmocka_unit_test(two_sources_get_a_consumer_group_each),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    sluice_test_broker_stop(broker);
    free(tmpdir);
    return rc;
}
