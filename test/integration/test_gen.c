/*
 * sluice-gen: usage and exit statuses, determinism, record counts, fields
 * and types of every stream, event-time order, the late and malformed
 * fractions, replay byte for byte, the committed generated fixtures, and
 * (with Kafka support) producing to librdkafka's mock cluster.  Runs the
 * real binary.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "format/format.h"
#include "sluice_test.h"

#ifdef SLUICE_WITH_KAFKA
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#endif

static char *dir;
static char out_path[4200], err_path[4200], in_path[4200];

static int setup(void **state) {
    (void)state;
    dir = sluice_test_mkdtemp("gen");
    if (!dir) return -1;
    snprintf(out_path, sizeof out_path, "%s/out.jsonl", dir);
    snprintf(err_path, sizeof err_path, "%s/stderr.txt", dir);
    snprintf(in_path, sizeof in_path, "%s/in.jsonl", dir);
    return 0;
}

static int teardown(void **state) {
    (void)state;
    free(dir);
    return 0;
}

/* Run sluice-gen with argv (NULL-terminated, without argv[0]); stdout and
 * stderr to the given files (NULL = /dev/null).  The exit status, or -1. */
static int run_gen(const char *const *argv, const char *stdout_path, const char *stderr_path) {
    size_t n = 0;
    while (argv[n]) n++;
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) return -1;
    if (pid == 0) {
        const char *outs[2] = {stdout_path, stderr_path};
        for (int i = 0; i < 2; i++) {
            int fd = open(outs[i] ? outs[i] : "/dev/null", O_WRONLY | O_CREAT | O_TRUNC, 0644);
            if (fd < 0) _exit(126);
            dup2(fd, i + 1);
            close(fd);
        }
        char **args = calloc(n + 2, sizeof(char *));
        args[0] = (char *)SLUICE_GEN_BINARY;
        for (size_t i = 0; i < n; i++) args[i + 1] = (char *)argv[i];
        execv(SLUICE_GEN_BINARY, args);
        _exit(127);
    }
    int status;
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR) return -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* Run and return stdout (malloc'd); asserts exit status 0. */
static char *gen_output(const char *const *argv) {
    int rc = run_gen(argv, out_path, err_path);
    if (rc != 0) {
        char *err = sluice_test_read_file(err_path, NULL);
        print_error("sluice-gen exited %d: %s\n", rc, err ? err : "");
        free(err);
    }
    assert_int_equal(rc, 0);
    char *text = sluice_test_read_file(out_path, NULL);
    assert_non_null(text);
    return text;
}

/* Split text into lines in place (the newlines become NULs).  Returns a
 * malloc'd array of pointers; *n the number of lines.  Every line,
 * including the last, must end with a newline. */
static char **split_lines(char *text, size_t *n) {
    size_t cap = 16, count = 0;
    char **lines = malloc(cap * sizeof *lines);
    char *p = text;
    while (*p) {
        char *nl = strchr(p, '\n');
        assert_non_null(nl);
        *nl = '\0';
        if (count == cap) lines = realloc(lines, (cap *= 2) * sizeof *lines);
        lines[count++] = p;
        p = nl + 1;
    }
    *n = count;
    return lines;
}

static size_t count_lines(const char *text) {
    size_t n = 0;
    for (const char *p = text; *p; p++) n += *p == '\n';
    return n;
}

/* ---------------- usage ---------------- */

static void test_help(void **state) {
    (void)state;
    const char *argv[] = {"--help", NULL};
    char *text = gen_output(argv);
    const char *must[] = {"replay", "orders", "ticks", "pageviews", "reviews", "registrations",
                          "--count", "--seed", "--start", "--rate", "--events-per-second-of-event-time",
                          "--late-fraction", "--late-by", "--malformed-fraction", "--out", "--kafka",
                          "--topic", "--key", "--partitions-by-key", "--kafka-property KEY=VALUE", "exit status"};
    for (size_t i = 0; i < sizeof must / sizeof must[0]; i++) {
        if (!strstr(text, must[i])) print_error("--help lacks '%s'\n", must[i]);
        assert_non_null(strstr(text, must[i]));
    }
    free(text);
    const char *argv2[] = {"orders", "--help", NULL};
    text = gen_output(argv2);
    assert_non_null(strstr(text, "usage: sluice-gen"));
    free(text);
    const char *argv3[] = {"--version", NULL};
    text = gen_output(argv3);
    assert_non_null(strstr(text, "sluice-gen " SLUICE_VERSION));
    free(text);
}

static void test_bad_arguments(void **state) {
    (void)state;
    struct {
        const char *argv[10];
        const char *message;
    } cases[] = {
        {{NULL}, "usage: sluice-gen"},
        {{"trades", NULL}, "unknown mode 'trades'"},
        {{"orders", "--count", NULL}, "option '--count' needs a value"},
        {{"orders", "--count", "ten", NULL}, "--count: expected a non-negative integer, got 'ten'"},
        {{"orders", "--count", "-5", NULL}, "--count"},
        {{"orders", "--seed", "1x", NULL}, "--seed"},
        {{"orders", "--late-fraction", "1.5", NULL}, "--late-fraction: expected a number from 0 to 1"},
        {{"orders", "--malformed-fraction", "x", NULL}, "--malformed-fraction"},
        {{"orders", "--rate", "0", NULL}, "--rate"},
        {{"orders", "--rate", "10/min", NULL}, "--rate"},
        {{"orders", "--events-per-second-of-event-time", "-1", NULL}, "--events-per-second-of-event-time"},
        {{"orders", "--late-by", "10 parsecs", NULL}, "--late-by"},
        {{"orders", "--start", "yesterday", NULL}, "--start: expected an ISO-8601 time"},
        {{"orders", "--bogus", NULL}, "unknown option '--bogus'"},
        {{"orders", "extra", NULL}, "unexpected argument 'extra'"},
        {{"replay", NULL}, "replay: expected the FILE"},
        {{"replay", "a.jsonl", "b.jsonl", NULL}, "exactly one FILE"},
        {{"replay", "a.jsonl", "--seed", "3", NULL}, "--seed applies only to the generated streams"},
        {{"orders", "--topic", "t", NULL}, "--topic needs --kafka"},
        {{"orders", "--key", "shopid", NULL}, "--key needs --kafka"},
        {{"orders", "--kafka", "127.0.0.1:1", NULL}, "--kafka needs --topic"},
        {{"orders", "--kafka", "127.0.0.1:1", "--topic", "t", "--out", "x", NULL}, "exclude each other"},
        {{"orders", "--kafka", "127.0.0.1:1", "--topic", "t", "--key", "colour", NULL},
         "orders has no field 'colour' (fields: orderid, itemid, shopid, region, count, ts)"},
        {{"orders", "--kafka", "127.0.0.1:1", "--topic", "t", "--partitions-by-key", NULL},
         "--partitions-by-key needs --key"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int rc = run_gen(cases[i].argv, out_path, err_path);
        char *err = sluice_test_read_file(err_path, NULL);
        char *out = sluice_test_read_file(out_path, NULL);
        if (rc != 2 || !strstr(err, cases[i].message))
            print_error("case %zu: exit %d, stderr: %s\n", i, rc, err);
        assert_int_equal(rc, 2);
        assert_non_null(strstr(err, cases[i].message));
        assert_string_equal(out, "");
        free(err);
        free(out);
    }
    /* an input that cannot be read is a runtime failure */
    const char *argv[] = {"replay", "/nonexistent/input.jsonl", NULL};
    assert_int_equal(run_gen(argv, NULL, err_path), 1);
    char *err = sluice_test_read_file(err_path, NULL);
    assert_non_null(strstr(err, "cannot open '/nonexistent/input.jsonl'"));
    free(err);
    const char *argv2[] = {"orders", "--out", "/nonexistent/out.jsonl", NULL};
    assert_int_equal(run_gen(argv2, NULL, err_path), 1);
    err = sluice_test_read_file(err_path, NULL);
    assert_non_null(strstr(err, "cannot open '/nonexistent/out.jsonl' for writing"));
    free(err);
}

/* ---------------- streams ---------------- */

typedef struct stream_spec {
    const char *name;
    const char *fields[7];
    const char *types; /* per field: i integer, d number, s string, t timestamp */
} stream_spec;

static const stream_spec specs[] = {
    {"orders", {"orderid", "itemid", "shopid", "region", "count", "ts"}, "iiisit"},
    {"ticks", {"symbol", "price", "volume", "ts"}, "sdit"},
    {"pageviews", {"user", "page", "character", "ts"}, "ssst"},
    {"reviews", {"product", "rating", "text", "ts"}, "sist"},
    {"registrations", {"customer_id", "store_id", "ts"}, "iit"},
};

static int is_iso_ms(const char *s, int64_t *ms) {
    static const char pattern[] = "dddd-dd-ddTdd:dd:dd.dddZ";
    if (strlen(s) != sizeof pattern - 1) return 0;
    for (size_t i = 0; pattern[i]; i++) {
        if (pattern[i] == 'd' ? (s[i] < '0' || s[i] > '9') : s[i] != pattern[i]) return 0;
    }
    return sluice_ts_parse(NULL, s, strlen(s), ms) == 0;
}

/* 1 when line is a JSON object with exactly the fields of spec, in order,
 * of the right types; *ts receives the event time. */
static int record_ok(const stream_spec *spec, const char *line, int64_t *ts) {
    cJSON *root = cJSON_Parse(line);
    if (!cJSON_IsObject(root)) {
        cJSON_Delete(root);
        return 0;
    }
    int ok = 1;
    size_t i = 0;
    for (const cJSON *f = root->child; f && ok; f = f->next, i++) {
        if (!spec->fields[i] || strcmp(f->string, spec->fields[i]) != 0) {
            ok = 0;
            break;
        }
        switch (spec->types[i]) {
        case 'i': ok = cJSON_IsNumber(f) && f->valuedouble == (double)(int64_t)f->valuedouble; break;
        case 'd': ok = cJSON_IsNumber(f); break;
        case 's': ok = cJSON_IsString(f); break;
        case 't': ok = cJSON_IsString(f) && is_iso_ms(f->valuestring, ts); break;
        }
    }
    if (spec->fields[i]) ok = 0;
    cJSON_Delete(root);
    return ok;
}

static void test_deterministic(void **state) {
    (void)state;
    for (size_t s = 0; s < sizeof specs / sizeof specs[0]; s++) {
        const char *a[] = {specs[s].name, "--count", "300", "--seed", "7", "--late-fraction", "0.1",
                           "--malformed-fraction", "0.1", NULL};
        char *first = gen_output(a);
        char *second = gen_output(a);
        assert_string_equal(first, second);
        const char *b[] = {specs[s].name, "--count", "300", "--seed", "8", "--late-fraction", "0.1",
                           "--malformed-fraction", "0.1", NULL};
        char *other = gen_output(b);
        assert_string_not_equal(first, other);
        /* --out FILE writes the same bytes as standard output */
        char file[4300];
        snprintf(file, sizeof file, "%s/copy.jsonl", dir);
        const char *c[] = {specs[s].name, "--count", "300", "--seed", "7", "--late-fraction", "0.1",
                           "--malformed-fraction", "0.1", "--out", file, NULL};
        assert_int_equal(run_gen(c, NULL, NULL), 0);
        char *copy = sluice_test_read_file(file, NULL);
        assert_string_equal(first, copy);
        free(first);
        free(second);
        free(other);
        free(copy);
    }
}

static int in_list(const char *s, const char *const *list) {
    for (; *list; list++)
        if (strcmp(s, *list) == 0) return 1;
    return 0;
}

static void test_fields_and_types(void **state) {
    (void)state;
    static const char *const regions[] = {"north", "south", "east", "west", "central", NULL};
    for (size_t s = 0; s < sizeof specs / sizeof specs[0]; s++) {
        const stream_spec *spec = &specs[s];
        const char *argv[] = {spec->name, "--count", "2000", "--seed", "11", NULL};
        char *text = gen_output(argv);
        size_t n;
        char **lines = split_lines(text, &n);
        assert_int_equal(n, 2000);
        int64_t prev_id = 0;
        for (size_t i = 0; i < n; i++) {
            int64_t ts;
            if (!record_ok(spec, lines[i], &ts)) print_error("%s line %zu: %s\n", spec->name, i + 1, lines[i]);
            assert_true(record_ok(spec, lines[i], &ts));
            cJSON *r = cJSON_Parse(lines[i]);
            if (strcmp(spec->name, "orders") == 0) {
                int64_t id = (int64_t)cJSON_GetObjectItem(r, "orderid")->valuedouble;
                int shop = cJSON_GetObjectItem(r, "shopid")->valueint;
                int count = cJSON_GetObjectItem(r, "count")->valueint;
                assert_int_equal(id, prev_id + 1);
                prev_id = id;
                assert_in_range(shop, 1, 20);
                assert_in_range(count, 1, 10);
                assert_true(in_list(cJSON_GetObjectItem(r, "region")->valuestring, regions));
            } else if (strcmp(spec->name, "ticks") == 0) {
                double price = cJSON_GetObjectItem(r, "price")->valuedouble;
                assert_true(price >= 1.0);
                assert_in_range(cJSON_GetObjectItem(r, "volume")->valueint, 1, 1000);
                assert_in_range(strlen(cJSON_GetObjectItem(r, "symbol")->valuestring), 1, 5);
            } else if (strcmp(spec->name, "pageviews") == 0) {
                assert_true(strlen(cJSON_GetObjectItem(r, "user")->valuestring) > 0);
                assert_true(strlen(cJSON_GetObjectItem(r, "character")->valuestring) > 0);
            } else if (strcmp(spec->name, "reviews") == 0) {
                assert_in_range(cJSON_GetObjectItem(r, "rating")->valueint, 1, 5);
                assert_true(strlen(cJSON_GetObjectItem(r, "text")->valuestring) > 3);
            } else {
                int64_t id = (int64_t)cJSON_GetObjectItem(r, "customer_id")->valuedouble;
                assert_true(id > prev_id);
                prev_id = id;
                assert_in_range(cJSON_GetObjectItem(r, "store_id")->valueint, 1, 10);
            }
            cJSON_Delete(r);
        }
        free(lines);
        free(text);
    }
}

static void test_distinct_values(void **state) {
    (void)state;
    /* the fixed lists are all used: 12 characters, 10 symbols, 20 shops */
    struct {
        const char *stream, *field;
        int expected;
    } cases[] = {{"pageviews", "character", 12}, {"ticks", "symbol", 10}, {"orders", "shopid", 20},
                 {"registrations", "store_id", 10}, {"reviews", "rating", 5}};
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        const char *argv[] = {cases[c].stream, "--count", "3000", NULL};
        char *text = gen_output(argv);
        size_t n;
        char **lines = split_lines(text, &n);
        char *seen[64];
        int nseen = 0;
        for (size_t i = 0; i < n; i++) {
            cJSON *r = cJSON_Parse(lines[i]);
            char *v = cJSON_PrintUnformatted(cJSON_GetObjectItem(r, cases[c].field));
            int found = 0;
            for (int k = 0; k < nseen && !found; k++) found = strcmp(seen[k], v) == 0;
            if (!found && nseen < 64)
                seen[nseen++] = v;
            else
                free(v);
            cJSON_Delete(r);
        }
        assert_int_equal(nseen, cases[c].expected);
        for (int k = 0; k < nseen; k++) free(seen[k]);
        free(lines);
        free(text);
    }
}

static void test_event_time(void **state) {
    (void)state;
    for (size_t s = 0; s < sizeof specs / sizeof specs[0]; s++) {
        const char *argv[] = {specs[s].name, "--count", "1000", "--seed", "3", "--start",
                              "2024-03-01T12:00:00Z", "--events-per-second-of-event-time", "4", NULL};
        char *text = gen_output(argv);
        size_t n;
        char **lines = split_lines(text, &n);
        int64_t start;
        assert_int_equal(sluice_ts_parse(NULL, "2024-03-01T12:00:00Z", 20, &start), 0);
        for (size_t i = 0; i < n; i++) {
            int64_t ts = -1;
            assert_true(record_ok(&specs[s], lines[i], &ts));
            assert_int_equal(ts, start + (int64_t)i * 250);
        }
        free(lines);
        free(text);
    }
    /* the default: 2024-01-01T00:00:00.000Z, one record per second; a rate
     * that does not divide 1000 ms rounds down */
    const char *argv[] = {"orders", "--count", "4", "--events-per-second-of-event-time", "3", NULL};
    char *text = gen_output(argv);
    assert_non_null(strstr(text, "\"ts\": \"2024-01-01T00:00:00.000Z\"}\n"));
    assert_non_null(strstr(text, "\"ts\": \"2024-01-01T00:00:00.333Z\"}\n"));
    assert_non_null(strstr(text, "\"ts\": \"2024-01-01T00:00:00.666Z\"}\n"));
    assert_non_null(strstr(text, "\"ts\": \"2024-01-01T00:00:01.000Z\"}\n"));
    free(text);
}

static void test_count_zero_and_large(void **state) {
    (void)state;
    const char *argv[] = {"ticks", "--count", "0", NULL};
    char *text = gen_output(argv);
    assert_string_equal(text, "");
    free(text);
    const char *argv2[] = {"registrations", "--count", "100000", NULL};
    text = gen_output(argv2);
    assert_int_equal(count_lines(text), 100000);
    free(text);
}

static void test_late_fraction(void **state) {
    (void)state;
    const char *clean_argv[] = {"pageviews", "--count", "10000", "--seed", "5", NULL};
    char *clean_text = gen_output(clean_argv);
    const char *argv[] = {"pageviews", "--count", "10000", "--seed", "5", "--late-fraction", "0.1", NULL};
    char *text = gen_output(argv);
    size_t n, cn;
    char **lines = split_lines(text, &n);
    char **clean = split_lines(clean_text, &cn);
    assert_int_equal(n, 10000);
    assert_int_equal(cn, 10000);
    const stream_spec *spec = &specs[2];
    /* late under a watermark of 5 minutes: older than the maximum event time
     * seen so far minus 5 minutes */
    int64_t max_ts = INT64_MIN;
    int late = 0, shifted = 0;
    for (size_t i = 0; i < n; i++) {
        int64_t ts, cts;
        assert_true(record_ok(spec, lines[i], &ts));
        assert_true(record_ok(spec, clean[i], &cts));
        if (max_ts != INT64_MIN && ts < max_ts - 5 * 60 * 1000) late++;
        if (ts > max_ts) max_ts = ts;
        if (strcmp(lines[i], clean[i]) != 0) {
            /* only the event time differs: 10 minutes earlier */
            assert_int_equal(ts, cts - 600000);
            assert_memory_equal(lines[i], clean[i], strlen(lines[i]) - 27);
            shifted++;
        }
    }
    /* 10% of 10,000 records: 1000 +- 150 (5 standard deviations) */
    assert_in_range(shifted, 850, 1150);
    assert_in_range(late, shifted - 1, shifted); /* a late first record lags nothing */
    free(lines);
    free(clean);
    free(text);
    free(clean_text);

    /* --late-by sets the lag */
    const char *argv2[] = {"orders", "--count", "2000", "--late-fraction", "1", "--late-by", "90s",
                           "--start", "2024-01-01T01:00:00Z", NULL};
    text = gen_output(argv2);
    lines = split_lines(text, &n);
    for (size_t i = 0; i < n; i++) {
        int64_t ts, start;
        assert_true(record_ok(&specs[0], lines[i], &ts));
        sluice_ts_parse(NULL, "2024-01-01T01:00:00Z", 20, &start);
        assert_int_equal(ts, start + (int64_t)i * 1000 - 90000);
    }
    free(lines);
    free(text);
}

static void test_malformed_fraction(void **state) {
    (void)state;
    for (size_t s = 0; s < sizeof specs / sizeof specs[0]; s++) {
        const stream_spec *spec = &specs[s];
        const char *clean_argv[] = {spec->name, "--count", "10000", "--seed", "9", NULL};
        char *clean_text = gen_output(clean_argv);
        const char *argv[] = {spec->name, "--count", "10000", "--seed", "9", "--malformed-fraction", "0.05",
                              NULL};
        char *text = gen_output(argv);
        size_t n, cn;
        char **lines = split_lines(text, &n);
        char **clean = split_lines(clean_text, &cn);
        assert_int_equal(n, 10000);
        int bad = 0, not_json = 0, wrong_type = 0;
        for (size_t i = 0; i < n; i++) {
            int64_t ts;
            if (record_ok(spec, lines[i], &ts)) {
                assert_string_equal(lines[i], clean[i]);
                continue;
            }
            assert_string_not_equal(lines[i], clean[i]);
            bad++;
            cJSON *r = cJSON_Parse(lines[i]);
            if (r)
                wrong_type++;
            else
                not_json++;
            cJSON_Delete(r);
        }
        /* 5% of 10,000 lines: 500 +- 110 (5 standard deviations) */
        assert_in_range(bad, 390, 610);
        assert_true(not_json > bad / 2);
        assert_true(wrong_type > bad / 6);
        free(lines);
        free(clean);
        free(text);
        free(clean_text);
    }
}

/* ---------------- replay ---------------- */

static const char replay_input[] =
    "{\"id\": 1, \"name\": \"caf\xc3\xa9\", \"ts\": \"2001-01-01T00:00:00Z\"}\n"
    "   {\"id\":2,\"nested\":{\"a\":[1,2,3]},\"ts\":\"2001-01-01T00:00:01Z\"}   \n"
    "\n"
    "{\"id\": 3, \"quote\": \"say \\\"hi\\\"\\n\", \"num\": 1.50}\r\n"
    "not json at all\n"
    "{\"id\": 4}";

static const char replay_expected[] =
    "{\"id\": 1, \"name\": \"caf\xc3\xa9\", \"ts\": \"2001-01-01T00:00:00Z\"}\n"
    "   {\"id\":2,\"nested\":{\"a\":[1,2,3]},\"ts\":\"2001-01-01T00:00:01Z\"}   \n"
    "{\"id\": 3, \"quote\": \"say \\\"hi\\\"\\n\", \"num\": 1.50}\r\n"
    "not json at all\n"
    "{\"id\": 4}\n";

static void test_replay(void **state) {
    (void)state;
    assert_int_equal(sluice_test_write_file(in_path, replay_input), 0);
    const char *argv[] = {"replay", in_path, NULL};
    char *text = gen_output(argv);
    assert_string_equal(text, replay_expected);
    free(text);
    const char *argv2[] = {"replay", in_path, "--count", "2", NULL};
    text = gen_output(argv2);
    assert_int_equal(count_lines(text), 2);
    assert_memory_equal(text, replay_expected, strlen(text));
    free(text);

    /* a real fixture replays byte for byte */
    const char *flights = sluice_test_fixture("data/flights-20k.jsonl");
    char *original = sluice_test_read_file(flights, NULL);
    const char *argv3[] = {"replay", flights, "--out", out_path, NULL};
    assert_int_equal(run_gen(argv3, NULL, err_path), 0);
    char *copy = sluice_test_read_file(out_path, NULL);
    assert_string_equal(copy, original);
    free(copy);
    free(original);
}

static double now_seconds(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void test_rate(void **state) {
    (void)state;
    /* 21 records at 100/s: the last is due 200 ms after the first */
    const char *argv[] = {"registrations", "--count", "21", "--rate", "100/s", NULL};
    double t0 = now_seconds();
    char *text = gen_output(argv);
    double elapsed = now_seconds() - t0;
    assert_int_equal(count_lines(text), 21);
    assert_true(elapsed >= 0.19);
    free(text);
    assert_int_equal(sluice_test_write_file(in_path, replay_input), 0);
    const char *argv2[] = {"replay", in_path, "--rate", "20", NULL};
    t0 = now_seconds();
    text = gen_output(argv2);
    elapsed = now_seconds() - t0;
    assert_string_equal(text, replay_expected);
    assert_true(elapsed >= 0.19); /* 5 records, the last due after 4/20 s */
    free(text);
}

/* ---------------- committed fixtures ---------------- */

static void test_generated_fixtures(void **state) {
    (void)state;
    char *readme = sluice_test_read_file(sluice_test_fixture("generated/README.md"), NULL);
    assert_non_null(readme);
    int commands = 0;
    for (char *line = strtok(readme, "\n"); line; line = strtok(NULL, "\n")) {
        if (strncmp(line, "sluice-gen ", 11) != 0 || !strstr(line, " --out fixtures/generated/")) continue;
        char *saveptr = NULL, *copy = strdup(line + 11);
        const char *argv[32];
        int argc = 0;
        const char *committed = NULL;
        for (char *tok = strtok_r(copy, " ", &saveptr); tok && argc < 30; tok = strtok_r(NULL, " ", &saveptr)) {
            if (argc > 0 && strcmp(argv[argc - 1], "--out") == 0) {
                assert_int_equal(strncmp(tok, "fixtures/", 9), 0);
                committed = tok + 9;
                argv[argc++] = out_path;
            } else {
                argv[argc++] = tok;
            }
        }
        argv[argc] = NULL;
        assert_non_null(committed);
        assert_int_equal(run_gen(argv, NULL, err_path), 0);
        size_t want_len, got_len;
        char *want = sluice_test_read_file(sluice_test_fixture(committed), &want_len);
        char *got = sluice_test_read_file(out_path, &got_len);
        if (!want) print_error("missing fixture %s\n", committed);
        assert_non_null(want);
        assert_int_equal(got_len, want_len);
        assert_memory_equal(got, want, want_len);
        free(want);
        free(got);
        free(copy);
        commands++;
    }
    assert_int_equal(commands, 5);
    free(readme);
}

/* ---------------- Kafka ---------------- */

#ifdef SLUICE_WITH_KAFKA

typedef struct consumed {
    char *key, *value;
    int32_t partition;
    int64_t offset;
} consumed;

/* Read every partition of topic from the beginning until `expected`
 * records arrived (then 1 s more, to see any extra), or 30 s passed. */
static consumed *consume_all(const char *bootstraps, const char *topic, int partitions, size_t expected,
                             size_t *n) {
    char errstr[512];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    assert_int_equal(rd_kafka_conf_set(conf, "bootstrap.servers", bootstraps, errstr, sizeof errstr), 0);
    assert_int_equal(rd_kafka_conf_set(conf, "group.id", "test-gen", errstr, sizeof errstr), 0);
    assert_int_equal(rd_kafka_conf_set(conf, "enable.auto.commit", "false", errstr, sizeof errstr), 0);
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, errstr, sizeof errstr);
    assert_non_null(rk);
    rd_kafka_poll_set_consumer(rk);
    rd_kafka_topic_partition_list_t *parts = rd_kafka_topic_partition_list_new(partitions);
    for (int p = 0; p < partitions; p++)
        rd_kafka_topic_partition_list_add(parts, topic, p)->offset = RD_KAFKA_OFFSET_BEGINNING;
    assert_int_equal(rd_kafka_assign(rk, parts), 0);
    rd_kafka_topic_partition_list_destroy(parts);

    size_t cap = expected + 16, count = 0;
    consumed *out = calloc(cap, sizeof *out);
    double deadline = now_seconds() + 30, extra_until = 0;
    while (now_seconds() < deadline && (!extra_until || now_seconds() < extra_until)) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 100);
        if (!m) continue;
        if (!m->err) {
            if (count == cap) out = realloc(out, (cap *= 2) * sizeof *out);
            consumed *c = &out[count++];
            c->key = m->key ? strndup(m->key, m->key_len) : NULL;
            c->value = strndup(m->payload, m->len);
            c->partition = m->partition;
            c->offset = m->offset;
            if (count == expected) extra_until = now_seconds() + 1;
        }
        rd_kafka_message_destroy(m);
    }
    rd_kafka_consumer_close(rk);
    rd_kafka_destroy(rk);
    *n = count;
    return out;
}

