/*
 * Unit tests for the profile file loader (docs/connectors.md "The profile
 * file"): INI sections and keys, ${VAR} expansion, --set overrides,
 * positions of entries, and the duration/bool/number parsers.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/config.h"
#include "sluice_test.h"

static char *dir;
static char path[4200];
static char errstr[1024];

static int setup(void **state) {
    (void)state;
    dir = sluice_test_mkdtemp("config");
    snprintf(path, sizeof path, "%s/p.ini", dir);
    errstr[0] = '\0';
    unsetenv("SLUICE_T_UNSET");
    unsetenv("SLUICE_T_SET");
    unsetenv("SLUICE_T_EMPTY");
    return dir ? 0 : -1;
}

static int teardown(void **state) {
    (void)state;
    free(dir);
    return 0;
}

static sluice_config *load_text(const char *text) {
    assert_int_equal(sluice_test_write_file(path, text), 0);
    sluice_config *cfg = NULL;
    sluice_err_t err = sluice_config_load(path, &cfg, errstr, sizeof errstr);
    if (err != SLUICE_OK) fail_msg("load failed: %s", errstr);
    return cfg;
}

static void load_fails(const char *text, int line) {
    assert_int_equal(sluice_test_write_file(path, text), 0);
    sluice_config *cfg = NULL;
    errstr[0] = '\0';
    assert_int_equal(sluice_config_load(path, &cfg, errstr, sizeof errstr), SLUICE_ERR_CONFIG);
    assert_null(cfg);
    char want[4300];
    snprintf(want, sizeof want, "%s:%d:", path, line);
    if (strncmp(errstr, want, strlen(want)) != 0) fail_msg("expected '%s...', got '%s'", want, errstr);
}

static const char *value_of(const sluice_config *cfg, const char *section, const char *key) {
    const sluice_config_entry *e = sluice_config_find(cfg, section, key);
    return e ? e->value : NULL;
}

/* ---- INI structure ------------------------------------------------------- */

static void test_sections_and_keys_are_read(void **state) {
    (void)state;
    sluice_config *cfg = load_text("[pipeline]\n"
                                   "trigger = 200ms\n"
                                   "\n"
                                   "[source flights]\n"
                                   "path = in.jsonl\n"
                                   "format = json\n"
                                   "[sink out]\n"
                                   "path = out.csv\n");
    assert_int_equal(cfg->nentries, 4);
    assert_string_equal(value_of(cfg, "pipeline", "trigger"), "200ms");
    assert_string_equal(value_of(cfg, "source flights", "path"), "in.jsonl");
    assert_string_equal(value_of(cfg, "source flights", "format"), "json");
    assert_string_equal(value_of(cfg, "sink out", "path"), "out.csv");
    assert_null(value_of(cfg, "sink out", "format"));
    assert_null(value_of(cfg, "source out", "path"));
    assert_int_equal(cfg->nsections, 3);
    assert_string_equal(cfg->sections[1].name, "source flights");
    assert_int_equal(cfg->sections[1].line, 4);
    sluice_config_free(cfg);
}

static void test_entries_keep_file_order(void **state) {
    (void)state;
    sluice_config *cfg = load_text("[sink b]\nz = 1\na = 2\n[sink a]\nm = 3\n");
    assert_int_equal(cfg->nentries, 3);
    assert_string_equal(cfg->entries[0].key, "z");
    assert_string_equal(cfg->entries[1].key, "a");
    assert_string_equal(cfg->entries[2].key, "m");
    assert_string_equal(cfg->entries[2].section, "sink a");
    sluice_config_free(cfg);
}

static void test_section_inner_spaces_are_normalised(void **state) {
    (void)state;
    sluice_config *cfg = load_text("[source   flights]\npath = x\n");
    assert_string_equal(cfg->entries[0].section, "source flights");
    assert_string_equal(cfg->sections[0].name, "source flights");
    sluice_config_free(cfg);
}

