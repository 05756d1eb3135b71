/*
 * base/log: a command-line program's diagnostic (sluice_log_tool) is the
 * plain line "PROGRAM: MESSAGE" in the text format, one JSON event in the
 * JSON format, and follows the level threshold; pipeline events keep their
 * key=value form.
 */
#include "sluice_test.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"

/* What the logger writes with level and format, through a memory stream. */
static char *capture(sluice_log_level level, sluice_log_format format, void (*emit)(void)) {
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    assert_non_null(f);
    sluice_log_configure(level, format, f);
    emit();
    sluice_log_configure(SLUICE_LOG_INFO, SLUICE_LOG_TEXT, NULL);
    fclose(f);
    return buf;
}

static void emit_tool_error(void) {
    sluice_log_tool(SLUICE_LOG_ERROR, "sluice", "unknown command '%s' (expected run, check, explain or checkpoint)",
                    "nope");
}

static void emit_tool_info(void) {
    sluice_log_tool(SLUICE_LOG_INFO, "sluice-gen", "%d records delivered to topic '%s'", 3, "t");
}

static void test_tool_text_is_the_plain_line(void **state) {
    (void)state;
    char *t = capture(SLUICE_LOG_INFO, SLUICE_LOG_TEXT, emit_tool_error);
    assert_string_equal(t, "sluice: unknown command 'nope' (expected run, check, explain or checkpoint)\n");
    free(t);
    t = capture(SLUICE_LOG_INFO, SLUICE_LOG_TEXT, emit_tool_info);
    assert_string_equal(t, "sluice-gen: 3 records delivered to topic 't'\n");
    free(t);
}

static void test_tool_json_is_one_event(void **state) {
    (void)state;
    char *t = capture(SLUICE_LOG_INFO, SLUICE_LOG_JSON, emit_tool_info);
    /* {"ts":"YYYY-MM-DDTHH:MM:SS.mmmZ","level":"info",...}: the timestamp is 24 characters */
    assert_int_equal(strncmp(t, "{\"ts\":\"", 7), 0);
    assert_string_equal(t + 7 + 24,
                        "\",\"level\":\"info\",\"module\":\"cli\",\"instance\":\"sluice-gen\","
                        "\"msg\":\"3 records delivered to topic 't'\"}\n");
    free(t);
}

static void test_tool_follows_the_threshold(void **state) {
    (void)state;
    char *t = capture(SLUICE_LOG_WARN, SLUICE_LOG_TEXT, emit_tool_info);
    assert_string_equal(t, "");
    free(t);
    t = capture(SLUICE_LOG_ERROR, SLUICE_LOG_TEXT, emit_tool_error);
    assert_string_equal(t, "sluice: unknown command 'nope' (expected run, check, explain or checkpoint)\n");
    free(t);
}

static void emit_event(void) {
    sluice_log(SLUICE_LOG_WARN, "p", "file", "out", "a b");
}

static void test_pipeline_event_text(void **state) {
    (void)state;
    char *t = capture(SLUICE_LOG_INFO, SLUICE_LOG_TEXT, emit_event);
    /* ts=YYYY-MM-DDTHH:MM:SS.mmmZ (24 characters) */
    assert_int_equal(strncmp(t, "ts=", 3), 0);
    assert_string_equal(t + 3 + 24, " level=warn pipeline=p module=file instance=out msg=\"a b\"\n");
    free(t);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tool_text_is_the_plain_line),
        cmocka_unit_test(test_tool_json_is_one_event),
        cmocka_unit_test(test_tool_follows_the_threshold),
        cmocka_unit_test(test_pipeline_event_text),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
