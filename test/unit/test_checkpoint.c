/*
 * The checkpoint file format and the payload codec: round trips, torn and
 * corrupt files detected, newest intact snapshot chosen, pruning, and the
 * pipeline fingerprint guard.
 */
#include "sluice_test.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "state/checkpoint.h"
#include "state/codec.h"

static char *dir;

static int setup(void **state) {
    (void)state;
    dir = sluice_test_mkdtemp("ckpt");
    return dir ? 0 : -1;
}

static int teardown(void **state) {
    (void)state;
    free(dir);
    return 0;
}

static sluice_ckpt *open_ckpt(const char *fingerprint) {
    sluice_ckpt *c = NULL;
    char err[512];
    sluice_err_t e = sluice_ckpt_open(dir, fingerprint, &c, err, sizeof err);
    if (e) fail_msg("open: %s", err);
    return c;
}

static void test_codec_round_trip(void **state) {
    (void)state;
    sluice_enc e = {0};
    sluice_enc_u8(&e, 0xAB);
    sluice_enc_u32(&e, 0xDEADBEEF);
    sluice_enc_i64(&e, INT64_MIN);
    sluice_enc_f64(&e, -0.1);
    sluice_enc_str(&e, "h\xc3\xa9llo");
    sluice_enc_str(&e, NULL);
    sluice_enc_str(&e, "");
    sluice_value vals[6] = {sluice_value_null(), sluice_value_bigint(-42), sluice_value_double(1e300),
                            sluice_value_varchar("a\0b", 3), sluice_value_bool(1),
                            sluice_value_timestamp(978310020000LL)};
    for (int i = 0; i < 6; i++) sluice_enc_value(&e, &vals[i]);
    assert_false(e.oom);
    /* 1 + 4 + 8 + 8 + (4+6) + 4 + 4 + values (1, 9, 9, 1+4+3, 9, 9) */
    assert_int_equal(e.len, 1 + 4 + 8 + 8 + 10 + 4 + 4 + 1 + 9 + 9 + 8 + 9 + 9);
    sluice_arena *a = sluice_arena_new(0);
    sluice_dec d;
    sluice_dec_init(&d, e.data, e.len);
    assert_int_equal(sluice_dec_u8(&d), 0xAB);
    assert_int_equal(sluice_dec_u32(&d), 0xDEADBEEF);
    assert_true(sluice_dec_i64(&d) == INT64_MIN);
    assert_true(sluice_dec_f64(&d) == -0.1);
    assert_string_equal(sluice_dec_str(&d, a), "h\xc3\xa9llo");
    assert_null(sluice_dec_str(&d, a));
    assert_false(d.bad);
    assert_string_equal(sluice_dec_str(&d, a), "");
    for (int i = 0; i < 6; i++) {
        sluice_value v = sluice_dec_value(&d, a);
        assert_int_equal(v.type, vals[i].type);
        assert_true(sluice_value_equal(&v, &vals[i]));
    }
    assert_false(d.bad);
    assert_int_equal(d.pos, e.len);
    /* one byte short: every prefix decodes to an error, never out of range */
    for (size_t cut = 0; cut < e.len; cut++) {
        sluice_dec_init(&d, e.data, cut);
        sluice_dec_u8(&d);
        sluice_dec_u32(&d);
        sluice_dec_i64(&d);
        sluice_dec_f64(&d);
        sluice_dec_str(&d, a);
        sluice_dec_str(&d, a);
        sluice_dec_str(&d, a);
        for (int i = 0; i < 6; i++) sluice_dec_value(&d, a);
        assert_true(d.bad);
    }
    sluice_arena_destroy(a);
    free(e.data);
}

static void test_codec_rejects_bad_type_and_boolean(void **state) {
    (void)state;
    sluice_arena *a = sluice_arena_new(0);
    unsigned char bad_type[] = {99};
    sluice_dec d;
    sluice_dec_init(&d, bad_type, 1);
    sluice_dec_value(&d, a);
    assert_true(d.bad);
    unsigned char bad_bool[] = {SLUICE_TYPE_BOOLEAN, 2, 0, 0, 0, 0, 0, 0, 0};
    sluice_dec_init(&d, bad_bool, sizeof bad_bool);
    sluice_dec_value(&d, a);
    assert_true(d.bad);
    unsigned char huge_len[] = {0xfe, 0xff, 0xff, 0xff, 'x'};
    sluice_dec_init(&d, huge_len, sizeof huge_len);
    size_t n;
    assert_null(sluice_dec_bytes(&d, &n));
    assert_true(d.bad);
    sluice_arena_destroy(a);
}

