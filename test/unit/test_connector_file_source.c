/*
 * The file source's specifics: line splitting (CRLF, empty lines, missing
 * final newline, lines over 1 MiB), CSV headers and quoted newlines,
 * max_offsets_per_trigger, positions, error messages, and follow mode.
 */
#include "sluice_test.h"
#include "conn_support.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "connectors/connectors.h"
#include "base/log.h"

static char *tmpdir;
static char path[4096];

static int setup(void **state) {
    (void)state;
    static int seq;
    snprintf(path, sizeof path, "%s/in-%d.txt", tmpdir, ++seq);
    return 0;
}

static sluice_source *open_file(const char *format, const char *extra_key,
                                const char *extra_value, sluice_test_cfg *c) {
    sluice_test_cfg_init(c, "flights", NULL);
    sluice_test_cfg_set(c, "path", path);
    if (format) sluice_test_cfg_set(c, "format", format);
    if (extra_key) sluice_test_cfg_set(c, extra_key, extra_value);
    sluice_source *src = NULL;
    char err[512] = "";
    if (sluice_file_source_ops.open(&c->cfg, &src, err, sizeof err) != SLUICE_OK)
        fail_msg("open: %s", err);
    return src;
}

/* Poll everything of a bounded source: values joined by '\n' into out,
 * offsets into offs (up to 64). */
static size_t drain(sluice_source *src, char *out, size_t size, int64_t *offs) {
    sluice_record_batch b;
    assert_int_equal(sluice_record_batch_init(&b), SLUICE_OK);
    size_t n = 0, used = 0;
    out[0] = '\0';
    while (!b.end_of_input) {
        sluice_record_batch_clear(&b);
        assert_int_equal(src->ops->poll(src, &b, 1000, 0, NULL, 0), SLUICE_OK);
        for (size_t i = 0; i < b.count; i++, n++) {
            used += (size_t)snprintf(out + used, size - used, "%s%.*s", n ? "\n" : "",
                                     (int)b.records[i].value_len, b.records[i].value);
            assert_true(used < size);
            if (offs && n < 64) offs[n] = b.records[i].offset;
            assert_null(b.records[i].key);
            assert_null(b.records[i].topic);
            assert_int_equal(b.records[i].partition, 0);
            assert_true(b.records[i].timestamp_ms > 1000000000000LL);
        }
    }
    sluice_record_batch_free(&b);
    return n;
}

static void crlf_empty_lines_and_missing_newline(void **state) {
    (void)state;
    assert_int_equal(sluice_test_write_file(path, "{\"a\":1}\r\n\n\r\n{\"a\":2}\n\n{\"a\":3}"), 0);
    sluice_test_cfg c;
    sluice_source *src = open_file(NULL, NULL, NULL, &c);
    char text[256];
    int64_t offs[64];
    assert_int_equal(drain(src, text, sizeof text, offs), 3);
    assert_string_equal(text, "{\"a\":1}\n{\"a\":2}\n{\"a\":3}");
    assert_int_equal(offs[0], 1);
    assert_int_equal(offs[1], 4);
    assert_int_equal(offs[2], 6);
    src->ops->close(src);
}

static void empty_file_bounded(void **state) {
    (void)state;
    assert_int_equal(sluice_test_write_file(path, ""), 0);
    sluice_test_cfg c;
    sluice_source *src = open_file("json", NULL, NULL, &c);
    char text[16];
    assert_int_equal(drain(src, text, sizeof text, NULL), 0);
    src->ops->close(src);
}

static void position_is_path_and_line(void **state) {
    (void)state;
    assert_int_equal(sluice_test_write_file(path, "\n\nx\n"), 0);
    sluice_test_cfg c;
    sluice_source *src = open_file(NULL, NULL, NULL, &c);
    sluice_record_batch b;
    assert_int_equal(sluice_record_batch_init(&b), SLUICE_OK);
    assert_int_equal(src->ops->poll(src, &b, 10, 0, NULL, 0), SLUICE_OK);
    assert_int_equal(b.count, 1);
    assert_true(b.end_of_input);
    char pos[4200], want[4200];
    src->ops->position(src, &b.records[0], pos, sizeof pos);
    snprintf(want, sizeof want, "%s:3", path);
    assert_string_equal(pos, want);
    sluice_record_batch_free(&b);
    src->ops->close(src);
}

