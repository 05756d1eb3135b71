/*
 * End to end: `sluice run` computes VAR_POP, VAR_SAMP, STDDEV_POP and
 * STDDEV_SAMP of the delay per origin and day over
 * fixtures/data/flights-20k.jsonl, and each result is compared with an
 * oracle from SQLite.  SQLite has no variance function: it gives the exact
 * integer count, sum and sum of squares of each group (delays are
 * integers), from which the test derives the variance with the numerator
 * n*sum(x^2) - sum(x)^2 computed exactly in integers.
 */
#include "sluice_test.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char pipeline_sql[] =
    "CREATE SOURCE flights (date TIMESTAMP FORMAT '%Y/%m/%d %H:%M', delay BIGINT, distance BIGINT,\n"
    "    origin VARCHAR, destination VARCHAR, WATERMARK FOR date AS date - INTERVAL '5' MINUTE);\n"
    "CREATE SINK spread AS SELECT window_start, origin, COUNT(delay) AS n, VAR_POP(delay) AS vp,\n"
    "    VAR_SAMP(delay) AS vs, STDDEV_POP(delay) AS sp, STDDEV_SAMP(delay) AS ss\n"
    "FROM flights GROUP BY TUMBLE(date, INTERVAL '1' DAY), origin EMIT APPEND;\n";

/* The oracle's query: one line "window_start|origin|n|sum|sum of squares"
 * per group, window_start rendered as sluice writes it. */
static const char oracle_sql[] =
    "CREATE TABLE lines (line TEXT);\n"
    ".mode list\n"
    ".separator \"\\t\" \"\\n\"\n"
    ".import fixtures/data/flights-20k.jsonl lines\n"
    ".separator \"|\" \"\\n\"\n"
    "WITH f AS (SELECT CAST(strftime('%s', replace(json_extract(line, '$.date'), '/', '-')) AS INTEGER) AS t,\n"
    "                  json_extract(line, '$.delay') AS d, json_extract(line, '$.origin') AS o FROM lines)\n"
    "SELECT strftime('%Y-%m-%d %H:%M:%S', t - (t % 86400), 'unixepoch'), o, COUNT(d), COALESCE(SUM(d), 0),\n"
    "       COALESCE(SUM(d * d), 0) FROM f GROUP BY t - (t % 86400), o;\n";

typedef struct group {
    char key[64]; /* "window_start,origin" */
    long long n, s, s2;
    int seen;
} group;

/* Relative tolerance: the oracle is exact up to one rounding; sluice's
 * Welford recurrence adds a few more. */
static void check_value(const char *key, const char *name, const char *got, int null_expected, double want) {
    if (null_expected) {
        if (*got != '\0') fail_msg("%s %s: got %s, want NULL", key, name, got);
        return;
    }
    if (*got == '\0') fail_msg("%s %s: got NULL, want %.17g", key, name, want);
    double g = strtod(got, NULL);
    if (!(fabs(g - want) <= 1e-9 * (1 + fabs(want)))) fail_msg("%s %s: got %.17g, want %.17g", key, name, g, want);
}

