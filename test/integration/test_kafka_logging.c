/*
 * librdkafka's own messages go through sluice's logger: a Kafka pipeline
 * against an unreachable broker (nothing listens on 127.0.0.1:1), run with
 * --log-format json, writes only JSON objects on stderr, one per line, and
 * librdkafka's connection failures are among them as events of module
 * "kafka" at level error (syslog level 3).
 */
#include "sluice_test.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>

static void pause_ms(long ms) {
    struct timespec p = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&p, NULL);
}

static void test_librdkafka_messages_are_json_log_events(void **state) {
    (void)state;
    char *dir = sluice_test_mkdtemp("kafka_logging");
    assert_non_null(dir);
    char sql[4200], ini[4200], out[4200], err[4200];
    snprintf(sql, sizeof sql, "%s/p.sql", dir);
    snprintf(ini, sizeof ini, "%s/p.test.ini", dir);
    snprintf(out, sizeof out, "%s/stdout.txt", dir);
    snprintf(err, sizeof err, "%s/stderr.txt", dir);
    assert_int_equal(sluice_test_write_file(sql, "CREATE SOURCE ev (k VARCHAR, v BIGINT);\n"
                                                 "CREATE SINK out AS SELECT k, v FROM ev;\n"),
                     0);
    assert_int_equal(sluice_test_write_file(ini, "[kafka]\nbootstrap.servers = 127.0.0.1:1\n"
                                                 "[source ev]\nconnector = kafka\ntopic = t\nformat = json\n"),
                     0);
    const char *argv[] = {"run", sql, "--log-format", "json", NULL};
    int pid = sluice_test_spawn_cli(argv, out, err);
    assert_true(pid > 0);
    /* wait for librdkafka's first connection failure (it comes at once) */
    int seen = 0;
    for (int i = 0; i < 3000 && !seen; i++) {
        char *t = sluice_test_read_file(err, NULL);
        seen = t && strstr(t, "librdkafka") && t[strlen(t) - 1] == '\n';
        free(t);
        if (!seen) pause_ms(10);
    }
    /* the run would go on for its 120 s stall limit: what it wrote is enough */
    kill(pid, SIGKILL);
    sluice_test_wait_cli(pid, 10000);
    assert_true(seen);

    char *t = sluice_test_read_file(err, NULL);
    assert_non_null(t);
    size_t events = 0, kafka = 0;
    for (char *save = NULL, *l = strtok_r(t, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
        cJSON *o = cJSON_Parse(l);
        if (!o || !cJSON_IsObject(o)) fail_msg("stderr line is not a JSON object: %s", l);
        const cJSON *msg = cJSON_GetObjectItemCaseSensitive(o, "msg");
        const cJSON *module = cJSON_GetObjectItemCaseSensitive(o, "module");
        const cJSON *level = cJSON_GetObjectItemCaseSensitive(o, "level");
        if (msg) {
            events++;
            assert_true(cJSON_IsString(msg) && cJSON_IsString(level));
            if (cJSON_IsString(module) && strcmp(module->valuestring, "kafka") == 0 &&
                strstr(msg->valuestring, "librdkafka FAIL") && strstr(msg->valuestring, "127.0.0.1:1")) {
                assert_string_equal(level->valuestring, "error");
                kafka++;
            }
        } else {
            assert_non_null(cJSON_GetObjectItemCaseSensitive(o, "batch_id")); /* a progress line */
        }
        cJSON_Delete(o);
    }
    assert_true(events >= 1);
    assert_true(kafka >= 1);
    free(t);
    free(dir);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_librdkafka_messages_are_json_log_events),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
