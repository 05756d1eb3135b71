/* The SQL unparser (src/sql/unparse.c): the text it prints for each
 * construct, and the round-trip invariant (the unparsed text plans as the
 * input does, and unparsing is a fixed point after one round) over every
 * pipeline of fixtures/pipelines and every SQL input of the fuzz corpus and
 * regressions, so that the invariant is checked without fuzzing. */
#include "sluice_test.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_entry.h"
#include "sluice/arena.h"
#include "sql/parser.h"
#include "sql/unparse.h"

/* The unparsed text of `sql`, which must parse. */
static char *unparse(const char *sql) {
    sluice_arena *arena = sluice_arena_new(0);
    assert_non_null(arena);
    sluice_ast_pipeline *ast = NULL;
    char errstr[512];
    if (sluice_sql_parse(sql, strlen(sql), "t.sql", arena, &ast, errstr, sizeof errstr) != SLUICE_OK)
        fail_msg("%s", errstr);
    char *text = sluice_sql_unparse(ast, NULL);
    assert_non_null(text);
    sluice_arena_destroy(arena);
    return text;
}

static void expect_unparse(const char *sql, const char *want) {
    char *got = unparse(sql);
    assert_string_equal(got, want);
    free(got);
}

static void test_source_text(void **state) {
    (void)state;
    expect_unparse("create source s (WATERMARK FOR t AS t - interval '1.5' second, t timestamp format '%Y''s',\n"
                   "  v varchar(10) path '$.a', k bigint metadata from 'key', `x y` double)",
                   "CREATE SOURCE `s` (\n"
                   "    `t` TIMESTAMP FORMAT '%Y''s',\n"
                   "    `v` VARCHAR PATH '$.a',\n"
                   "    `k` BIGINT METADATA FROM 'key',\n"
                   "    `x y` DOUBLE,\n"
                   "    WATERMARK FOR `t` AS `t` - INTERVAL '1500' MILLISECOND);\n");
}

static void test_sink_text(void **state) {
    (void)state;
    expect_unparse("create sink o primary key (a, b) as select a, count(*) n, sum(v) as `s``s` from s "
                   "where not v between 1 and 2 or a like 'x%' and b not in (1, 2.5) "
                   "group by tumble(t, interval 1 hour), a having count(*) > 1 order by n desc limit 3 emit update",
                   "CREATE SINK `o` PRIMARY KEY (`a`, `b`) AS SELECT `a`, COUNT(*) AS `n`, SUM(`v`) AS `s``s`\n"
                   "    FROM `s`\n"
                   "    WHERE NOT `v` BETWEEN 1 AND 2 OR `a` LIKE 'x%' AND `b` NOT IN (1, 2.5)\n"
                   "    GROUP BY TUMBLE(`t`, INTERVAL '3600000' MILLISECOND), `a`\n"
                   "    HAVING COUNT(*) > 1\n"
                   "    ORDER BY `n` DESC\n"
                   "    LIMIT 3\n"
                   "    EMIT UPDATE;\n");
}

/* Parentheses only where the tree needs them; a sign is followed by a
 * space so that two signs do not read as a comment. */
static void test_expression_text(void **state) {
    (void)state;
    expect_unparse("create sink o as select (a + b) * c, a - (b - c), (a - b) - c, - -a, -(a + 1), "
                   "not (a = 1 and b), (a or b) and c, (a = b) = c, a = (b = c), a is not null is null, "
                   "case a when 1 then 'one' else null end, case when a then 1e300 end, cast(a as int), "
                   "timestamp '2024-01-01 00:00:00', 10.0, true, false, proctime() from s",
                   "CREATE SINK `o` AS SELECT (`a` + `b`) * `c`, `a` - (`b` - `c`), `a` - `b` - `c`, - - `a`, "
                   "- (`a` + 1), NOT (`a` = 1 AND `b`), (`a` OR `b`) AND `c`, `a` = `b` = `c`, `a` = (`b` = `c`), "
                   "`a` IS NOT NULL IS NULL, CASE `a` WHEN 1 THEN 'one' ELSE NULL END, "
                   "CASE WHEN `a` THEN 1.0000000000000001e+300 END, CAST(`a` AS BIGINT), "
                   "CAST('2024-01-01 00:00:00' AS TIMESTAMP), 10.0, TRUE, FALSE, PROCTIME()\n"
                   "    FROM `s`;\n");
}