static void test_write_read_round_trip_and_layout(void **state) {
    (void)state;
    sluice_ckpt *c = open_ckpt("fp-1");
    char err[512];
    assert_int_equal(sluice_ckpt_write(c, SLUICE_CKPT_OFFSETS, 7, "range", 5, err, sizeof err), SLUICE_OK);
    void *p = NULL;
    size_t n = 0;
    assert_int_equal(sluice_ckpt_read(c, SLUICE_CKPT_OFFSETS, 7, &p, &n, err, sizeof err), SLUICE_OK);
    assert_int_equal(n, 5);
    assert_memory_equal(p, "range", 5);
    free(p);
    /* the documented layout: 28-byte header, payload, CRC-32 */
    char path[4096];
    snprintf(path, sizeof path, "%s/offsets/00000000000000000007", dir);
    size_t size = 0;
    char *raw = sluice_test_read_file(path, &size);
    assert_non_null(raw);
    assert_int_equal(size, 28 + 5 + 4);
    assert_memory_equal(raw, "SLCK\x01\x00\x00\x00\x01\x00\x00\x00\x07\x00\x00\x00\x00\x00\x00\x00\x05", 21);
    assert_memory_equal(raw + 28, "range", 5);
    free(raw);
    /* the wrong kind or epoch is not this record */
    assert_int_equal(sluice_ckpt_read(c, SLUICE_CKPT_STATE, 7, &p, &n, err, sizeof err), SLUICE_ERR_IO);
    sluice_ckpt_close(c);
}

static void corrupt(const char *path, long at, int truncate_to) {
    size_t size = 0;
    char *raw = sluice_test_read_file(path, &size);
    assert_non_null(raw);
    FILE *f = fopen(path, "wb");
    if (truncate_to >= 0) {
        fwrite(raw, 1, (size_t)truncate_to, f);
    } else {
        raw[at] ^= 0x01;
        fwrite(raw, 1, size, f);
    }
    fclose(f);
    free(raw);
}

static void test_torn_and_corrupt_files_are_detected(void **state) {
    (void)state;
    sluice_ckpt *c = open_ckpt("fp-1");
    char err[512], path[4096];
    void *p = NULL;
    size_t n;
    for (int64_t e = 1; e <= 3; e++)
        assert_int_equal(sluice_ckpt_write(c, SLUICE_CKPT_STATE, e, "0123456789", 10, err, sizeof err), SLUICE_OK);
    snprintf(path, sizeof path, "%s/state/%020d", dir, 3);
    corrupt(path, 0, 30); /* torn: stopped in the payload */
    assert_int_equal(sluice_ckpt_read(c, SLUICE_CKPT_STATE, 3, &p, &n, err, sizeof err), SLUICE_ERR_MALFORMED);
    assert_non_null(strstr(err, "torn or corrupt"));
    snprintf(path, sizeof path, "%s/state/%020d", dir, 2);
    corrupt(path, 31, -1); /* one bit flipped in the payload */
    assert_int_equal(sluice_ckpt_read(c, SLUICE_CKPT_STATE, 2, &p, &n, err, sizeof err), SLUICE_ERR_MALFORMED);
    /* the newest snapshot is damaged: no silent fall-back to an older one
     * (files are renamed into place, so only damage after the write tears
     * one); the error names the file and the way out */
    int64_t epoch = 7;
    char big[1024];
    assert_int_equal(sluice_ckpt_read_latest(c, SLUICE_CKPT_STATE, &epoch, &p, &n, big, sizeof big),
                     SLUICE_ERR_CONFIG);
    assert_true(epoch == -1);
    assert_null(p);
    assert_non_null(strstr(big, "/state/00000000000000000003' is torn or corrupt"));
    assert_non_null(strstr(big, "sluice checkpoint reset"));
    sluice_ckpt_view v;
    assert_int_equal(sluice_ckpt_map_latest(c, SLUICE_CKPT_STATE, &epoch, &v, big, sizeof big), SLUICE_ERR_CONFIG);
    assert_null(v.map);
    assert_int_equal(sluice_ckpt_latest(c, SLUICE_CKPT_STATE), -1);
    /* a leftover temporary file is not a snapshot */
    char tmp[4200];
    snprintf(tmp, sizeof tmp, "%s/state/%020d.tmp", dir, 9);
    assert_int_equal(sluice_test_write_file(tmp, "half"), 0);
    int64_t *list = NULL;
    size_t cnt = 0;
    assert_int_equal(sluice_ckpt_list(c, SLUICE_CKPT_STATE, &list, &cnt, err, sizeof err), SLUICE_OK);
    assert_int_equal(cnt, 3);
    assert_true(list[0] == 1 && list[1] == 2 && list[2] == 3);
    free(list);
    sluice_ckpt_close(c);
}

