/*
 * Restarts are fast with the default Kafka settings (README "Restarts"):
 * a pipeline with a checkpoint_dir reads a 4-partition topic into a file
 * sink, with nothing but bootstrap.servers in [kafka] (the default group,
 * the default session.timeout.ms of 45 s).  It is killed (SIGKILL) once,
 * restarted, then killed ten times in quick succession (each run as soon
 * as it has its partitions), restarted again.  Each measured restart must
 * commit its first epoch within RESTART_BOUND_MS of its start -- a
 * consumer group would make it wait out the dead members' sessions -- and
 * in the end the file holds every id exactly once.
 */
#include "sluice_test.h"
#include "kafka_support.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* the requirement: from restart to the first committed epoch */
#define RESTART_BOUND_MS 5000
#define BATCH 250

static char *tmpdir;
static sluice_test_broker *broker;
static char sql[1024], ini[1024], out[1024], log_path[1024];
static int produced, runs;

static void nap_ms(int ms) {
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* BATCH more records {"id":i}, keyed by i (spread over the partitions). */
static void produce_batch(void) {
    const char *values[BATCH], *keys[BATCH];
    char vbuf[BATCH][32], kbuf[BATCH][16];
    for (int i = 0; i < BATCH; i++) {
        snprintf(vbuf[i], sizeof vbuf[i], "{\"id\":%d}", produced + i);
        snprintf(kbuf[i], sizeof kbuf[i], "%d", produced + i);
        values[i] = vbuf[i];
        keys[i] = kbuf[i];
    }
    assert_int_equal(sluice_test_kafka_produce(sluice_test_broker_bootstrap(broker), "ev", -1, values, keys, BATCH),
                     0);
    produced += BATCH;
}

/* Count of "text" in the log. */
static int count_in_log(const char *text) {
    char *s = sluice_test_read_file(log_path, NULL);
    int n = 0;
    for (const char *p = s; p && (p = strstr(p, text)); p += strlen(text)) n++;
    free(s);
    return n;
}

/* Start a run, logging to a file of its own. */
static int start(void) {
    snprintf(log_path, sizeof log_path, "%s/run-%d.log", tmpdir, ++runs);
    const char *argv[] = {"run", sql, "--profile", "restart", "--config", ini, NULL};
    int pid = sluice_test_spawn_cli(argv, NULL, log_path);
    assert_true(pid > 0);
    return pid;
}

/* Await `text` in the run's log; the time it took from t0, or -1. */
static int64_t await_log(const char *text, int64_t t0, int timeout_ms) {
    while (sluice_test_now_ms() - t0 < timeout_ms) {
        if (count_in_log(text) > 0) return sluice_test_now_ms() - t0;
        nap_ms(10);
    }
    return -1;
}

static void sigkill(int pid) {
    kill(pid, SIGKILL);
    int st;
    waitpid(pid, &st, 0);
}

/* Start a run and measure from its start to its first committed epoch (its
 * first progress line); then kill it. */
static int64_t measured_restart(const char *what) {
    int64_t t0 = sluice_test_now_ms();
    int pid = start();
    int64_t took = await_log("\"batch_id\"", t0, 60000);
    fprintf(stderr, "# %s: first committed epoch %lld ms after the start\n", what, (long long)took);
    sigkill(pid);
    return took;
}

static void restarts_are_fast(void **state) {
    (void)state;
    produce_batch();
    /* the first run: positions from startingOffsets */
    int pid = start();
    assert_true(await_log("\"batch_id\"", sluice_test_now_ms(), 60000) >= 0);
    sigkill(pid);

    produce_batch();
    int64_t one = measured_restart("restart after 1 SIGKILL");
    assert_true(one >= 0 && one <= RESTART_BOUND_MS);

    for (int k = 0; k < 10; k++) {
        pid = start();
        /* killed as soon as it has its partitions */
        assert_true(await_log("(kafka): assigned", sluice_test_now_ms(), 60000) >= 0);
        sigkill(pid);
    }
    produce_batch();
    int64_t ten = measured_restart("restart after 10 SIGKILLs in a row");
    assert_true(ten >= 0 && ten <= RESTART_BOUND_MS);

    /* the last run reads to the end: every id exactly once */
    produce_batch();
    pid = start();
    int64_t t0 = sluice_test_now_ms();
    char *text = NULL;
    int lines = 0;
    while (sluice_test_now_ms() - t0 < 60000) {
        free(text);
        text = sluice_test_read_file(out, NULL);
        lines = 0;
        for (const char *p = text; p && (p = strchr(p, '\n')); p++) lines++;
        if (lines >= produced) break;
        nap_ms(20);
    }
    kill(pid, SIGTERM);
    assert_int_equal(sluice_test_wait_cli(pid, 10000), 0);
    free(text);
    text = sluice_test_read_file(out, NULL);
    assert_non_null(text);
    char *seen = calloc((size_t)produced, 1);
    lines = 0;
    for (const char *p = text; (p = strstr(p, "\"id\":")); p++) {
        int id = atoi(p + 5);
        assert_true(id >= 0 && id < produced);
        assert_int_equal(seen[id], 0); /* no duplicate */
        seen[id] = 1;
        lines++;
    }
    assert_int_equal(lines, produced); /* none lost */
    free(seen);
    free(text);
}

static int setup(void **state) {
    (void)state;
    tmpdir = sluice_test_mkdtemp("kafka-restart");
    const char *topics[] = {"ev:4", NULL};
    broker = sluice_test_broker_start(1, topics);
    if (!broker) return -1;
    snprintf(sql, sizeof sql, "%s/restart.sql", tmpdir);
    snprintf(ini, sizeof ini, "%s/restart.ini", tmpdir);
    snprintf(out, sizeof out, "%s/copied.jsonl", tmpdir);
    char text[8192];
    snprintf(text, sizeof text,
             "[pipeline]\ncheckpoint_dir = %s/cp\n\n"
             "[kafka]\nbootstrap.servers = %s\n\n"
             "[source ev]\nconnector = kafka\ntopic = ev\nformat = json\nstartingOffsets = earliest\n\n"
             "[sink copied]\nconnector = file\npath = %s\n",
             tmpdir, sluice_test_broker_bootstrap(broker), out);
    if (sluice_test_write_file(ini, text) != 0) return -1;
    return sluice_test_write_file(sql, "CREATE SOURCE ev (id BIGINT);\nCREATE SINK copied AS SELECT id FROM ev;\n");
}

static int teardown(void **state) {
    (void)state;
    sluice_test_broker_stop(broker);
    free(tmpdir);
    return 0;
}

int main(void) {
    const struct CMUnitTest tests[] = {cmocka_unit_test(restarts_are_fast)};
    return cmocka_run_group_tests(tests, setup, teardown);
}