static void consumed_free(consumed *c, size_t n) {
    for (size_t i = 0; i < n; i++) {
        free(c[i].key);
        free(c[i].value);
    }
    free(c);
}

/* Kafka's (and the Java client's) murmur2, as in
 * org.apache.kafka.common.utils.Utils.murmur2. */
static uint32_t murmur2(const char *key, size_t len) {
    const uint32_t m = 0x5bd1e995;
    uint32_t h = 0x9747b28c ^ (uint32_t)len;
    const unsigned char *d = (const unsigned char *)key;
    while (len >= 4) {
        uint32_t k = (uint32_t)d[0] | (uint32_t)d[1] << 8 | (uint32_t)d[2] << 16 | (uint32_t)d[3] << 24;
        k *= m;
        k ^= k >> 24;
        k *= m;
        h *= m;
        h ^= k;
        d += 4;
        len -= 4;
    }
    switch (len) {
    case 3: h ^= (uint32_t)d[2] << 16; /* fall through */
    case 2: h ^= (uint32_t)d[1] << 8;  /* fall through */
    case 1: h ^= d[0]; h *= m;
    }
    h ^= h >> 13;
    h *= m;
    h ^= h >> 15;
    return h;
}

typedef struct mock {
    rd_kafka_t *rk;
    rd_kafka_mock_cluster_t *mc;
    const char *bootstraps;
} mock;

