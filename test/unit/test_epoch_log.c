/*
 * The payloads of the checkpoint's offsets and state records
 * (state/epoch_log.h): round trips, every truncation refused, and
 * `sluice checkpoint show` reading the assignment lists as the layout has
 * them (it used to take a source's assignment for a second source).
 */
#include "sluice_test.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "state/checkpoint.h"
#include "state/epoch_log.h"

static const sluice_log_range ranges0[] = {{"flights", 0, 10, 20}, {"flights", 3, 0, 5}};
static const sluice_partition_ref assigned0[] = {{"flights", 0}, {"flights", 1}, {"flights", 3}};
static const sluice_logged_input input[2] = {
    {.ended = 0, .n = 2, .r = ranges0, .na = 3, .assigned = assigned0},
    {.ended = 1, .n = 0, .r = NULL, .na = 0, .assigned = NULL},
};

static void test_offsets_record_round_trip(void **state) {
    (void)state;
    void *p = NULL;
    size_t len = 0;
    assert_int_equal(sluice_epoch_log_encode(1700000000123LL, input, 2, &p, &len), SLUICE_OK);
    sluice_arena *a = sluice_arena_new(0);
    sluice_logged_input out[2];
    int64_t now = 0;
    assert_int_equal(sluice_epoch_log_decode(p, len, 2, a, &now, out), SLUICE_OK);
    assert_int_equal(now, 1700000000123LL);
    assert_int_equal(out[0].ended, 0);
    assert_int_equal(out[0].n, 2);
    assert_string_equal(out[0].r[1].topic, "flights");
    assert_int_equal(out[0].r[1].partition, 3);
    assert_int_equal(out[0].r[0].start, 10);
    assert_int_equal(out[0].r[0].end, 20);
    assert_int_equal(out[0].na, 3);
    assert_int_equal(out[0].assigned[2].partition, 3);
    assert_int_equal(out[1].ended, 1);
    assert_int_equal(out[1].n, 0);
    /* every proper prefix, and one byte more, is refused */
    for (size_t cut = 0; cut < len; cut++)
        assert_int_equal(sluice_epoch_log_decode(p, cut, 2, a, &now, out), SLUICE_ERR_MALFORMED);
    unsigned char *longer = malloc(len + 1);
    memcpy(longer, p, len);
    longer[len] = 0;
    assert_int_equal(sluice_epoch_log_decode(longer, len + 1, 2, a, &now, out), SLUICE_ERR_MALFORMED);
    /* a count far beyond the payload is refused before any allocation */
    memcpy(longer, p, len);
    memset(longer + 4 + 8 + 1, 0xff, 4);
    assert_int_equal(sluice_epoch_log_decode(longer, len, 2, a, &now, out), SLUICE_ERR_MALFORMED);
    free(longer);
    sluice_arena_destroy(a);
    free(p);
}

static void test_state_record_round_trip(void **state) {
    (void)state;
    static const sluice_logged_position pos0[] = {{"t", 0, 42}, {NULL, 7, 9}};
    const sluice_logged_positions pos[2] = {{0, 2, pos0}, {1, 0, NULL}};
    void *p = NULL;
    size_t len = 0;
    assert_int_equal(sluice_state_record_encode(pos, 2, "engine", 6, &p, &len), SLUICE_OK);
    sluice_arena *a = sluice_arena_new(0);
    sluice_logged_positions out[2];
    const void *blob = NULL;
    size_t blen = 0;
    assert_int_equal(sluice_state_record_decode(p, len, 2, a, out, &blob, &blen), SLUICE_OK);
    assert_int_equal(out[0].n, 2);
    assert_string_equal(out[0].p[0].topic, "t");
    assert_int_equal(out[0].p[0].next, 42);
    assert_null(out[0].p[1].topic);
    assert_int_equal(out[0].p[1].partition, 7);
    assert_int_equal(out[1].ended, 1);
    assert_int_equal(blen, 6);
    assert_memory_equal(blob, "engine", 6);
    for (size_t cut = 0; cut < len; cut++)
        assert_int_equal(sluice_state_record_decode(p, cut, 2, a, out, &blob, &blen), SLUICE_ERR_MALFORMED);
    sluice_arena_destroy(a);
    free(p);
}

static void test_checkpoint_show_reads_the_assignments(void **state) {
    (void)state;
    char *dir = sluice_test_mkdtemp("epoch_log_show");
    char err[512] = "";
    sluice_ckpt *c = NULL;
    assert_int_equal(sluice_ckpt_open(dir, "pipeline show\nplan", &c, err, sizeof err), SLUICE_OK);
    void *p = NULL;
    size_t len = 0;
    assert_int_equal(sluice_epoch_log_encode(5, input, 1, &p, &len), SLUICE_OK); /* one source */
    assert_int_equal(sluice_ckpt_write(c, SLUICE_CKPT_OFFSETS, 0, p, len, err, sizeof err), SLUICE_OK);
    free(p);
    sluice_ckpt_close(c);
    char *text = NULL;
    size_t tlen = 0;
    FILE *f = open_memstream(&text, &tlen);
    assert_int_equal(sluice_ckpt_show(dir, f, err, sizeof err), SLUICE_OK);
    fclose(f);
    assert_non_null(strstr(text, "(format 2, processing time 5 ms)"));
    assert_non_null(strstr(text, "source #0: flights partition 0 [10, 20) flights partition 3 [0, 5)"));
    if (strstr(text, "source #1")) fail_msg("one source shown as two:\n%s", text);
    free(text);
    free(dir);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_offsets_record_round_trip),
        cmocka_unit_test(test_state_record_round_trip),
        cmocka_unit_test(test_checkpoint_show_reads_the_assignments),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
