/*
 * The command line (docs/operations.md "Command line"): exit statuses,
 * messages naming file:line[:col], check/explain/run, progress lines, and a
 * graceful stop on SIGTERM.  Runs the real binary; the working directory is
 * the project root.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "sluice_test.h"

static char *dir;
static char sql_path[4200], ini_path[4200], out_path[4200], err_path[4200], in_path[4200], csv_out[4200];

static const char pipeline_sql[] =
    "CREATE SOURCE ev (k VARCHAR, v BIGINT, ts TIMESTAMP, WATERMARK FOR ts AS ts);\n"
    "CREATE SINK out AS SELECT k, COUNT(*) AS n, SUM(v) AS s FROM ev GROUP BY k;\n";

static const char input_csv[] = "k,v,ts\n"
                                "a,1,2001-01-01 00:01:00\n"
                                "b,2,2001-01-01 00:02:00\n"
                                "a,3,2001-01-01 00:03:00\n";

static const char input_json[] = "{\"k\": \"a\", \"v\": 1, \"ts\": \"2001-01-01 00:01:00\"}\n"
                                 "{\"k\": \"b\", \"v\": 2, \"ts\": \"2001-01-01 00:02:00\"}\n"
                                 "{\"k\": \"a\", \"v\": 3, \"ts\": \"2001-01-01 00:03:00\"}\n";

static int setup(void **state) {
    (void)state;
    dir = sluice_test_mkdtemp("cli");
    if (!dir) return -1;
    snprintf(sql_path, sizeof sql_path, "%s/p.sql", dir);
    snprintf(ini_path, sizeof ini_path, "%s/p.test.ini", dir);
    snprintf(out_path, sizeof out_path, "%s/stdout.txt", dir);
    snprintf(err_path, sizeof err_path, "%s/stderr.txt", dir);
    snprintf(in_path, sizeof in_path, "%s/in.data", dir);
    snprintf(csv_out, sizeof csv_out, "%s/out.csv", dir);
    return 0;
}

static int teardown(void **state) {
    (void)state;
    free(dir);
    return 0;
}

static void write_sql(const char *sql) {
    assert_int_equal(sluice_test_write_file(sql_path, sql), 0);
}

/* Write the profile: `fmt` may use %1$s for the input path. */
static void write_ini(const char *fmt) {
    char ini[16384];
    int n = snprintf(ini, sizeof ini, fmt, in_path);
    assert_true(n > 0 && (size_t)n < sizeof ini);
    assert_int_equal(sluice_test_write_file(ini_path, ini), 0);
}

static int run(const char *const *argv) {
    return sluice_test_run_cli(argv, out_path, err_path);
}

static char *out_text(void) {
    char *t = sluice_test_read_file(out_path, NULL);
    assert_non_null(t);
    return t;
}

static char *err_text(void) {
    char *t = sluice_test_read_file(err_path, NULL);
    assert_non_null(t);
    return t;
}

static void assert_contains(const char *text, const char *needle) {
    if (!strstr(text, needle)) fail_msg("expected '%s' in:\n%s", needle, text);
}

static int exists(const char *path) {
    struct stat st;
    return stat(path, &st) == 0;
}

/* ---- usage ------------------------------------------------------------------------- */

static void test_help_exits_0_and_names_the_commands(void **state) {
    (void)state;
    const char *argv[] = {"--help", NULL};
    assert_int_equal(run(argv), 0);
    char *t = out_text();
    assert_contains(t, "run");
    assert_contains(t, "check");
    assert_contains(t, "explain");
    free(t);
}

static void test_version_prints_the_version(void **state) {
    (void)state;
    const char *argv[] = {"--version", NULL};
    assert_int_equal(run(argv), 0);
    char *t = out_text();
    assert_string_equal(t, "sluice " SLUICE_VERSION "\n");
    free(t);
}

static void test_no_arguments_is_a_usage_error(void **state) {
    (void)state;
    const char *argv[] = {NULL};
    assert_int_equal(run(argv), 2);
    char *t = err_text();
    assert_contains(t, "usage");
    free(t);
}