static void mock_start(mock *m, int brokers) {
    char errstr[512];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    assert_int_equal(rd_kafka_conf_set(conf, "log_level", "3", errstr, sizeof errstr), 0);
    m->rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof errstr);
    assert_non_null(m->rk);
    m->mc = rd_kafka_mock_cluster_new(m->rk, brokers);
    assert_non_null(m->mc);
    m->bootstraps = rd_kafka_mock_cluster_bootstraps(m->mc);
}

static void mock_stop(mock *m) {
    rd_kafka_mock_cluster_destroy(m->mc);
    rd_kafka_destroy(m->rk);
}

static void test_kafka_generated(void **state) {
    (void)state;
    /* the same records as the file output */
    const char *file_argv[] = {"orders", "--count", "2000", "--seed", "42", NULL};
    char *text = gen_output(file_argv);
    size_t n;
    char **lines = split_lines(text, &n);

    mock m;
    mock_start(&m, 3);
    assert_int_equal(rd_kafka_mock_topic_create(m.mc, "orders", 4, 3), 0);
    const char *argv[] = {"orders", "--count", "2000", "--seed", "42", "--kafka", m.bootstraps,
                          "--topic", "orders", "--key", "shopid", NULL};
    int rc = run_gen(argv, NULL, err_path);
    char *err = sluice_test_read_file(err_path, NULL);
    if (rc != 0) print_error("sluice-gen: %s\n", err);
    assert_int_equal(rc, 0);
    assert_non_null(strstr(err, "2000 records delivered to topic 'orders'"));
    free(err);

    size_t got;
    consumed *c = consume_all(m.bootstraps, "orders", 4, 2000, &got);
    assert_int_equal(got, 2000);
    int32_t partition_of_shop[21];
    for (int s = 0; s <= 20; s++) partition_of_shop[s] = -1;
    int used[4] = {0};
    char *seen = calloc(2001, 1);
    for (size_t i = 0; i < got; i++) {
        cJSON *r = cJSON_Parse(c[i].value);
        assert_non_null(r);
        int id = cJSON_GetObjectItem(r, "orderid")->valueint;
        int shop = cJSON_GetObjectItem(r, "shopid")->valueint;
        cJSON_Delete(r);
        assert_in_range(id, 1, 2000);
        assert_false(seen[id]);
        seen[id] = 1;
        assert_string_equal(c[i].value, lines[id - 1]);
        char key[16];
        snprintf(key, sizeof key, "%d", shop);
        assert_non_null(c[i].key);
        assert_string_equal(c[i].key, key);
        if (partition_of_shop[shop] < 0) partition_of_shop[shop] = c[i].partition;
        assert_int_equal(c[i].partition, partition_of_shop[shop]);
        used[c[i].partition] = 1;
    }
    assert_int_equal(used[0] + used[1] + used[2] + used[3], 4);
    free(seen);
    consumed_free(c, got);
    free(lines);
    free(text);
    mock_stop(&m);
}

