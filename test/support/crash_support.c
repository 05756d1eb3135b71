/* Helpers shared by the crash tests; see crash_support.h. */
#include "crash_support.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "sluice_test.h"

pid_t sluice_crash_start(const char *sql_path, const char *err_path, const char *const *extra) {
    return sluice_crash_start_ex(sql_path, err_path, extra, 0);
}

pid_t sluice_crash_start_ex(const char *sql_path, const char *err_path, const char *const *extra, int progress) {
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        /* no progress lines, but the recovery and warning events: the log
         * of every run is what explains a failed comparison */
        const char *argv[32] = {SLUICE_BINARY, "run", sql_path, "--log-level", "info", "--quiet"};
        int n = progress ? 5 : 6;
        for (int i = 0; extra && extra[i] && n < 30; i++) argv[n++] = extra[i];
        argv[n] = NULL;
        int fd = open(err_path, O_WRONLY | O_CREAT | O_APPEND, 0644);
        if (fd >= 0) dup2(fd, 2);
        fprintf(stderr, "== run, pid %ld:", (long)getpid());
        for (int i = 3; i < n; i++) fprintf(stderr, " %s", argv[i]);
        fprintf(stderr, "\n");
        int null = open("/dev/null", O_WRONLY);
        if (null >= 0) dup2(null, 1);
        execv(SLUICE_BINARY, (char **)argv);
        _exit(127);
    }
    return pid;
}

int sluice_crash_wait(pid_t pid) {
    int status;
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR) return -1;
    return status;
}

void sluice_crash_sleep_us(long us) {
    struct timespec ts = {us / 1000000, (us % 1000000) * 1000};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {}
}

const char *sluice_crash_point_name(sluice_crash_point p) {
    static const char *const names[SLUICE_CRASH_POINTS] = {"before a sink commit", "after a sink commit",
                                                           "in a snapshot write", "in an offsets write"};
    return (unsigned)p < SLUICE_CRASH_POINTS ? names[p] : "?";
}

const char *const *sluice_crash_fault_args(sluice_crash_args *a, sluice_crash_point p, const char *sink,
                                           const char *inner, int nth) {
    int n = 0, k = 0;
    if (p == SLUICE_CRASH_IN_SNAPSHOT || p == SLUICE_CRASH_IN_OFFSETS) {
        snprintf(a->buf[k], sizeof a->buf[k], "pipeline.fault.abort_in_%s=%d",
                 p == SLUICE_CRASH_IN_SNAPSHOT ? "snapshot" : "offsets", nth);
        a->argv[n++] = "--set";
        a->argv[n++] = a->buf[k++];
    } else {
        snprintf(a->buf[k++], sizeof a->buf[0], "sink %s.connector=fault", sink);
        snprintf(a->buf[k++], sizeof a->buf[0], "sink %s.fault.inner=%s", sink, inner);
        snprintf(a->buf[k++], sizeof a->buf[0], "sink %s.fault.method=commit", sink);
        snprintf(a->buf[k++], sizeof a->buf[0], "sink %s.fault.nth=%d", sink, nth);
        snprintf(a->buf[k++], sizeof a->buf[0], "sink %s.fault.action=abort", sink);
        snprintf(a->buf[k++], sizeof a->buf[0], "sink %s.fault.when=%s", sink,
                 p == SLUICE_CRASH_AFTER_COMMIT ? "after" : "before");
        for (int i = 0; i < k; i++) {
            a->argv[n++] = "--set";
            a->argv[n++] = a->buf[i];
        }
    }
    a->argv[n] = NULL;
    return a->argv;
}

/* Wait until the runs' log, past its first `from` bytes, holds `marker`,
 * or the run `pid` has ended, or 60 s have passed. */
static void wait_for_marker(const char *path, off_t from, const char *marker, pid_t pid) {
    static char buf[1 << 16];
    for (int i = 0; i < 30000; i++) {
        int fd = open(path, O_RDONLY);
        ssize_t n = fd >= 0 ? pread(fd, buf, sizeof buf - 1, from) : -1;
        if (fd >= 0) close(fd);
        buf[n > 0 ? n : 0] = '\0';
        if (strstr(buf, marker)) return;
        siginfo_t info = {0};
        if (waitid(P_PID, (id_t)pid, &info, WEXITED | WNOHANG | WNOWAIT) != 0 || info.si_pid != 0) return;
        sluice_crash_sleep_us(2000);
    }
}

/* The runs' log past its first `from` bytes (malloc'd, NUL-terminated;
 * "" when there is none). */
static char *log_from(const char *path, off_t from) {
    int fd = open(path, O_RDONLY);
    struct stat st;
    size_t len = fd >= 0 && fstat(fd, &st) == 0 && st.st_size > from ? (size_t)(st.st_size - from) : 0;
    char *buf = malloc(len + 1);
    assert_non_null(buf);
    ssize_t n = len ? pread(fd, buf, len, from) : 0;
    buf[n > 0 ? n : 0] = '\0';
    if (fd >= 0) close(fd);
    return buf;
}

/* Whether the runs' log, past its first `from` bytes, holds `marker`. */
static int log_has(const char *path, off_t from, const char *marker) {
    char *buf = log_from(path, from);
    int found = strstr(buf, marker) != NULL;
    free(buf);
    return found;
}