static void csv_header_quotes_and_newlines(void **state) {
    (void)state;
    assert_int_equal(sluice_test_write_file(path, "id,note\r\n"
                                                  "1,\"two\nlines\"\r\n"
                                                  "\n"
                                                  "2,\"say \"\"hi\"\"\"\n"
                                                  "3,\"a\n\nb\"\n"
                                                  "4,plain"),
                     0);
    sluice_test_cfg c;
    sluice_source *src = open_file("csv", NULL, NULL, &c);
    assert_int_equal(src->csv_header_len, 7);
    assert_memory_equal(src->csv_header, "id,note", 7);
    char text[256];
    int64_t offs[64];
    assert_int_equal(drain(src, text, sizeof text, offs), 4);
    assert_string_equal(text, "1,\"two\nlines\"\n2,\"say \"\"hi\"\"\"\n3,\"a\n\nb\"\n4,plain");
    assert_int_equal(offs[0], 2);
    assert_int_equal(offs[1], 5);
    assert_int_equal(offs[2], 6);
    assert_int_equal(offs[3], 9);
    src->ops->close(src);
}

static void csv_delimiter_accepted(void **state) {
    (void)state;
    assert_int_equal(sluice_test_write_file(path, "a;b\n1;2\n"), 0);
    sluice_test_cfg c;
    sluice_source *src = open_file("csv", "csv.delimiter", ";", &c);
    char text[64];
    assert_int_equal(drain(src, text, sizeof text, NULL), 1);
    assert_string_equal(text, "1;2");
    src->ops->close(src);
}

static void csv_without_header_is_config_error(void **state) {
    (void)state;
    assert_int_equal(sluice_test_write_file(path, "\n\n"), 0);
    sluice_test_cfg c;
    sluice_test_cfg_init(&c, "flights", NULL);
    sluice_test_cfg_set(&c, "path", path);
    sluice_test_cfg_set(&c, "format", "csv");
    sluice_source *src = NULL;
    char err[4500] = "";
    assert_int_equal(sluice_file_source_ops.open(&c.cfg, &src, err, sizeof err), SLUICE_ERR_CONFIG);
    assert_null(src);
    assert_non_null(strstr(err, path));
    assert_non_null(strstr(err, "source flights (file)"));
}

static void missing_file_message(void **state) {
    (void)state;
    sluice_test_cfg c;
    sluice_test_cfg_init(&c, "flights", NULL);
    sluice_test_cfg_set(&c, "path", "x.jsonl");
    sluice_source *src = NULL;
    char err[512] = "";
    assert_int_equal(sluice_file_source_ops.open(&c.cfg, &src, err, sizeof err), SLUICE_ERR_CONFIG);
    assert_string_equal(err, "source flights (file): cannot open 'x.jsonl': No such file or directory");
    sluice_test_cfg_init(&c, "flights", NULL);
    assert_int_equal(sluice_file_source_ops.open(&c.cfg, &src, err, sizeof err), SLUICE_ERR_CONFIG);
    assert_non_null(strstr(err, "'path'"));
}

