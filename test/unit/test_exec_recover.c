/*
 * sluice_exec_recover() with a partitioned source (docs/checkpoints.md
 * "Recovery"): before the source is polled for the first time, every
 * partition the recovery will read is positioned — at its snapshot
 * position, or, for a partition first read after the snapshot, at the
 * start of its first logged range — so that a consumer group assigns
 * each at a known offset (a Kafka seek racing the lookup of a partition's
 * start can be lost).  A scripted source records every seek and poll; a
 * counting transform checks that the replay read each logged record once.
 */
#include "sluice_test.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/execute.h"
#include "state/checkpoint.h"

enum { PARTS = 3, PER_PART = 100 };

/* ---- a scripted source: three partitions of topic "t", offsets 0..99 ---- */

typedef struct seek_call {
    int32_t partition;
    int64_t offset;
    int before_first_poll;
} seek_call;

typedef struct script_source {
    sluice_source base;
    int64_t next[PARTS];
    const int (*plan)[PARTS]; /* per poll: records to hand out of each partition; NULL: 10 of each */
    int nplan, calls;
    int end_after_plan;       /* the poll after the plan reports the end of the input */
    seek_call seeks[64];
    int nseeks;
} script_source;

static const char topic[] = "t";
static char value[8 + SLUICE_RECORD_PADDING] = "{}";

static sluice_err_t script_poll(sluice_source *src, sluice_record_batch *out, size_t max_records, int timeout_ms,
                                char *errstr, size_t errstr_size) {
    (void)max_records, (void)timeout_ms, (void)errstr, (void)errstr_size;
    script_source *s = (script_source *)src;
    int call = s->calls++;
    if (s->plan && call >= s->nplan) {
        out->end_of_input = s->end_after_plan;
        return SLUICE_OK; /* nothing more: available_now ends */
    }
    for (int p = 0; p < PARTS; p++) {
        int n = s->plan ? s->plan[call][p] : 10;
        for (int k = 0; k < n && s->next[p] < PER_PART; k++) {
            sluice_record *r = sluice_record_batch_push(out);
            assert_non_null(r);
            memset(r, 0, sizeof *r);
            r->value = value;
            r->value_len = 2;
            r->topic = topic;
            r->partition = p;
            r->offset = s->next[p]++;
        }
    }
    return SLUICE_OK;
}

static sluice_err_t script_seek(sluice_source *src, const char *t, int32_t partition, int64_t offset, char *errstr,
                                size_t errstr_size) {
    (void)errstr, (void)errstr_size;
    script_source *s = (script_source *)src;
    assert_string_equal(t, topic);
    assert_true(partition >= 0 && partition < PARTS);
    assert_true(s->nseeks < 64);
    s->seeks[s->nseeks++] = (seek_call){partition, offset, s->calls == 0};
    s->next[partition] = offset;
    return SLUICE_OK;
}

static const sluice_source_ops script_ops = {
    .version = SLUICE_MODULE_VERSION, .name = "script", .poll = script_poll, .seek = script_seek};

/* ---- a transform that counts records per partition ---- */

typedef struct count_transform {
    sluice_transform base;
    int64_t n[PARTS];
    sluice_row_batch none;
} count_transform;

static sluice_err_t count_process(sluice_transform *t, size_t source, sluice_source *src,
                                  const sluice_record_batch *in, char *errstr, size_t errstr_size) {
    (void)source, (void)src, (void)errstr, (void)errstr_size;
    count_transform *c = (count_transform *)t;
    for (size_t i = 0; i < in->count; i++) c->n[in->records[i].partition]++;
    return SLUICE_OK;
}

static sluice_err_t count_end_batch(sluice_transform *t, int64_t epoch, const sluice_row_batch **out, size_t nsinks,
                                    char *errstr, size_t errstr_size) {
    (void)t, (void)epoch, (void)out, (void)nsinks, (void)errstr, (void)errstr_size;
    return SLUICE_OK;
}

