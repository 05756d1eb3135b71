/*
 * Unit tests for window assignment (docs/sql.md GROUP BY): TUMBLE and HOP
 * windows aligned to the Unix epoch, half-open [start, end).
 */
#include <stdint.h>

#include "plan/plan.h"
#include "sluice_test.h"

/* 2001-01-01 00:00:00 UTC in ms */
#define T2001 INT64_C(978307200000)
#define HOUR INT64_C(3600000)
#define MINUTE INT64_C(60000)

static void test_tumble_start_of_zero_is_zero(void **state) {
    (void)state;
    assert_int_equal(sluice_window_tumble_start(0, 1000), 0);
}

static void test_tumble_last_ms_of_a_window_stays_in_it(void **state) {
    (void)state;
    assert_int_equal(sluice_window_tumble_start(999, 1000), 0);
    assert_int_equal(sluice_window_tumble_start(1999, 1000), 1000);
}

static void test_tumble_row_at_window_end_belongs_to_next_window(void **state) {
    (void)state;
    assert_int_equal(sluice_window_tumble_start(1000, 1000), 1000);
    assert_int_equal(sluice_window_tumble_start(T2001 + HOUR, HOUR), T2001 + HOUR);
}

static void test_tumble_aligns_to_the_epoch(void **state) {
    (void)state;
    /* 2001-01-01 00:47:00 is in the hour window starting at 00:00 */
    assert_int_equal(sluice_window_tumble_start(T2001 + 47 * MINUTE, HOUR), T2001);
    /* 7-minute windows: 978307200000 / 420000 = 2329302.857..., floor 2329302 */
    assert_int_equal(sluice_window_tumble_start(T2001, 7 * MINUTE), INT64_C(2329302) * 420000);
}

static void test_tumble_negative_timestamps_floor(void **state) {
    (void)state;
    assert_int_equal(sluice_window_tumble_start(-1, 1000), -1000);
    assert_int_equal(sluice_window_tumble_start(-999, 1000), -1000);
    assert_int_equal(sluice_window_tumble_start(-1000, 1000), -1000);
    assert_int_equal(sluice_window_tumble_start(-1001, 1000), -2000);
}

static size_t hop(int64_t ts, int64_t slide, int64_t size, int64_t *starts) {
    return sluice_window_hop_starts(ts, slide, size, starts, 64);
}

static void test_hop_row_lands_in_size_over_slide_windows(void **state) {
    (void)state;
    int64_t s[64];
    assert_int_equal(hop(7, 5, 10, s), 2);
    assert_int_equal(s[0], 0);
    assert_int_equal(s[1], 5);
    assert_int_equal(hop(0, 2, 6, s), 3);
    assert_int_equal(s[0], -4);
    assert_int_equal(s[1], -2);
    assert_int_equal(s[2], 0);
}

static void test_hop_row_at_window_end_is_not_in_that_window(void **state) {
    (void)state;
    int64_t s[64];
    /* 10 is the end of [0,10): it is in [5,15) and [10,20) only */
    assert_int_equal(hop(10, 5, 10, s), 2);
    assert_int_equal(s[0], 5);
    assert_int_equal(s[1], 10);
}

static void test_hop_negative_timestamps(void **state) {
    (void)state;
    int64_t s[64];
    assert_int_equal(hop(-1, 5, 10, s), 2);
    assert_int_equal(s[0], -10);
    assert_int_equal(s[1], -5);
    assert_int_equal(hop(-5, 5, 10, s), 2);
    assert_int_equal(s[0], -10);
    assert_int_equal(s[1], -5);
    assert_int_equal(hop(-6, 5, 10, s), 2);
    assert_int_equal(s[0], -15);
    assert_int_equal(s[1], -10);
}

static void test_hop_with_size_equal_to_slide_is_a_tumble(void **state) {
    (void)state;
    int64_t s[64];
    for (int64_t ts = -2500; ts <= 2500; ts += 250) {
        assert_int_equal(hop(ts, 1000, 1000, s), 1);
        assert_int_equal(s[0], sluice_window_tumble_start(ts, 1000));
    }
}

static void test_hop_every_window_contains_the_row(void **state) {
    (void)state;
    int64_t s[64];
    for (int64_t ts = -50; ts <= 50; ts++) {
        size_t n = hop(ts, 3, 12, s);
        assert_int_equal(n, 4);
        for (size_t i = 0; i < n; i++) {
            assert_true(s[i] <= ts && ts < s[i] + 12);
            assert_int_equal(((s[i] % 3) + 3) % 3, 0);
            if (i) assert_int_equal(s[i] - s[i - 1], 3);
        }
    }
}

static void test_hop_respects_max(void **state) {
    (void)state;
    int64_t s[2] = {0, 0};
    assert_int_equal(sluice_window_hop_starts(0, 2, 6, s, 2), 2);
    assert_int_equal(s[0], -4);
    assert_int_equal(s[1], -2);
}

static void test_hop_one_hour_every_fifteen_minutes(void **state) {
    (void)state;
    int64_t s[64];
    /* starts s with s <= 00:47 < s + 60min, s a multiple of 15min */
    assert_int_equal(hop(T2001 + 47 * MINUTE, 15 * MINUTE, HOUR, s), 4);
    assert_int_equal(s[0], T2001);
    assert_int_equal(s[1], T2001 + 15 * MINUTE);
    assert_int_equal(s[2], T2001 + 30 * MINUTE);
    assert_int_equal(s[3], T2001 + 45 * MINUTE);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tumble_start_of_zero_is_zero),
        cmocka_unit_test(test_tumble_last_ms_of_a_window_stays_in_it),
        cmocka_unit_test(test_tumble_row_at_window_end_belongs_to_next_window),
        cmocka_unit_test(test_tumble_aligns_to_the_epoch),
        cmocka_unit_test(test_tumble_negative_timestamps_floor),
        cmocka_unit_test(test_hop_row_lands_in_size_over_slide_windows),
        cmocka_unit_test(test_hop_row_at_window_end_is_not_in_that_window),
        cmocka_unit_test(test_hop_negative_timestamps),
        cmocka_unit_test(test_hop_with_size_equal_to_slide_is_a_tumble),
        cmocka_unit_test(test_hop_every_window_contains_the_row),
        cmocka_unit_test(test_hop_respects_max),
        cmocka_unit_test(test_hop_one_hour_every_fifteen_minutes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
