/*
 * Exactly-once across crashes (docs/checkpoints.md "What a test must
 * show"), file source to file sinks: a pipeline with an APPEND windowed
 * aggregate, a keyed UPDATE aggregate and a stateless alert query is killed
 * with SIGKILL at 20+ random instants, and made to abort() before and after
 * sink commits (the fault connector) and halfway through snapshot and
 * offsets writes, restarted each time, and its outputs are
 * compared with those of one uninterrupted run.  A SIGTERM stop snapshots,
 * so the restart after it replays nothing.
 */
#include "sluice_test.h"
#include "crash_support.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static const char *sql = SLUICE_CRASH_SQL
    "CREATE SINK alerts AS SELECT date, origin, delay FROM flights WHERE delay > 180;\n";

typedef struct run_dir {
    char dir[4096], sql[4200], ini[4200], cp[4200], err[4200];
    char out[3][4200];
} run_dir;

static const char *sinks[3] = {"hourly", "totals", "alerts"};

static void make_dir(run_dir *r, const char *name) {
    char *d = sluice_test_mkdtemp(name);
    assert_non_null(d);
    snprintf(r->dir, sizeof r->dir, "%s", d);
    free(d);
    snprintf(r->sql, sizeof r->sql, "%s/p.sql", r->dir);
    snprintf(r->ini, sizeof r->ini, "%s/p.test.ini", r->dir);
    snprintf(r->cp, sizeof r->cp, "%s/checkpoint", r->dir);
    snprintf(r->err, sizeof r->err, "%s/stderr.txt", r->dir);
    for (int k = 0; k < 3; k++) snprintf(r->out[k], sizeof r->out[k], "%s/%s.csv", r->dir, sinks[k]);
    assert_int_equal(sluice_test_write_file(r->sql, sql), 0);
    char ini[32768];
    snprintf(ini, sizeof ini,
             "[pipeline]\ntrigger = available_now\nmax_batch_rows = 50\ncheckpoint_dir = %s\n"
             "[source flights]\npath = %s\n"
             "[sink hourly]\nconnector = file\npath = %s\n"
             "[sink totals]\nconnector = file\npath = %s\n"
             "[sink alerts]\nconnector = file\npath = %s\n",
             r->cp, sluice_test_fixture("data/flights-20k.jsonl"), r->out[0], r->out[1], r->out[2]);
    assert_int_equal(sluice_test_write_file(r->ini, ini), 0);
}

/* sluice run r->sql --quiet --log-level info EXTRA... */
static pid_t start(const run_dir *r, const char *const *extra) {
    return sluice_crash_start(r->sql, r->err, extra);
}

static int wait_status(pid_t pid) {
    return sluice_crash_wait(pid);
}