/* A second process on the directory is refused while the first holds it
 * (flock on DIR/lock), and so is a reset; the lock goes with the process. */
static void test_lock_refuses_a_second_process(void **state) {
    (void)state;
    int up[2], down[2];
    assert_int_equal(pipe(up), 0);
    assert_int_equal(pipe(down), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        sluice_ckpt *c = NULL;
        char ok = sluice_ckpt_open(dir, "fp-1", &c, NULL, 0) == SLUICE_OK ? 'y' : 'n';
        if (write(up[1], &ok, 1) != 1) _exit(3);
        char go;
        if (read(down[0], &go, 1) != 1) _exit(4); /* hold it until told */
        sluice_ckpt_close(c);
        _exit(0);
    }
    char ok = 0;
    assert_int_equal(read(up[0], &ok, 1), 1); /* the child holds the lock */
    assert_int_equal(ok, 'y');
    sluice_ckpt *c = NULL;
    char err[1024], want[256];
    assert_int_equal(sluice_ckpt_open(dir, "fp-1", &c, err, sizeof err), SLUICE_ERR_CONFIG);
    assert_null(c);
    snprintf(want, sizeof want, "checkpoint directory %s is in use by another process (pid %ld)", dir, (long)pid);
    if (!strstr(err, want)) fail_msg("expected '%s' in '%s'", want, err);
    assert_int_equal(sluice_ckpt_reset(dir, err, sizeof err), SLUICE_ERR_CONFIG);
    assert_non_null(strstr(err, want));
    char *shown = NULL;
    size_t shown_len = 0;
    FILE *f = open_memstream(&shown, &shown_len);
    assert_int_equal(sluice_ckpt_show(dir, f, err, sizeof err), SLUICE_OK);
    fclose(f);
    assert_non_null(strstr(shown, want));
    free(shown);
    /* the child lets go (by exiting): the directory is free again */
    assert_int_equal(write(down[1], "x", 1), 1);
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    c = open_ckpt("fp-1");
    sluice_ckpt_close(c);
    close(up[0]);
    close(up[1]);
    close(down[0]);
    close(down[1]);
}

/* The bug: the lock was DIR/lock alone; deleting that file while a run held
 * it (an operator clearing a "stale" lock) let a second process create and
 * lock a new one: two processes on one checkpoint.  The directory itself
 * is locked too. */
static void test_deleting_the_lock_file_does_not_unlock_the_directory(void **state) {
    (void)state;
    sluice_ckpt *c = open_ckpt("fp-1");
    char lock[4300], err[1024], want[256];
    snprintf(lock, sizeof lock, "%s/lock", dir);
    assert_int_equal(unlink(lock), 0);
    sluice_ckpt *second = NULL;
    assert_int_equal(sluice_ckpt_open(dir, "fp-1", &second, err, sizeof err), SLUICE_ERR_CONFIG);
    assert_null(second);
    snprintf(want, sizeof want, "checkpoint directory %s is in use by another process (pid unknown)", dir);
    if (!strstr(err, want)) fail_msg("expected '%s' in '%s'", want, err);
    assert_int_equal(sluice_ckpt_reset(dir, err, sizeof err), SLUICE_ERR_CONFIG);
    sluice_ckpt_close(c);
    c = open_ckpt("fp-1"); /* free again once the holder closes */
    sluice_ckpt_close(c);
}

