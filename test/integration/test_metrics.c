/*
 * Operability: the Prometheus endpoint scraped with curl, /healthz, the
 * state cap (backpressure), and the log formats.
 */
#include "sluice_test.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <dirent.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>

#include "connectors/connectors.h"
#include "base/log.h"
#include "sluice/sluice.h"

static char *dir;
static char sql_path[4096], ini_path[4096], dl_path[4096];

static int setup(void **state) {
    (void)state;
    dir = sluice_test_mkdtemp("metrics");
    snprintf(sql_path, sizeof sql_path, "%s/m.sql", dir);
    snprintf(ini_path, sizeof ini_path, "%s/m.test.ini", dir);
    snprintf(dl_path, sizeof dl_path, "%s/dead.jsonl", dir);
    return dir ? 0 : -1;
}

static int teardown(void **state) {
    (void)state;
    sluice_log_configure(SLUICE_LOG_INFO, SLUICE_LOG_TEXT, NULL);
    free(dir);
    return 0;
}

static const char *sql =
    "CREATE SOURCE ev (ts TIMESTAMP, k VARCHAR, v BIGINT,\n"
    "  WATERMARK FOR ts AS ts - INTERVAL '1' SECOND);\n"
    "CREATE SINK per_key AS SELECT window_start, k, COUNT(*) AS n, SUM(v) AS total FROM ev\n"
    "GROUP BY TUMBLE(ts, INTERVAL '1' MINUTE), k EMIT UPDATE;\n";

static sluice_pipeline *open_pipeline_sql(const char *text, const char *extra_pipeline_keys) {
    assert_int_equal(sluice_test_write_file(sql_path, text), 0);
    char ini[8192];
    snprintf(ini, sizeof ini,
             "[pipeline]\ntrigger = 10ms\ndead_letter = %s\n%s\n[source ev]\nconnector = memory\nformat = json\n",
             dl_path, extra_pipeline_keys);
    assert_int_equal(sluice_test_write_file(ini_path, ini), 0);
    sluice_pipeline_options o;
    memset(&o, 0, sizeof o);
    o.sql_path = sql_path;
    o.quiet = 1;
    sluice_pipeline *p = NULL;
    char err[1024] = "";
    sluice_err_t e = sluice_pipeline_open(&o, &p, err, sizeof err);
    if (e) fail_msg("open: %s", err);
    return p;
}

static sluice_pipeline *open_pipeline(const char *extra_pipeline_keys) {
    return open_pipeline_sql(sql, extra_pipeline_keys);
}

static void push(sluice_pipeline *p, const char *json) {
    sluice_source *src = sluice_pipeline_source(p, "ev");
    assert_int_equal(sluice_memory_source_push(src, json, strlen(json), NULL, 0, 0, 0), SLUICE_OK);
}

static void step(sluice_pipeline *p) {
    int done = 0;
    char err[1024] = "";
    sluice_err_t e = sluice_pipeline_step(p, &done, err, sizeof err);
    if (e) fail_msg("step: %s", err);
}

/* GET url with curl; returns the body (malloc'd) and sets *status. */
static char *curl_get(int port, const char *path, int *status) {
    char cmd[512];
    snprintf(cmd, sizeof cmd, "curl -s -m 5 -w '\\n%%{http_code}' http://127.0.0.1:%d%s", port, path);
    FILE *f = popen(cmd, "r");
    assert_non_null(f);
    size_t cap = 1 << 16, n = 0, r;
    char *buf = malloc(cap);
    while ((r = fread(buf + n, 1, cap - n - 1, f)) > 0) {
        n += r;
        if (n + 1 == cap) buf = realloc(buf, cap *= 2);
    }
    buf[n] = '\0';
    assert_int_equal(pclose(f), 0);
    char *last = strrchr(buf, '\n');
    assert_non_null(last);
    *status = atoi(last + 1);
    *last = '\0';
    return buf;
}

