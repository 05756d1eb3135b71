/*
 * What a checkpointed run finds of earlier runs is validated, never trusted
 * blindly (README "Exactly once"): `sluice run` against a file sink's output
 * and sidecar and a checkpoint directory that were changed after a run —
 * sidecar deleted, output truncated (copytruncate) or removed, checkpoint
 * reset, offsets log deleted, newest snapshot truncated — exits 2 naming
 * the file and the way out, and leaves the output as it was; the way out
 * then gives the output one clean run writes.  Also the checkpoint lock: a
 * second `sluice run` on a directory in use exits 2.  Runs the real binary.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "sluice_test.h"

static char *dir;
static char sql_path[4200], ini_path[4200], err_path[4200], in_path[4200], out_csv[4200], side[4300], ckpt[4200];

/* one row per input line, three epochs of one row each */
static const char pipeline_sql[] =
    "CREATE SOURCE ev (k VARCHAR, v BIGINT, ts TIMESTAMP, WATERMARK FOR ts AS ts);\n"
    "CREATE SINK out AS SELECT k, v FROM ev;\n";

static const char input_csv[] = "k,v,ts\n"
                                "a,1,2001-01-01 00:01:00\n"
                                "b,2,2001-01-01 00:02:00\n"
                                "c,3,2001-01-01 00:03:00\n";

static const char expected_out[] = "k,v\na,1\nb,2\nc,3\n";

static int setup(void **state) {
    (void)state;
    dir = sluice_test_mkdtemp("durable");
    if (!dir) return -1;
    snprintf(sql_path, sizeof sql_path, "%s/p.sql", dir);
    snprintf(ini_path, sizeof ini_path, "%s/p.test.ini", dir);
    snprintf(err_path, sizeof err_path, "%s/stderr.txt", dir);
    snprintf(in_path, sizeof in_path, "%s/in.csv", dir);
    snprintf(out_csv, sizeof out_csv, "%s/out.csv", dir);
    snprintf(side, sizeof side, "%s.epoch", out_csv);
    snprintf(ckpt, sizeof ckpt, "%s/ckpt", dir);
    if (sluice_test_write_file(sql_path, pipeline_sql) != 0 || sluice_test_write_file(in_path, input_csv) != 0)
        return -1;
    return 0;
}

static int teardown(void **state) {
    (void)state;
    free(dir);
    return 0;
}

/* the profile; `extra` goes into [pipeline] */
static void write_ini(const char *extra, int follow) {
    char ini[16384];
    snprintf(ini, sizeof ini,
             "[pipeline]\ntrigger = %s\nmax_batch_rows = 1\ncheckpoint_dir = %s\n%s"
             "[source ev]\npath = %s\nformat = csv\n%s"
             "[sink out]\nconnector = file\npath = %s\n",
             follow ? "50ms" : "available_now", ckpt, extra, in_path, follow ? "follow = true\n" : "", out_csv);
    assert_int_equal(sluice_test_write_file(ini_path, ini), 0);
}

static int run(void) {
    const char *argv[] = {"run", sql_path, "--quiet", NULL};
    return sluice_test_run_cli(argv, NULL, err_path);
}

static char *read_or_empty(const char *path) {
    char *t = sluice_test_read_file(path, NULL);
    return t ? t : strdup("");
}

static void assert_file(const char *path, const char *want) {
    char *t = read_or_empty(path);
    if (strcmp(t, want) != 0) fail_msg("%s holds '%s', expected '%s'", path, t, want);
    free(t);
}

static void assert_err_contains(const char *needle) {
    char *t = read_or_empty(err_path);
    if (!strstr(t, needle)) fail_msg("expected '%s' in stderr:\n%s", needle, t);
    free(t);
}

/* a clean first run: the three rows, committed */
static void first_run(void) {
    write_ini("", 0);
    assert_int_equal(run(), 0);
    assert_file(out_csv, expected_out);
}