static void test_unknown_command_is_a_usage_error(void **state) {
    (void)state;
    const char *argv[] = {"frobnicate", "x.sql", NULL};
    assert_int_equal(run(argv), 2);
    char *t = err_text();
    assert_contains(t, "frobnicate");
    free(t);
}

/* ---- errors before any input is read ---------------------------------------------------- */

static void test_sql_syntax_error_exits_2_with_position_and_writes_nothing(void **state) {
    (void)state;
    write_sql("CREATE SOURCE ev (k VARCHAR, v BIGINT, ts TIMESTAMP, WATERMARK FOR ts AS ts);\n"
              "CREATE SINK out AS SELECT v FROM ev WHERE;\n");
    char ini[16384];
    snprintf(ini, sizeof ini, "[source ev]\npath = %s\nformat = csv\n[sink out]\nconnector = file\npath = %s\nformat = csv\n",
             in_path, csv_out);
    assert_int_equal(sluice_test_write_file(ini_path, ini), 0);
    assert_int_equal(sluice_test_write_file(in_path, input_csv), 0);
    const char *argv[] = {"run", sql_path, NULL};
    assert_int_equal(run(argv), 2);
    char *t = err_text();
    char want[4300];
    /* "CREATE SINK out AS SELECT v FROM ev WHERE" is 41 characters: ';' is at 42 */
    snprintf(want, sizeof want, "%s:2:42:", sql_path);
    assert_contains(t, want);
    free(t);
    assert_false(exists(csv_out));
}

static void test_semantic_error_exits_2_with_position(void **state) {
    (void)state;
    write_sql("CREATE SOURCE ev (k VARCHAR, v BIGINT, ts TIMESTAMP, WATERMARK FOR ts AS ts);\n"
              "CREATE SINK out AS SELECT nope AS v FROM ev;\n");
    write_ini("[source ev]\npath = %1$s\nformat = csv\n");
    const char *argv[] = {"check", sql_path, NULL};
    assert_int_equal(run(argv), 2);
    char *t = err_text();
    char want[4300];
    snprintf(want, sizeof want, "%s:2:27:", sql_path);
    assert_contains(t, want);
    assert_contains(t, "nope");
    free(t);
}

static void check_ini_error(const char *ini_fmt, int line, const char *phrase) {
    write_sql(pipeline_sql);
    write_ini(ini_fmt);
    assert_int_equal(sluice_test_write_file(in_path, input_csv), 0);
    const char *argv[] = {"run", sql_path, NULL};
    assert_int_equal(run(argv), 2);
    char *t = err_text();
    char want[4300];
    if (line > 0)
        snprintf(want, sizeof want, "%s:%d:", ini_path, line);
    else
        snprintf(want, sizeof want, "%s", ini_path);
    assert_contains(t, want);
    assert_contains(t, phrase);
    free(t);
    /* nothing was run: no progress line */
    t = err_text();
    assert_null(strstr(t, "batch_id"));
    free(t);
}

static void test_unknown_ini_key_names_file_and_line(void **state) {
    (void)state;
    check_ini_error("[source ev]\npath = %1$s\nformat = csv\nbogus = 1\n", 4, "bogus");
}

static void test_unknown_ini_section_names_file_and_line(void **state) {
    (void)state;
    check_ini_error("[source ev]\npath = %1$s\nformat = csv\n\n[sorce ev]\npath = x\n", 5, "sorce ev");
}

static void test_unknown_pipeline_key_names_file_and_line(void **state) {
    (void)state;
    check_ini_error("[pipeline]\ntriger = 1s\n[source ev]\npath = %1$s\nformat = csv\n", 2, "triger");
}

static void test_unbound_source_names_the_file_and_the_source(void **state) {
    (void)state;
    check_ini_error("[pipeline]\ntrigger = 1s\n", 0, "source ev");
}

static void test_bad_trigger_names_file_and_line(void **state) {
    (void)state;
    check_ini_error("[source ev]\npath = %1$s\nformat = csv\n[pipeline]\ntrigger = fast\n", 5, "fast");
}