static void test_inline_and_full_line_comments_are_ignored(void **state) {
    (void)state;
    /* a profile written with comments on every line */
    sluice_config *cfg = load_text("[pipeline]\n"
                                   "trigger        = 200ms          ; micro-batch interval (processing time), or\n"
                                   "                                ; available_now: process what is there, then stop\n"
                                   "dead_letter    = out/flights.dead.jsonl    ; file path, or kafka:TOPIC\n"
                                   "\n"
                                   "[source flights]                ; the name in CREATE SOURCE\n"
                                   "path   = fixtures/flights-20k.jsonl\n"
                                   "format = json                   ; json | csv\n"
                                   "# a hash comment\n");
    assert_int_equal(cfg->nentries, 4);
    assert_string_equal(value_of(cfg, "pipeline", "trigger"), "200ms");
    assert_string_equal(value_of(cfg, "pipeline", "dead_letter"), "out/flights.dead.jsonl");
    assert_string_equal(value_of(cfg, "source flights", "path"), "fixtures/flights-20k.jsonl");
    assert_string_equal(value_of(cfg, "source flights", "format"), "json");
    sluice_config_free(cfg);
}

static void test_keys_with_dots_are_kept_whole(void **state) {
    (void)state;
    sluice_config *cfg = load_text("[kafka]\nbootstrap.servers = localhost:9092\n[sink x]\ncsv.delimiter = ;x\n");
    assert_string_equal(value_of(cfg, "kafka", "bootstrap.servers"), "localhost:9092");
    sluice_config_free(cfg);
}

static void test_entry_line_and_column_point_at_the_key(void **state) {
    (void)state;
    sluice_config *cfg = load_text("; comment\n"
                                   "[source s]\n"
                                   "path = a\n"
                                   "\n"
                                   "[sink k]\n"
                                   "path = b\n"
                                   "format=csv\n");
    assert_int_equal(cfg->nentries, 3);
    assert_int_equal(cfg->entries[0].line, 3);
    assert_int_equal(cfg->entries[0].col, 1);
    assert_int_equal(cfg->entries[1].line, 6);
    assert_int_equal(cfg->entries[2].line, 7);
    assert_string_equal(cfg->entries[2].value, "csv");
    assert_string_equal(cfg->entries[0].file, path);
    sluice_config_free(cfg);
}

static void test_same_key_in_two_sections_gets_each_line(void **state) {
    (void)state;
    sluice_config *cfg = load_text("[sink a]\npath = x\n[sink b]\npath = y\n");
    const sluice_config_entry *a = sluice_config_find(cfg, "sink a", "path");
    const sluice_config_entry *b = sluice_config_find(cfg, "sink b", "path");
    assert_non_null(a);
    assert_non_null(b);
    assert_int_equal(a->line, 2);
    assert_int_equal(b->line, 4);
    sluice_config_free(cfg);
}

static void test_repeated_key_last_one_wins(void **state) {
    (void)state;
    sluice_config *cfg = load_text("[pipeline]\ntrigger = 1s\ntrigger = 2s\n");
    const sluice_config_entry *e = sluice_config_find(cfg, "pipeline", "trigger");
    assert_string_equal(e->value, "2s");
    assert_int_equal(e->line, 3);
    sluice_config_free(cfg);
}

static void test_key_outside_any_section_is_an_error_with_line(void **state) {
    (void)state;
    load_fails("; top\ntrigger = 1s\n[pipeline]\n", 2);
    assert_non_null(strstr(errstr, "outside any section"));
}

static void test_ini_syntax_error_names_file_and_line(void **state) {
    (void)state;
    load_fails("[pipeline]\ntrigger = 1s\nthis line has no equals sign\n", 3);
}

/* An unterminated header is an error at its own line, naming it.  Before,
 * libinih skipped it: '[pipeline' on line 1 was reported as "key 'trigger'
 * is outside any section" on line 2, and '[sink b' as a bare INI syntax
 * error. */
static void test_unterminated_section_header_is_an_error_at_its_line(void **state) {
    (void)state;
    load_fails("[sink a]\nconnector = file\npath = a.csv\n[sink b\nconnector = file\npath = b.csv\n", 4);
    assert_non_null(strstr(errstr, "unterminated section header '[sink b': expected ']'"));
    load_fails("[pipeline\ntrigger = 1s\n", 1);
}