/* The meta record keys everything else: a damaged one, or none next to
 * offsets and snapshots, is refused (it used to be rewritten silently). */
static void test_damaged_or_missing_meta_is_refused(void **state) {
    (void)state;
    sluice_ckpt *c = open_ckpt("pipeline p\nplan");
    char err[1024], path[4200];
    assert_int_equal(sluice_ckpt_write(c, SLUICE_CKPT_STATE, 4, "s", 1, err, sizeof err), SLUICE_OK);
    sluice_ckpt_close(c);
    snprintf(path, sizeof path, "%s/meta", dir);
    corrupt(path, 30, -1);
    c = NULL;
    assert_int_equal(sluice_ckpt_open(dir, "pipeline p\nplan", &c, err, sizeof err), SLUICE_ERR_CONFIG);
    assert_null(c);
    assert_non_null(strstr(err, "/meta' is torn or corrupt"));
    assert_non_null(strstr(err, "sluice checkpoint reset"));
    assert_int_equal(unlink(path), 0);
    assert_int_equal(sluice_ckpt_open(dir, "pipeline p\nplan", &c, err, sizeof err), SLUICE_ERR_CONFIG);
    assert_non_null(strstr(err, "the 'meta' record is missing"));
    /* the way out works: reset, then a new checkpoint */
    assert_int_equal(sluice_ckpt_reset(dir, err, sizeof err), SLUICE_OK);
    c = open_ckpt("pipeline p\nplan");
    assert_true(sluice_ckpt_latest(c, SLUICE_CKPT_STATE) == -1);
    sluice_ckpt_close(c);
}

static void test_other_pipeline_name_is_refused(void **state) {
    (void)state;
    sluice_ckpt_close(open_ckpt("pipeline orders\nSCAN x"));
    sluice_ckpt *c = NULL;
    char err[1024];
    assert_int_equal(sluice_ckpt_open(dir, "pipeline refunds\nSCAN x", &c, err, sizeof err), SLUICE_ERR_CONFIG);
    assert_non_null(strstr(err, "belongs to another pipeline (pipeline orders, not pipeline refunds)"));
}

/* A checkpoint of an earlier version recorded the plan alone: the same
 * plan under the pipeline's name is accepted (and recorded with the name);
 * another plan, or afterwards another name, is not. */
static void test_meta_without_a_name_is_upgraded(void **state) {
    (void)state;
    sluice_ckpt_close(open_ckpt("SCAN x"));
    sluice_ckpt *c = NULL;
    char err[1024];
    assert_int_equal(sluice_ckpt_open(dir, "pipeline orders\nSCAN y", &c, err, sizeof err), SLUICE_ERR_CONFIG);
    sluice_ckpt_close(open_ckpt("pipeline orders\nSCAN x"));
    assert_int_equal(sluice_ckpt_open(dir, "pipeline refunds\nSCAN x", &c, err, sizeof err), SLUICE_ERR_CONFIG);
    assert_non_null(strstr(err, "belongs to another pipeline (pipeline orders, not pipeline refunds)"));
}

/* The inputs a pipeline reads are part of its fingerprint: a meta record
 * written before they were recorded is taken over (with them) when the
 * name and plan match, even one without the name; afterwards other inputs
 * are refused, naming the input that changed. */