static void huge_lines(void **state) {
    (void)state;
    size_t big = 3u << 20;  /* 3 MiB: larger than the 1 MiB read buffer */
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    fputs("{\"a\":1}\n", f);
    fputc('"', f);
    for (size_t i = 0; i < big - 2; i++) fputc('a' + (int)(i % 26), f);
    fputs("\"\n{\"a\":2}\n", f);
    for (size_t i = 0; i < big; i++) fputc('z', f);  /* last, without newline */
    fclose(f);
    sluice_test_cfg c;
    sluice_source *src = open_file(NULL, NULL, NULL, &c);
    sluice_record_batch b;
    assert_int_equal(sluice_record_batch_init(&b), SLUICE_OK);
    size_t lens[8], n = 0;
    char pad[SLUICE_RECORD_PADDING];
    while (!b.end_of_input) {
        sluice_record_batch_clear(&b);
        assert_int_equal(src->ops->poll(src, &b, 1000, 0, NULL, 0), SLUICE_OK);
        for (size_t i = 0; i < b.count; i++) {
            assert_true(n < 8);
            lens[n] = b.records[i].value_len;
            if (n == 1) {
                assert_int_equal(b.records[i].value[0], '"');
                assert_int_equal(b.records[i].value[1], 'a');
                assert_int_equal(b.records[i].value[big - 2], 'a' + (int)((big - 3) % 26));
            }
            memcpy(pad, b.records[i].value + b.records[i].value_len, sizeof pad);
            n++;
        }
    }
    assert_int_equal(n, 4);
    assert_int_equal(lens[0], 7);
    assert_int_equal(lens[1], big);
    assert_int_equal(lens[2], 7);
    assert_int_equal(lens[3], big);
    sluice_record_batch_free(&b);
    src->ops->close(src);
}

static void max_offsets_per_trigger_caps_polls(void **state) {
    (void)state;
    assert_int_equal(sluice_test_write_file(path, "1\n2\n3\n4\n5\n"), 0);
    sluice_test_cfg c;
    sluice_source *src = open_file(NULL, "max_offsets_per_trigger", "2", &c);
    sluice_record_batch b;
    assert_int_equal(sluice_record_batch_init(&b), SLUICE_OK);
    size_t counts[4] = {0};
    for (int i = 0; i < 4; i++) {
        sluice_record_batch_clear(&b);
        assert_int_equal(src->ops->poll(src, &b, 1000, 0, NULL, 0), SLUICE_OK);
        counts[i] = b.count;
    }
    assert_int_equal(counts[0], 2);
    assert_int_equal(counts[1], 2);
    assert_int_equal(counts[2], 1);
    assert_int_equal(counts[3], 0);
    assert_true(b.end_of_input);
    sluice_record_batch_free(&b);
    src->ops->close(src);
}

/* ---------------- follow mode ---------------- */

static int64_t mono_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void append_text(const char *text) {
    FILE *f = fopen(path, "ab");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

/* Poll until `want` records arrived in total or the deadline passed;
 * returns the records seen, their values joined by '\n' in out. */
static size_t poll_until(sluice_source *src, size_t want, int64_t deadline_ms, char *out,
                         size_t size) {
    sluice_record_batch b;
    assert_int_equal(sluice_record_batch_init(&b), SLUICE_OK);
    size_t n = 0, used = strlen(out);
    while (n < want && mono_ms() < deadline_ms) {
        sluice_record_batch_clear(&b);
        assert_int_equal(src->ops->poll(src, &b, 100, 100, NULL, 0), SLUICE_OK);
        assert_false(b.end_of_input);
        for (size_t i = 0; i < b.count; i++, n++)
            used += (size_t)snprintf(out + used, size - used, "%s%.*s", used ? "\n" : "",
                                     (int)b.records[i].value_len, b.records[i].value);
    }
    sluice_record_batch_free(&b);
    return n;
}

static void *delayed_writer(void *arg) {
    (void)arg;
    struct timespec ts = {.tv_sec = 0, .tv_nsec = 50 * 1000000};
    nanosleep(&ts, NULL);  /* the producer's pace; the test waits on data, not on this */
    append_text("{\"late\":1}\n");
    return NULL;
}

static void follow_sees_appended_lines(void **state) {
    (void)state;
    assert_int_equal(sluice_test_write_file(path, "{\"a\":1}\n"), 0);
    sluice_test_cfg c;
    sluice_source *src = open_file(NULL, "follow", "true", &c);
    char text[512] = "";
    assert_int_equal(poll_until(src, 1, mono_ms() + 5000, text, sizeof text), 1);

    /* Nothing new: a poll waits about its timeout, then returns empty. */
    sluice_record_batch b;
    assert_int_equal(sluice_record_batch_init(&b), SLUICE_OK);
    int64_t t0 = mono_ms();
    assert_int_equal(src->ops->poll(src, &b, 100, 60, NULL, 0), SLUICE_OK);
    int64_t waited = mono_ms() - t0;
    assert_int_equal(b.count, 0);
    assert_false(b.end_of_input);
    assert_true(waited >= 50);
    assert_true(waited < 2000);

    /* A writer appends while we wait: a poll with a long timeout sees it early. */
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, delayed_writer, NULL), 0);
    sluice_record_batch_clear(&b);
    t0 = mono_ms();
    assert_int_equal(src->ops->poll(src, &b, 100, 10000, NULL, 0), SLUICE_OK);
    assert_true(mono_ms() - t0 < 5000);
    pthread_join(th, NULL);
    assert_int_equal(b.count, 1);
    assert_memory_equal(b.records[0].value, "{\"late\":1}", 10);
    assert_int_equal(b.records[0].offset, 2);
    sluice_record_batch_free(&b);

    /* A partial line is held back until its newline arrives. */
    append_text("{\"b\":");
    text[0] = '\0';
    assert_int_equal(poll_until(src, 1, mono_ms() + 200, text, sizeof text), 0);
    append_text("2}\n{\"c\":3}\n");
    assert_int_equal(poll_until(src, 2, mono_ms() + 5000, text, sizeof text), 2);
    assert_string_equal(text, "{\"b\":2}\n{\"c\":3}");
    src->ops->close(src);
}