static void rm_rf(const char *path) {
    const char *argv[] = {"rm", "-rf", path, NULL};
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        execvp("rm", (char *const *)argv);
        _exit(127);
    }
    int st = 0;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
}

static void test_deleted_sidecar_is_refused_not_emptied(void **state) {
    (void)state;
    first_run();
    assert_int_equal(unlink(side), 0);
    assert_int_equal(run(), 2);
    assert_err_contains("out.csv' exists (16 bytes) but has no epoch record");
    assert_file(out_csv, expected_out); /* was re-created empty, exit 0 */
}

static void test_copytruncated_output_is_refused_not_padded(void **state) {
    (void)state;
    first_run();
    assert_int_equal(truncate(out_csv, 0), 0);
    assert_int_equal(run(), 2);
    assert_err_contains("out.csv' is 0 bytes, shorter than the 16 bytes committed up to epoch 3");
    struct stat st;
    assert_int_equal(stat(out_csv, &st), 0);
    assert_int_equal(st.st_size, 0); /* was grown back with NUL bytes */
}

static void test_missing_output_with_sidecar_is_refused(void **state) {
    (void)state;
    first_run();
    assert_int_equal(unlink(out_csv), 0);
    assert_int_equal(run(), 2);
    assert_err_contains("out.csv' is missing, but");
}

/* A reset (or deleted) checkpoint next to an output that committed epochs
 * 0..3 (the last one sees the end of the input): the new run's epochs 0..2 would be skipped at the sink (lost). */
static void test_reset_checkpoint_with_committed_output_is_refused(void **state) {
    (void)state;
    first_run();
    const char *argv[] = {"checkpoint", "reset", ckpt, NULL};
    assert_int_equal(sluice_test_run_cli(argv, NULL, NULL), 0);
    assert_int_equal(run(), 2);
    assert_err_contains("sink out has committed epoch 3, but checkpoint_dir");
    assert_err_contains("only reaches epoch -1");
    assert_file(out_csv, expected_out);
    rm_rf(ckpt); /* a deleted checkpoint: the same */
    assert_int_equal(run(), 2);
    assert_err_contains("sink out has committed epoch 3");
    /* the way out: the output moved away with its sidecar */
    char moved[4400];
    snprintf(moved, sizeof moved, "%s.old", out_csv);
    assert_int_equal(rename(out_csv, moved), 0);
    assert_int_equal(unlink(side), 0);
    assert_int_equal(run(), 0);
    assert_file(out_csv, expected_out);
}

/* What a killed run leaves: offsets of an epoch whose snapshot was never
 * written (abort inside the 2nd snapshot write, after the sink committed
 * epoch 1).  With that offsets record deleted, recovery would restart
 * epoch 1 from the snapshot of epoch 0 and the sink would skip it: row b
 * lost, exit 0. */
static void test_deleted_offsets_after_a_crash_are_refused(void **state) {
    (void)state;
    write_ini("fault.abort_in_snapshot = 2\n", 0);
    int rc = run();
    assert_true(rc != 0);
    char off1[4400];
    snprintf(off1, sizeof off1, "%s/offsets/%020d", ckpt, 1);
    struct stat st;
    assert_int_equal(stat(off1, &st), 0);
    assert_file(out_csv, "k,v\na,1\nb,2\n");
    /* as left: the run recovers and finishes the output */
    char saved[4500];
    snprintf(saved, sizeof saved, "%s.saved", off1);
    {
        char *raw = NULL;
        size_t n = 0;
        raw = sluice_test_read_file(off1, &n);
        assert_non_null(raw);
        FILE *f = fopen(saved, "wb");
        assert_non_null(f);
        assert_int_equal(fwrite(raw, 1, n, f), n);
        fclose(f);
        free(raw);
    }
    assert_int_equal(unlink(off1), 0);
    write_ini("", 0);
    assert_int_equal(run(), 2);
    assert_err_contains("sink out has committed epoch 1, but checkpoint_dir");
    assert_file(out_csv, "k,v\na,1\nb,2\n");
    /* restored: recovery replays epoch 1 (the sink skips it) and goes on */
    assert_int_equal(rename(saved, off1), 0);
    assert_int_equal(run(), 0);
    assert_file(out_csv, expected_out);
}