/* Entries of a /proc/self directory ("fd", "task"), . and .. excluded. */
static int proc_count(const char *what) {
    char path[64];
    snprintf(path, sizeof path, "/proc/self/%s", what);
    DIR *d = opendir(path);
    assert_non_null(d);
    int n = 0;
    for (struct dirent *e; (e = readdir(d));)
        if (e->d_name[0] != '.') n++;
    closedir(d);
    return n;
}

/* GET /metrics from the client address `from` (another loopback address),
 * returning the HTTP status (0 when no answer within 5 s). */
static int curl_status_from(const char *from, int port) {
    char cmd[512];
    snprintf(cmd, sizeof cmd, "curl -s -o /dev/null -m 5 --interface %s -w '%%{http_code}' http://127.0.0.1:%d/metrics",
             from, port);
    FILE *f = popen(cmd, "r");
    assert_non_null(f);
    char out[32] = "";
    size_t n = fread(out, 1, sizeof out - 1, f);
    out[n] = '\0';
    pclose(f);
    return atoi(out);
}

/* The value of the sample line that starts with `series ` exactly. */
static double sample(const char *text, const char *series) {
    size_t n = strlen(series);
    for (const char *l = text; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
        if (strncmp(l, series, n) == 0 && l[n] == ' ') return strtod(l + n + 1, NULL);
    }
    fail_msg("no sample '%s' in:\n%s", series, text);
    return 0;
}

static void test_metrics_agree_with_a_known_input(void **state) {
    (void)state;
    sluice_pipeline *p = open_pipeline("metrics = 127.0.0.1:0\n");
    int port = sluice_pipeline_metrics_port(p);
    assert_true(port > 0);
    /* batch 1: four good rows in the minute 00:00, one malformed */
    push(p, "{\"ts\":\"2024-01-01T00:00:01Z\",\"k\":\"a\",\"v\":1}");
    push(p, "{\"ts\":\"2024-01-01T00:00:02Z\",\"k\":\"a\",\"v\":2}");
    push(p, "{\"ts\":\"2024-01-01T00:00:03Z\",\"k\":\"b\",\"v\":3}");
    push(p, "{\"ts\":\"2024-01-01T00:01:30Z\",\"k\":\"b\",\"v\":4}");
    push(p, "{\"ts\":\"2024-01-01T00:00:04Z\",\"k\":\"b\",\"v\":\"four\"}");
    step(p);
    /* the watermark is now 00:01:29: window 00:00 is final, 00:01 open.
     * batch 2: one late row (window 00:00), one on time */
    push(p, "{\"ts\":\"2024-01-01T00:00:50Z\",\"k\":\"a\",\"v\":5}");
    push(p, "{\"ts\":\"2024-01-01T00:01:40Z\",\"k\":\"a\",\"v\":6}");
    step(p);
    int status = 0;
    char *text = curl_get(port, "/metrics", &status);
    assert_int_equal(status, 200);
    assert_float_equal(sample(text, "sluice_input_rows_total{pipeline=\"m\",source=\"ev\"}"), 7, 0);
    assert_float_equal(sample(text, "sluice_malformed_rows_total{pipeline=\"m\",source=\"ev\"}"), 1, 0);
    assert_float_equal(sample(text, "sluice_late_rows_total{pipeline=\"m\",query=\"per_key\"}"), 1, 0);
    /* epoch 0 emits (00:00,a) (00:00,b) (00:01,b); epoch 1 emits (00:01,a) */
    assert_float_equal(sample(text, "sluice_sink_rows_total{pipeline=\"m\",sink=\"per_key\"}"), 4, 0);
    /* the 00:00 window was freed; 00:01 holds a and b */
    assert_float_equal(sample(text, "sluice_state_rows{pipeline=\"m\",query=\"per_key\"}"), 2, 0);
    /* watermark = max event time 00:01:40 - 1 s = 1704067299 s */
    assert_float_equal(sample(text, "sluice_watermark_timestamp_seconds{pipeline=\"m\",query=\"per_key\"}"),
                       1704067299.0, 1e-6);
    assert_float_equal(sample(text, "sluice_batch_duration_seconds_count{pipeline=\"m\"}"), 2, 0);
    assert_float_equal(sample(text, "sluice_sink_commit_seconds_count{pipeline=\"m\",sink=\"per_key\"}"), 2, 0);
    assert_float_equal(sample(text, "sluice_backpressure{pipeline=\"m\"}"), 0, 0);
    assert_non_null(strstr(text, "# TYPE sluice_batch_duration_seconds histogram\n"));
    assert_true(sample(text, "sluice_state_bytes{pipeline=\"m\",query=\"per_key\"}") > 0);
    assert_true(sample(text, "sluice_watermark_lag_seconds{pipeline=\"m\",query=\"per_key\"}") > 0);
    free(text);
    text = curl_get(port, "/nope", &status);
    assert_int_equal(status, 404);
    free(text);
    sluice_pipeline_close(p);
}