static void follow_empty_file_then_data(void **state) {
    (void)state;
    assert_int_equal(sluice_test_write_file(path, ""), 0);
    sluice_test_cfg c;
    sluice_source *src = open_file("json", "follow", "yes", &c);
    char text[512] = "";
    assert_int_equal(poll_until(src, 1, mono_ms() + 150, text, sizeof text), 0);
    append_text("x\n");
    assert_int_equal(poll_until(src, 1, mono_ms() + 5000, text, sizeof text), 1);
    assert_string_equal(text, "x");
    src->ops->close(src);
}

/* ---------------- follow mode: truncation and rotation (tail -F) ---------------- */

#define GEN(g, line) ((int64_t)(g) << 40 | (line))

static FILE *log_file;

static void capture_logs(void) {
    log_file = tmpfile();
    assert_non_null(log_file);
    sluice_log_configure(SLUICE_LOG_INFO, SLUICE_LOG_TEXT, log_file);
}

/* The log events so far (malloc'd); logging goes back to stderr. */
static char *captured_logs(void) {
    sluice_log_configure(SLUICE_LOG_INFO, SLUICE_LOG_TEXT, NULL);
    fflush(log_file);
    long n = ftell(log_file);
    char *t = calloc(1, (size_t)n + 1);
    rewind(log_file);
    assert_int_equal(fread(t, 1, (size_t)n, log_file), (size_t)n);
    fclose(log_file);
    return t;
}

/* Poll until `want` records arrived or the deadline passed; values joined
 * by '\n' appended to out, offsets into offs[*n...]. */
static void poll_records(sluice_source *src, size_t want, char *out, size_t size, int64_t *offs, size_t *n) {
    sluice_record_batch b;
    assert_int_equal(sluice_record_batch_init(&b), SLUICE_OK);
    int64_t deadline = mono_ms() + 5000;
    size_t got = 0, used = strlen(out);
    while (got < want && mono_ms() < deadline) {
        sluice_record_batch_clear(&b);
        assert_int_equal(src->ops->poll(src, &b, 100, 100, NULL, 0), SLUICE_OK);
        for (size_t i = 0; i < b.count; i++, got++) {
            used += (size_t)snprintf(out + used, size - used, "%s%.*s", used ? "\n" : "",
                                     (int)b.records[i].value_len, b.records[i].value);
            offs[(*n)++] = b.records[i].offset;
        }
    }
    sluice_record_batch_free(&b);
    if (got != want) fail_msg("%zu of %zu records within 5 s: '%s'", got, want, out);
}