static sluice_err_t count_snapshot(sluice_transform *t, void **buf, size_t *len, char *errstr, size_t errstr_size) {
    (void)errstr, (void)errstr_size;
    count_transform *c = (count_transform *)t;
    *buf = malloc(sizeof c->n);
    assert_non_null(*buf);
    memcpy(*buf, c->n, sizeof c->n);
    *len = sizeof c->n;
    return SLUICE_OK;
}

static sluice_err_t count_restore(sluice_transform *t, const void *buf, size_t len, char *errstr,
                                  size_t errstr_size) {
    (void)errstr, (void)errstr_size;
    count_transform *c = (count_transform *)t;
    assert_int_equal(len, sizeof c->n);
    memcpy(c->n, buf, len);
    return SLUICE_OK;
}

static const sluice_transform_ops count_ops = {.version = SLUICE_MODULE_VERSION,
                                               .name = "count",
                                               .process = count_process,
                                               .end_batch = count_end_batch,
                                               .snapshot = count_snapshot,
                                               .restore = count_restore};

/* ---- the run ---- */

static void exec_setup(sluice_exec *x, script_source *src, sluice_source **srcs, count_transform *t,
                       sluice_ckpt *ckpt) {
    static const char *const names[] = {"events"};
    memset(x, 0, sizeof *x);
    srcs[0] = &src->base;
    x->sources = srcs;
    x->source_names = names;
    x->nsources = 1;
    x->transform = &t->base;
    x->available_now = 1;
    x->max_records = 1000;
    x->pipeline = "recover";
    x->ckpt = ckpt;
    x->checkpoint_every = 3; /* a snapshot after epoch 2, none after 3 and 4 */
    assert_int_equal(sluice_exec_init(x), SLUICE_OK);
}

/* An interrupted run over `dir`: one epoch per plan line, then a kill (no
 * snapshot beyond checkpoint_every's). */
static void interrupted_run(const char *dir, const int (*plan)[PARTS], int nplan, int end) {
    char err[512] = "";
    sluice_ckpt *ckpt = NULL;
    if (sluice_ckpt_open(dir, "fp", &ckpt, err, sizeof err) != SLUICE_OK) fail_msg("%s", err);
    script_source s = {.base.ops = &script_ops, .plan = plan, .nplan = nplan, .end_after_plan = end};
    count_transform t = {.base.ops = &count_ops};
    sluice_source *srcs[1];
    sluice_exec x;
    exec_setup(&x, &s, srcs, &t, ckpt);
    for (int e = 0; e < nplan + end; e++) {
        int done = 0;
        if (sluice_exec_step(&x, &done, err, sizeof err) != SLUICE_OK) fail_msg("epoch %d: %s", e, err);
    }
    assert_int_equal(x.epoch, nplan + end);
    sluice_exec_free(&x);
    sluice_ckpt_close(ckpt);
}

/* Recover from `dir` with source s and transform t: a new source that,
 * once polled, hands out 10 records of every partition from wherever each
 * stands (0 when never positioned, as a consumer at startingOffsets =
 * earliest).  Returns the epochs replayed. */
static int64_t recover(const char *dir, script_source *s, count_transform *t) {
    char err[512] = "";
    sluice_ckpt *ckpt = NULL;
    if (sluice_ckpt_open(dir, "fp", &ckpt, err, sizeof err) != SLUICE_OK) fail_msg("%s", err);
    *s = (script_source){.base.ops = &script_ops};
    *t = (count_transform){.base.ops = &count_ops};
    sluice_source *srcs[1];
    sluice_exec x;
    exec_setup(&x, s, srcs, t, ckpt);
    if (sluice_exec_recover(&x, err, sizeof err) != SLUICE_OK) fail_msg("recover: %s", err);
    int64_t replayed = x.replayed;
    sluice_exec_free(&x);
    sluice_ckpt_close(ckpt);
    return replayed;
}

