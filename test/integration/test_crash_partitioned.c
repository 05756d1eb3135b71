/*
 * Exactly-once across crashes for the partitioned file sink: file source
 * to a file sink with partition_by, killed with SIGKILL at 20+ random
 * instants and made to abort() before and after its commits and halfway
 * through snapshot and offsets writes (sluice_crash_drive), restarted each
 * time.  The published table, read through the manifest (partition value
 * from the path, the rest from the files), must equal one uninterrupted
 * run's; and before every restart, what a crash left behind must show no
 * file of an epoch that has no manifest record (an interrupted epoch leaves
 * nothing visible).
 */
#include "sluice_test.h"
#include "crash_support.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "connectors/file_partitioned.h"

static const char *sql =
    "CREATE SOURCE flights (\n"
    "    date TIMESTAMP FORMAT '%Y/%m/%d %H:%M', delay BIGINT, origin VARCHAR,\n"
    "    WATERMARK FOR date AS date - INTERVAL '5' MINUTE);\n"
    "CREATE SINK hourly AS SELECT window_start, origin, COUNT(*) AS n, MAX(delay) AS max_delay\n"
    "FROM flights GROUP BY TUMBLE(date, INTERVAL '1' HOUR), origin EMIT APPEND;\n";

typedef struct run_dir {
    char dir[4096], sql[4200], ini[4200], cp[4200], err[4200], out[4200];
} run_dir;

