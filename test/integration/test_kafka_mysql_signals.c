/*
 * SIGTERM ends a run promptly from any wait (README "Signals and exit
 * statuses"): the real `sluice` and `sluice-gen` binaries, real servers
 * (sluice-mock-broker, a private MariaDB), default timeouts.  Each case
 * brings the process into one wait, awaits the event that shows it is
 * there (a log line), sends SIGTERM and measures, on the monotonic clock,
 * how long the process takes to exit: at most STOP_BOUND_MS, the
 * requirement.  The log must hold the `stopping` event and the end-of-run
 * summary with the counts the case implies.
 *
 *   kafka_unreachable         a Kafka source whose bootstrap is a closed loopback port
 *   mysql_sink_retrying       the MySQL sink retrying an epoch against a killed MariaDB
 *   kafka_sink_deliveries     the Kafka sink waiting for deliveries to a broker that is down
 *   gen_flush_unreachable     sluice-gen's final flush to a closed loopback port
 *   second_signal_forces_exit a stop stuck writing the result table to a full pipe:
 *                             the second SIGTERM exits at once with 128 + 15
 */
#include "sluice_test.h"
#include "kafka_support.h"
#include "mariadb.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* the requirement: a signal ends the process within 2 s */
#define STOP_BOUND_MS 2000

static char *tmpdir;

/* A loopback port nothing listens on: bound by the kernel, then released. */
static int closed_port(void) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = 0, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    socklen_t len = sizeof a;
    assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
    close(fd);
    return ntohs(a.sin_port);
}

static void path_of(char *buf, size_t size, const char *name) {
    snprintf(buf, size, "%s/%s", tmpdir, name);
}

/* Start `bin` with argv (NULL-terminated, argv[0] included); stdout to
 * stdout_fd (-1: /dev/null), stderr to stderr_path. */
static pid_t spawn(const char *bin, const char *const *argv, int stdout_fd, const char *stderr_path) {
    pid_t pid = fork();
    if (pid == 0) {
        int out = stdout_fd >= 0 ? stdout_fd : open("/dev/null", O_WRONLY);
        int err = open(stderr_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (out < 0 || err < 0) _exit(126);
        dup2(out, 1);
        dup2(err, 2);
        execv(bin, (char *const *)argv);
        _exit(127);
    }
    assert_true(pid > 0);
    return pid;
}

/* Await `text` in the file at path (the child's log): 0 once it is there,
 * -1 after timeout_ms. */
static int await_text(const char *path, const char *text, int timeout_ms) {
    int64_t until = sluice_test_now_ms() + timeout_ms;
    for (;;) {
        char *s = sluice_test_read_file(path, NULL);
        int found = s && strstr(s, text);
        free(s);
        if (found) return 0;
        if (sluice_test_now_ms() > until) return -1;
        struct timespec nap = {0, 20 * 1000000L};
        nanosleep(&nap, NULL);
    }
}

/* Await the exit of `pid` for at most timeout_ms; *elapsed_ms from call to
 * exit.  Returns the raw wait status, or -1 on timeout (the child is then
 * killed). */
static int await_exit(pid_t pid, int timeout_ms, int64_t *elapsed_ms) {
    int64_t t0 = sluice_test_now_ms();
    for (;;) {
        int status;
        pid_t r = waitpid(pid, &status, WNOHANG);
        if (r == pid) {
            *elapsed_ms = sluice_test_now_ms() - t0;
            return status;
        }
        if (sluice_test_now_ms() - t0 > timeout_ms) {
            kill(pid, SIGKILL);
            waitpid(pid, &status, 0);
            *elapsed_ms = sluice_test_now_ms() - t0;
            return -1;
        }
        struct timespec nap = {0, 5 * 1000000L};
        nanosleep(&nap, NULL);
    }
}

/* SIGTERM pid, await its exit; assert it took at most STOP_BOUND_MS and
 * exited normally with `want_status`. */
static void term_and_check(pid_t pid, int want_status, const char *log_path) {
    int64_t elapsed = 0;
    assert_int_equal(kill(pid, SIGTERM), 0);
    int status = await_exit(pid, 30000, &elapsed);
    fprintf(stderr, "# exited %lld ms after SIGTERM\n", (long long)elapsed);
    if (status == -1 || !WIFEXITED(status) || WEXITSTATUS(status) != want_status) {
        char *log = sluice_test_read_file(log_path, NULL);
        fprintf(stderr, "# status %d (want exit %d); log:\n%s\n", status, want_status, log ? log : "");
        free(log);
    }
    assert_true(status != -1);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), want_status);
    assert_true(elapsed <= STOP_BOUND_MS);
}