/* One poll that returns at once: at the end of the file it checks the path. */
static void poll_once_empty(sluice_source *src) {
    sluice_record_batch b;
    assert_int_equal(sluice_record_batch_init(&b), SLUICE_OK);
    assert_int_equal(src->ops->poll(src, &b, 100, 0, NULL, 0), SLUICE_OK);
    assert_int_equal(b.count, 0);
    sluice_record_batch_free(&b);
}

/* copytruncate: the file shrinks; reading starts again at its first line,
 * in generation 1.  (Before: nothing more was ever read.) */
static void follow_reads_a_truncated_file_from_its_start(void **state) {
    (void)state;
    assert_int_equal(sluice_test_write_file(path, "a\nb\n"), 0);
    capture_logs();
    sluice_test_cfg c;
    sluice_source *src = open_file(NULL, "follow", "true", &c);
    char text[512] = "";
    int64_t offs[8];
    size_t n = 0;
    poll_records(src, 2, text, sizeof text, offs, &n);
    assert_int_equal(truncate(path, 0), 0);
    poll_once_empty(src); /* sees the truncation */
    append_text("c\nd\n");
    poll_records(src, 2, text, sizeof text, offs, &n);
    assert_string_equal(text, "a\nb\nc\nd");
    assert_true(offs[0] == 1 && offs[1] == 2 && offs[2] == GEN(1, 1) && offs[3] == GEN(1, 2));
    char pos[4300], want[4400];
    sluice_record r = {.offset = GEN(1, 2)};
    src->ops->position(src, &r, pos, sizeof pos);
    snprintf(want, sizeof want, "%s (generation 1):2", path);
    assert_string_equal(pos, want);
    src->ops->close(src);
    char *logs = captured_logs();
    snprintf(want, sizeof want, "truncated: '%s' shrank from 4 to 0 bytes", path);
    if (!strstr(logs, want)) fail_msg("expected '%s' in the log:\n%s", want, logs);
    free(logs);
}

/* rename and re-create: what the writer still appends to the old file
 * (its unterminated last line too) comes first, then the new file from its
 * start.  (Before: the new file was never read.) */
static void follow_finishes_a_renamed_file_then_reads_the_new_one(void **state) {
    (void)state;
    assert_int_equal(sluice_test_write_file(path, "a\n"), 0);
    capture_logs();
    sluice_test_cfg c;
    sluice_source *src = open_file(NULL, "follow", "true", &c);
    char text[512] = "", old[4300];
    int64_t offs[8];
    size_t n = 0;
    poll_records(src, 1, text, sizeof text, offs, &n);
    snprintf(old, sizeof old, "%s.1", path);
    assert_int_equal(rename(path, old), 0);
    FILE *f = fopen(old, "ab"); /* the writer had the old file open */
    assert_non_null(f);
    fputs("b\nd", f);
    fclose(f);
    assert_int_equal(sluice_test_write_file(path, "c\n"), 0);
    poll_records(src, 3, text, sizeof text, offs, &n);
    assert_string_equal(text, "a\nb\nd\nc");
    assert_true(offs[1] == 2 && offs[2] == 3 && offs[3] == GEN(1, 1));
    src->ops->close(src);
    char *logs = captured_logs();
    char want[4400];
    snprintf(want, sizeof want, "rotated: '%s' was replaced by a new file; the old one was read to its end (5 bytes)",
             path);
    if (!strstr(logs, want)) fail_msg("expected '%s' in the log:\n%s", want, logs);
    free(logs);
}

