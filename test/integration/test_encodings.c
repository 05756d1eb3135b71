/*
 * Encodings end to end, through the sluice binary: a UTF-8 byte-order mark
 * that starts a CSV or JSON-lines file is skipped (one later in the file is
 * data), ill-formed UTF-8 input is a dead letter that keeps the exact bytes
 * (raw_base64), a CSV record with an unterminated quote is a dead letter
 * that holds the lines it swallowed, and the run's counts say so.  Expected
 * outputs are written out by hand.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "sluice_test.h"

static char *dir;
static char sql_path[4200], ini_path[4200], in_path[4200], out_path[4200], dl_path[4200],
    err_path[4200];

static const char pipeline_sql[] =
    "CREATE SOURCE ev (id BIGINT, name VARCHAR);\n"
    "CREATE SINK out AS SELECT id, name, UPPER(name) AS up, LENGTH(name) AS len FROM ev;\n";

static int setup(void **state) {
    (void)state;
    dir = sluice_test_mkdtemp("encodings");
    if (!dir) return -1;
    snprintf(sql_path, sizeof sql_path, "%s/p.sql", dir);
    snprintf(ini_path, sizeof ini_path, "%s/p.test.ini", dir);
    snprintf(in_path, sizeof in_path, "%s/in.data", dir);
    snprintf(out_path, sizeof out_path, "%s/out.jsonl", dir);
    snprintf(dl_path, sizeof dl_path, "%s/dead.jsonl", dir);
    snprintf(err_path, sizeof err_path, "%s/stderr.txt", dir);
    return 0;
}

static int teardown(void **state) {
    (void)state;
    free(dir);
    return 0;
}

/* Run the pipeline over `input` (format json or csv); returns the exit
 * status and the sum of malformed_rows over the progress lines. */