static void test_meta_records_the_inputs(void **state) {
    (void)state;
    static const char with[] = "pipeline orders\nSCAN x\ninputs:\nsource ev: file path = /data/a.csv\n";
    static const char other[] = "pipeline orders\nSCAN x\ninputs:\nsource ev: file path = /data/b.csv\n";
    sluice_ckpt_close(open_ckpt("pipeline orders\nSCAN x\n")); /* an earlier version */
    sluice_ckpt_close(open_ckpt(with));
    sluice_ckpt_close(open_ckpt(with));
    sluice_ckpt *c = NULL;
    char err[1024];
    assert_int_equal(sluice_ckpt_open(dir, other, &c, err, sizeof err), SLUICE_ERR_CONFIG);
    assert_non_null(strstr(err, "was written reading other input (source ev: file path = /data/a.csv; now source "
                                "ev: file path = /data/b.csv)"));
    /* another plan is still another plan */
    assert_int_equal(sluice_ckpt_open(dir, "pipeline orders\nSCAN y\ninputs:\nsource ev: file path = /data/a.csv\n",
                                      &c, err, sizeof err),
                     SLUICE_ERR_CONFIG);
    assert_non_null(strstr(err, "its sources or queries changed"));
}

/* The oldest records: the plan alone, before names and inputs. */
static void test_meta_with_neither_name_nor_inputs_is_upgraded(void **state) {
    (void)state;
    sluice_ckpt_close(open_ckpt("SCAN x\n"));
    sluice_ckpt_close(open_ckpt("pipeline orders\nSCAN x\ninputs:\nsource ev: file path = /a\n"));
    sluice_ckpt_close(open_ckpt("pipeline orders\nSCAN x\ninputs:\nsource ev: file path = /a\n"));
}

static void test_prune_keeps_what_recovery_needs(void **state) {
    (void)state;
    sluice_ckpt *c = open_ckpt("fp-1");
    char err[512];
    for (int64_t e = 0; e < 6; e++) {
        assert_int_equal(sluice_ckpt_write(c, SLUICE_CKPT_OFFSETS, e, "o", 1, err, sizeof err), SLUICE_OK);
        if (e % 2 == 0)
            assert_int_equal(sluice_ckpt_write(c, SLUICE_CKPT_STATE, e, "s", 1, err, sizeof err), SLUICE_OK);
    }
    assert_int_equal(sluice_ckpt_prune(c, 4, err, sizeof err), SLUICE_OK);
    int64_t *list = NULL;
    size_t n = 0;
    assert_int_equal(sluice_ckpt_list(c, SLUICE_CKPT_STATE, &list, &n, err, sizeof err), SLUICE_OK);
    assert_int_equal(n, 1);
    assert_true(list[0] == 4);
    free(list);
    assert_int_equal(sluice_ckpt_list(c, SLUICE_CKPT_OFFSETS, &list, &n, err, sizeof err), SLUICE_OK);
    assert_int_equal(n, 1);
    assert_true(list[0] == 5);
    free(list);
    sluice_ckpt_close(c);
}

/* sluice_ckpt_set_fault(): the 2nd state write aborts the process halfway
 * through its temporary file; the newest intact snapshot stays the 1st. */
static int write_until_the_fault(void *arg) {
    (void)arg;
    sluice_ckpt *c = NULL;
    if (sluice_ckpt_open(dir, "fp-1", &c, NULL, 0) != SLUICE_OK) return 10;
    sluice_ckpt_set_fault(c, SLUICE_CKPT_STATE, 2);
    if (sluice_ckpt_write(c, SLUICE_CKPT_OFFSETS, 1, "o1", 2, NULL, 0) != SLUICE_OK) return 11;
    if (sluice_ckpt_write(c, SLUICE_CKPT_STATE, 1, "state-one", 9, NULL, 0) != SLUICE_OK) return 12;
    if (sluice_ckpt_write(c, SLUICE_CKPT_OFFSETS, 2, "o2", 2, NULL, 0) != SLUICE_OK) return 13;
    sluice_ckpt_write(c, SLUICE_CKPT_STATE, 2, "state-two", 9, NULL, 0);
    return 14; /* not reached */
}

static void test_abort_inside_a_snapshot_write(void **state) {
    (void)state;
    sluice_test_expect_abort(write_until_the_fault, NULL);
    /* what the crash left: the torn temporary file, header and half the payload */
    char path[4096];
    snprintf(path, sizeof path, "%s/state/00000000000000000002.tmp", dir);
    size_t size = 0;
    char *raw = sluice_test_read_file(path, &size);
    assert_non_null(raw);
    assert_int_equal(size, 28 + 4);
    free(raw);
    sluice_ckpt *c = open_ckpt("fp-1");
    char err[512];
    int64_t epoch = -1;
    void *p = NULL;
    size_t n = 0;
    assert_int_equal(sluice_ckpt_read_latest(c, SLUICE_CKPT_STATE, &epoch, &p, &n, err, sizeof err), SLUICE_OK);
    assert_true(epoch == 1);
    assert_int_equal(n, 9);
    assert_memory_equal(p, "state-one", 9);
    free(p);
    assert_true(sluice_ckpt_latest(c, SLUICE_CKPT_OFFSETS) == 2);
    sluice_ckpt_close(c);
}