static void test_truncated_newest_snapshot_is_refused(void **state) {
    (void)state;
    first_run();
    char snap[4400];
    /* the end of the input: the snapshot of the last epoch (3) is kept */
    snprintf(snap, sizeof snap, "%s/state/%020d", ckpt, 3);
    struct stat st;
    assert_int_equal(stat(snap, &st), 0);
    assert_int_equal(truncate(snap, st.st_size / 2), 0);
    assert_int_equal(run(), 2);
    assert_err_contains("00000000000000000003' is torn or corrupt");
    assert_err_contains("sluice checkpoint reset");
    assert_file(out_csv, expected_out);
    /* `checkpoint show` reports it */
    char show_out[4300];
    snprintf(show_out, sizeof show_out, "%s/show.txt", dir);
    const char *argv[] = {"checkpoint", "show", ckpt, NULL};
    assert_int_equal(sluice_test_run_cli(argv, show_out, NULL), 0);
    char *t = read_or_empty(show_out);
    if (!strstr(t, "epoch 3: BAD: ") || !strstr(t, "lock: free")) fail_msg("show printed:\n%s", t);
    free(t);
}

static int64_t mono_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* A followed run holds the checkpoint; a second run on it is refused. */
static void test_second_run_on_a_checkpoint_in_use_is_refused(void **state) {
    (void)state;
    write_ini("", 1);
    char err1[4300];
    snprintf(err1, sizeof err1, "%s/first.txt", dir);
    const char *argv[] = {"run", sql_path, "--quiet", NULL};
    int pid = sluice_test_spawn_cli(argv, NULL, err1);
    assert_true(pid > 0);
    /* awaited: the first run has committed all three rows */
    int64_t deadline = mono_ms() + 20000;
    int seen = 0;
    while (!seen && mono_ms() < deadline) {
        char *t = read_or_empty(out_csv);
        seen = strcmp(t, expected_out) == 0;
        free(t);
        if (!seen) {
            struct timespec ts = {0, 10 * 1000000L};
            nanosleep(&ts, NULL);
        }
    }
    if (!seen) {
        kill(pid, SIGKILL);
        sluice_test_wait_cli(pid, 10000);
        fail_msg("the first run wrote no output within 20 s");
    }
    /* bounded: without the lock the second run would follow the file too */
    int second = sluice_test_spawn_cli(argv, NULL, err_path);
    assert_true(second > 0);
    assert_int_equal(sluice_test_wait_cli(second, 20000), 2);
    char want[4400];
    snprintf(want, sizeof want, "checkpoint directory %s is in use by another process (pid %d)", ckpt, pid);
    assert_err_contains(want);
    const char *reset[] = {"checkpoint", "reset", ckpt, NULL};
    assert_int_equal(sluice_test_run_cli(reset, NULL, err_path), 2);
    assert_err_contains(want);
    assert_int_equal(kill(pid, SIGTERM), 0);
    assert_int_equal(sluice_test_wait_cli(pid, 20000), 0);
    assert_file(out_csv, expected_out);
    /* released with the process */
    assert_int_equal(sluice_test_run_cli(reset, NULL, err_path), 0);
}

/* The bug: a second run opened its sinks before it took the checkpoint
 * lock, so its file sink cut the output back to the committed length --
 * removing the rows the running holder had written but not yet committed
 * -- and only then was refused.  Here the test holds the lock and the
 * output has such a tail: the refused run must leave it alone. */
