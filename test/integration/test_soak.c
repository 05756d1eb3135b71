/*
 * Soak: `sluice run` on a followed file that a writer feeds at a steady
 * rate, with 1% malformed and 1% late rows.  Checks that the resident set
 * stays flat after warm-up (state is bounded by the watermark), that no row
 * is lost (every on-time row is counted in exactly one emitted window), and
 * that the metrics agree with what was written.
 *
 * Duration: SLUICE_SOAK_SECONDS (default 60).  Labelled `soak`; it runs in
 * the optimised build only (sanitizer quarantines grow the RSS on purpose).
 */
#include "sluice_test.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define KEYS 10
#define RATE 20000             /* rows per second written */
#define TICK_MS 10
#define LATE_BACK_MS 120000    /* a late row is 2 minutes behind: its window is long final */
#define WARMUP_ROWS 200000     /* no late rows before this (their windows would not exist) */

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static long rss_kib(pid_t pid) {
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
    FILE *f = fopen(path, "r");
    if (!f) return -1;
    long kib = -1;
    while (fgets(line, sizeof line, f))
        if (strncmp(line, "VmRSS:", 6) == 0) kib = strtol(line + 6, NULL, 10);
    fclose(f);
    return kib;
}

static char *read_all(const char *path) {
    return sluice_test_read_file(path, NULL);
}

/* the port from the log line "... (port N)" on the child's stderr */
static int wait_port(const char *err_path, double deadline) {
    while (now_s() < deadline) {
        char *t = read_all(err_path);
        char *p = t ? strstr(t, "(port ") : NULL;
        int port = p ? atoi(p + 6) : 0;
        free(t);
        if (port > 0) return port;
        struct timespec ts = {0, 20 * 1000000L};
        nanosleep(&ts, NULL);
    }
    return 0;
}

static double scrape(int port, const char *series) {
    char cmd[256];
    snprintf(cmd, sizeof cmd, "curl -s -m 5 http://127.0.0.1:%d/metrics", port);
    FILE *f = popen(cmd, "r");
    if (!f) return -1;
    char line[1024];
    double v = -1;
    size_t n = strlen(series);
    while (fgets(line, sizeof line, f))
        if (strncmp(line, series, n) == 0 && line[n] == ' ') v = strtod(line + n + 1, NULL);
    pclose(f);
    return v;
}

