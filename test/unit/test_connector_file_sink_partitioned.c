/*
 * The file sink with partition_by: Hive escaping, the directory layout and
 * file contents byte for byte (partition columns dropped), rollover, the
 * per-epoch manifest, recovery at open (an interrupted epoch leaves nothing
 * visible; an epoch whose manifest exists is completed) and the refusals.
 * Every expected path and text is written out by hand.
 */
#include "sluice_test.h"
#include "conn_support.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "connectors/connectors.h"
#include "connectors/file_partitioned.h"

#define T2001 978307200000LL /* 2001-01-01 00:00:00 UTC in ms */

static char *tmpdir;

static const sluice_column columns[] = {
    {.name = "sym", .type = SLUICE_TYPE_VARCHAR},
    {.name = "day", .type = SLUICE_TYPE_TIMESTAMP},
    {.name = "close", .type = SLUICE_TYPE_DOUBLE},
    {.name = "n", .type = SLUICE_TYPE_BIGINT},
};
static const sluice_schema schema = {.ncolumns = 4, .columns = columns};

static char *escaped(const char *s, size_t len) {
    char *buf = NULL;
    size_t n = 0;
    FILE *f = open_memstream(&buf, &n);
    assert_int_equal(sluice_hive_escape(f, s, len), 0);
    fclose(f);
    return buf;
}

static void hive_escape(void **state) {
    (void)state;
    struct { const char *in; size_t len; const char *out; } cases[] = {
        {"AAPL", 4, "AAPL"},
        {"a/b:c=d%e", 9, "a%2Fb%3Ac%3Dd%25e"},
        {"\"#'*?\\{[]^", 10, "%22%23%27%2A%3F%5C%7B%5B%5D%5E"},
        {"x\ny\x7f", 4, "x%0Ay%7F"},
        {"a\0b", 3, "a%00b"},
        {"caf\xc3\xa9 & co.", 11, "caf\xc3\xa9 & co."},
        {"2001-01-01 00:00:00", 19, "2001-01-01 00%3A00%3A00"},
        {"", 0, "__HIVE_DEFAULT_PARTITION__"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *got = escaped(cases[i].in, cases[i].len);
        assert_string_equal(got, cases[i].out);
        free(got);
    }
}

/* Every file under dir, relative, one per line, sorted. */
static void walk(const char *root, const char *rel, char ***names, size_t *n) {
    char full[4200];
    snprintf(full, sizeof full, "%s%s%s", root, rel[0] ? "/" : "", rel);
    DIR *d = opendir(full);
    assert_non_null(d);
    struct dirent *de;
    while ((de = readdir(d))) {
        if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, "..")) continue;
        char sub[4200], subfull[4400];
        snprintf(sub, sizeof sub, "%s%s%s", rel, rel[0] ? "/" : "", de->d_name);
        snprintf(subfull, sizeof subfull, "%s/%s", root, sub);
        struct stat st;
        assert_int_equal(stat(subfull, &st), 0);
        if (S_ISDIR(st.st_mode)) {
            walk(root, sub, names, n);
        } else {
            *names = realloc(*names, (*n + 1) * sizeof **names);
            (*names)[(*n)++] = strdup(sub);
        }
    }
    closedir(d);
}