static void test_kafka_replay_partitions_by_key(void **state) {
    (void)state;
    const char *flights = sluice_test_fixture("data/flights-20k.jsonl");
    mock m;
    mock_start(&m, 1);
    assert_int_equal(rd_kafka_mock_topic_create(m.mc, "flights", 4, 1), 0);
    const char *argv[] = {"replay", flights, "--count", "3000", "--kafka", m.bootstraps, "--topic", "flights",
                          "--key", "origin", "--partitions-by-key", "-X", "linger.ms=20", NULL};
    int rc = run_gen(argv, NULL, err_path);
    char *err = sluice_test_read_file(err_path, NULL);
    if (rc != 0) print_error("sluice-gen: %s\n", err);
    assert_int_equal(rc, 0);
    free(err);

    char *text = sluice_test_read_file(flights, NULL);
    size_t n;
    char **lines = split_lines(text, &n);
    size_t got;
    consumed *c = consume_all(m.bootstraps, "flights", 4, 3000, &got);
    assert_int_equal(got, 3000);
    /* per partition, records keep the file's order */
    size_t next_line[4] = {0};
    for (size_t i = 0; i < got; i++) {
        cJSON *r = cJSON_Parse(c[i].value);
        assert_non_null(r);
        const char *origin = cJSON_GetObjectItem(r, "origin")->valuestring;
        assert_string_equal(c[i].key, origin);
        cJSON_Delete(r);
        int32_t p = (int32_t)((murmur2(c[i].key, strlen(c[i].key)) & 0x7fffffff) % 4);
        assert_int_equal(c[i].partition, p);
        size_t *k = &next_line[p];
        while (*k < 3000 && strcmp(lines[*k], c[i].value) != 0) (*k)++;
        assert_true(*k < 3000);
        (*k)++;
    }
    consumed_free(c, got);
    free(lines);
    free(text);
    mock_stop(&m);
}