static void test_missing_input_file_exits_2(void **state) {
    (void)state;
    write_sql(pipeline_sql);
    write_ini("[source ev]\npath = %1$s.missing\nformat = csv\n");
    const char *argv[] = {"run", sql_path, NULL};
    assert_int_equal(run(argv), 2);
    char *t = err_text();
    assert_contains(t, "in.data.missing");
    free(t);
}

/* The prod profile binds kafka and mysql; whatever this build lacks or the
 * profile leaves out is a clear start-up error (exit 2). */
static void test_prod_profile_fails_clearly_before_reading(void **state) {
    (void)state;
    write_sql(pipeline_sql);
    char prod[4200];
    snprintf(prod, sizeof prod, "%s/p.prod.ini", dir);
    assert_int_equal(sluice_test_write_file(prod, "[source ev]\ntopic = events\nformat = json\n"
                                                  "[sink out]\ntable = out\n"),
                     0);
    const char *argv[] = {"run", sql_path, "--profile", "prod", NULL};
    assert_int_equal(run(argv), 2);
    char *t = err_text();
#if !defined(SLUICE_WITH_KAFKA)
    assert_contains(t, "Kafka");
    assert_contains(t, "not part of this build");
#elif !defined(SLUICE_WITH_MYSQL)
    assert_contains(t, "MySQL"); /* the source binds; the sink's connector is missing */
    assert_contains(t, "not part of this build");
#else
    assert_contains(t, "sink out (mysql)"); /* both built: the [mysql] section is missing */
    assert_contains(t, "database is required");
#endif
    free(t);
}

/* ---- check and explain ---------------------------------------------------------------- */

static void test_check_prints_the_plan_and_writes_no_output(void **state) {
    (void)state;
    write_sql(pipeline_sql);
    char ini[16384];
    snprintf(ini, sizeof ini, "[source ev]\npath = %s\nformat = csv\n[sink out]\nconnector = file\npath = %s\nformat = csv\n",
             in_path, csv_out);
    assert_int_equal(sluice_test_write_file(ini_path, ini), 0);
    assert_int_equal(sluice_test_write_file(in_path, input_csv), 0);
    const char *argv[] = {"check", sql_path, NULL};
    assert_int_equal(run(argv), 0);
    char *t = out_text();
    assert_contains(t, "sink out");
    assert_contains(t, "source ev");
    free(t);
    assert_false(exists(csv_out));
}

static void test_explain_needs_no_profile_file(void **state) {
    (void)state;
    write_sql(pipeline_sql);
    assert_false(exists(ini_path));
    const char *argv[] = {"explain", sql_path, NULL};
    assert_int_equal(run(argv), 0);
    char *t = out_text();
    assert_contains(t, "sink out");
    assert_contains(t, "source ev");
    free(t);
}

/* ---- run --------------------------------------------------------------------------------- */

/* a: 2 rows, v 1 + 3 = 4; b: 1 row, v 2 */
static void check_result_table(void) {
    char *t = out_text();
    assert_contains(t, "sink out: 2 rows\n");
    assert_contains(t, " a | 2 | 4\n");
    assert_contains(t, " b | 1 | 2\n");
    assert_true(strstr(t, " a | 2 | 4") < strstr(t, " b | 1 | 2"));
    free(t);
}

static void test_run_on_csv_prints_the_memory_table(void **state) {
    (void)state;
    write_sql(pipeline_sql);
    write_ini("[source ev]\npath = %1$s\nformat = csv\n");
    assert_int_equal(sluice_test_write_file(in_path, input_csv), 0);
    const char *argv[] = {"run", sql_path, NULL};
    assert_int_equal(run(argv), 0);
    check_result_table();
}

static void test_run_on_json_prints_the_memory_table(void **state) {
    (void)state;
    write_sql(pipeline_sql);
    write_ini("[source ev]\npath = %1$s\nformat = json\n");
    assert_int_equal(sluice_test_write_file(in_path, input_json), 0);
    const char *argv[] = {"run", sql_path, NULL};
    assert_int_equal(run(argv), 0);
    check_result_table();
}

