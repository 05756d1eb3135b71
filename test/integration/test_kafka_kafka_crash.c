/*
 * Exactly-once from Kafka to Kafka across crashes (docs/checkpoints.md
 * "What a test must show"): flights-20k produced keyed by origin into a
 * 4-partition topic of the test broker, read by the kafka source, written by
 * transactional kafka sinks to an APPEND topic (hourly windows: a duplicate
 * or a loss would show) and a keyed UPDATE topic (totals per origin).
 * sluice is killed with SIGKILL at 20+ random instants and made to abort()
 * before and after a sink's commit and halfway through snapshot and offsets
 * writes, restarted each time; what a read_committed consumer would read
 * from the topics must equal what one uninterrupted run wrote, row for row.
 *
 * The test broker (librdkafka's mock cluster) keeps no transaction markers
 * in its logs: a consumer there reads aborted records too.  So this test
 * reads the topics as read_committed would, from the sink's own commit
 * records: a record counts when the `__sluice_commits` marker of its epoch
 * (matched by the record's sluice.epoch and sluice.run headers) is there —
 * the marker travels in the record's transaction, so a real broker shows
 * both or neither.  Records of a transaction that never got its marker
 * (killed before it) do not count, as they would be aborted.  The sink sends
 * its marker only once the epoch's records are acknowledged, so a marker
 * visible here has all of its records.  Two markers of one epoch fail the
 * test: without broker errors none is aborted after its marker was sent.
 */
#include "sluice_test.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "crash_support.h"
#include "kafka_support.h"

static sluice_test_broker *broker;

static const char *sql = SLUICE_CRASH_SQL;

static char dir[4096];

/* One pipeline: its own .sql (the pipeline name gives the sinks'
 * transactional.id), profile, checkpoint and stderr file. */
typedef struct run_dir {
    const char *name;
    char sql[4200], ini[4200], cp[4200], err[4200];
} run_dir;

static void make_run_dir(run_dir *r, const char *name) {
    r->name = name;
    snprintf(r->sql, sizeof r->sql, "%s/%s.sql", dir, name);
    snprintf(r->ini, sizeof r->ini, "%s/%s.test.ini", dir, name);
    snprintf(r->cp, sizeof r->cp, "%s/%s-cp", dir, name);
    snprintf(r->err, sizeof r->err, "%s/%s-stderr.txt", dir, name);
    assert_int_equal(sluice_test_write_file(r->sql, sql), 0);
}

static int setup(void **state) {
    (void)state;
    char *d = sluice_test_mkdtemp("kafka-kafka-crash");
    snprintf(dir, sizeof dir, "%s", d);
    free(d);
    const char *topics[] = {"flights:4", NULL};
    if (!(broker = sluice_test_broker_start(1, topics))) return -1;
    if (sluice_test_kafka_produce_file(sluice_test_broker_bootstrap(broker), "flights",
                                       sluice_test_fixture("data/flights-20k.jsonl"), "origin") != 20000)
        return -1;
    return 0;
}

static int teardown(void **state) {
    (void)state;
    sluice_test_broker_stop(broker);
    return 0;
}

/* The output topic of `sink` in cycle `cycle` of pipeline r. */
static void topic_of(const run_dir *r, const char *sink, int cycle, char *buf, size_t size) {
    snprintf(buf, size, "%s.%s.%d", r->name, sink, cycle);
}

/* The profile: the sinks write to this cycle's topics; one consumer group
 * per cycle, the same for every restart in it, with the default group
 * settings (with a checkpoint_dir the source assigns itself its partitions:
 * a killed run leaves no member behind that a restart would wait for). */
static void write_ini(const run_dir *r, int cycle) {
    char ini[16384], hourly[256], totals[256];
    topic_of(r, "hourly", cycle, hourly, sizeof hourly);
    topic_of(r, "totals", cycle, totals, sizeof totals);
    snprintf(ini, sizeof ini,
             "[pipeline]\ntrigger = available_now\nmax_batch_rows = 500\ncheckpoint_dir = %s\n"
             "[kafka]\nbootstrap.servers = %s\n"
             "[source flights]\nconnector = kafka\ntopic = flights\nformat = json\nstartingOffsets = earliest\n"
             "group.id = %s-%d\n"
             "[sink hourly]\nconnector = kafka\ntopic = %s\n"
             "[sink totals]\nconnector = kafka\ntopic = %s\n",
             r->cp, sluice_test_broker_bootstrap(broker), r->name, cycle, hourly, totals);
    assert_int_equal(sluice_test_write_file(r->ini, ini), 0);
}

