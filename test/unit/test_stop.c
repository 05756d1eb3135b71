/*
 * base/stop: the process-wide stop request that SIGINT/SIGTERM set and
 * every wait looks at.  A request made by a real signal handler (SIGALRM
 * from a timer, 50 ms into a 5 s sleep) must cut sluice_stop_sleep_ms()
 * short within a slice; the request count tells a second signal.
 */
#include "sluice_test.h"

#include <signal.h>
#include <string.h>
#include <time.h>
#include <sys/time.h>

#include "base/clock.h"
#include "base/stop.h"

static void on_alarm(int sig) {
    sluice_stop_request(sig);
}

static void test_request_counts_and_signal(void **state) {
    (void)state;
    sluice_stop_reset();
    assert_int_equal(sluice_stop_requested(), 0);
    assert_int_equal(sluice_stop_signal(), 0);
    assert_int_equal(sluice_stop_request(SIGTERM), 0); /* the first */
    assert_int_equal(sluice_stop_requested(), 1);
    assert_int_equal(sluice_stop_request(SIGINT), 1); /* a second one */
    assert_int_equal(sluice_stop_signal(), SIGTERM);  /* the first signal is kept */
    sluice_stop_reset();
    assert_int_equal(sluice_stop_requested(), 0);
}

static void test_sleep_without_stop_lasts(void **state) {
    (void)state;
    sluice_stop_reset();
    int64_t t0 = sluice_clock_monotonic_ms();
    assert_int_equal(sluice_stop_sleep_ms(250), 0);
    int64_t took = sluice_clock_monotonic_ms() - t0;
    assert_true(took >= 250 && took < 1000);
}

static void test_signal_cuts_a_sleep_short(void **state) {
    (void)state;
    sluice_stop_reset();
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_alarm;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART; /* the sleep must notice without EINTR too */
    assert_int_equal(sigaction(SIGALRM, &sa, NULL), 0);
    struct itimerval it = {.it_value = {.tv_sec = 0, .tv_usec = 50000}};
    int64_t t0 = sluice_clock_monotonic_ms();
    assert_int_equal(setitimer(ITIMER_REAL, &it, NULL), 0);
    assert_int_equal(sluice_stop_sleep_ms(5000), 1);
    int64_t took = sluice_clock_monotonic_ms() - t0;
    assert_true(took >= 50);
    assert_true(took <= 50 + 2 * SLUICE_STOP_SLICE_MS);
    assert_int_equal(sluice_stop_signal(), SIGALRM);
    /* once requested, a sleep returns at once */
    t0 = sluice_clock_monotonic_ms();
    assert_int_equal(sluice_stop_sleep_ms(5000), 1);
    assert_true(sluice_clock_monotonic_ms() - t0 < 20);
    sluice_stop_reset();
}

/* A wait making progress may go on for SLUICE_STOP_GRACE_MS after the
 * request, no longer. */
static void test_overdue_after_the_grace(void **state) {
    (void)state;
    sluice_stop_reset();
    assert_int_equal(sluice_stop_overdue(), 0);
    int64_t t0 = sluice_clock_monotonic_ms();
    sluice_stop_request(SIGTERM);
    assert_int_equal(sluice_stop_overdue(), 0);
    while (!sluice_stop_overdue() && sluice_clock_monotonic_ms() - t0 < 5000) {
        struct timespec nap = {0, 5 * 1000000L};
        nanosleep(&nap, NULL);
    }
    int64_t took = sluice_clock_monotonic_ms() - t0;
    assert_true(took >= SLUICE_STOP_GRACE_MS && took < SLUICE_STOP_GRACE_MS + 100);
    sluice_stop_reset();
    assert_int_equal(sluice_stop_overdue(), 0);
}

static void test_slice(void **state) {
    (void)state;
    int64_t now = sluice_clock_monotonic_ms();
    assert_int_equal(sluice_stop_slice_ms(now - 10), 0);
    assert_int_equal(sluice_stop_slice_ms(now + 60000), SLUICE_STOP_SLICE_MS);
    int s = sluice_stop_slice_ms(now + 30);
    assert_true(s > 0 && s <= 30);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_request_counts_and_signal),
        cmocka_unit_test(test_sleep_without_stop_lasts),
        cmocka_unit_test(test_signal_cuts_a_sleep_short),
        cmocka_unit_test(test_overdue_after_the_grace),
        cmocka_unit_test(test_slice),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