static void test_set_overrides_a_profile_key(void **state) {
    (void)state;
    write_sql(pipeline_sql);
    write_ini("[source ev]\npath = %1$s\nformat = csv\n");
    assert_int_equal(sluice_test_write_file(in_path, input_json), 0);
    const char *argv[] = {"run", sql_path, "--set", "source ev.format=json", NULL};
    assert_int_equal(run(argv), 0);
    check_result_table();
}

/* A file sink whose path is in directories that do not exist yet creates
 * them (docs/connectors.md "The file sink"), as the dead-letter file does. */
static void test_run_file_sink_creates_missing_directories(void **state) {
    (void)state;
    write_sql("CREATE SOURCE ev (k VARCHAR, v BIGINT, ts TIMESTAMP, WATERMARK FOR ts AS ts);\n"
              "CREATE SINK out AS SELECT k, v FROM ev WHERE v > 1;\n");
    char out[4300], ini[16384];
    snprintf(out, sizeof out, "%s/made/by/sink/out.csv", dir);
    snprintf(ini, sizeof ini, "[source ev]\npath = %s\nformat = csv\n[sink out]\nconnector = file\npath = %s\n",
             in_path, out);
    assert_int_equal(sluice_test_write_file(ini_path, ini), 0);
    assert_int_equal(sluice_test_write_file(in_path, input_csv), 0);
    assert_false(exists(out));
    const char *argv[] = {"run", sql_path, "--quiet", NULL};
    assert_int_equal(run(argv), 0);
    char *t = sluice_test_read_file(out, NULL);
    assert_non_null(t);
    /* rows with v > 1: b,2 and a,3, in input order */
    assert_string_equal(t, "k,v\nb,2\na,3\n");
    free(t);
}

/* An UPDATE query written to a CSV file repeats a key once per micro-batch
 * that changed it; the `op` column marks each row as a key's first row
 * (+I) or a change of it (+U: an upsert by the key), so the last one per
 * key is the result.  One row per
 * micro-batch (max_batch_rows = 1): a 1, b 2, a 3 -> a, b, a. */
static void test_update_query_to_csv_writes_the_op_column(void **state) {
    (void)state;
    write_sql("CREATE SOURCE ev (k VARCHAR, v BIGINT, ts TIMESTAMP, WATERMARK FOR ts AS ts);\n"
              "CREATE SINK out PRIMARY KEY (k) AS SELECT k, COUNT(*) AS n, SUM(v) AS s FROM ev GROUP BY k "
              "EMIT UPDATE;\n");
    char ini[9000];
    snprintf(ini, sizeof ini,
             "[pipeline]\nmax_batch_rows = 1\n[source ev]\npath = %%1$s\nformat = csv\n"
             "[sink out]\nconnector = file\npath = %s\n",
             csv_out);
    write_ini(ini);
    assert_int_equal(sluice_test_write_file(in_path, input_csv), 0);
    const char *argv[] = {"run", sql_path, "--quiet", NULL};
    assert_int_equal(run(argv), 0);
    char *t = sluice_test_read_file(csv_out, NULL);
    assert_non_null(t);
    assert_string_equal(t, "op,k,n,s\n"
                           "+I,a,1,1\n"
                           "+I,b,1,2\n"
                           "+U,a,2,4\n");
    free(t);
}