static void make_dir(run_dir *r, const char *name) {
    char *d = sluice_test_mkdtemp(name);
    assert_non_null(d);
    snprintf(r->dir, sizeof r->dir, "%s", d);
    free(d);
    snprintf(r->sql, sizeof r->sql, "%s/p.sql", r->dir);
    snprintf(r->ini, sizeof r->ini, "%s/p.test.ini", r->dir);
    snprintf(r->cp, sizeof r->cp, "%s/checkpoint", r->dir);
    snprintf(r->err, sizeof r->err, "%s/stderr.txt", r->dir);
    snprintf(r->out, sizeof r->out, "%s/hourly", r->dir);
    assert_int_equal(sluice_test_write_file(r->sql, sql), 0);
    char ini[16384];
    snprintf(ini, sizeof ini,
             "[pipeline]\ntrigger = available_now\nmax_batch_rows = 200\ncheckpoint_dir = %s\n"
             "[source flights]\npath = %s\n"
             "[sink hourly]\nconnector = file\npath = %s\nformat = csv\npartition_by = origin\n"
             "rollover_rows = 7\n",
             r->cp, sluice_test_fixture("data/flights-20k.jsonl"), r->out);
    assert_int_equal(sluice_test_write_file(r->ini, ini), 0);
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

typedef struct lines {
    char **v;
    size_t n, cap;
} lines;

static void push(lines *l, char *s) {
    if (l->n == l->cap) l->v = realloc(l->v, (l->cap = l->cap ? 2 * l->cap : 1024) * sizeof *l->v);
    l->v[l->n++] = s;
}

/* The published files (relative), from every manifest record. */
static lines published(const char *out) {
    sluice_manifest_key key = {"p", "hourly", out, "csv", "origin"};
    int64_t *epochs = NULL;
    size_t ne = 0;
    char err[1024];
    lines files = {0};
    if (sluice_manifest_epochs(out, &epochs, &ne, err, sizeof err) != SLUICE_OK) fail_msg("%s", err);
    for (size_t e = 0; e < ne; e++) {
        char **f = NULL;
        size_t nf = 0;
        if (sluice_manifest_read(out, &key, epochs[e], &f, &nf, err, sizeof err) != SLUICE_OK) fail_msg("%s", err);
        for (size_t i = 0; i < nf; i++) push(&files, f[i]);
        free(f);
    }
    free(epochs);
    if (files.n) qsort(files.v, files.n, sizeof *files.v, cmp_str); /* v is NULL when empty */
    return files;
}

/* The table: "origin=X,<row>" for every row of every published file, sorted. */
static lines table(const char *out) {
    lines files = published(out), rows = {0};
    for (size_t i = 0; i < files.n; i++) {
        char path[8400];
        snprintf(path, sizeof path, "%s/%s", out, files.v[i]);
        char *text = sluice_test_read_file(path, NULL);
        if (!text) fail_msg("published file %s is not in place", path);
        char *save = NULL;
        size_t dl = strcspn(files.v[i], "/");
        assert_string_equal(strtok_r(text, "\n", &save), "window_start,n,max_delay");
        for (char *l = strtok_r(NULL, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
            char *s = malloc(dl + strlen(l) + 2);
            sprintf(s, "%.*s,%s", (int)dl, files.v[i], l);
            push(&rows, s);
        }
        free(text);
        free(files.v[i]);
    }
    free(files.v);
    if (rows.n) qsort(rows.v, rows.n, sizeof *rows.v, cmp_str);
    return rows;
}

static void free_lines(lines *l) {
    for (size_t i = 0; i < l->n; i++) free(l->v[i]);
    free(l->v);
}

/* Every visible part file under dir (relative), appended to l. */
static void visible(const char *root, const char *rel, lines *l) {
    char full[8400];
    snprintf(full, sizeof full, "%s%s%s", root, rel[0] ? "/" : "", rel);
    DIR *d = opendir(full);
    if (!d) return;
    struct dirent *de;
    while ((de = readdir(d))) {
        if (de->d_name[0] == '.' || !strcmp(de->d_name, SLUICE_MANIFEST_DIR)) continue;
        char sub[8400], subfull[16800];
        snprintf(sub, sizeof sub, "%s%s%s", rel, rel[0] ? "/" : "", de->d_name);
        snprintf(subfull, sizeof subfull, "%s/%s", root, sub);
        struct stat st;
        if (stat(subfull, &st) != 0) continue;
        if (S_ISDIR(st.st_mode)) visible(root, sub, l);
        else push(l, strdup(sub));
    }
    closedir(d);
}

typedef struct crash_ctx {
    run_dir ref, r;
    lines want;
    int checks;
} crash_ctx;

/* What the last (killed) run left: every visible file is in a manifest. */
static void before_run(void *ctx, int cycle) {
    (void)cycle;
    crash_ctx *c = ctx;
    struct stat st;
    if (stat(c->r.out, &st) != 0) return;
    lines files = published(c->r.out), seen = {0};
    visible(c->r.out, "", &seen);
    for (size_t i = 0; i < seen.n; i++)
        if (!bsearch(&seen.v[i], files.v, files.n, sizeof *files.v, cmp_str))
            fail_msg("'%s' is visible but no manifest record publishes it", seen.v[i]);
    c->checks++;
    free_lines(&files);
    free_lines(&seen);
}

static void compare(void *ctx, int cycle) {
    (void)cycle;
    crash_ctx *c = ctx;
    lines got = table(c->r.out);
    if (got.n != c->want.n) fail_msg("%zu rows published, %zu in the uninterrupted run", got.n, c->want.n);
    for (size_t i = 0; i < got.n; i++)
        if (strcmp(got.v[i], c->want.v[i]) != 0)
            fail_msg("row %zu is '%s', the uninterrupted run has '%s'", i, got.v[i], c->want.v[i]);
    free_lines(&got);
}

static void new_cycle(void *ctx, int cycle) {
    (void)cycle;
    crash_ctx *c = ctx;
    char cmd[9000];
    snprintf(cmd, sizeof cmd, "rm -rf '%s' '%s'", c->r.cp, c->r.out);
    assert_int_equal(system(cmd), 0);
}

static void test_sigkill_and_aborts_publish_each_epoch_once(void **state) {
    (void)state;
    static crash_ctx c;
    make_dir(&c.ref, "pcrash-ref");
    int st = sluice_crash_wait(sluice_crash_start(c.ref.sql, c.ref.err, NULL));
    assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    c.want = table(c.ref.out);
    assert_int_equal(c.want.n, 17473); /* as test_crash_recovery's hourly sink */
    make_dir(&c.r, "pcrash-kill");
    const sluice_crash_test t = {.name = "file-to-partitioned-file",
                                 .sql_path = c.r.sql,
                                 .err_path = c.r.err,
                                 .sinks = (const char *const[]){"hourly", NULL},
                                 .connector = "file",
                                 .seed = 20261207,
                                 .kill_min_us = 1000,
                                 .kill_span_us = 150000,
                                 .ctx = &c,
                                 .before_run = before_run,
                                 .compare = compare,
                                 .new_cycle = new_cycle};
    sluice_crash_drive(&t);
    assert_true(c.checks > 20);
    free_lines(&c.want);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sigkill_and_aborts_publish_each_epoch_once),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
