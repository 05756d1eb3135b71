/*
 * End to end: `sluice run` of fixtures/pipelines/daily_stocks.sql writes the
 * daily statistics per symbol as a Hive-style partitioned table
 * (symbol=S/day=D/part-<epoch>-<n>.csv), and the table read back through
 * the manifest (the partition values decoded from the path, the rest from
 * the files) equals fixtures/expected/daily_stocks/daily.csv, computed by
 * SQLite (fixtures/oracle/daily_stocks.sql).  With a checkpoint, a second
 * run over the same input publishes nothing new and changes no file.
 */
#include "sluice_test.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "connectors/file_partitioned.h"

/* Undo Hive's %XX escaping in place. */
static void unescape(char *s) {
    char *w = s;
    for (char *r = s; *r; r++) {
        if (r[0] == '%' && isxdigit((unsigned char)r[1]) && isxdigit((unsigned char)r[2])) {
            char hex[3] = {r[1], r[2], 0};
            *w++ = (char)strtol(hex, NULL, 16);
            r += 2;
        } else {
            *w++ = *r;
        }
    }
    *w = '\0';
}

typedef struct row {
    char day[64], symbol[64], low[32], high[32], avg[32], volume[24], ticks[24];
    int seen;
} row;

/* Every row the manifest publishes, as "day,symbol,low,high,avg,volume,ticks". */
static size_t read_table(const char *out, row *rows, size_t cap, size_t *nfiles_total) {
    sluice_manifest_key key = {"daily_stocks", "daily", out, "csv", "symbol,day"};
    int64_t *epochs = NULL;
    size_t ne = 0, n = 0;
    char err[1024];
    assert_int_equal(sluice_manifest_epochs(out, &epochs, &ne, err, sizeof err), SLUICE_OK);
    assert_true(ne > 0);
    *nfiles_total = 0;
    for (size_t e = 0; e < ne; e++) {
        char **files = NULL;
        size_t nf = 0;
        if (sluice_manifest_read(out, &key, epochs[e], &files, &nf, err, sizeof err) != SLUICE_OK)
            fail_msg("%s", err);
        for (size_t i = 0; i < nf; i++) {
            char sym[64], day[64];
            if (sscanf(files[i], "symbol=%63[^/]/day=%63[^/]/part-", sym, day) != 2) fail_msg("layout: %s", files[i]);
            unescape(sym);
            unescape(day);
            char path[4400];
            snprintf(path, sizeof path, "%s/%s", out, files[i]);
            FILE *f = fopen(path, "r");
            if (!f) fail_msg("manifest file %s is not there", path);
            char line[512];
            assert_non_null(fgets(line, sizeof line, f));
            assert_string_equal(line, "low,high,avg_price,volume,ticks\n");
            while (fgets(line, sizeof line, f)) {
                assert_true(n < cap);
                row *r = &rows[n++];
                memset(r, 0, sizeof *r);
                snprintf(r->day, sizeof r->day, "%s", day);
                snprintf(r->symbol, sizeof r->symbol, "%s", sym);
                if (sscanf(line, "%31[^,],%31[^,],%31[^,],%23[^,],%23[^\n]", r->low, r->high, r->avg, r->volume,
                           r->ticks) != 5)
                    fail_msg("row: %s", line);
            }
            fclose(f);
        }
        *nfiles_total += nf;
        sluice_manifest_free(files, nf);
    }
    free(epochs);
    return n;
}

static void same_double(const char *what, const char *got, const char *want, double rel) {
    double g = strtod(got, NULL), w = strtod(want, NULL);
    if (!(g == w || (rel > 0 && (g - w) / w < rel && (w - g) / w < rel)))
        fail_msg("%s: got %s, want %s", what, got, want);
}