static int cmp(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

static char *tree(const char *root) {
    char **names = NULL;
    size_t n = 0;
    walk(root, "", &names, &n);
    if (n) qsort(names, n, sizeof *names, cmp);
    size_t total = 1;
    for (size_t i = 0; i < n; i++) total += strlen(names[i]) + 1;
    char *s = calloc(1, total);
    for (size_t i = 0; i < n; i++) {
        strcat(s, names[i]);
        strcat(s, "\n");
        free(names[i]);
    }
    free(names);
    return s;
}

static char *dir_for(const char *name) {
    char *d = malloc(4200);
    snprintf(d, 4200, "%s/%s", tmpdir, name);
    return d;
}

static sluice_err_t try_open(const char *path, const char *format, const char *extra_key, const char *extra_val,
                             int checkpointing, sluice_test_cfg *c, sluice_sink **s, char *err, size_t errn) {
    sluice_test_cfg_init(c, "out", &schema);
    c->cfg.pipeline = "stocks";
    c->cfg.checkpointing = checkpointing;
    sluice_test_cfg_set(c, "path", path);
    sluice_test_cfg_set(c, "partition_by", " sym , day ");
    if (format) sluice_test_cfg_set(c, "format", format);
    if (extra_key) sluice_test_cfg_set(c, extra_key, extra_val);
    *s = NULL;
    return sluice_file_sink_ops.open(&c->cfg, s, err, errn);
}

static sluice_sink *open_ok(const char *path, const char *format, const char *k, const char *v, int ckpt,
                            sluice_test_cfg *c) {
    sluice_sink *s = NULL;
    char err[1024] = "";
    if (try_open(path, format, k, v, ckpt, c, &s, err, sizeof err) != SLUICE_OK) fail_msg("open: %s", err);
    return s;
}

static void put(sluice_row_batch *b, const char *sym, int64_t day, double close, int64_t n) {
    sluice_value *r = sluice_row_batch_append(b);
    r[0] = sym ? sluice_value_varchar(sym, strlen(sym)) : sluice_value_null();
    r[1] = sluice_value_timestamp(day);
    r[2] = sluice_value_double(close);
    r[3] = sluice_value_bigint(n);
}

static void write_epoch(sluice_sink *s, int64_t epoch, int commit) {
    sluice_row_batch b;
    assert_int_equal(sluice_row_batch_init(&b, &schema), SLUICE_OK);
    put(&b, "AAPL", T2001, 1.5, 1);
    put(&b, "A/B", T2001 + 86400000, 2.25, 2);
    put(&b, "AAPL", T2001, 3, 3);
    put(&b, NULL, T2001, -1, 4);
    put(&b, "AAPL", T2001 + 86400000, 4.5, 5);
    char err[512] = "";
    if (s->ops->write(s, epoch, &b, err, sizeof err) != SLUICE_OK) fail_msg("write: %s", err);
    if (commit && s->ops->commit(s, epoch, err, sizeof err) != SLUICE_OK) fail_msg("commit: %s", err);
    sluice_row_batch_free(&b);
}

static char *read_rel(const char *root, const char *rel) {
    char p[4400];
    snprintf(p, sizeof p, "%s/%s", root, rel);
    char *t = sluice_test_read_file(p, NULL);
    if (!t) fail_msg("cannot read %s", p);
    return t;
}

#define D1 "day=2001-01-01 00%3A00%3A00"
#define D2 "day=2001-01-02 00%3A00%3A00"

static void layout_csv(void **state) {
    (void)state;
    char *root = dir_for("csv");
    sluice_test_cfg c;
    sluice_sink *s = open_ok(root, "csv", NULL, NULL, 0, &c);
    write_epoch(s, 7, 1);
    s->ops->close(s);
    char *t = tree(root);
    assert_string_equal(t, "_sluice_manifest/7\n"
                           "sym=A%2FB/" D2 "/part-7-0.csv\n"
                           "sym=AAPL/" D1 "/part-7-0.csv\n"
                           "sym=AAPL/" D2 "/part-7-0.csv\n"
                           "sym=__HIVE_DEFAULT_PARTITION__/" D1 "/part-7-0.csv\n");
    free(t);
    t = read_rel(root, "sym=AAPL/" D1 "/part-7-0.csv");
    assert_string_equal(t, "close,n\n1.5,1\n3,3\n");
    free(t);
    t = read_rel(root, "sym=__HIVE_DEFAULT_PARTITION__/" D1 "/part-7-0.csv");
    assert_string_equal(t, "close,n\n-1,4\n");
    free(t);
    /* the manifest names the files in the order they were started */
    char **files = NULL;
    size_t nf = 0;
    char err[512];
    sluice_manifest_key key = {"stocks", "out", root, "csv", "sym,day"};
    assert_int_equal(sluice_manifest_read(root, &key, 7, &files, &nf, err, sizeof err), SLUICE_OK);
    assert_int_equal(nf, 4);
    assert_string_equal(files[0], "sym=AAPL/" D1 "/part-7-0.csv");
    assert_string_equal(files[1], "sym=A%2FB/" D2 "/part-7-0.csv");
    assert_string_equal(files[2], "sym=__HIVE_DEFAULT_PARTITION__/" D1 "/part-7-0.csv");
    assert_string_equal(files[3], "sym=AAPL/" D2 "/part-7-0.csv");
    sluice_manifest_free(files, nf);
    free(root);
}

static void layout_json(void **state) {
    (void)state;
    char *root = dir_for("json/missing/parents"); /* created */
    sluice_test_cfg c;
    sluice_sink *s = open_ok(root, NULL, NULL, NULL, 0, &c);
    write_epoch(s, 1, 1);
    /* through the "file" connector's own table, as the engine calls it */
    assert_int_equal(sluice_file_sink_ops.committed_epoch(s), 1);
    sluice_file_sink_ops.close(s);
    char *t = read_rel(root, "sym=A%2FB/" D2 "/part-1-0.json");
    assert_string_equal(t, "{\"close\":2.25,\"n\":2}\n");
    free(t);
    free(root);
}

static void rollover(void **state) {
    (void)state;
    char *root = dir_for("rollover");
    sluice_test_cfg c;
    sluice_sink *s = open_ok(root, "csv", "rollover_rows", "1", 0, &c);
    write_epoch(s, 2, 1);
    s->ops->close(s);
    char *t = tree(root);
    assert_string_equal(t, "_sluice_manifest/2\n"
                           "sym=A%2FB/" D2 "/part-2-0.csv\n"
                           "sym=AAPL/" D1 "/part-2-0.csv\n"
                           "sym=AAPL/" D1 "/part-2-1.csv\n"
                           "sym=AAPL/" D2 "/part-2-0.csv\n"
                           "sym=__HIVE_DEFAULT_PARTITION__/" D1 "/part-2-0.csv\n");
    free(t);
    t = read_rel(root, "sym=AAPL/" D1 "/part-2-1.csv");
    assert_string_equal(t, "close,n\n3,3\n");
    free(t);
    free(root);
    /* bytes: "close,n\n1.5,1\n" is 14 bytes, so a 10-byte limit cuts after each row */
    root = dir_for("rollover_bytes");
    s = open_ok(root, "csv", "rollover_bytes", "10", 0, &c);
    write_epoch(s, 2, 1);
    s->ops->close(s);
    t = read_rel(root, "sym=AAPL/" D1 "/part-2-1.csv");
    assert_string_equal(t, "close,n\n3,3\n");
    free(t);
    free(root);
}

/* Epoch 2 written (its temporary files on disk) but not committed: nothing
 * of it is visible, and the next open deletes it; epoch 1 stays. */
static void interrupted_epoch_leaves_nothing(void **state) {
    (void)state;
    char *root = dir_for("interrupted");
    sluice_test_cfg c;
    sluice_sink *s = open_ok(root, "csv", "rollover_rows", "1", 1, &c);
    assert_int_equal(s->ops->committed_epoch(s), -1);
    write_epoch(s, 1, 1);
    write_epoch(s, 2, 0);
    s->ops->close(s); /* as a crash would leave it */
    char *t = tree(root);
    assert_non_null(strstr(t, "sym=AAPL/" D1 "/.part-2-0.csv.tmp\n"));
    assert_null(strstr(t, "/part-2-"));
    free(t);
    s = open_ok(root, "csv", "rollover_rows", "1", 1, &c);
    assert_int_equal(s->ops->committed_epoch(s), 1);
    t = tree(root);
    assert_string_equal(t, "_sluice_manifest/1\n"
                           "sym=A%2FB/" D2 "/part-1-0.csv\n"
                           "sym=AAPL/" D1 "/part-1-0.csv\n"
                           "sym=AAPL/" D1 "/part-1-1.csv\n"
                           "sym=AAPL/" D2 "/part-1-0.csv\n"
                           "sym=__HIVE_DEFAULT_PARTITION__/" D1 "/part-1-0.csv\n");
    free(t);
    write_epoch(s, 2, 1);
    assert_int_equal(s->ops->committed_epoch(s), 2);
    s->ops->close(s);
    free(root);
}

/* A crash after the manifest record, before the renames: the next open
 * puts the files in place. */
static void committed_epoch_is_completed(void **state) {
    (void)state;
    char *root = dir_for("completed");
    sluice_test_cfg c;
    sluice_sink *s = open_ok(root, "csv", NULL, NULL, 1, &c);
    write_epoch(s, 1, 1);
    s->ops->close(s);
    char a[4400], b[4400];
    snprintf(a, sizeof a, "%s/%s", root, "sym=AAPL/" D1 "/part-1-0.csv");
    snprintf(b, sizeof b, "%s/%s", root, "sym=AAPL/" D1 "/.part-1-0.csv.tmp");
    assert_int_equal(rename(a, b), 0);
    s = open_ok(root, "csv", NULL, NULL, 1, &c);
    assert_int_equal(s->ops->committed_epoch(s), 1);
    s->ops->close(s);
    char *t = read_rel(root, "sym=AAPL/" D1 "/part-1-0.csv");
    assert_string_equal(t, "close,n\n1.5,1\n3,3\n");
    free(t);
    assert_int_equal(access(b, F_OK), -1);
    free(root);
}

/* More partitions in one epoch than the writer's first table holds (16):
 * each partition's buffer must stay where its memstream points. */
static void many_partitions(void **state) {
    (void)state;
    char *root = dir_for("many");
    sluice_test_cfg c;
    sluice_sink *s = open_ok(root, "csv", NULL, NULL, 0, &c);
    sluice_row_batch b;
    assert_int_equal(sluice_row_batch_init(&b, &schema), SLUICE_OK);
    char syms[40][8];
    for (int round = 0; round < 2; round++)
        for (int i = 0; i < 40; i++) {
            snprintf(syms[i], sizeof syms[i], "S%02d", i);
            put(&b, syms[i], T2001, i, round);
        }
    char err[512] = "";
    if (s->ops->write(s, 3, &b, err, sizeof err) != SLUICE_OK || s->ops->commit(s, 3, err, sizeof err) != SLUICE_OK)
        fail_msg("%s", err);
    sluice_row_batch_free(&b);
    s->ops->close(s);
    char *t = read_rel(root, "sym=S00/" D1 "/part-3-0.csv");
    assert_string_equal(t, "close,n\n0,0\n0,1\n");
    free(t);
    t = read_rel(root, "sym=S39/" D1 "/part-3-0.csv");
    assert_string_equal(t, "close,n\n39,0\n39,1\n");
    free(t);
    char **files = NULL;
    size_t nf = 0;
    sluice_manifest_key key = {"stocks", "out", root, "csv", "sym,day"};
    assert_int_equal(sluice_manifest_read(root, &key, 3, &files, &nf, err, sizeof err), SLUICE_OK);
    assert_int_equal(nf, 40);
    sluice_manifest_free(files, nf);
    free(root);
}

static void expect_refusal(const char *path, const char *format, const char *k, const char *v, int ckpt,
                           const char *needle) {
    sluice_test_cfg c;
    sluice_sink *s = NULL;
    char err[1024] = "";
    assert_int_equal(try_open(path, format, k, v, ckpt, &c, &s, err, sizeof err), SLUICE_ERR_CONFIG);
    assert_null(s);
    if (!strstr(err, needle)) fail_msg("'%s' does not say '%s'", err, needle);
}

/* The bug: a second writer of one partitioned directory (another run, with
 * its own checkpoint_dir or none) took the first one's temporary files for
 * an unpublished epoch's and deleted them; the first one's commit then
 * failed or published files that were gone.  It is refused instead. */
static void second_writer_of_one_directory_is_refused(void **state) {
    (void)state;
    char *root = dir_for("two_writers");
    sluice_test_cfg c;
    sluice_sink *s = open_ok(root, "csv", "rollover_rows", "1", 1, &c);
    write_epoch(s, 1, 0); /* in flight: temporary files (one row each) */
    for (int ckpt = 1; ckpt >= 0; ckpt--)
        expect_refusal(root, "csv", "rollover_rows", "1", ckpt, "is being written by another process or sink");
    char *t = tree(root);
    assert_non_null(strstr(t, "sym=AAPL/" D1 "/.part-1-0.csv.tmp\n")); /* still there */
    free(t);
    char err[512] = "";
    if (s->ops->commit(s, 1, err, sizeof err) != SLUICE_OK) fail_msg("commit: %s", err);
    s->ops->close(s);
    t = read_rel(root, "sym=AAPL/" D1 "/part-1-0.csv");
    assert_string_equal(t, "close,n\n1.5,1\n");
    free(t);
    s = open_ok(root, "csv", "rollover_rows", "1", 1, &c); /* the lock went with the first */
    assert_int_equal(s->ops->committed_epoch(s), 1);
    s->ops->close(s);
    free(root);
}

static void refusals(void **state) {
    (void)state;
    char *root = dir_for("refusals");
    sluice_test_cfg c;
    sluice_sink *s = open_ok(root, "csv", NULL, NULL, 1, &c);
    write_epoch(s, 1, 1);
    s->ops->close(s);
    /* without a checkpoint, a run writes a new output: not over an old one */
    expect_refusal(root, "csv", NULL, NULL, 0, "is not empty");
    /* another format is another output */
    expect_refusal(root, "json", NULL, NULL, 1, "belongs to another output: its format is 'csv'");
    /* a committed file removed */
    char p[4400];
    snprintf(p, sizeof p, "%s/%s", root, "sym=AAPL/" D2 "/part-1-0.csv");
    char *saved = sluice_test_read_file(p, NULL);
    assert_int_equal(unlink(p), 0);
    expect_refusal(root, "csv", NULL, NULL, 1, "/sym=AAPL/" D2 "/part-1-0.csv' is missing, but the manifest");
    assert_int_equal(sluice_test_write_file(p, saved), 0);
    free(saved);
    /* an edited manifest */
    snprintf(p, sizeof p, "%s/_sluice_manifest/1", root);
    char *m = sluice_test_read_file(p, NULL);
    char *at = strstr(m, "part-1-0");
    at[5] = '9';
    assert_int_equal(sluice_test_write_file(p, m), 0);
    free(m);
    expect_refusal(root, "csv", NULL, NULL, 1, "checksum does not match");
    free(root);
    /* files but no manifest */
    root = dir_for("stray");
    assert_int_equal(mkdir(root, 0777), 0);
    snprintf(p, sizeof p, "%s/data.csv", root);
    assert_int_equal(sluice_test_write_file(p, "x\n"), 0);
    expect_refusal(root, "csv", NULL, NULL, 1, "holds 1 files but no manifest");
    free(root);
    /* options */
    root = dir_for("opts");
    expect_refusal(root, "csv", "rollover_rows", "0", 0, "'rollover_rows' = '0'");
    sluice_test_cfg_init(&c, "out", &schema);
    sluice_test_cfg_set(&c, "path", root);
    sluice_test_cfg_set(&c, "rollover_rows", "5");
    char err[512];
    assert_int_equal(sluice_file_sink_ops.validate(&c.cfg, err, sizeof err), SLUICE_ERR_CONFIG);
    assert_non_null(strstr(err, "only with partition_by"));
    sluice_test_cfg_set(&c, "partition_by", "sym, price");
    assert_int_equal(sluice_file_sink_ops.open(&c.cfg, &s, err, sizeof err), SLUICE_ERR_CONFIG);
    assert_non_null(strstr(err, "the rows have no column 'price'"));
    sluice_test_cfg_init(&c, "out", &schema);
    sluice_test_cfg_set(&c, "path", root);
    sluice_test_cfg_set(&c, "partition_by", "sym,day,close,n");
    assert_int_equal(sluice_file_sink_ops.open(&c.cfg, &s, err, sizeof err), SLUICE_ERR_CONFIG);
    assert_non_null(strstr(err, "every column is a partition column"));
    free(root);
}

int main(void) {
    tmpdir = sluice_test_mkdtemp("unit_file_sink_partitioned");
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(hive_escape),
        cmocka_unit_test(layout_csv),
        cmocka_unit_test(layout_json),
        cmocka_unit_test(rollover),
        cmocka_unit_test(many_partitions),
        cmocka_unit_test(interrupted_epoch_leaves_nothing),
        cmocka_unit_test(committed_epoch_is_completed),
        cmocka_unit_test(refusals),
        cmocka_unit_test(second_writer_of_one_directory_is_refused),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    free(tmpdir);
    return rc;
}