static void test_recovery_positions_every_partition_before_the_first_poll(void **state) {
    (void)state;
    char *dir = sluice_test_mkdtemp("exec_recover");
    /* epochs 0..4; partition 2 is first read in epoch 4, after the
     * snapshot of epoch 2 */
    static const int plan[5][PARTS] = {{10, 0, 0}, {0, 10, 0}, {10, 0, 0}, {10, 0, 0}, {0, 10, 10}};
    interrupted_run(dir, plan, 5, 0);
    script_source s;
    count_transform t;
    assert_int_equal(recover(dir, &s, &t), 2);
    /* before the first poll: partition 0 at 20 (the first replayed epoch
     * reads it from there), 1 at its snapshot position 10, 2 at 0, where
     * its first logged range starts */
    static const int64_t want[PARTS] = {20, 10, 0};
    for (int p = 0; p < PARTS; p++) {
        int found = 0;
        for (int k = 0; k < s.nseeks; k++)
            if (s.seeks[k].before_first_poll && s.seeks[k].partition == p) {
                assert_int_equal(s.seeks[k].offset, want[p]);
                found = 1;
            }
        if (!found) fail_msg("partition %d was not positioned before the first poll", p);
    }
    /* the replay read each logged record once: the totals of one run */
    assert_int_equal(t.n[0], 30);
    assert_int_equal(t.n[1], 20);
    assert_int_equal(t.n[2], 10);
    /* and the source goes on where the log ends */
    assert_int_equal(s.next[0], 30);
    assert_int_equal(s.next[1], 20);
    assert_int_equal(s.next[2], 10);
    free(dir);
}

/* Nothing to replay: no seek before the final positioning, which comes
 * before any poll anyway (a file source's seek rescans its file). */
static void test_recovery_without_replay_seeks_each_partition_once(void **state) {
    (void)state;
    char *dir = sluice_test_mkdtemp("exec_recover_once");
    static const int plan[3][PARTS] = {{10, 5, 0}, {0, 10, 0}, {10, 0, 3}};
    interrupted_run(dir, plan, 3, 0); /* the snapshot of epoch 2 is the newest */
    script_source s;
    count_transform t;
    assert_int_equal(recover(dir, &s, &t), 0);
    assert_int_equal(s.nseeks, PARTS);
    static const int64_t want[PARTS] = {20, 15, 3};
    for (int k = 0; k < s.nseeks; k++) assert_int_equal(s.seeks[k].offset, want[s.seeks[k].partition]);
    assert_int_equal(t.n[0] + t.n[1] + t.n[2], 38);
    free(dir);
}

/* The last logged epoch only saw the end of the input (no record, no
 * range): its replay reads nothing and ends the source, as the original
 * epoch did. */
static void test_an_epoch_that_only_saw_the_end_replays(void **state) {
    (void)state;
    char *dir = sluice_test_mkdtemp("exec_recover_end");
    /* epochs 0..3 with records, epoch 4 the end; snapshot of epoch 2 */
    static const int plan[4][PARTS] = {{10, 0, 0}, {0, 10, 0}, {10, 0, 0}, {0, 0, 10}};
    interrupted_run(dir, plan, 4, 1);
    script_source s;
    count_transform t;
    assert_int_equal(recover(dir, &s, &t), 2);
    assert_int_equal(t.n[0], 20);
    assert_int_equal(t.n[1], 10);
    assert_int_equal(t.n[2], 10);
    free(dir);
}

/* A replay poll can hand out records of a partition that no logged epoch
 * and no snapshot knows (a consumer that assigned itself every partition
 * fetches them all): the replay sets them aside, and the source is put
 * back where those records start, so that the next epochs read them. */
static void test_records_of_an_unlogged_partition_are_read_after_the_replay(void **state) {
    (void)state;
    char *dir = sluice_test_mkdtemp("exec_recover_unlogged");
    /* only partition 0 was read before the kill: epochs 0..3, snapshot of
     * epoch 2, epoch 3 replayed */
    static const int plan[4][PARTS] = {{10, 0, 0}, {10, 0, 0}, {10, 0, 0}, {10, 0, 0}};
    interrupted_run(dir, plan, 4, 0);
    script_source s;
    count_transform t;
    assert_int_equal(recover(dir, &s, &t), 1);
    /* the replay's poll handed out records 0..9 of partitions 1 and 2 too:
     * not counted, and the source goes back to offset 0 of both */
    assert_int_equal(t.n[0], 40);
    assert_int_equal(t.n[1], 0);
    assert_int_equal(t.n[2], 0);
    assert_int_equal(s.next[0], 40);
    assert_int_equal(s.next[1], 0);
    assert_int_equal(s.next[2], 0);
    free(dir);
}