static void compare_with_oracle(const char *out) {
    static row rows[64];
    size_t nfiles = 0;
    size_t n = read_table(out, rows, 64, &nfiles);
    assert_int_equal(nfiles, 10); /* one day, ten symbols: one file each */
    FILE *f = fopen(sluice_test_fixture("expected/daily_stocks/daily.csv"), "r");
    assert_non_null(f);
    char line[512];
    assert_non_null(fgets(line, sizeof line, f));
    size_t want_rows = 0;
    while (fgets(line, sizeof line, f)) {
        row w;
        if (sscanf(line, "%63[^,],%63[^,],%31[^,],%31[^,],%31[^,],%23[^,],%23[^\n]", w.day, w.symbol, w.low, w.high,
                   w.avg, w.volume, w.ticks) != 7)
            fail_msg("expected row: %s", line);
        want_rows++;
        size_t k;
        for (k = 0; k < n; k++)
            if (!strcmp(rows[k].day, w.day) && !strcmp(rows[k].symbol, w.symbol)) break;
        if (k == n) fail_msg("no row for %s %s", w.day, w.symbol);
        assert_false(rows[k].seen);
        rows[k].seen = 1;
        same_double("low", rows[k].low, w.low, 0);
        same_double("high", rows[k].high, w.high, 0);
        same_double("avg_price", rows[k].avg, w.avg, 1e-12); /* summation order differs */
        assert_string_equal(rows[k].volume, w.volume);
        assert_string_equal(rows[k].ticks, w.ticks);
    }
    fclose(f);
    assert_int_equal(want_rows, 10);
    assert_int_equal(n, want_rows);
}

static void run_pipeline(const char *dir, const char *extra) {
    char sql[4096], ini[4096], out[4096], so[4096], se[4096], profile[8192];
    snprintf(sql, sizeof sql, "%s/daily_stocks.sql", dir);
    snprintf(ini, sizeof ini, "%s/daily_stocks.test.ini", dir);
    snprintf(out, sizeof out, "%s/daily", dir);
    snprintf(so, sizeof so, "%s/stdout.txt", dir);
    snprintf(se, sizeof se, "%s/stderr.txt", dir);
    char *text = sluice_test_read_file(sluice_test_fixture("pipelines/daily_stocks.sql"), NULL);
    assert_non_null(text);
    assert_int_equal(sluice_test_write_file(sql, text), 0);
    free(text);
    snprintf(profile, sizeof profile,
             "[pipeline]\ntrigger = available_now\nmax_batch_rows = 1000\n%s\n"
             "[source ticks]\npath = fixtures/generated/ticks-10k.jsonl\nformat = json\n\n"
             "[sink daily]\nconnector = file\npath = %s\nformat = csv\npartition_by = symbol, day\n",
             extra, out);
    assert_int_equal(sluice_test_write_file(ini, profile), 0);
    const char *argv[] = {"run", sql, "--profile", "test", "--quiet", NULL};
    int rc = sluice_test_run_cli(argv, so, se);
    if (rc != 0) {
        char *e = sluice_test_read_file(se, NULL);
        fail_msg("sluice run: exit status %d\n%s", rc, e ? e : "");
    }
}

static void matches_oracle(void **state) {
    (void)state;
    char *dir = sluice_test_mkdtemp("partitioned_stocks");
    run_pipeline(dir, "");
    char out[4096];
    snprintf(out, sizeof out, "%s/daily", dir);
    compare_with_oracle(out);
    free(dir);
}

static void checkpointed_rerun_publishes_nothing_new(void **state) {
    (void)state;
    char *dir = sluice_test_mkdtemp("partitioned_stocks_ckpt");
    char extra[4200], out[4096], m[4200];
    snprintf(extra, sizeof extra, "checkpoint_dir = %s/ckpt", dir);
    snprintf(out, sizeof out, "%s/daily", dir);
    run_pipeline(dir, extra);
    compare_with_oracle(out);
    int64_t *epochs = NULL;
    size_t ne = 0, ne2 = 0;
    assert_int_equal(sluice_manifest_epochs(out, &epochs, &ne, m, sizeof m), SLUICE_OK);
    free(epochs);
    run_pipeline(dir, extra);
    compare_with_oracle(out);
    assert_int_equal(sluice_manifest_epochs(out, &epochs, &ne2, m, sizeof m), SLUICE_OK);
    free(epochs);
    assert_int_equal(ne2, ne);
    free(dir);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(matches_oracle),
        cmocka_unit_test(checkpointed_rerun_publishes_nothing_new),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