static void test_progress_lines_are_json_objects(void **state) {
    (void)state;
    write_sql(pipeline_sql);
    write_ini("[source ev]\npath = %1$s\nformat = csv\n");
    assert_int_equal(sluice_test_write_file(in_path, input_csv), 0);
    const char *argv[] = {"run", sql_path, NULL};
    assert_int_equal(run(argv), 0);
    char *t = err_text();
    size_t lines = 0;
    uint64_t input_rows = 0;
    for (char *save = NULL, *l = strtok_r(t, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
        if (strncmp(l, "ts=", 3) == 0) continue; /* a log event (key=value), not a progress line */
        cJSON *o = cJSON_Parse(l);
        if (!o || !cJSON_IsObject(o)) fail_msg("progress line is not a JSON object: %s", l);
        static const char *keys[] = {"batch_id", "input_rows", "watermark", "state_rows", "late_rows",
                                     "malformed_rows"};
        for (size_t k = 0; k < sizeof keys / sizeof keys[0]; k++)
            if (!cJSON_GetObjectItemCaseSensitive(o, keys[k])) fail_msg("no '%s' in %s", keys[k], l);
        const cJSON *bid = cJSON_GetObjectItemCaseSensitive(o, "batch_id");
        assert_true(cJSON_IsNumber(bid));
        assert_int_equal((int)bid->valuedouble, (int)lines);
        input_rows += (uint64_t)cJSON_GetObjectItemCaseSensitive(o, "input_rows")->valuedouble;
        cJSON_Delete(o);
        lines++;
    }
    assert_true(lines >= 1);
    assert_int_equal(input_rows, 3);
    free(t);
}

static void test_quiet_removes_the_progress_lines(void **state) {
    (void)state;
    write_sql(pipeline_sql);
    write_ini("[source ev]\npath = %1$s\nformat = csv\n");
    assert_int_equal(sluice_test_write_file(in_path, input_csv), 0);
    const char *argv[] = {"run", sql_path, "--quiet", NULL};
    assert_int_equal(run(argv), 0);
    char *t = err_text();
    assert_string_equal(t, "");
    free(t);
    check_result_table();
}

static void test_malformed_rows_without_dead_letter_are_a_warning_even_when_quiet(void **state) {
    (void)state;
    write_sql(pipeline_sql);
    write_ini("[source ev]\npath = %1$s\nformat = json\n");
    /* lines 2 and 4 do not decode (a string for BIGINT, bad JSON): two dropped in the one micro-batch */
    assert_int_equal(sluice_test_write_file(in_path, "{\"k\": \"a\", \"v\": 1, \"ts\": \"2001-01-01 00:01:00\"}\n"
                                                     "{\"k\": \"b\", \"v\": \"two\", \"ts\": \"2001-01-01 00:02:00\"}\n"
                                                     "{\"k\": \"a\", \"v\": 3, \"ts\": \"2001-01-01 00:03:00\"}\n"
                                                     "{not json\n"),
                     0);
    const char *argv[] = {"run", sql_path, "--quiet", NULL};
    assert_int_equal(run(argv), 0);
    char *t = err_text();
    assert_contains(t, "level=warn");
    assert_contains(t, "instance=ev");
    assert_contains(t, "2 malformed records dropped in this micro-batch");
    char where[4300];
    snprintf(where, sizeof where, "the first at %s:2: ", in_path);
    assert_contains(t, where);
    free(t);
}

/* The bug: one row with an event time at int64's edge (epoch_ms
 * 9223372036854775807) aborted the run on its window's end (start + size
 * overflowed).  Times outside 0000-01-01 .. 9999-12-31 are malformed rows. */
static void test_event_time_at_the_edge_of_int64_is_a_malformed_row(void **state) {
    (void)state;
    write_sql("CREATE SOURCE ev (k VARCHAR, ts TIMESTAMP FORMAT 'epoch_ms', "
              "WATERMARK FOR ts AS ts - INTERVAL '1' HOUR);\n"
              "CREATE SINK out AS SELECT window_start, k, COUNT(*) AS n FROM ev "
              "GROUP BY TUMBLE(ts, INTERVAL '1' DAY), k EMIT APPEND;\n");
    write_ini("[source ev]\npath = %1$s\nformat = json\n");
    assert_int_equal(sluice_test_write_file(in_path, "{\"k\": \"a\", \"ts\": 978307200000}\n"
                                                     "{\"k\": \"a\", \"ts\": 9223372036854775807}\n"
                                                     "{\"k\": \"a\", \"ts\": -9223372036854775808}\n"
                                                     "{\"k\": \"a\", \"ts\": 253402300800000}\n"
                                                     "{\"k\": \"a\", \"ts\": 978307200001}\n"),
                     0);
    const char *argv[] = {"run", sql_path, "--quiet", NULL};
    assert_int_equal(run(argv), 0);
    char *t = out_text();
    assert_contains(t, "sink out: 1 row\n");
    assert_contains(t, " 2001-01-01 00:00:00 | a | 2\n");
    free(t);
    t = err_text();
    assert_contains(t, "3 malformed records dropped in this micro-batch");
    char where[4300];
    snprintf(where, sizeof where, "the first at %s:2: ", in_path);
    assert_contains(t, where);
    free(t);
}

/* The bug: a file sink (or the dead-letter file) pointed at the file the
 * source reads truncated the input at open: the input was destroyed, with
 * exit 2 (nothing read) or exit 0 (the dead letters replaced it). */
static void test_output_on_the_input_file_is_refused_and_the_input_kept(void **state) {
    (void)state;
    write_sql(pipeline_sql);
    const char *profiles[] = {
        "[source ev]\npath = %1$s\nformat = csv\n[sink out]\nconnector = file\npath = %1$s\n",
        "[pipeline]\ndead_letter = %1$s\n[source ev]\npath = %1$s\nformat = csv\n",
    };
    const char *needles[] = {"sink out (file): path '", "dead_letter = '"};
    for (int i = 0; i < 2; i++) {
        write_ini(profiles[i]);
        assert_int_equal(sluice_test_write_file(in_path, input_csv), 0);
        const char *check[] = {"check", sql_path, NULL};
        assert_int_equal(run(check), 2);
        const char *argv[] = {"run", sql_path, "--quiet", NULL};
        assert_int_equal(run(argv), 2);
        char *t = err_text();
        assert_contains(t, needles[i]);
        assert_contains(t, "is the file that source ev reads");
        free(t);
        t = sluice_test_read_file(in_path, NULL);
        assert_string_equal(t, input_csv); /* the input is intact */
        free(t);
    }
}

/* The bug: an empty checkpoint_dir (`${CKPT:-}` with CKPT unset) named the
 * file system's root: the run wrote /lock, /meta, /state/ and /offsets/
 * and failed (exit 1).  Empty checkpoint_dir and dead_letter are
 * configuration errors, found by `sluice check` too.  (check runs first:
 * on the old code the test stops there, before a run could touch /.) */
static void test_empty_checkpoint_dir_or_dead_letter_is_a_config_error(void **state) {
    (void)state;
    write_sql(pipeline_sql);
    write_ini("[source ev]\npath = %1$s\nformat = csv\n");
    assert_int_equal(sluice_test_write_file(in_path, input_csv), 0);
    const char *sets[] = {"pipeline.checkpoint_dir=", "pipeline.dead_letter="};
    const char *msgs[] = {"--set: checkpoint_dir is empty: name a directory, or remove the key",
                          "--set: dead_letter is empty: name a file, or remove the key"};
    for (int i = 0; i < 2; i++) {
        const char *check[] = {"check", sql_path, "--set", sets[i], NULL};
        assert_int_equal(run(check), 2);
        char *t = err_text();
        assert_contains(t, msgs[i]);
        free(t);
        const char *argv[] = {"run", sql_path, "--quiet", "--set", sets[i], NULL};
        assert_int_equal(run(argv), 2);
        t = err_text();
        assert_contains(t, msgs[i]);
        free(t);
    }
}

/* A checkpoint_dir that cannot be created is a setting's mistake: exit 2,
 * as a dead_letter file that cannot be opened. */
static void test_uncreatable_checkpoint_dir_exits_2(void **state) {
    (void)state;
    write_sql(pipeline_sql);
    write_ini("[source ev]\npath = %1$s\nformat = csv\n");
    assert_int_equal(sluice_test_write_file(in_path, input_csv), 0);
    const char *argv[] = {"run", sql_path, "--quiet", "--set", "pipeline.checkpoint_dir=/proc/sluice-ck", NULL};
    assert_int_equal(run(argv), 2);
    char *t = err_text();
    assert_contains(t, "checkpoint_dir '/proc/sluice-ck': cannot create");
    free(t);
}

/* A .sql or profile path that is no such text (a data file, /dev/zero) is
 * refused at 16 MiB instead of being read forever. */
static void test_endless_sql_or_profile_file_is_refused(void **state) {
    (void)state;
    const char *explain[] = {"explain", "/dev/zero", NULL};
    assert_int_equal(run(explain), 2);
    char *t = err_text();
    assert_contains(t, "cannot read pipeline '/dev/zero': more than 16 MiB");
    free(t);
    write_sql(pipeline_sql);
    const char *check[] = {"check", sql_path, "--config", "/dev/zero", NULL};
    assert_int_equal(run(check), 2);
    t = err_text();
    assert_contains(t, "cannot read profile file '/dev/zero': more than 16 MiB");
    free(t);
}

static int64_t mono_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void pause_ms(long ms) {
    struct timespec p = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&p, NULL);
}