/* The bug: under available_now a source with nothing more in this run (a
 * Kafka topic read to its end) was marked ended like a bounded input, and
 * when another source still had records the same step made an epoch whose
 * snapshot kept that mark: every later run skipped the source, exited 0
 * and never read its new records.  Only an input's end is kept. */
static void test_a_source_drained_under_available_now_is_read_again_next_run(void **state) {
    (void)state;
    char *dir = sluice_test_mkdtemp("exec_recover_drained");
    static const char *const names[] = {"topic", "file"};
    static const int file_plan[1][PARTS] = {{10, 0, 0}};
    char err[512] = "";
    sluice_ckpt *ckpt = NULL;
    if (sluice_ckpt_open(dir, "fp", &ckpt, err, sizeof err) != SLUICE_OK) fail_msg("%s", err);
    /* run 1: the topic has nothing now; the file has 10 records, then ends */
    script_source topic_src = {.base.ops = &script_ops, .plan = file_plan, .nplan = 0};
    script_source file_src = {.base.ops = &script_ops, .plan = file_plan, .nplan = 1, .end_after_plan = 1};
    count_transform t = {.base.ops = &count_ops};
    sluice_source *srcs[2] = {&topic_src.base, &file_src.base};
    sluice_exec x;
    memset(&x, 0, sizeof x);
    x.sources = srcs;
    x.source_names = names;
    x.nsources = 2;
    x.transform = &t.base;
    x.available_now = 1;
    x.max_records = 1000;
    x.pipeline = "recover";
    x.ckpt = ckpt;
    x.checkpoint_every = 1;
    assert_int_equal(sluice_exec_init(&x), SLUICE_OK);
    int done = 0;
    for (int e = 0; e < 10 && !done; e++)
        if (sluice_exec_step(&x, &done, err, sizeof err) != SLUICE_OK) fail_msg("step: %s", err);
    assert_true(done);
    assert_int_equal(t.n[0], 10);
    sluice_exec_free(&x);
    sluice_ckpt_close(ckpt);

    /* run 2: the topic has records now (10 of each partition a poll) */
    if (sluice_ckpt_open(dir, "fp", &ckpt, err, sizeof err) != SLUICE_OK) fail_msg("%s", err);
    topic_src = (script_source){.base.ops = &script_ops};
    file_src = (script_source){.base.ops = &script_ops, .plan = file_plan, .nplan = 0, .end_after_plan = 1};
    t = (count_transform){.base.ops = &count_ops};
    memset(&x, 0, sizeof x);
    x.sources = srcs;
    x.source_names = names;
    x.nsources = 2;
    x.transform = &t.base;
    x.available_now = 1;
    x.max_records = 1000;
    x.pipeline = "recover";
    x.ckpt = ckpt;
    x.checkpoint_every = 1;
    assert_int_equal(sluice_exec_init(&x), SLUICE_OK);
    if (sluice_exec_recover(&x, err, sizeof err) != SLUICE_OK) fail_msg("recover: %s", err);
    assert_int_equal(sluice_exec_step(&x, &done, err, sizeof err), SLUICE_OK);
    assert_true(topic_src.calls > 0); /* polled again */
    assert_int_equal(t.n[0], 10 + 10); /* restored 10 (the file's) + the topic's 10 of partition 0 */
    assert_int_equal(t.n[1], 10);
    assert_int_equal(file_src.calls, 0); /* the file ended for good */
    sluice_exec_free(&x);
    sluice_ckpt_close(ckpt);
    free(dir);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_recovery_positions_every_partition_before_the_first_poll),
        cmocka_unit_test(test_recovery_without_replay_seeks_each_partition_once),
        cmocka_unit_test(test_an_epoch_that_only_saw_the_end_replays),
        cmocka_unit_test(test_records_of_an_unlogged_partition_are_read_after_the_replay),
        cmocka_unit_test(test_a_source_drained_under_available_now_is_read_again_next_run),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