static void test_run_refused_by_the_lock_leaves_the_holders_output_alone(void **state) {
    (void)state;
    first_run();
    char lock[4300];
    snprintf(lock, sizeof lock, "%s/lock", ckpt);
    int fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    assert_true(fd >= 0);
    assert_int_equal(flock(fd, LOCK_EX | LOCK_NB), 0);
    char pid[32];
    int n = snprintf(pid, sizeof pid, "%ld\n", (long)getpid());
    assert_int_equal(ftruncate(fd, 0), 0);
    assert_int_equal(pwrite(fd, pid, (size_t)n, 0), n);
    /* the holder's epoch in flight: written, not yet committed */
    FILE *f = fopen(out_csv, "a");
    assert_non_null(f);
    fputs("d,4\n", f);
    fclose(f);
    char *before = read_or_empty(side);
    assert_int_equal(run(), 2);
    char want[4400];
    snprintf(want, sizeof want, "checkpoint directory %s is in use by another process (pid %ld)", ckpt,
             (long)getpid());
    assert_err_contains(want);
    assert_file(out_csv, "k,v\na,1\nb,2\nc,3\nd,4\n");
    assert_file(side, before);
    free(before);
    close(fd);
}

/* The bug: a checkpointed run whose file source had reached its end kept
 * it ended; lines appended to the file afterwards were never read and the
 * next run exited 0 having read none of them.  It is refused instead; an
 * unchanged file still runs (nothing to do). */
static void test_lines_appended_after_the_end_are_refused_not_ignored(void **state) {
    (void)state;
    first_run();
    assert_int_equal(run(), 0); /* unchanged: nothing new, exit 0 */
    assert_file(out_csv, expected_out);
    FILE *f = fopen(in_path, "a");
    assert_non_null(f);
    fputs("d,4,2001-01-01 00:04:00\n", f);
    fclose(f);
    assert_int_equal(run(), 2);
    assert_err_contains("recovery: source ev reached the end of its input in an earlier run");
    assert_err_contains("follow = true");
    assert_file(out_csv, expected_out);
}

/* The checkpoint records the file a source reads: pointed at another file,
 * whose lines its positions do not describe, a restart is refused (it used
 * to resume at line N of the new file); the same file spelled otherwise is
 * the same input. */
static void test_another_input_file_is_refused(void **state) {
    (void)state;
    first_run();
    /* the same file through another spelling of its path */
    char same[4200];
    snprintf(same, sizeof same, "%.4000s/./in.csv", dir);
    char saved[4200];
    snprintf(saved, sizeof saved, "%s", in_path);
    snprintf(in_path, sizeof in_path, "%s", same);
    write_ini("", 0);
    assert_int_equal(run(), 0);
    assert_file(out_csv, expected_out);
    /* another file with as many lines and one more */
    char other[4200];
    snprintf(other, sizeof other, "%.4000s/other.csv", dir);
    assert_int_equal(sluice_test_write_file(other, "k,v,ts\nx,7,2001-01-01 00:01:00\ny,8,2001-01-01 00:02:00\n"
                                                   "z,9,2001-01-01 00:03:00\nw,10,2001-01-01 00:04:00\n"),
                     0);
    snprintf(in_path, sizeof in_path, "%s", other);
    write_ini("", 0);
    assert_int_equal(run(), 2);
    assert_err_contains("was written reading other input (source ev: file path = ");
    assert_err_contains("/other.csv)");
    assert_file(out_csv, expected_out);
    snprintf(in_path, sizeof in_path, "%s", saved);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_deleted_sidecar_is_refused_not_emptied, setup, teardown),
        cmocka_unit_test_setup_teardown(test_copytruncated_output_is_refused_not_padded, setup, teardown),
        cmocka_unit_test_setup_teardown(test_missing_output_with_sidecar_is_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reset_checkpoint_with_committed_output_is_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_deleted_offsets_after_a_crash_are_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_truncated_newest_snapshot_is_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_second_run_on_a_checkpoint_in_use_is_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_run_refused_by_the_lock_leaves_the_holders_output_alone, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_lines_appended_after_the_end_are_refused_not_ignored, setup, teardown),
        cmocka_unit_test_setup_teardown(test_another_input_file_is_refused, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