static void test_changed_pipeline_is_refused(void **state) {
    (void)state;
    sluice_ckpt_close(open_ckpt("CREATE SOURCE a ..."));
    sluice_ckpt_close(open_ckpt("CREATE SOURCE a ...")); /* same pipeline: fine */
    sluice_ckpt *c = NULL;
    char err[1024];
    assert_int_equal(sluice_ckpt_open(dir, "CREATE SOURCE b ...", &c, err, sizeof err), SLUICE_ERR_CONFIG);
    assert_null(c);
    assert_non_null(strstr(err, "changed since the checkpoint was written"));
}

/* The bug: `sluice checkpoint show|reset DIR` on a directory that is not a
 * checkpoint (no meta, no state/ or offsets/ folder: /etc, an empty one)
 * took it for a damaged checkpoint, created DIR/lock there and failed with
 * "cannot list 'DIR/state'" (exit 1).  It is refused as not a checkpoint
 * (exit 2) and nothing is created. */
static void test_show_and_reset_refuse_a_directory_that_is_no_checkpoint(void **state) {
    (void)state;
    char other[4200], lock[4300], err[1024];
    snprintf(other, sizeof other, "%s/important.txt", dir);
    assert_int_equal(sluice_test_write_file(other, "keep me\n"), 0);
    snprintf(lock, sizeof lock, "%s/lock", dir);
    FILE *out = fopen("/dev/null", "w");
    assert_non_null(out);
    assert_int_equal(sluice_ckpt_show(dir, out, err, sizeof err), SLUICE_ERR_CONFIG);
    assert_non_null(strstr(err, "is not a checkpoint directory (it has no 'meta' file)"));
    assert_int_equal(sluice_ckpt_reset(dir, err, sizeof err), SLUICE_ERR_CONFIG);
    assert_non_null(strstr(err, "is not a checkpoint directory (it has no 'meta' file)"));
    fclose(out);
    struct stat st;
    assert_int_equal(stat(lock, &st), -1); /* nothing left behind */
    char *text = sluice_test_read_file(other, NULL);
    assert_string_equal(text, "keep me\n");
    free(text);
    /* a file is not a checkpoint either */
    assert_int_equal(sluice_ckpt_reset(other, err, sizeof err), SLUICE_ERR_CONFIG);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_codec_round_trip),
        cmocka_unit_test(test_codec_rejects_bad_type_and_boolean),
        cmocka_unit_test_setup_teardown(test_write_read_round_trip_and_layout, setup, teardown),
        cmocka_unit_test_setup_teardown(test_torn_and_corrupt_files_are_detected, setup, teardown),
        cmocka_unit_test_setup_teardown(test_prune_keeps_what_recovery_needs, setup, teardown),
        cmocka_unit_test_setup_teardown(test_changed_pipeline_is_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_abort_inside_a_snapshot_write, setup, teardown),
        cmocka_unit_test_setup_teardown(test_lock_refuses_a_second_process, setup, teardown),
        cmocka_unit_test_setup_teardown(test_deleting_the_lock_file_does_not_unlock_the_directory, setup, teardown),
        cmocka_unit_test_setup_teardown(test_damaged_or_missing_meta_is_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_other_pipeline_name_is_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_meta_without_a_name_is_upgraded, setup, teardown),
        cmocka_unit_test_setup_teardown(test_meta_records_the_inputs, setup, teardown),
        cmocka_unit_test_setup_teardown(test_meta_with_neither_name_nor_inputs_is_upgraded, setup, teardown),
        cmocka_unit_test_setup_teardown(test_show_and_reset_refuse_a_directory_that_is_no_checkpoint, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