static void test_variance_matches_sqlite(void **state) {
    (void)state;
    char *dir = sluice_test_mkdtemp("variance");
    assert_non_null(dir);
    char sql[4096], ini[4096], out[4096], so[4096], se[4096], oracle_in[4096], oracle_out[4096];
    snprintf(sql, sizeof sql, "%s/spread.sql", dir);
    snprintf(ini, sizeof ini, "%s/spread.test.ini", dir);
    snprintf(out, sizeof out, "%s/spread.csv", dir);
    snprintf(so, sizeof so, "%s/stdout.txt", dir);
    snprintf(se, sizeof se, "%s/stderr.txt", dir);
    snprintf(oracle_in, sizeof oracle_in, "%s/oracle.sql", dir);
    snprintf(oracle_out, sizeof oracle_out, "%s/oracle.txt", dir);
    char profile[8192];
    snprintf(profile, sizeof profile,
             "[pipeline]\ntrigger = available_now\n\n[source flights]\npath = fixtures/data/flights-20k.jsonl\n"
             "format = json\n\n[sink spread]\nconnector = file\npath = %s\nformat = csv\n",
             out);
    assert_int_equal(sluice_test_write_file(sql, pipeline_sql), 0);
    assert_int_equal(sluice_test_write_file(ini, profile), 0);
    assert_int_equal(sluice_test_write_file(oracle_in, oracle_sql), 0);

    const char *argv[] = {"run", sql, "--profile", "test", "--quiet", NULL};
    int rc = sluice_test_run_cli(argv, so, se);
    if (rc != 0) {
        char *e = sluice_test_read_file(se, NULL);
        fail_msg("sluice run: exit status %d\n%s", rc, e ? e : "");
    }

    char cmd[16384];
    snprintf(cmd, sizeof cmd, "sqlite3 -bail :memory: < '%s' > '%s'", oracle_in, oracle_out);
    assert_int_equal(system(cmd), 0);

    /* the oracle's groups */
    size_t cap = 16384, ng = 0;
    group *g = calloc(cap, sizeof *g);
    assert_non_null(g);
    FILE *f = fopen(oracle_out, "r");
    assert_non_null(f);
    char line[512];
    while (fgets(line, sizeof line, f)) {
        char ws[32], origin[16];
        long long n, s, s2;
        if (sscanf(line, "%31[^|]|%15[^|]|%lld|%lld|%lld", ws, origin, &n, &s, &s2) != 5) fail_msg("oracle: %s", line);
        assert_true(ng < cap);
        snprintf(g[ng].key, sizeof g[ng].key, "%s,%s", ws, origin);
        g[ng].n = n, g[ng].s = s, g[ng].s2 = s2;
        ng++;
    }
    fclose(f);
    assert_true(ng > 1000);

    /* sluice's rows: window_start,origin,n,vp,vs,sp,ss (a header first) */
    f = fopen(out, "r");
    assert_non_null(f);
    size_t rows = 0, with_two = 0;
    assert_non_null(fgets(line, sizeof line, f));
    assert_string_equal(line, "window_start,origin,n,vp,vs,sp,ss\n");
    while (fgets(line, sizeof line, f)) {
        line[strcspn(line, "\n")] = '\0';
        char *field[7];
        char *p = line;
        for (int i = 0; i < 7; i++) {
            field[i] = p;
            char *c = strchr(p, ',');
            if (i < 6) {
                if (!c) fail_msg("short row: %s", line);
                *c = '\0';
                p = c + 1;
            }
        }
        char key[64];
        snprintf(key, sizeof key, "%s,%s", field[0], field[1]);
        size_t k;
        for (k = 0; k < ng; k++)
            if (strcmp(g[k].key, key) == 0) break;
        if (k == ng) fail_msg("group %s is not in the oracle", key);
        assert_false(g[k].seen);
        g[k].seen = 1;
        long long n = g[k].n;
        assert_int_equal(strtoll(field[2], NULL, 10), n);
        /* exact: n * sum(x^2) - sum(x)^2 = n * M2 */
        long long num = n * g[k].s2 - g[k].s * g[k].s;
        double pop = n > 0 ? (double)num / ((double)n * (double)n) : 0;
        double samp = n > 1 ? (double)num / ((double)n * (double)(n - 1)) : 0;
        check_value(key, "VAR_POP", field[3], n < 1, pop);
        check_value(key, "VAR_SAMP", field[4], n < 2, samp);
        check_value(key, "STDDEV_POP", field[5], n < 1, sqrt(pop));
        check_value(key, "STDDEV_SAMP", field[6], n < 2, sqrt(samp));
        with_two += n > 1;
        rows++;
    }
    fclose(f);
    assert_int_equal(rows, ng);
    assert_true(with_two > 500);
    free(g);
    free(dir);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_variance_matches_sqlite),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