/* The path is missing for a while (renamed, re-created later): waited for. */
static void follow_waits_for_a_missing_file(void **state) {
    (void)state;
    assert_int_equal(sluice_test_write_file(path, "a\n"), 0);
    capture_logs();
    sluice_test_cfg c;
    sluice_source *src = open_file(NULL, "follow", "true", &c);
    char text[512] = "", old[4300];
    int64_t offs[8];
    size_t n = 0;
    poll_records(src, 1, text, sizeof text, offs, &n);
    snprintf(old, sizeof old, "%s.1", path);
    assert_int_equal(rename(path, old), 0);
    poll_once_empty(src);
    poll_once_empty(src); /* logged once */
    assert_int_equal(sluice_test_write_file(path, "x\n"), 0);
    poll_records(src, 1, text, sizeof text, offs, &n);
    assert_string_equal(text, "a\nx");
    assert_true(offs[1] == GEN(1, 1));
    src->ops->close(src);
    char *logs = captured_logs();
    char want[4400];
    snprintf(want, sizeof want, "'%s' is missing", path);
    const char *first = strstr(logs, want);
    if (!first || strstr(first + 1, want)) fail_msg("expected one '%s' in the log:\n%s", want, logs);
    assert_non_null(strstr(logs, "rotated: "));
    free(logs);
}

/* CSV: the new contents start with their header, which is skipped. */
static void follow_csv_skips_the_header_of_the_new_contents(void **state) {
    (void)state;
    assert_int_equal(sluice_test_write_file(path, "k\n1\n"), 0);
    sluice_test_cfg c;
    sluice_source *src = open_file("csv", "follow", "true", &c);
    char text[512] = "";
    int64_t offs[8];
    size_t n = 0;
    poll_records(src, 1, text, sizeof text, offs, &n);
    assert_int_equal(truncate(path, 0), 0);
    poll_once_empty(src);
    append_text("k\n2\n");
    poll_records(src, 1, text, sizeof text, offs, &n);
    assert_string_equal(text, "1\n2");
    assert_true(offs[0] == 2 && offs[1] == GEN(1, 2));
    src->ops->close(src);
}

/* Recovery cannot seek into a rotated-away generation: refused, not
 * replayed against the file now at the path. */
static void seek_into_a_later_generation_is_refused(void **state) {
    (void)state;
    assert_int_equal(sluice_test_write_file(path, "a\nb\nc\n"), 0);
    sluice_test_cfg c;
    sluice_source *src = open_file(NULL, "follow", "true", &c);
    char err[1024];
    assert_int_equal(src->ops->seek(src, NULL, 0, GEN(1, 2), err, sizeof err), SLUICE_ERR_CONFIG);
    assert_non_null(strstr(err, "resumes at line 2 of generation 1 of"));
    assert_int_equal(src->ops->seek(src, NULL, 0, 2, err, sizeof err), SLUICE_OK);
    char text[512] = "";
    int64_t offs[8];
    size_t n = 0;
    poll_records(src, 2, text, sizeof text, offs, &n);
    assert_string_equal(text, "b\nc");
    src->ops->close(src);
}

int main(void) {
    tmpdir = sluice_test_mkdtemp("unit_file_source");
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(crlf_empty_lines_and_missing_newline, setup),
        cmocka_unit_test_setup(empty_file_bounded, setup),
        cmocka_unit_test_setup(position_is_path_and_line, setup),
        cmocka_unit_test_setup(csv_header_quotes_and_newlines, setup),
        cmocka_unit_test_setup(csv_delimiter_accepted, setup),
        cmocka_unit_test_setup(csv_without_header_is_config_error, setup),
        cmocka_unit_test_setup(missing_file_message, setup),
        cmocka_unit_test_setup(huge_lines, setup),
        cmocka_unit_test_setup(max_offsets_per_trigger_caps_polls, setup),
        cmocka_unit_test_setup(follow_sees_appended_lines, setup),
        cmocka_unit_test_setup(follow_empty_file_then_data, setup),
        cmocka_unit_test_setup(follow_reads_a_truncated_file_from_its_start, setup),
        cmocka_unit_test_setup(follow_finishes_a_renamed_file_then_reads_the_new_one, setup),
        cmocka_unit_test_setup(follow_waits_for_a_missing_file, setup),
        cmocka_unit_test_setup(follow_csv_skips_the_header_of_the_new_contents, setup),
        cmocka_unit_test_setup(seek_into_a_later_generation_is_refused, setup),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    free(tmpdir);
    return rc;
}