/* The bug: libinih reads a line into a 200-byte buffer and parses the rest
 * as a line of its own.  A value whose cut fell on a '#' lost its tail
 * silently (the rest was taken for a comment); otherwise the error named
 * the wrong line.  A too-long line is an error at its own line. */
static void test_line_longer_than_the_parser_holds_is_an_error_at_its_line(void **state) {
    (void)state;
    char text[1024], value[256];
    memset(value, 'a', 194);
    value[194] = '\0';
    /* "k = " and 194 bytes: 198, the longest line that fits */
    snprintf(text, sizeof text, "[pipeline]\nk = %s\n", value);
    sluice_config *cfg = load_text(text);
    assert_string_equal(value_of(cfg, "pipeline", "k"), value);
    sluice_config_free(cfg);
    /* one more byte, then '#tail': libinih cut it into 'a'*195 and a comment */
    snprintf(text, sizeof text, "[pipeline]\nk = %sa#tail\nother = 1\n", value);
    load_fails(text, 2);
    assert_non_null(strstr(errstr, "the line is too long: a profile line holds at most 198 bytes"));
}

static void test_missing_file_is_a_config_error(void **state) {
    (void)state;
    sluice_config *cfg = NULL;
    char missing[4300];
    snprintf(missing, sizeof missing, "%s/nope.ini", dir);
    assert_int_equal(sluice_config_load(missing, &cfg, errstr, sizeof errstr), SLUICE_ERR_CONFIG);
    assert_non_null(strstr(errstr, missing));
}

static void test_load_string_reads_like_a_file(void **state) {
    (void)state;
    static const char text[] = "[source s]\r\n  path = a\r\n[sink  k]\npath = b";
    sluice_config *cfg = NULL;
    assert_int_equal(sluice_config_load_string(text, sizeof text - 1, "mem.ini", &cfg, errstr,
                                               sizeof errstr),
                     SLUICE_OK);
    assert_string_equal(cfg->path, "mem.ini");
    assert_int_equal(cfg->nentries, 2);
    assert_string_equal(cfg->entries[0].file, "mem.ini");
    assert_int_equal(cfg->entries[0].line, 2);
    assert_int_equal(cfg->entries[0].col, 3);
    assert_string_equal(cfg->entries[1].section, "sink k");
    assert_string_equal(cfg->entries[1].value, "b");
    assert_int_equal(cfg->entries[1].line, 4);
    assert_int_equal(cfg->nsections, 2);
    assert_int_equal(cfg->sections[1].line, 3);
    sluice_config_free(cfg);
}

static void test_load_string_errors_name_the_given_name(void **state) {
    (void)state;
    static const char text[] = "[pipeline]\nno equals\n";
    sluice_config *cfg = NULL;
    assert_int_equal(sluice_config_load_string(text, sizeof text - 1, "mem.ini", &cfg, errstr,
                                               sizeof errstr),
                     SLUICE_ERR_CONFIG);
    assert_null(cfg);
    assert_non_null(strstr(errstr, "mem.ini:2:"));
}

/* ---- ${VAR} expansion ------------------------------------------------------ */

static void test_var_is_expanded_from_the_environment(void **state) {
    (void)state;
    setenv("SLUICE_T_SET", "broker:9092", 1);
    sluice_config *cfg = load_text("[kafka]\nbootstrap.servers = ${SLUICE_T_SET}\n");
    assert_string_equal(value_of(cfg, "kafka", "bootstrap.servers"), "broker:9092");
    sluice_config_free(cfg);
}

static void test_var_inside_text_is_expanded(void **state) {
    (void)state;
    setenv("SLUICE_T_SET", "data", 1);
    sluice_config *cfg = load_text("[source s]\npath = /srv/${SLUICE_T_SET}/in-${SLUICE_T_SET}.csv\n");
    assert_string_equal(value_of(cfg, "source s", "path"), "/srv/data/in-data.csv");
    sluice_config_free(cfg);
}