static void test_kafka_failures(void **state) {
    (void)state;
    /* nothing listens on port 1: every delivery times out */
    const char *argv[] = {"registrations", "--count", "10", "--kafka", "127.0.0.1:1", "--topic", "t",
                          "-X", "message.timeout.ms=1500", NULL};
    assert_int_equal(run_gen(argv, NULL, err_path), 1);
    char *err = sluice_test_read_file(err_path, NULL);
    assert_non_null(strstr(err, "10 of 10 records failed delivery to kafka topic 't'"));
    free(err);
    /* a bad producer property is a usage error */
    const char *argv2[] = {"registrations", "--kafka", "127.0.0.1:1", "--topic", "t", "-X", "no.such.property=1",
                           NULL};
    assert_int_equal(run_gen(argv2, NULL, err_path), 2);
    err = sluice_test_read_file(err_path, NULL);
    assert_non_null(strstr(err, "kafka property no.such.property=1"));
    free(err);
    const char *argv3[] = {"registrations", "--kafka", "127.0.0.1:1", "--topic", "t", "-X", "novalue", NULL};
    assert_int_equal(run_gen(argv3, NULL, err_path), 2);
    err = sluice_test_read_file(err_path, NULL);
    assert_non_null(strstr(err, "expected KEY=VALUE"));
    free(err);
}