/* The recovery event of the executor (sluice_exec_recover()): logged at
 * info level once a run has restored a snapshot or replayed logged epochs. */
#define RECOVERED_MARKER "recovered: snapshot of epoch"
/* What glibc's assert() writes before it aborts. */
#define ASSERT_MARKER "Assertion `"

/* Count the run whose log starts at `from` in *recovered when it resumed
 * from a checkpoint, and in *state_restores when t->state_restored finds
 * the state of interest restored too. */
static void note_recovery(const sluice_crash_test *t, off_t from, int *recovered, int *state_restores) {
    char *log = log_from(t->err_path, from);
    if (strstr(log, RECOVERED_MARKER)) {
        (*recovered)++;
        if (t->state_restored && t->state_restored(t->ctx, log)) (*state_restores)++;
    }
    free(log);
}

/* Fail the test with the end of the runs' log. */
static void fail_with_log(const sluice_crash_test *t, int run, int status) {
    size_t len = 0;
    char *log = sluice_test_read_file(t->err_path, &len);
    const char *tail = log ? log : "";
    if (len > 6000) tail = log + len - 6000;
    fail_msg("%s crash test: run %d ended with status 0x%x; the end of %s:\n%s", t->name, run, (unsigned)status,
             t->err_path, tail);
}

void sluice_crash_drive(const sluice_crash_test *t) {
    size_t nsinks = 0;
    while (t->sinks[nsinks]) nsinks++;
    assert_true(nsinks > 0 && t->kill_span_us > 0);
    unsigned seed = t->seed;
    int kills = 0, runs = 0, cycle = 1, recovered = 0, state_restores = 0, aborts[SLUICE_CRASH_POINTS] = {0};
    int min_recoveries = t->min_recoveries > 0 ? t->min_recoveries : 10;
    for (;;) {
        runs++;
        assert_true(runs < 1000);
        if (t->before_run) t->before_run(t->ctx, cycle);
        struct stat before;
        off_t from = stat(t->err_path, &before) == 0 ? before.st_size : 0;
        int st;
        if (runs % 5 == 0) {
            sluice_crash_point point = (sluice_crash_point)((runs / 5) % SLUICE_CRASH_POINTS);
            sluice_crash_args args;
            const char *const *extra = sluice_crash_fault_args(&args, point, t->sinks[(runs / 5) % nsinks],
                                                               t->connector, 1 + (int)(rand_r(&seed) % 8));
            st = sluice_crash_wait(sluice_crash_start_ex(t->sql_path, t->err_path, extra, t->progress));
            note_recovery(t, from, &recovered, &state_restores);
            /* a failed assert() aborts too: it is not the planned abort */
            if (log_has(t->err_path, from, ASSERT_MARKER)) fail_with_log(t, runs, st);
            if (WIFSIGNALED(st) && WTERMSIG(st) == SIGABRT) {
                aborts[point]++;
                continue;
            }
        } else {
            pid_t pid = sluice_crash_start_ex(t->sql_path, t->err_path, NULL, t->progress);
            long delay = (long)(rand_r(&seed) % (unsigned long)t->kill_span_us);
            if (t->started_marker && runs % 2) {
                /* the span includes the reference run's own start-up */
                wait_for_marker(t->err_path, from, t->started_marker, pid);
                delay /= 2;
            } else {
                delay += t->kill_min_us;
            }
            sluice_crash_sleep_us(delay);
            kill(pid, SIGKILL);
            st = sluice_crash_wait(pid);
            note_recovery(t, from, &recovered, &state_restores);
            if (WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL) {
                kills++;
                continue;
            }
        }
        if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) fail_with_log(t, runs, st);
        t->compare(t->ctx, cycle);
        int every_point = 1;
        for (int p = 0; p < SLUICE_CRASH_POINTS; p++) every_point &= aborts[p] > 0;
        if (kills >= 20 && every_point) break;
        cycle++;
        t->new_cycle(t->ctx, cycle);
    }
    print_message("%s crash test: %d SIGKILLs, aborts %d %s, %d %s, %d %s, %d %s; %d of %d runs resumed from a "
                  "checkpoint%s; %d cycles\n",
                  t->name, kills, aborts[0], sluice_crash_point_name(0), aborts[1], sluice_crash_point_name(1),
                  aborts[2], sluice_crash_point_name(2), aborts[3], sluice_crash_point_name(3), recovered, runs,
                  t->state_restored ? " (see below)" : "", cycle);
    if (t->state_restored)
        print_message("%s crash test: %d of those runs restored %s from the snapshot\n", t->name, state_restores,
                      t->state_name ? t->state_name : "the state of interest");
    if (t->state_restored && state_restores < t->min_state_restores)
        fail_msg("%s crash test: only %d runs restored %s from a snapshot, at least %d expected", t->name,
                 state_restores, t->state_name ? t->state_name : "the state of interest", t->min_state_restores);
    if (recovered < min_recoveries)
        fail_msg("%s crash test: only %d of %d runs resumed from a checkpoint (their log shows \"%s\"), at least %d "
                 "expected: too few kills landed after a checkpoint for the test to show recovery",
                 t->name, recovered, runs, RECOVERED_MARKER, min_recoveries);
}