static void test_default_is_used_when_var_is_unset(void **state) {
    (void)state;
    sluice_config *cfg = load_text("[mysql]\nhost = ${SLUICE_T_UNSET:-127.0.0.1}\n");
    assert_string_equal(value_of(cfg, "mysql", "host"), "127.0.0.1");
    sluice_config_free(cfg);
}

static void test_default_is_used_when_var_is_empty(void **state) {
    (void)state;
    setenv("SLUICE_T_EMPTY", "", 1);
    sluice_config *cfg = load_text("[mysql]\nhost = ${SLUICE_T_EMPTY:-fallback}\n");
    assert_string_equal(value_of(cfg, "mysql", "host"), "fallback");
    sluice_config_free(cfg);
}

static void test_default_is_ignored_when_var_is_set(void **state) {
    (void)state;
    setenv("SLUICE_T_SET", "db.internal", 1);
    sluice_config *cfg = load_text("[mysql]\nhost = ${SLUICE_T_SET:-127.0.0.1}\n");
    assert_string_equal(value_of(cfg, "mysql", "host"), "db.internal");
    sluice_config_free(cfg);
}

static void test_unset_var_without_default_names_file_and_line(void **state) {
    (void)state;
    load_fails("[mysql]\nuser = sluice\npassword = ${SLUICE_T_UNSET}\n", 3);
    assert_non_null(strstr(errstr, "SLUICE_T_UNSET"));
}

static void test_double_dollar_is_a_literal_dollar(void **state) {
    (void)state;
    sluice_config *cfg = load_text("[mysql]\npassword = a$$b$${SLUICE_T_UNSET}\n");
    assert_string_equal(value_of(cfg, "mysql", "password"), "a$b${SLUICE_T_UNSET}");
    sluice_config_free(cfg);
}

static void test_lone_dollar_is_kept(void **state) {
    (void)state;
    sluice_config *cfg = load_text("[mysql]\npassword = pa$s\n");
    assert_string_equal(value_of(cfg, "mysql", "password"), "pa$s");
    sluice_config_free(cfg);
}

static void test_unterminated_reference_is_an_error(void **state) {
    (void)state;
    load_fails("[mysql]\nhost = ${SLUICE_T_SET\n", 2);
}

static void test_expand_rejects_bad_variable_names(void **state) {
    (void)state;
    char *out = NULL;
    assert_int_equal(sluice_config_expand("${}", &out, errstr, sizeof errstr), SLUICE_ERR_CONFIG);
    assert_int_equal(sluice_config_expand("${A-B}", &out, errstr, sizeof errstr), SLUICE_ERR_CONFIG);
    assert_int_equal(sluice_config_expand("${A B}", &out, errstr, sizeof errstr), SLUICE_ERR_CONFIG);
    assert_null(out);
}

static void test_expand_empty_default(void **state) {
    (void)state;
    char *out = NULL;
    assert_int_equal(sluice_config_expand("<${SLUICE_T_UNSET:-}>", &out, errstr, sizeof errstr), SLUICE_OK);
    assert_string_equal(out, "<>");
    free(out);
}

/* ---- --set ----------------------------------------------------------------- */

static void test_set_sink_key_with_dots(void **state) {
    (void)state;
    sluice_config *cfg = sluice_config_new_empty();
    assert_int_equal(sluice_config_set(cfg, "sink x.csv.delimiter=;", errstr, sizeof errstr), SLUICE_OK);
    const sluice_config_entry *e = sluice_config_find(cfg, "sink x", "csv.delimiter");
    assert_non_null(e);
    assert_string_equal(e->value, ";");
    assert_string_equal(e->file, "--set");
    assert_int_equal(e->line, 0);
    sluice_config_free(cfg);
}

static void test_set_pipeline_trigger(void **state) {
    (void)state;
    sluice_config *cfg = sluice_config_new_empty();
    assert_int_equal(sluice_config_set(cfg, "pipeline.trigger=1s", errstr, sizeof errstr), SLUICE_OK);
    assert_string_equal(value_of(cfg, "pipeline", "trigger"), "1s");
    sluice_config_free(cfg);
}