static void test_idle_connections_cannot_exhaust_the_process(void **state) {
    (void)state;
    /* room for the test's own 1,000 client sockets */
    struct rlimit rl;
    assert_int_equal(getrlimit(RLIMIT_NOFILE, &rl), 0);
    if (rl.rlim_cur < 4096 && rl.rlim_max >= 4096) rl.rlim_cur = 4096;
    assert_int_equal(setrlimit(RLIMIT_NOFILE, &rl), 0);
    sluice_pipeline *p = open_pipeline("metrics = 127.0.0.1:0\n");
    int port = sluice_pipeline_metrics_port(p);
    step(p);
    int threads0 = proc_count("task"), fds0 = proc_count("fd");

    /* 1,000 idle connections from 127.0.0.1 that send nothing */
    enum { N = 1000 };
    int socks[N];
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
    for (int i = 0; i < N; i++) {
        socks[i] = socket(AF_INET, SOCK_STREAM, 0);
        assert_true(socks[i] >= 0);
        assert_int_equal(connect(socks[i], (struct sockaddr *)&a, sizeof a), 0);
    }
    /* a client from another address is served at once (127.0.0.1 holds at
     * most 8 of the 64 connections), while the idle ones are still open */
    assert_int_equal(curl_status_from("127.0.0.2", port), 200);

    /* the pipeline goes on processing */
    push(p, "{\"ts\":\"2024-01-01T00:00:01Z\",\"k\":\"a\",\"v\":1}");
    step(p);
    sluice_pipeline_stats st;
    sluice_pipeline_stats_get(p, &st);
    assert_int_equal(st.input_rows, 1);

    /* no thread per connection; the server holds at most 64 sockets (the
     * test's own N are the rest) */
    int threads = proc_count("task"), fds = proc_count("fd");
    assert_true(threads <= threads0 + 1);
    assert_true(fds - N - fds0 <= 64);
    for (int i = 0; i < N; i++) close(socks[i]);
    sluice_pipeline_close(p);
}