static void assert_log_has(const char *path, const char *text) {
    char *s = sluice_test_read_file(path, NULL);
    assert_non_null(s);
    if (!strstr(s, text)) fprintf(stderr, "# '%s' not in:\n%s\n", text, s);
    assert_non_null(strstr(s, text));
    free(s);
}

static const char stateless_sql[] = "CREATE SOURCE ev (id BIGINT);\n"
                                    "CREATE SINK copied AS SELECT id FROM ev;\n";

static void append(const char *path, const char *text) {
    FILE *f = fopen(path, "a");
    assert_non_null(f);
    fputs(text, f);
    assert_int_equal(fclose(f), 0);
}

/* (a) a Kafka source whose brokers cannot be reached: the consumer waits
 * for an assignment that never comes (the run would give up only after
 * 120 s); nothing was read, so the stop is clean: exit 0. */
static void kafka_unreachable(void **state) {
    (void)state;
    char sql[1024], ini[1024], out[1024], log[1024], text[8192];
    path_of(sql, sizeof sql, "unreachable.sql");
    path_of(ini, sizeof ini, "unreachable.ini");
    path_of(out, sizeof out, "unreachable.jsonl");
    path_of(log, sizeof log, "unreachable.log");
    assert_int_equal(sluice_test_write_file(sql, stateless_sql), 0);
    snprintf(text, sizeof text,
             "[kafka]\nbootstrap.servers = 127.0.0.1:%d\n\n"
             "[source ev]\nconnector = kafka\ntopic = events\nformat = json\n\n"
             "[sink copied]\nconnector = file\npath = %s\n",
             closed_port(), out);
    assert_int_equal(sluice_test_write_file(ini, text), 0);
    const char *argv[] = {SLUICE_BINARY, "run", sql, "--profile", "signals", "--config", ini, NULL};
    pid_t pid = spawn(SLUICE_BINARY, argv, -1, log);
    /* librdkafka's report of the refused connection, a log event of the source */
    assert_int_equal(await_text(log, "Connection refused", 30000), 0);
    term_and_check(pid, 0, log);
    assert_log_has(log, "stopping: signal SIGTERM");
    assert_log_has(log, "summary: outcome=stopped rows_in=0 rows_out=copied=0 dead_letters=0 late_rows=0 "
                        "malformed_rows=0 epochs=0");
}

/* (b) the MySQL sink retrying an epoch while MariaDB is down (default
 * retry_timeout 60 s): epoch 0 (3 rows) is committed, epoch 1 (2 rows)
 * is abandoned.  Without a checkpoint nothing replays it: exit 3. */
static void mysql_sink_retrying(void **state) {
    (void)state;
    sluice_test_mariadb db;
    assert_int_equal(sluice_test_mariadb_start(&db, "signal-db"), 0);
    char sql[1024], ini[1024], in[1024], log[1024], text[8192], mysql_ini[1024];
    path_of(sql, sizeof sql, "retrying.sql");
    path_of(ini, sizeof ini, "retrying.ini");
    path_of(in, sizeof in, "retrying.jsonl");
    path_of(log, sizeof log, "retrying.log");
    assert_int_equal(sluice_test_write_file(sql, "CREATE SOURCE ev (id BIGINT);\n"
                                                 "CREATE SINK copied PRIMARY KEY (id) AS SELECT id FROM ev;\n"),
                     0);
    assert_int_equal(sluice_test_write_file(in, "{\"id\":1}\n{\"id\":2}\n{\"id\":3}\n"), 0);
    sluice_test_mariadb_ini(&db, NULL, mysql_ini, sizeof mysql_ini);
    snprintf(text, sizeof text,
             "%s\n[source ev]\nconnector = file\npath = %s\nformat = json\nfollow = true\n\n"
             "[sink copied]\nconnector = mysql\n",
             mysql_ini, in);
    assert_int_equal(sluice_test_write_file(ini, text), 0);
    const char *argv[] = {SLUICE_BINARY, "run", sql, "--profile", "signals", "--config", ini, NULL};
    pid_t pid = spawn(SLUICE_BINARY, argv, -1, log);
    assert_int_equal(await_text(log, "\"rows_emitted\":3", 60000), 0);
    assert_int_equal(sluice_test_mariadb_kill(&db), 0);
    append(in, "{\"id\":4}\n{\"id\":5}\n");
    assert_int_equal(await_text(log, "retrying the epoch", 30000), 0);
    term_and_check(pid, 3, log);
    assert_log_has(log, "stopping: signal SIGTERM, epoch 1 abandoned");
    assert_log_has(log, "summary: outcome=stopped, epoch abandoned rows_in=5 rows_out=copied=3 dead_letters=0 "
                        "late_rows=0 malformed_rows=0 epochs=1");
    sluice_test_mariadb_stop(&db);
}