static void test_set_value_may_contain_equals_and_dots(void **state) {
    (void)state;
    sluice_config *cfg = sluice_config_new_empty();
    assert_int_equal(sluice_config_set(cfg, "sink delays.path=out/a=b.csv", errstr, sizeof errstr), SLUICE_OK);
    assert_string_equal(value_of(cfg, "sink delays", "path"), "out/a=b.csv");
    sluice_config_free(cfg);
}

static void test_set_overrides_file_value(void **state) {
    (void)state;
    sluice_config *cfg = load_text("[sink out]\npath = a.csv\n");
    assert_int_equal(sluice_config_set(cfg, "sink out.path=b.csv", errstr, sizeof errstr), SLUICE_OK);
    assert_string_equal(value_of(cfg, "sink out", "path"), "b.csv");
    /* the override replaces the file's entry */
    assert_int_equal(cfg->nentries, 1);
    sluice_config_free(cfg);
}

/* How many entries section/key has. */
static int count_of(const sluice_config *cfg, const char *section, const char *key) {
    int n = 0;
    for (size_t i = 0; i < cfg->nentries; i++)
        if (strcmp(cfg->entries[i].section, section) == 0 && strcmp(cfg->entries[i].key, key) == 0) n++;
    return n;
}

static void test_set_overrides_any_key_of_any_section(void **state) {
    (void)state;
    sluice_config *cfg = load_text("[pipeline]\ntrigger = 1s\n"
                                   "[source ev]\npath = in.jsonl\nkafka.fetch.min.bytes = 1\n"
                                   "[sink out]\npath = a.csv\n"
                                   "[kafka]\nbootstrap.servers = a:9092\n"
                                   "[mysql]\nhost = db1\npassword = old\n");
    static const struct {
        const char *set, *section, *key, *value;
    } sets[] = {
        {"pipeline.trigger=2s", "pipeline", "trigger", "2s"},
        {"source ev.path=other.jsonl", "source ev", "path", "other.jsonl"},
        {"source ev.kafka.fetch.min.bytes=2", "source ev", "kafka.fetch.min.bytes", "2"},
        {"sink out.path=b.csv", "sink out", "path", "b.csv"},
        {"kafka.bootstrap.servers=b:9092", "kafka", "bootstrap.servers", "b:9092"},
        {"mysql.host=db2", "mysql", "host", "db2"},
        {"mysql.password=new", "mysql", "password", "new"},
        {"sink  out.format=json", "sink out", "format", "json"}, /* a key the file does not have */
    };
    for (size_t i = 0; i < sizeof sets / sizeof *sets; i++) {
        assert_int_equal(sluice_config_set(cfg, sets[i].set, errstr, sizeof errstr), SLUICE_OK);
        /* one entry, the override: a reader taking the first match (as the
         * [mysql] section's did) sees it as well as one taking the last */
        assert_int_equal(count_of(cfg, sets[i].section, sets[i].key), 1);
        assert_string_equal(value_of(cfg, sets[i].section, sets[i].key), sets[i].value);
        assert_string_equal(sluice_config_find(cfg, sets[i].section, sets[i].key)->file, "--set");
    }
    /* the file's 7 entries, replaced, and the new sink out.format */
    assert_int_equal(cfg->nentries, 8);
    sluice_config_free(cfg);
}

static void test_secret_keys_are_recognised(void **state) {
    (void)state;
    static const char *secret[] = {"password", "sasl.password", "ssl.key.password", "kafka.sasl.password",
                                   "sasl.oauthbearer.config", "ssl.keystore.password", "api_token",
                                   "client.secret", "ssl.key.pem", "sasl.jaas.config", "PASSWORD"};
    static const char *plain[] = {"user", "host", "ssl_key", "ssl_cert", "path", "bootstrap.servers", "topic"};
    for (size_t i = 0; i < sizeof secret / sizeof *secret; i++) assert_true(sluice_config_secret_key(secret[i]));
    for (size_t i = 0; i < sizeof plain / sizeof *plain; i++) assert_false(sluice_config_secret_key(plain[i]));
}