static void test_soak(void **state) {
    (void)state;
    const char *env = getenv("SLUICE_SOAK_SECONDS");
    double seconds = env ? atof(env) : 60;
    if (seconds < 10) seconds = 10;
    char *dir = sluice_test_mkdtemp("soak");
    char sql[4096], ini[4096], in[4096], out[4096], dead[4096], err_path[4096], std_out[4096];
    snprintf(sql, sizeof sql, "%s/soak.sql", dir);
    snprintf(ini, sizeof ini, "%s/soak.test.ini", dir);
    snprintf(in, sizeof in, "%s/in.jsonl", dir);
    snprintf(out, sizeof out, "%s/out.csv", dir);
    snprintf(dead, sizeof dead, "%s/dead.jsonl", dir);
    snprintf(err_path, sizeof err_path, "%s/stderr.txt", dir);
    snprintf(std_out, sizeof std_out, "%s/stdout.txt", dir);
    assert_int_equal(sluice_test_write_file(sql,
        "CREATE SOURCE ev (ts TIMESTAMP FORMAT 'epoch_ms', k VARCHAR, v BIGINT,\n"
        "  WATERMARK FOR ts AS ts - INTERVAL '1' SECOND);\n"
        "CREATE SINK per_key AS SELECT window_start, k, COUNT(*) AS n, SUM(v) AS total FROM ev\n"
        "GROUP BY TUMBLE(ts, INTERVAL '1' SECOND), k EMIT APPEND;\n"), 0);
    char text[16384];
    snprintf(text, sizeof text,
             "[pipeline]\ntrigger = 200ms\nmax_batch_rows = 20000\ndead_letter = %s\nmetrics = 127.0.0.1:0\n"
             "[source ev]\npath = %s\nformat = json\nfollow = true\n"
             "[sink per_key]\nconnector = file\npath = %s\nformat = csv\n",
             dead, in, out);
    assert_int_equal(sluice_test_write_file(ini, text), 0);
    FILE *w = fopen(in, "w");
    assert_non_null(w);

    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        int fo = open(std_out, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        int fe = open(err_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        dup2(fo, 1);
        dup2(fe, 2);
        execl(SLUICE_BINARY, SLUICE_BINARY, "run", sql, "--quiet", "--log-level", "info", (char *)NULL);
        _exit(127);
    }
    int port = wait_port(err_path, now_s() + 10);
    assert_true(port > 0);

    /* the writer: event time advances 1 ms per row; a 1 s window holds
     * 1000 rows over 10 keys */
    const int64_t base = 1704067200000LL; /* 2024-01-01T00:00:00Z */
    uint64_t written = 0, malformed = 0, late = 0, good = 0;
    int64_t max_ts = 0;
    uint64_t seed = 42;
    /* on-time rows per 1-second window, to check against the output */
    size_t nwin = (size_t)(seconds * RATE / 1000) + 16;
    uint64_t *per_window = calloc(nwin, sizeof *per_window);
    long rss_min = -1, rss_max = -1;
    double t0 = now_s(), next_sample = t0 + 1, warm_end = t0 + seconds * 0.25;
    uint64_t target = 0;
    while (now_s() - t0 < seconds) {
        target = (uint64_t)((now_s() - t0) * RATE);
        while (written < target) {
            seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
            unsigned roll = (unsigned)(seed >> 33) % 100;
            int64_t ts = base + (int64_t)good;
            if (roll == 0) {
                fputs("{\"ts\": 17040672, \"k\": \"broken\n", w); /* malformed: not JSON */
                malformed++;
            } else if (roll == 1 && good > WARMUP_ROWS) {
                fprintf(w, "{\"ts\":%lld,\"k\":\"k%d\",\"v\":1}\n", (long long)(max_ts - LATE_BACK_MS),
                        (int)(seed % KEYS));
                late++;
            } else {
                fprintf(w, "{\"ts\":%lld,\"k\":\"k%d\",\"v\":1}\n", (long long)ts, (int)(seed % KEYS));
                per_window[good / 1000]++;
                max_ts = ts;
                good++;
            }
            written++;
        }
        fflush(w);
        double t = now_s();
        if (t >= next_sample) {
            long r = rss_kib(pid);
            assert_true(r > 0);
            if (t >= warm_end) {
                if (rss_min < 0 || r < rss_min) rss_min = r;
                if (r > rss_max) rss_max = r;
            }
            next_sample += 1;
        }
        struct timespec ts = {0, TICK_MS * 1000000L};
        nanosleep(&ts, NULL);
    }
    fclose(w);

    /* wait until every written line has been read */
    double deadline = now_s() + 60;
    double input = -1;
    while (now_s() < deadline) {
        input = scrape(port, "sluice_input_rows_total{pipeline=\"soak\",source=\"ev\"}");
        if (input == (double)written) break;
        struct timespec ts = {0, 100 * 1000000L};
        nanosleep(&ts, NULL);
    }
    print_message("soak: %.0f s, %llu rows written (%llu malformed, %llu late), RSS after warm-up %ld..%ld KiB\n",
                  seconds, (unsigned long long)written, (unsigned long long)malformed, (unsigned long long)late,
                  rss_min, rss_max);
    assert_float_equal(input, (double)written, 0);
    assert_float_equal(scrape(port, "sluice_malformed_rows_total{pipeline=\"soak\",source=\"ev\"}"), (double)malformed, 0);
    assert_float_equal(scrape(port, "sluice_late_rows_total{pipeline=\"soak\",query=\"per_key\"}"), (double)late, 0);
    /* flat: the largest RSS after warm-up is within 10% of the smallest */
    assert_true(rss_min > 0);
    assert_true((double)rss_max <= (double)rss_min * 1.10);

    kill(pid, SIGTERM);
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);

    /* no row lost: every window the watermark passed holds exactly the
     * on-time rows written into it */
    int64_t wm = max_ts - 1000;
    size_t final_windows = (size_t)((wm - base) / 1000); /* windows [0, final_windows) are final */
    uint64_t *seen = calloc(nwin, sizeof *seen);
    char *csv = read_all(out);
    assert_non_null(csv);
    char *save = NULL;
    char *line = strtok_r(csv, "\n", &save); /* header */
    assert_string_equal(line, "window_start,k,n,total");
    while ((line = strtok_r(NULL, "\n", &save))) {
        int Y, M, D, h, m, s, kk;
        long long n, total;
        assert_int_equal(sscanf(line, "%d-%d-%d %d:%d:%d,k%d,%lld,%lld", &Y, &M, &D, &h, &m, &s, &kk, &n, &total), 9);
        int64_t secs = (int64_t)((((D - 1) * 24 + h) * 60 + m) * 60 + s);
        assert_true(secs >= 0 && (size_t)secs < nwin);
        assert_int_equal(n, total);
        seen[secs] += (uint64_t)n;
    }
    for (size_t i = 0; i < final_windows; i++)
        if (seen[i] != per_window[i]) fail_msg("window %zu: %llu rows emitted, %llu written", i,
                                               (unsigned long long)seen[i], (unsigned long long)per_window[i]);
    /* dead letters: one line per malformed and per late row */
    char *dl = read_all(dead);
    uint64_t dlines = 0;
    for (char *p = dl; p && *p; p++) dlines += *p == '\n';
    assert_int_equal(dlines, malformed + late);
    free(dl);
    free(csv);
    free(seen);
    free(per_window);
    free(dir);
}

int main(void) {
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_soak)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