/* || is the call CONCAT; EXTRACT and CURRENT_TIMESTAMP keep the
 * standard's forms. */
static void test_function_forms_text(void **state) {
    (void)state;
    expect_unparse("create sink o as select a || b || c, extract(year from t), current_timestamp, "
                   "localtimestamp, now(), extract(x, y), timestampdiff(day, t, t) from s",
                   "CREATE SINK `o` AS SELECT CONCAT(CONCAT(`a`, `b`), `c`), EXTRACT(`year` FROM `t`), "
                   "CURRENT_TIMESTAMP, LOCALTIMESTAMP, NOW(), EXTRACT(`x` FROM `y`), TIMESTAMPDIFF(`day`, `t`, `t`)\n"
                   "    FROM `s`;\n");
}

static void test_aggregate_clauses_text(void **state) {
    (void)state;
    expect_unparse("create sink o as select count(distinct a) as d, sum(a) filter (where b > 1 and c) as f, "
                   "count(*) filter (where a is null) as n from s",
                   "CREATE SINK `o` AS SELECT COUNT(DISTINCT `a`) AS `d`, SUM(`a`) FILTER (WHERE `b` > 1 AND `c`) AS `f`, "
                   "COUNT(*) FILTER (WHERE `a` IS NULL) AS `n`\n"
                   "    FROM `s`;\n");
}

static int by_name(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* Check the round trip on every file of `dir` whose name ends in `suffix`
 * (or every file when suffix is ""); returns how many planned. */
static size_t roundtrip_dir(const char *dir, const char *suffix, size_t *files) {
    DIR *d = opendir(dir);
    if (!d) fail_msg("cannot open %s", dir);
    char **names = NULL;
    size_t n = 0, cap = 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        size_t len = strlen(de->d_name), slen = strlen(suffix);
        if (de->d_name[0] == '.' || len < slen || strcmp(de->d_name + len - slen, suffix) != 0) continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 64;
            names = realloc(names, cap * sizeof *names);
            assert_non_null(names);
        }
        names[n] = strdup(de->d_name);
        assert_non_null(names[n++]);
    }
    closedir(d);
    if (n) qsort(names, n, sizeof *names, by_name);
    size_t planned = 0;
    static char why[65536];
    for (size_t i = 0; i < n; i++) {
        char path[8192];
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        size_t len = 0;
        char *data = sluice_test_read_file(path, &len);
        if (!data) fail_msg("cannot read %s", path);
        int rc = sluice_fuzz_sql_roundtrip(data, len, why, sizeof why);
        if (rc < 0) fail_msg("%s: %s", path, why);
        planned += rc > 0;
        free(data);
        free(names[i]);
    }
    free(names);
    *files += n;
    return planned;
}

static void test_roundtrip_fixture_pipelines(void **state) {
    (void)state;
    size_t files = 0;
    size_t planned = roundtrip_dir(SLUICE_FIXTURES_DIR "/pipelines", ".sql", &files);
    print_message("fixtures/pipelines: %zu of %zu .sql files plan and round-trip\n", planned, files);
    /* the fixture pipelines are all valid */
    assert_true(files >= 10);
    assert_int_equal(planned, files);
}

static void test_roundtrip_fuzz_inputs(void **state) {
    (void)state;
    size_t files = 0;
    size_t planned = roundtrip_dir(SLUICE_FUZZ_DIR "/corpus/sql", "", &files);
    planned += roundtrip_dir(SLUICE_FUZZ_DIR "/regressions/sql", "", &files);
    print_message("fuzz corpus and regressions: %zu of %zu SQL inputs plan and round-trip\n", planned, files);
    assert_true(planned > 0);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_source_text),
        cmocka_unit_test(test_sink_text),
        cmocka_unit_test(test_expression_text),
        cmocka_unit_test(test_function_forms_text),
        cmocka_unit_test(test_aggregate_clauses_text),
        cmocka_unit_test(test_roundtrip_fixture_pipelines),
        cmocka_unit_test(test_roundtrip_fuzz_inputs),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