static int run(const char *format, const char *input, size_t input_len, uint64_t *malformed) {
    assert_int_equal(sluice_test_write_file(sql_path, pipeline_sql), 0);
    char ini[20000];
    snprintf(ini, sizeof ini,
             "[pipeline]\ntrigger = available_now\ndead_letter = %s\n"
             "[source ev]\npath = %s\nformat = %s\n"
             "[sink out]\nconnector = file\npath = %s\nformat = json\n",
             dl_path, in_path, format, out_path);
    assert_int_equal(sluice_test_write_file(ini_path, ini), 0);
    FILE *f = fopen(in_path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(input, 1, input_len, f), input_len);
    assert_int_equal(fclose(f), 0);
    remove(out_path);
    const char *argv[] = {"run", sql_path, NULL};
    int rc = sluice_test_run_cli(argv, NULL, err_path);
    char *err = sluice_test_read_file(err_path, NULL);
    assert_non_null(err);
    *malformed = 0;
    for (char *save = NULL, *l = strtok_r(err, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
        cJSON *o = cJSON_Parse(l);
        const cJSON *m = cJSON_GetObjectItemCaseSensitive(o, "malformed_rows");
        if (cJSON_IsNumber(m)) *malformed += (uint64_t)m->valuedouble;
        cJSON_Delete(o);
    }
    free(err);
    return rc;
}

static void expect_file(const char *path, const char *want) {
    size_t len = 0;
    char *got = sluice_test_read_file(path, &len);
    assert_non_null(got);
    if (len != strlen(want) || memcmp(got, want, len) != 0)
        fail_msg("%s:\n%.*s\nwant:\n%s", path, (int)len, got, want);
    free(got);
}

#define R "\xEF\xBF\xBD"

static void test_csv(void **state) {
    (void)state;
    static const char input[] = "\xEF\xBB\xBF" "id,name\n"
                                "1,stra\xC3\x9F" "e\n"
                                "\xEF\xBB\xBF" "2,x\n"
                                "3,\"bad \xFF\"\n"
                                "4,\"\xC3\x80\xC3\x89\xC3\x8E\"\n"
                                "5,\"open\n"
                                "6,lost\n"
                                "7,\"also lost\"\n";
    uint64_t malformed = 0;
    assert_int_equal(run("csv", input, sizeof input - 1, &malformed), 0);
    assert_int_equal(malformed, 3);
    expect_file(out_path,
                "{\"id\":1,\"name\":\"stra\xC3\x9F" "e\",\"up\":\"STRASSE\",\"len\":6}\n"
                "{\"id\":4,\"name\":\"\xC3\x80\xC3\x89\xC3\x8E\",\"up\":\"\xC3\x80\xC3\x89\xC3\x8E\",\"len\":3}\n");
    char want[20000];
    snprintf(want, sizeof want,
             "{\"source\":\"ev\",\"position\":\"%1$s:3\",\"reason\":\"column 'id': expected BIGINT, "
             "got \\\"\xEF\xBB\xBF" "2\\\"\",\"raw\":\"\xEF\xBB\xBF" "2,x\"}\n"
             "{\"source\":\"ev\",\"position\":\"%1$s:4\",\"reason\":\"invalid UTF-8 in column 'name' at "
             "byte 5 of the field\",\"raw_base64\":\"MywiYmFkIP8i\"}\n"
             "{\"source\":\"ev\",\"position\":\"%1$s:6\",\"reason\":\"unterminated quoted field starting "
             "on line 1 of the record (byte 3): the record runs to the end of the input\","
             "\"raw\":\"5,\\\"open\\n6,lost\\n7,\\\"also lost\\\"\\n\"}\n",
             in_path);
    expect_file(dl_path, want);
}

static void test_json(void **state) {
    (void)state;
    static const char input[] = "\xEF\xBB\xBF{\"id\":1,\"name\":\"\xCE\xBA\xCF\x8C\xCF\x83\xCE\xBC\xCE\xBF\xCF\x82\"}\n"
                                "\xEF\xBB\xBF{\"id\":2,\"name\":\"x\"}\n"
                                "{\"id\":3,\"name\":\"a\xC0\xAF\"}\n"
                                "{\"id\":4,\"name\":\"ok\"}\n";
    uint64_t malformed = 0;
    assert_int_equal(run("json", input, sizeof input - 1, &malformed), 0);
    assert_int_equal(malformed, 2);
    /* κόσμος: upper-case ΚΌΣΜΟΣ, six characters */
    expect_file(out_path,
                "{\"id\":1,\"name\":\"\xCE\xBA\xCF\x8C\xCF\x83\xCE\xBC\xCE\xBF\xCF\x82\",\"up\":"
                "\"\xCE\x9A\xCE\x8C\xCE\xA3\xCE\x9C\xCE\x9F\xCE\xA3\",\"len\":6}\n"
                "{\"id\":4,\"name\":\"ok\",\"up\":\"OK\",\"len\":2}\n");
    size_t len = 0;
    char *dl = sluice_test_read_file(dl_path, &len);
    assert_non_null(dl);
    /* line 2: the BOM in the middle is data, so the line is not JSON */
    char *second = strchr(dl, '\n');
    assert_non_null(second);
    *second++ = '\0';
    cJSON *a = cJSON_Parse(dl), *b = cJSON_Parse(second);
    assert_non_null(a);
    assert_non_null(b);
    char pos2[4300], pos3[4300];
    snprintf(pos2, sizeof pos2, "%s:2", in_path);
    snprintf(pos3, sizeof pos3, "%s:3", in_path);
    assert_string_equal(cJSON_GetObjectItem(a, "position")->valuestring, pos2);
    assert_string_equal(cJSON_GetObjectItem(a, "raw")->valuestring, "\xEF\xBB\xBF{\"id\":2,\"name\":\"x\"}");
    assert_string_equal(cJSON_GetObjectItem(a, "reason")->valuestring,
                        "invalid JSON: a byte-order mark (U+FEFF) starts the record");
    assert_string_equal(cJSON_GetObjectItem(b, "position")->valuestring, pos3);
    assert_string_equal(cJSON_GetObjectItem(b, "reason")->valuestring,
                        "invalid JSON: invalid UTF-8 at byte 18");
    assert_null(cJSON_GetObjectItem(b, "raw"));
    /* base64 of {"id":3,"name":"a<C0><AF>"} */
    assert_string_equal(cJSON_GetObjectItem(b, "raw_base64")->valuestring,
                        "eyJpZCI6MywibmFtZSI6ImHAryJ9");
    cJSON_Delete(a);
    cJSON_Delete(b);
    free(dl);
}

/* Outputs are UTF-8 even where ill-formed bytes reach them: a string
 * literal of the SQL file is not checked, so it carries them to every
 * writer: JSON lines, CSV and the console table. */
static void test_outputs_replace_invalid_bytes(void **state) {
    (void)state;
    static const char sql[] = "CREATE SOURCE ev (id BIGINT, name VARCHAR);\n"
                              "CREATE SINK out AS SELECT id, 'a\xFF" "b' AS bad, UPPER('\xE2\x82') AS u FROM ev;\n";
    assert_int_equal(sluice_test_write_file(sql_path, sql), 0);
    assert_int_equal(sluice_test_write_file(in_path, "id,name\n1,x\n"), 0);
    static const struct {
        const char *sink, *want;
    } cases[] = {
        {"connector = file\nformat = json\n", "{\"id\":1,\"bad\":\"a" R "b\",\"u\":\"" R "\"}\n"},
        {"connector = file\nformat = csv\n", "id,bad,u\n1,a" R "b," R "\n"},
        {"connector = console\n", NULL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char ini[10000];
        snprintf(ini, sizeof ini,
                 "[pipeline]\ntrigger = available_now\n[source ev]\npath = %s\nformat = csv\n"
                 "[sink out]\npath = %s\n%s",
                 in_path, out_path, cases[i].sink);
        if (!cases[i].want) /* console: no path */
            snprintf(ini, sizeof ini,
                     "[pipeline]\ntrigger = available_now\n[source ev]\npath = %s\nformat = csv\n"
                     "[sink out]\n%s",
                     in_path, cases[i].sink);
        assert_int_equal(sluice_test_write_file(ini_path, ini), 0);
        remove(out_path);
        const char *argv[] = {"run", sql_path, "--quiet", NULL};
        char stdout_path[4300];
        snprintf(stdout_path, sizeof stdout_path, "%s/stdout.txt", dir);
        assert_int_equal(sluice_test_run_cli(argv, stdout_path, err_path), 0);
        if (cases[i].want) {
            expect_file(out_path, cases[i].want);
        } else {
            char *got = sluice_test_read_file(stdout_path, NULL);
            assert_non_null(got);
            if (!strstr(got, "  1 | a" R "b | " R "\n")) fail_msg("console output:\n%s", got);
            free(got);
        }
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_csv, setup, teardown),
        cmocka_unit_test_setup_teardown(test_json, setup, teardown),
        cmocka_unit_test_setup_teardown(test_outputs_replace_invalid_bytes, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