#else

static void test_kafka_unavailable(void **state) {
    (void)state;
    const char *argv[] = {"orders", "--kafka", "127.0.0.1:9092", "--topic", "orders", NULL};
    assert_int_equal(run_gen(argv, NULL, err_path), 2);
    char *err = sluice_test_read_file(err_path, NULL);
    assert_non_null(strstr(err, "built without Kafka support"));
    free(err);
}

#endif

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_help),
        cmocka_unit_test(test_bad_arguments),
        cmocka_unit_test(test_deterministic),
        cmocka_unit_test(test_fields_and_types),
        cmocka_unit_test(test_distinct_values),
        cmocka_unit_test(test_event_time),
        cmocka_unit_test(test_count_zero_and_large),
        cmocka_unit_test(test_late_fraction),
        cmocka_unit_test(test_malformed_fraction),
        cmocka_unit_test(test_replay),
        cmocka_unit_test(test_rate),
        cmocka_unit_test(test_generated_fixtures),
#ifdef SLUICE_WITH_KAFKA
        cmocka_unit_test(test_kafka_generated),
        cmocka_unit_test(test_kafka_replay_partitions_by_key),
        cmocka_unit_test(test_kafka_failures),
#else
        cmocka_unit_test(test_kafka_unavailable),
#endif
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