static void test_endpoint_limits_are_configurable(void **state) {
    (void)state;
    /* one connection at most: an idle one from 127.0.0.1 leaves no room for 127.0.0.2 */
    sluice_pipeline *p = open_pipeline("metrics = 127.0.0.1:0\nmetrics.max_connections = 1\n");
    int port = sluice_pipeline_metrics_port(p);
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
    assert_int_equal(connect(s, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(curl_status_from("127.0.0.2", port), 0);
    close(s);
    sluice_pipeline_close(p);

    /* a bad value names its file and line */
    assert_int_equal(sluice_test_write_file(sql_path, sql), 0);
    char ini[1024];
    snprintf(ini, sizeof ini, "[pipeline]\nmetrics = 127.0.0.1:0\nmetrics.idle_timeout = forever\n"
                              "[source ev]\nconnector = memory\nformat = json\n");
    assert_int_equal(sluice_test_write_file(ini_path, ini), 0);
    sluice_pipeline_options o;
    memset(&o, 0, sizeof o);
    o.sql_path = sql_path;
    o.quiet = 1;
    char err[1024] = "";
    assert_int_equal(sluice_pipeline_open(&o, &p, err, sizeof err), SLUICE_ERR_CONFIG);
    char want[4200];
    snprintf(want, sizeof want, "%s:3:1: metrics.idle_timeout = 'forever': expected a duration", ini_path);
    if (!strstr(err, want)) fail_msg("expected '%s' in '%s'", want, err);
}

static void test_healthz_turns_503_when_no_batch_completes(void **state) {
    (void)state;
    sluice_pipeline *p = open_pipeline("metrics = 127.0.0.1:0\nhealthz_timeout = 300ms\n");
    int port = sluice_pipeline_metrics_port(p);
    step(p); /* an empty iteration is progress too */
    int status = 0;
    free(curl_get(port, "/healthz", &status));
    assert_int_equal(status, 200);
    /* no iteration runs now: within a deadline /healthz must say 503 */
    struct timespec t0, t;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    do {
        free(curl_get(port, "/healthz", &status));
        clock_gettime(CLOCK_MONOTONIC, &t);
    } while (status != 503 && t.tv_sec - t0.tv_sec < 10);
    assert_int_equal(status, 503);
    step(p);
    free(curl_get(port, "/healthz", &status));
    assert_int_equal(status, 200);
    sluice_pipeline_close(p);
}

static void test_state_cap_pauses_reading(void **state) {
    (void)state;
    char *logbuf = NULL;
    size_t loglen = 0;
    FILE *log = open_memstream(&logbuf, &loglen);
    sluice_log_configure(SLUICE_LOG_INFO, SLUICE_LOG_TEXT, log);
    sluice_pipeline *p = open_pipeline("max_state_bytes = 64k\nmetrics = 127.0.0.1:0\n");
    char json[200];
    /* 2000 keys in one open window: far more than 64 KiB of state */
    for (int i = 0; i < 2000; i++) {
        snprintf(json, sizeof json, "{\"ts\":\"2024-01-01T00:00:01Z\",\"k\":\"key-%04d\",\"v\":1}", i);
        push(p, json);
    }
    step(p);
    sluice_pipeline_stats st;
    sluice_pipeline_stats_get(p, &st);
    assert_int_equal(st.input_rows, 2000);
    /* more input is waiting, but the state is over the cap: not read */
    push(p, "{\"ts\":\"2024-01-01T00:00:02Z\",\"k\":\"late-comer\",\"v\":1}");
    step(p);
    step(p);
    sluice_pipeline_stats_get(p, &st);
    assert_int_equal(st.input_rows, 2000);
    int status = 0;
    char *text = curl_get(sluice_pipeline_metrics_port(p), "/metrics", &status);
    assert_float_equal(sample(text, "sluice_backpressure{pipeline=\"m\"}"), 1, 0);
    free(text);
    sluice_pipeline_close(p);
    fclose(log);
    assert_non_null(strstr(logbuf, "level=warn"));
    assert_non_null(strstr(logbuf, "max_state_bytes"));
    free(logbuf);
}

static void test_a_state_cap_that_can_never_be_met_fails(void **state) {
    (void)state;
    /* COMPLETE mode keeps every group, and so does an aggregation without
     * a window: past the cap, pausing would last forever */
    static const char *const sqls[] = {
        "CREATE SOURCE ev (ts TIMESTAMP, k VARCHAR, v BIGINT, WATERMARK FOR ts AS ts - INTERVAL '1' SECOND);\n"
        "CREATE SINK per_key AS SELECT window_start, k, COUNT(*) AS n FROM ev\n"
        "GROUP BY TUMBLE(ts, INTERVAL '1' MINUTE), k EMIT COMPLETE;\n",
        "CREATE SOURCE ev (ts TIMESTAMP, k VARCHAR, v BIGINT, WATERMARK FOR ts AS ts - INTERVAL '1' SECOND);\n"
        "CREATE SINK per_key AS SELECT k, COUNT(*) AS n FROM ev GROUP BY k;\n",
    };
    /* and open event-time windows whose watermark cannot advance while
     * reading is paused (idleness off: the partition never stops holding it) */
    static const char *const extra[] = {"max_state_bytes = 64k\n", "max_state_bytes = 64k\n",
                                        "max_state_bytes = 64k\nidle_timeout = 0\n"};
    for (size_t q = 0; q < 3; q++) {
        sluice_pipeline *p = open_pipeline_sql(q < 2 ? sqls[q] : sql, extra[q]);
        char json[200];
        for (int i = 0; i < 2000; i++) {
            snprintf(json, sizeof json, "{\"ts\":\"2024-01-01T00:00:01Z\",\"k\":\"key-%04d\",\"v\":1}", i);
            push(p, json);
        }
        step(p);
        push(p, "{\"ts\":\"2024-01-01T00:05:00Z\",\"k\":\"x\",\"v\":1}");
        int done = 0;
        char err[1024] = "";
        assert_int_equal(sluice_pipeline_step(p, &done, err, sizeof err), SLUICE_ERR_RUNTIME);
        assert_non_null(strstr(err, "max_state_bytes = 65536 can never be met: the state is "));
        assert_non_null(strstr(err, "cannot be freed while reading is paused"));
        sluice_pipeline_close(p);
    }
}

static void test_log_formats_and_masked_secrets(void **state) {
    (void)state;
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    sluice_log_configure(SLUICE_LOG_INFO, SLUICE_LOG_JSON, f);
    sluice_log(SLUICE_LOG_WARN, "pipe", "sink", "out", "disk \"full\" at %d%%", 99);
    sluice_log(SLUICE_LOG_DEBUG, "pipe", "sink", "out", "not shown at info");
    sluice_log_configure(SLUICE_LOG_INFO, SLUICE_LOG_TEXT, f);
    sluice_log(SLUICE_LOG_ERROR, "pipe", "source", "in", "gone");
    fclose(f);
    const char *nl = strchr(buf, '\n');
    assert_non_null(nl);
    assert_non_null(strstr(buf, "\"level\":\"warn\",\"pipeline\":\"pipe\",\"module\":\"sink\",\"instance\":\"out\","
                                "\"msg\":\"disk \\\"full\\\" at 99%\"}\n"));
    assert_null(strstr(buf, "not shown"));
    assert_non_null(strstr(nl + 1, " level=error pipeline=pipe module=source instance=in msg=gone\n"));
    free(buf);

    /* secrets of the shared sections are masked in the start-up bindings */
    assert_int_equal(sluice_test_write_file(sql_path, sql), 0);
    char ini[1024];
    snprintf(ini, sizeof ini,
             "[mysql]\nuser = sluice\npassword = hunter2-secret\n[source ev]\nconnector = memory\nformat = json\n");
    assert_int_equal(sluice_test_write_file(ini_path, ini), 0);
    buf = NULL;
    f = open_memstream(&buf, &len);
    sluice_log_configure(SLUICE_LOG_INFO, SLUICE_LOG_TEXT, f);
    sluice_pipeline_options o;
    memset(&o, 0, sizeof o);
    o.sql_path = sql_path;
    o.quiet = 1;
    sluice_pipeline *p = NULL;
    char err[512];
    assert_int_equal(sluice_pipeline_open(&o, &p, err, sizeof err), SLUICE_OK);
    sluice_pipeline_close(p);
    fclose(f);
    assert_non_null(strstr(buf, "password = ****"));
    assert_non_null(strstr(buf, "user = sluice"));
    assert_null(strstr(buf, "hunter2"));
    free(buf);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_metrics_agree_with_a_known_input, setup, teardown),
        cmocka_unit_test_setup_teardown(test_idle_connections_cannot_exhaust_the_process, setup, teardown),
        cmocka_unit_test_setup_teardown(test_endpoint_limits_are_configurable, setup, teardown),
        cmocka_unit_test_setup_teardown(test_healthz_turns_503_when_no_batch_completes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_state_cap_pauses_reading, setup, teardown),
        cmocka_unit_test_setup_teardown(test_a_state_cap_that_can_never_be_met_fails, setup, teardown),
        cmocka_unit_test_setup_teardown(test_log_formats_and_masked_secrets, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