/* (b') the same with a checkpoint_dir: the abandoned epoch is replayed by
 * the next run, so the stop exits 0, and after MariaDB is back a run to
 * the end of the input leaves ids 1..5 in the table, each once. */
static void mysql_sink_retrying_checkpointed(void **state) {
    (void)state;
    sluice_test_mariadb db;
    assert_int_equal(sluice_test_mariadb_start(&db, "signal-db2"), 0);
    char sql[1024], ini[1024], in[1024], log[1024], log2[1024], text[8192], mysql_ini[1024];
    path_of(sql, sizeof sql, "replayed.sql");
    path_of(ini, sizeof ini, "replayed.ini");
    path_of(in, sizeof in, "replayed.jsonl");
    path_of(log, sizeof log, "replayed.log");
    path_of(log2, sizeof log2, "replayed-2.log");
    assert_int_equal(sluice_test_write_file(sql, "CREATE SOURCE ev (id BIGINT);\n"
                                                 "CREATE SINK copied PRIMARY KEY (id) AS SELECT id FROM ev;\n"),
                     0);
    assert_int_equal(sluice_test_write_file(in, "{\"id\":1}\n{\"id\":2}\n{\"id\":3}\n"), 0);
    sluice_test_mariadb_ini(&db, NULL, mysql_ini, sizeof mysql_ini);
    snprintf(text, sizeof text,
             "[pipeline]\ncheckpoint_dir = %s/replayed-cp\n\n%s\n"
             "[source ev]\nconnector = file\npath = %s\nformat = json\nfollow = true\n\n"
             "[sink copied]\nconnector = mysql\n",
             tmpdir, mysql_ini, in);
    assert_int_equal(sluice_test_write_file(ini, text), 0);
    const char *argv[] = {SLUICE_BINARY, "run", sql, "--profile", "signals", "--config", ini, NULL};
    pid_t pid = spawn(SLUICE_BINARY, argv, -1, log);
    assert_int_equal(await_text(log, "\"rows_emitted\":3", 60000), 0);
    assert_int_equal(sluice_test_mariadb_kill(&db), 0);
    append(in, "{\"id\":4}\n{\"id\":5}\n");
    assert_int_equal(await_text(log, "retrying the epoch", 30000), 0);
    term_and_check(pid, 0, log);
    assert_log_has(log, "stopping: signal SIGTERM, epoch 1 abandoned");
    assert_log_has(log, "the checkpoint replays it at the next start");
    assert_int_equal(sluice_test_mariadb_restart(&db), 0);
    const char *argv2[] = {SLUICE_BINARY, "run", sql, "--profile", "signals", "--config", ini,
                           "--set", "pipeline.trigger=available_now", NULL};
    pid = spawn(SLUICE_BINARY, argv2, -1, log2);
    int64_t elapsed = 0;
    int status = await_exit(pid, 60000, &elapsed);
    assert_true(status != -1 && WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    assert_log_has(log2, "1 epoch(s) replayed");
    char *rows = sluice_test_mariadb_rows(&db, "SELECT id FROM copied ORDER BY id");
    assert_non_null(rows);
    assert_string_equal(rows, "1\n2\n3\n4\n5\n");
    free(rows);
    sluice_test_mariadb_stop(&db);
}

/* (c) the Kafka sink waiting for the acknowledgements of epoch 1 while its
 * broker is down (librdkafka retries until message.timeout.ms, 300 s by
 * default): the epoch is abandoned, its records purged: exit 3. */
static void kafka_sink_deliveries(void **state) {
    (void)state;
    const char *topics[] = {"copied:1", NULL};
    sluice_test_broker *b = sluice_test_broker_start(1, topics);
    assert_non_null(b);
    char sql[1024], ini[1024], in[1024], log[1024], text[8192];
    path_of(sql, sizeof sql, "deliveries.sql");
    path_of(ini, sizeof ini, "deliveries.ini");
    path_of(in, sizeof in, "deliveries.jsonl");
    path_of(log, sizeof log, "deliveries.log");
    assert_int_equal(sluice_test_write_file(sql, stateless_sql), 0);
    assert_int_equal(sluice_test_write_file(in, "{\"id\":1}\n{\"id\":2}\n"), 0);
    snprintf(text, sizeof text,
             "[kafka]\nbootstrap.servers = %s\n\n"
             "[source ev]\nconnector = file\npath = %s\nformat = json\nfollow = true\n\n"
             "[sink copied]\nconnector = kafka\ntopic = copied\n",
             sluice_test_broker_bootstrap(b), in);
    assert_int_equal(sluice_test_write_file(ini, text), 0);
    const char *argv[] = {SLUICE_BINARY, "run", sql, "--profile", "signals", "--config", ini, NULL};
    pid_t pid = spawn(SLUICE_BINARY, argv, -1, log);
    assert_int_equal(await_text(log, "\"rows_emitted\":2", 60000), 0);
    assert_int_equal(sluice_test_broker_cmd(b, "down 1"), 0);
    append(in, "{\"id\":3}\n{\"id\":4}\n{\"id\":5}\n");
    assert_int_equal(await_text(log, "waiting for deliveries: 3 record(s) of epoch 1", 30000), 0);
    term_and_check(pid, 3, log);
    assert_log_has(log, "stopping: signal SIGTERM, epoch 1 abandoned");
    assert_log_has(log, "summary: outcome=stopped, epoch abandoned rows_in=5 rows_out=copied=2 dead_letters=0 "
                        "late_rows=0 malformed_rows=0 epochs=1");
    sluice_test_broker_stop(b);
}

/* (d) sluice-gen's final flush to brokers that cannot be reached: the
 * records are given up, exit 1 with how many were not delivered. */
static void gen_flush_unreachable(void **state) {
    (void)state;
    char log[1024], bootstrap[64];
    path_of(log, sizeof log, "gen.log");
    snprintf(bootstrap, sizeof bootstrap, "127.0.0.1:%d", closed_port());
    const char *argv[] = {SLUICE_GEN_BINARY, "orders", "--count", "100", "--kafka", bootstrap, "--topic", "orders",
                          NULL};
    pid_t pid = spawn(SLUICE_GEN_BINARY, argv, -1, log);
    /* the producer's first refused connection: the records are queued */
    assert_int_equal(await_text(log, "Connection refused", 30000), 0);
    term_and_check(pid, 1, log);
    assert_log_has(log, "stopped: 100 of 100 records not delivered to kafka topic 'orders'");
}

/* A second signal while the first is handled: a stop (the run reached its
 * end of input in follow mode) blocks printing the memory sink's result
 * table into a pipe nobody reads; the second SIGTERM exits at once with
 * 128 + SIGTERM = 143. */
static void second_signal_forces_exit(void **state) {
    (void)state;
    char ini[1024], log[1024], text[8192];
    path_of(ini, sizeof ini, "second.ini");
    path_of(log, sizeof log, "second.log");
    snprintf(text, sizeof text, "[source flights]\npath = %s\nformat = json\nfollow = true\n",
             sluice_test_fixture("data/flights-20k.jsonl"));
    assert_int_equal(sluice_test_write_file(ini, text), 0);
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    const char *argv[] = {SLUICE_BINARY, "run", sluice_test_fixture("pipelines/flights.sql"), "--config", ini, NULL};
    pid_t pid = spawn(SLUICE_BINARY, argv, fds[1], log);
    close(fds[1]);
    /* every flight read (the progress lines count them) */
    int64_t until = sluice_test_now_ms() + 60000;
    while (sluice_test_progress_input_rows(log) < 20000 && sluice_test_now_ms() < until) {
        struct timespec nap = {0, 20 * 1000000L};
        nanosleep(&nap, NULL);
    }
    assert_int_equal(sluice_test_progress_input_rows(log), 20000);
    assert_int_equal(kill(pid, SIGTERM), 0);
    /* the summary comes before the table; 17,473 rows fill the pipe */
    assert_int_equal(await_text(log, "summary: outcome=stopped rows_in=20000 rows_out=delays_by_origin=", 10000), 0);
    int status;
    assert_int_equal(waitpid(pid, &status, WNOHANG), 0); /* stuck in the first stop */
    int64_t elapsed = 0;
    assert_int_equal(kill(pid, SIGTERM), 0);
    status = await_exit(pid, 30000, &elapsed);
    fprintf(stderr, "# exited %lld ms after the second SIGTERM\n", (long long)elapsed);
    close(fds[0]);
    assert_true(status != -1 && WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 128 + SIGTERM);
    assert_true(elapsed <= STOP_BOUND_MS);
    assert_log_has(log, "second signal: exiting now");
}

int main(void) {
    tmpdir = sluice_test_mkdtemp("signal-tests");
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(kafka_unreachable),     cmocka_unit_test(mysql_sink_retrying),
        cmocka_unit_test(mysql_sink_retrying_checkpointed),
        cmocka_unit_test(kafka_sink_deliveries), cmocka_unit_test(gen_flush_unreachable),
        cmocka_unit_test(second_signal_forces_exit),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    free(tmpdir);
    return rc;
}