static void test_secret_values_never_appear_in_errors(void **state) {
    (void)state;
    /* a bad ${ reference in a secret's value: the file and line, not the value */
    static const char *files[] = {"[mysql]\nuser = u\npassword = hunter2${oops\n",
                                  "[kafka]\nsasl.password = hunter2${a b}\n",
                                  "[source ev]\nkafka.ssl.key.password = ${hunter2\n"};
    static const int lines[] = {3, 2, 2};
    for (size_t i = 0; i < 3; i++) {
        load_fails(files[i], lines[i]);
        assert_null(strstr(errstr, "hunter2"));
        assert_non_null(strstr(errstr, "not shown"));
    }
    /* a non-secret value is still quoted, to help */
    load_fails("[mysql]\nhost = db${oops\n", 2);
    assert_non_null(strstr(errstr, "db${oops"));
    /* --set: never the value, nor an argument without '=' */
    sluice_config *cfg = sluice_config_new_empty();
    static const char *bad[] = {"mysql.password=hunter2${", "mysql.password hunter2", "mysql.password:hunter2",
                                "password=hunter2", ".password=hunter2"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        errstr[0] = '\0';
        assert_int_equal(sluice_config_set(cfg, bad[i], errstr, sizeof errstr), SLUICE_ERR_CONFIG);
        assert_true(errstr[0]);
        if (strstr(errstr, "hunter2")) fail_msg("--set '%s' printed: %s", bad[i], errstr);
    }
    sluice_config_free(cfg);
}

static void test_set_value_is_expanded(void **state) {
    (void)state;
    setenv("SLUICE_T_SET", "7s", 1);
    sluice_config *cfg = sluice_config_new_empty();
    assert_int_equal(sluice_config_set(cfg, "pipeline.trigger=${SLUICE_T_SET}", errstr, sizeof errstr), SLUICE_OK);
    assert_string_equal(value_of(cfg, "pipeline", "trigger"), "7s");
    assert_int_equal(sluice_config_set(cfg, "pipeline.trigger=${SLUICE_T_UNSET}", errstr, sizeof errstr),
                     SLUICE_ERR_CONFIG);
    assert_non_null(strstr(errstr, "SLUICE_T_UNSET"));
    sluice_config_free(cfg);
}

static void test_set_malformed_assignments_are_rejected(void **state) {
    (void)state;
    static const char *bad[] = {"trigger=1s", "pipeline.trigger", ".trigger=1s", "pipeline.=1s", "=1s", "",
                                "pipeline=1s.x"};
    sluice_config *cfg = sluice_config_new_empty();
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        errstr[0] = '\0';
        if (sluice_config_set(cfg, bad[i], errstr, sizeof errstr) != SLUICE_ERR_CONFIG)
            fail_msg("--set '%s' was accepted", bad[i]);
        assert_non_null(strstr(errstr, "SECTION.KEY=VALUE"));
    }
    assert_int_equal(cfg->nentries, 0);
    sluice_config_free(cfg);
}

/* ---- value parsers --------------------------------------------------------- */

static void test_parse_duration_units(void **state) {
    (void)state;
    int64_t ms = -1;
    assert_int_equal(sluice_parse_duration_ms("200ms", &ms), 0);
    assert_int_equal(ms, 200);
    assert_int_equal(sluice_parse_duration_ms("30s", &ms), 0);
    assert_int_equal(ms, 30000);
    assert_int_equal(sluice_parse_duration_ms("5m", &ms), 0);
    assert_int_equal(ms, 300000);
    assert_int_equal(sluice_parse_duration_ms("2h", &ms), 0);
    assert_int_equal(ms, 7200000);
    assert_int_equal(sluice_parse_duration_ms("1d", &ms), 0);
    assert_int_equal(ms, 86400000);
    assert_int_equal(sluice_parse_duration_ms("250", &ms), 0);
    assert_int_equal(ms, 250);
    assert_int_equal(sluice_parse_duration_ms("0", &ms), 0);
    assert_int_equal(ms, 0);
}