/* ---- reading the topics as read_committed would ---------------------------- */

typedef struct epoch_run {
    long long epoch;
    char run[128];
} epoch_run;

/* The committed (epoch, run) pairs of one sink's topic, from its markers:
 * the last marker of each epoch wins.  *n set; malloc'd. */
static epoch_run *committed_runs(const run_dir *r, const char *sink, const char *topic, size_t *n) {
    sluice_test_kmsg *m = NULL;
    long nm = sluice_test_kafka_consume_all(sluice_test_broker_bootstrap(broker), "__sluice_commits", &m);
    assert_true(nm >= 0);
    epoch_run *out = calloc((size_t)nm + 1, sizeof *out);
    size_t k = 0;
    char pipeline[256];
    snprintf(pipeline, sizeof pipeline, "%s", r->name);
    for (long i = 0; i < nm; i++) {
        cJSON *v = cJSON_Parse(m[i].value);
        assert_non_null(v);
        const cJSON *p = cJSON_GetObjectItemCaseSensitive(v, "pipeline");
        const cJSON *s = cJSON_GetObjectItemCaseSensitive(v, "sink");
        const cJSON *t = cJSON_GetObjectItemCaseSensitive(v, "topic");
        const cJSON *e = cJSON_GetObjectItemCaseSensitive(v, "epoch");
        const cJSON *run = cJSON_GetObjectItemCaseSensitive(v, "run");
        assert_true(cJSON_IsString(p) && cJSON_IsString(s) && cJSON_IsString(t) && cJSON_IsNumber(e) &&
                    cJSON_IsString(run));
        if (strcmp(p->valuestring, pipeline) == 0 && strcmp(s->valuestring, sink) == 0 &&
            strcmp(t->valuestring, topic) == 0) {
            /* without broker errors no transaction is aborted after its
             * marker was sent, so a second marker of an epoch means the
             * epoch was committed twice */
            size_t j = 0;
            while (j < k && out[j].epoch != (long long)e->valuedouble) j++;
            if (j < k)
                fail_msg("topic %s: epoch %lld committed twice (runs %s and %s)", topic, out[j].epoch, out[j].run,
                         run->valuestring);
            out[j].epoch = (long long)e->valuedouble;
            snprintf(out[j].run, sizeof out[j].run, "%s", run->valuestring);
            if (j == k) k++;
        }
        cJSON_Delete(v);
    }
    sluice_test_kafka_msgs_free(m, nm);
    *n = k;
    return out;
}