static void test_sigterm_stops_a_followed_run_gracefully(void **state) {
    (void)state;
    write_sql(pipeline_sql);
    write_ini("[pipeline]\ntrigger = 50ms\n[source ev]\npath = %1$s\nformat = csv\nfollow = true\n");
    assert_int_equal(sluice_test_write_file(in_path, input_csv), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        int o = open(out_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        int e = open(err_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (o < 0 || e < 0) _exit(126);
        dup2(o, 1);
        dup2(e, 2);
        execl(SLUICE_BINARY, SLUICE_BINARY, "run", sql_path, (char *)NULL);
        _exit(127);
    }
    /* wait for the first progress line: the input has been read */
    int64_t deadline = mono_ms() + 10000;
    int seen = 0;
    while (!seen && mono_ms() < deadline) {
        char *t = sluice_test_read_file(err_path, NULL);
        seen = t && strstr(t, "\"batch_id\"") && strchr(t, '\n');
        free(t);
        if (!seen) pause_ms(10);
    }
    if (!seen) {
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
        fail_msg("no progress line within 10 s");
    }
    assert_int_equal(kill(pid, SIGTERM), 0);
    int status = 0;
    pid_t r = 0;
    deadline = mono_ms() + 10000;
    while ((r = waitpid(pid, &status, WNOHANG)) == 0 && mono_ms() < deadline) pause_ms(10);
    if (r == 0) {
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
        fail_msg("sluice did not stop within 10 s of SIGTERM");
    }
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    check_result_table();
}

int main(void) {
    const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
        T(test_help_exits_0_and_names_the_commands),
        T(test_version_prints_the_version),
        T(test_no_arguments_is_a_usage_error),
        T(test_unknown_command_is_a_usage_error),
        T(test_sql_syntax_error_exits_2_with_position_and_writes_nothing),
        T(test_semantic_error_exits_2_with_position),
        T(test_unknown_ini_key_names_file_and_line),
        T(test_unknown_ini_section_names_file_and_line),
        T(test_unknown_pipeline_key_names_file_and_line),
        T(test_unbound_source_names_the_file_and_the_source),
        T(test_bad_trigger_names_file_and_line),
        T(test_missing_input_file_exits_2),
        T(test_prod_profile_fails_clearly_before_reading),
        T(test_check_prints_the_plan_and_writes_no_output),
        T(test_explain_needs_no_profile_file),
        T(test_run_on_csv_prints_the_memory_table),
        T(test_run_on_json_prints_the_memory_table),
        T(test_set_overrides_a_profile_key),
        T(test_run_file_sink_creates_missing_directories),
        T(test_update_query_to_csv_writes_the_op_column),
        T(test_progress_lines_are_json_objects),
        T(test_quiet_removes_the_progress_lines),
    T(test_malformed_rows_without_dead_letter_are_a_warning_even_when_quiet),
        T(test_sigterm_stops_a_followed_run_gracefully),
        T(test_event_time_at_the_edge_of_int64_is_a_malformed_row),
        T(test_output_on_the_input_file_is_refused_and_the_input_kept),
        T(test_empty_checkpoint_dir_or_dead_letter_is_a_config_error),
        T(test_endless_sql_or_profile_file_is_refused),
        T(test_uncreatable_checkpoint_dir_exits_2),
#undef T
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
