/* Helpers shared by the crash tests; see crash_support.h. */
#include "crash_support.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "sluice_test.h"

pid_t sluice_crash_start(const char *sql_path, const char *err_path, const char *const *extra) {
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        /* no progress lines, but the recovery and warning events: the log
         * of every run is what explains a failed comparison */
        const char *argv[32] = {SLUICE_BINARY, "run", sql_path, "--quiet", "--log-level", "info"};
        int n = 6;
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