static int cmp_str(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* What read_committed would read of the sink's topic of `cycle`: each
 * committed record as "KEY\tVALUE", in partition-then-offset order; for a
 * keyed UPDATE sink (`last_per_key`) only the last record of each key.
 * Sorted; *n set; *total set to the records in the topic, committed or not. */
static char **committed_records(const run_dir *r, const char *sink, int cycle, int last_per_key, size_t *n,
                                long *total) {
    char topic[256];
    topic_of(r, sink, cycle, topic, sizeof topic);
    size_t nruns = 0;
    epoch_run *runs = committed_runs(r, sink, topic, &nruns);
    sluice_test_kmsg *m = NULL;
    long nm = sluice_test_kafka_consume_all(sluice_test_broker_bootstrap(broker), topic, &m);
    assert_true(nm >= 0);
    *total = nm;
    char **lines = calloc((size_t)nm + 1, sizeof *lines);
    size_t k = 0;
    for (long i = 0; i < nm; i++) {
        const char *e = sluice_test_kmsg_header(&m[i], "sluice.epoch");
        const char *run = sluice_test_kmsg_header(&m[i], "sluice.run");
        if (!e || !run) fail_msg("record %ld of %s has no sluice.epoch/sluice.run header", i, topic);
        int committed = 0;
        for (size_t j = 0; j < nruns && !committed; j++)
            committed = runs[j].epoch == atoll(e) && strcmp(runs[j].run, run) == 0;
        if (!committed) continue;
        char *line = NULL;
        assert_true(asprintf(&line, "%s\t%s", m[i].key ? m[i].key : "", m[i].value) > 0);
        if (last_per_key) {
            size_t j = 0;
            size_t klen = m[i].key ? strlen(m[i].key) : 0;
            while (j < k && !(strncmp(lines[j], line, klen + 1) == 0)) j++;
            if (j < k) {
                free(lines[j]);
                lines[j] = line;
                continue;
            }
        }
        lines[k++] = line;
    }
    sluice_test_kafka_msgs_free(m, nm);
    free(runs);
    qsort(lines, k, sizeof *lines, cmp_str);
    *n = k;
    return lines;
}

static void free_lines(char **l, size_t n) {
    for (size_t i = 0; i < n; i++) free(l[i]);
    free(l);
}

/* The crash cycle's topics read as read_committed equal the reference's. */
static void assert_topics_equal(const run_dir *ref, const run_dir *got, int cycle) {
    static const char *const sinks[2] = {"hourly", "totals"};
    for (int s = 0; s < 2; s++) {
        size_t na, nb;
        long ta, tb;
        char **a = committed_records(ref, sinks[s], 1, s == 1, &na, &ta);
        char **b = committed_records(got, sinks[s], cycle, s == 1, &nb, &tb);
        size_t i = 0;
        while (i < na && i < nb && strcmp(a[i], b[i]) == 0) i++;
        if (i < na || i < nb)
            fail_msg("sink %s, cycle %d: %zu committed records (of %ld in the topic) against %zu in the "
                     "uninterrupted run; first difference at #%zu: got '%.100s', expected '%.100s' (the runs' log: %s)",
                     sinks[s], cycle, nb, tb, na, i, i < nb ? b[i] : "(none)", i < na ? a[i] : "(none)", got->err);
        free_lines(a, na);
        free_lines(b, nb);
    }
}

typedef struct crash_ctx {
    run_dir ref, r;
} crash_ctx;

/* This cycle's consumer group and topics. */
static void before_run(void *ctx, int cycle) {
    write_ini(&((crash_ctx *)ctx)->r, cycle);
}

static void compare(void *ctx, int cycle) {
    crash_ctx *c = ctx;
    assert_topics_equal(&c->ref, &c->r, cycle);
}

/* a new cycle: no checkpoint; before_run gives it new topics */
static void new_cycle(void *ctx, int cycle) {
    (void)cycle;
    char cmd[9000];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", ((crash_ctx *)ctx)->r.cp);
    assert_int_equal(system(cmd), 0);
}

static void test_kafka_to_kafka_survives_sigkill_and_aborts(void **state) {
    (void)state;
    static crash_ctx c;
    make_run_dir(&c.ref, "ref");
    make_run_dir(&c.r, "crash");

    /* the uninterrupted run */
    write_ini(&c.ref, 1);
    int64_t t0 = sluice_test_now_ms();
    int st = sluice_crash_wait(sluice_crash_start(c.ref.sql, c.ref.err, NULL));
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
        char *log = sluice_test_read_file(c.ref.err, NULL);
        fail_msg("the uninterrupted run failed:\n%s", log ? log : "");
    }
    long span_us = (long)(sluice_test_now_ms() - t0) * 1000;
    size_t n;
    long total;
    char **l = committed_records(&c.ref, "hourly", 1, 0, &n, &total);
    /* every record of the uninterrupted run is committed; under
     * available_now a Kafka source leaves its last windows open */
    assert_int_equal((long)n, total);
    if (n <= 17000) fail_msg("the uninterrupted run wrote %zu hourly rows", n);
    free_lines(l, n);
    l = committed_records(&c.ref, "totals", 1, 1, &n, &total);
    assert_true(n > 200); /* one per origin */
    free_lines(l, n);

    const sluice_crash_test t = {.name = "kafka-to-kafka",
                                 .sql_path = c.r.sql,
                                 .err_path = c.r.err,
                                 .sinks = (const char *const[]){"totals", "hourly", NULL},
                                 .connector = "kafka",
                                 .seed = 20261201,
                                 .min_recoveries = 5, /* about half of the 9 to 15 its runs reach */
                                 .kill_min_us = 1000,
                                 .started_marker = "(kafka): assigned",
                                 .kill_span_us = span_us,
                                 .ctx = &c,
                                 .before_run = before_run,
                                 .compare = compare,
                                 .new_cycle = new_cycle};
    sluice_crash_drive(&t);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_kafka_to_kafka_survives_sigkill_and_aborts),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