static int cmp_str(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The lines of a CSV after its header, sorted; for a keyed UPDATE sink
 * only the last line of each key (the first field). */
static char **lines_of(const char *path, int last_per_key, size_t *n) {
    char *text = sluice_test_read_file(path, NULL);
    assert_non_null(text);
    size_t cap = 1024, cnt = 0;
    char **v = malloc(cap * sizeof *v);
    char *save = NULL;
    strtok_r(text, "\n", &save); /* header */
    for (char *l = strtok_r(NULL, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
        if (last_per_key) {
            size_t klen = strcspn(l, ",");
            size_t j;
            for (j = 0; j < cnt; j++)
                if (strncmp(v[j], l, klen) == 0 && v[j][klen] == ',') break;
            if (j < cnt) {
                free(v[j]);
                v[j] = strdup(l);
                continue;
            }
        }
        if (cnt == cap) v = realloc(v, (cap *= 2) * sizeof *v);
        v[cnt++] = strdup(l);
    }
    free(text);
    qsort(v, cnt, sizeof *v, cmp_str);
    *n = cnt;
    return v;
}

static void assert_same_output(const run_dir *ref, const run_dir *got) {
    for (int k = 0; k < 3; k++) {
        size_t na, nb;
        char **a = lines_of(ref->out[k], k == 1, &na);
        char **b = lines_of(got->out[k], k == 1, &nb);
        if (na != nb) fail_msg("sink %s: %zu rows, %zu in the uninterrupted run", sinks[k], nb, na);
        for (size_t i = 0; i < na; i++)
            if (strcmp(a[i], b[i]) != 0)
                fail_msg("sink %s: row %zu is '%s', the uninterrupted run has '%s'", sinks[k], i, b[i], a[i]);
        for (size_t i = 0; i < na; i++) free(a[i]), free(b[i]);
        free(a);
        free(b);
    }
}

static void reference(run_dir *ref) {
    make_dir(ref, "crash-ref");
    int st = wait_status(start(ref, NULL));
    assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    /* the uninterrupted run itself equals the expected sizes */
    size_t n;
    char **l = lines_of(ref->out[0], 0, &n);
    assert_int_equal(n, 17473);
    for (size_t i = 0; i < n; i++) free(l[i]);
    free(l);
}

/* Start a cycle over: no checkpoint, no outputs. */
static void wipe(const run_dir *r) {
    char cmd[20000];
    snprintf(cmd, sizeof cmd, "rm -rf '%s' '%s'* '%s'* '%s'*", r->cp, r->out[0], r->out[1], r->out[2]);
    assert_int_equal(system(cmd), 0);
}

typedef struct crash_ctx {
    run_dir ref, r;
} crash_ctx;

static void compare(void *ctx, int cycle) {
    (void)cycle;
    crash_ctx *c = ctx;
    assert_same_output(&c->ref, &c->r);
}

static void new_cycle(void *ctx, int cycle) {
    (void)cycle;
    wipe(&((crash_ctx *)ctx)->r);
}

static void test_sigkill_at_random_instants_and_aborts_in_commits(void **state) {
    (void)state;
    static crash_ctx c;
    reference(&c.ref);
    make_dir(&c.r, "crash-kill");
    const sluice_crash_test t = {.name = "file-to-file",
                                 .sql_path = c.r.sql,
                                 .err_path = c.r.err,
                                 .sinks = (const char *const[]){"hourly", "totals", "alerts", NULL},
                                 .connector = "file",
                                 .seed = 20261122,
                                 .min_recoveries = 12, /* about half of the 24 to 43 its runs reach */
                                 .kill_min_us = 1000,
                                 .kill_span_us = 100000,
                                 .ctx = &c,
                                 .compare = compare,
                                 .new_cycle = new_cycle};
    sluice_crash_drive(&t);
}

static void test_sigterm_snapshots_so_restart_replays_nothing(void **state) {
    (void)state;
    run_dir ref, r;
    reference(&ref);
    make_dir(&r, "crash-term");
    pid_t pid = start(&r, NULL);
    sluice_crash_sleep_us(400000);
    assert_int_equal(kill(pid, SIGTERM), 0);
    int st = wait_status(pid);
    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 0);
    unlink(r.err);
    st = wait_status(start(&r, NULL));
    assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    char *log = sluice_test_read_file(r.err, NULL);
    assert_non_null(log);
    if (!strstr(log, " 0 epoch(s) replayed")) fail_msg("the restart after SIGTERM replayed epochs:\n%s", log);
    free(log);
    assert_same_output(&ref, &r);
}

static void test_checkpoint_show_and_reset(void **state) {
    (void)state;
    run_dir ref;
    reference(&ref); /* 20000 rows, 50 per epoch: epochs 0..400 (the last one sees the end) */
    char out[4300];
    snprintf(out, sizeof out, "%s/show.txt", ref.dir);
    const char *show[] = {"checkpoint", "show", ref.cp, NULL};
    assert_int_equal(sluice_test_run_cli(show, out, NULL), 0);
    char *text = sluice_test_read_file(out, NULL);
    assert_non_null(strstr(text, "sink totals"));
    assert_non_null(strstr(text, "snapshots: 1\n  epoch 400: "));
    assert_non_null(strstr(text, "intact"));
    assert_non_null(strstr(text, "offsets log (epochs after the newest snapshot are replayed): 0"));
    free(text);
    const char *reset[] = {"checkpoint", "reset", ref.cp, NULL};
    assert_int_equal(sluice_test_run_cli(reset, out, NULL), 0);
    assert_int_equal(sluice_test_run_cli(show, out, NULL), 2);
    const char *bad[] = {"checkpoint", "shw", ref.cp, NULL};
    assert_int_equal(sluice_test_run_cli(bad, NULL, NULL), 2);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sigkill_at_random_instants_and_aborts_in_commits),
        cmocka_unit_test(test_sigterm_snapshots_so_restart_replays_nothing),
        cmocka_unit_test(test_checkpoint_show_and_reset),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