static void test_parse_duration_rejects_garbage(void **state) {
    (void)state;
    static const char *bad[] = {"", "abc", "s", "-1s", "1x", "1.5s", "10 parsecs", "9223372036854775807d"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int64_t ms = 12345;
        if (sluice_parse_duration_ms(bad[i], &ms) != -1) fail_msg("duration '%s' was accepted", bad[i]);
        assert_int_equal(ms, 12345);
    }
    int64_t ms;
    assert_int_equal(sluice_parse_duration_ms(NULL, &ms), -1);
}

static void test_parse_bool(void **state) {
    (void)state;
    static const char *yes[] = {"true", "TRUE", "yes", "on", "1"}, *no[] = {"false", "False", "no", "off", "0"};
    for (size_t i = 0; i < 5; i++) {
        int b = -1;
        assert_int_equal(sluice_parse_bool(yes[i], &b), 0);
        assert_int_equal(b, 1);
        assert_int_equal(sluice_parse_bool(no[i], &b), 0);
        assert_int_equal(b, 0);
    }
    int b = 7;
    assert_int_equal(sluice_parse_bool("maybe", &b), -1);
    assert_int_equal(sluice_parse_bool("", &b), -1);
    assert_int_equal(sluice_parse_bool("2", &b), -1);
    assert_int_equal(b, 7);
}

static void test_parse_positive(void **state) {
    (void)state;
    int64_t v = 0;
    assert_int_equal(sluice_parse_positive("1", &v), 0);
    assert_int_equal(v, 1);
    assert_int_equal(sluice_parse_positive("65536", &v), 0);
    assert_int_equal(v, 65536);
    assert_int_equal(sluice_parse_positive("9223372036854775807", &v), 0);
    assert_int_equal(v, INT64_MAX);
    static const char *bad[] = {"0", "-3", "12a", "", "9223372036854775808", "1.0"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        if (sluice_parse_positive(bad[i], &v) != -1) fail_msg("'%s' was accepted as positive", bad[i]);
}

int main(void) {
    const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
        T(test_sections_and_keys_are_read),
        T(test_entries_keep_file_order),
        T(test_section_inner_spaces_are_normalised),
        T(test_inline_and_full_line_comments_are_ignored),
        T(test_keys_with_dots_are_kept_whole),
        T(test_entry_line_and_column_point_at_the_key),
        T(test_same_key_in_two_sections_gets_each_line),
        T(test_repeated_key_last_one_wins),
        T(test_key_outside_any_section_is_an_error_with_line),
        T(test_ini_syntax_error_names_file_and_line),
        T(test_unterminated_section_header_is_an_error_at_its_line),
        T(test_line_longer_than_the_parser_holds_is_an_error_at_its_line),
        T(test_missing_file_is_a_config_error),
        T(test_load_string_reads_like_a_file),
        T(test_load_string_errors_name_the_given_name),
        T(test_var_is_expanded_from_the_environment),
        T(test_var_inside_text_is_expanded),
        T(test_default_is_used_when_var_is_unset),
        T(test_default_is_used_when_var_is_empty),
        T(test_default_is_ignored_when_var_is_set),
        T(test_unset_var_without_default_names_file_and_line),
        T(test_double_dollar_is_a_literal_dollar),
        T(test_lone_dollar_is_kept),
        T(test_unterminated_reference_is_an_error),
        T(test_expand_rejects_bad_variable_names),
        T(test_expand_empty_default),
        T(test_set_sink_key_with_dots),
        T(test_set_pipeline_trigger),
        T(test_set_value_may_contain_equals_and_dots),
        T(test_set_overrides_file_value),
        T(test_set_value_is_expanded),
        T(test_set_overrides_any_key_of_any_section),
        T(test_secret_keys_are_recognised),
        T(test_secret_values_never_appear_in_errors),
        T(test_set_malformed_assignments_are_rejected),
        T(test_parse_duration_units),
        T(test_parse_duration_rejects_garbage),
        T(test_parse_bool),
        T(test_parse_positive),
#undef T
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
