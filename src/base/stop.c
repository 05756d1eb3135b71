/*
 * sluice — the process-wide stop request (see stop.h).
 */
#include "base/stop.h"

#include <signal.h>
#include <string.h>
#include <unistd.h>
#include <time.h>

#include "base/clock.h"

/* sig_atomic_t: the only object type a signal handler may write portably */
static volatile sig_atomic_t stop_count = 0;
static volatile sig_atomic_t stop_sig = 0;
/* when the first request came, CLOCK_MONOTONIC ms; written by the handler
 * before stop_count, read only once stop_count is set */
static volatile int64_t stop_at_ms = 0;

int sluice_stop_request(int sig) {
    int before = stop_count;
    if (before == 0) {
        stop_sig = sig;
        stop_at_ms = sluice_clock_monotonic_ms(); /* clock_gettime: async-signal-safe (POSIX) */
    }
    if (before < 1000) stop_count = before + 1;
    return before;
}

int sluice_stop_requested(void) {
    return stop_count != 0;
}

int sluice_stop_signal(void) {
    return stop_sig;
}

int sluice_stop_overdue(void) {
    return stop_count != 0 && sluice_clock_monotonic_ms() - stop_at_ms >= SLUICE_STOP_GRACE_MS;
}

void sluice_stop_reset(void) {
    stop_count = 0;
    stop_sig = 0;
}

int sluice_stop_slice_ms(int64_t deadline_ms) {
    int64_t left = deadline_ms - sluice_clock_monotonic_ms();
    if (left <= 0) return 0;
    return left < SLUICE_STOP_SLICE_MS ? (int)left : SLUICE_STOP_SLICE_MS;
}

int sluice_stop_sleep_ms(int64_t ms) {
    int64_t deadline = sluice_clock_monotonic_ms() + ms;
    for (;;) {
        if (sluice_stop_requested()) return 1;
        int slice = sluice_stop_slice_ms(deadline);
        if (slice <= 0) return 0;
        struct timespec ts = {.tv_sec = slice / 1000, .tv_nsec = (long)(slice % 1000) * 1000000L};
        /* a signal interrupts the sleep (EINTR): the loop looks at the flag */
        (void)nanosleep(&ts, NULL);
    }
}

static const char *second_msg;

static void on_stop_signal(int sig) {
    if (sluice_stop_request(sig) > 0) {
        if (second_msg) {
            ssize_t n = write(STDERR_FILENO, second_msg, strlen(second_msg));
            (void)n;
        }
        _exit(128 + sig);
    }
}

void sluice_stop_on_signals(const char *second_message) {
    second_msg = second_message;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_stop_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
}
