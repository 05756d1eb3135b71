/*
 * Encodings through Kafka (librdkafka's mock cluster): a message that is
 * not UTF-8 is a dead letter with its exact bytes (raw_base64); the JSON
 * values and keys the Kafka sink writes are UTF-8 even where ill-formed
 * bytes reach them (a SQL string literal is not checked): each maximal
 * subpart becomes U+FFFD.  Expected values written out by hand.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "kafka_support.h"
#include "sluice_test.h"

#define R "\xEF\xBF\xBD"

static void kafka_values_and_dead_letters(void **state) {
    (void)state;
    char *dir = sluice_test_mkdtemp("kafka_encodings");
    sluice_test_broker *broker = sluice_test_broker_start(1, NULL);
    assert_non_null(dir);
    assert_non_null(broker);
    const char *b = sluice_test_broker_bootstrap(broker);
    const char *values[] = {
        "{\"id\":1,\"name\":\"stra\xC3\x9F" "e\"}",
        "{\"id\":2,\"name\":\"a\xC0\xAF\"}",
        "{\"id\":3,\"name\":\"\xCE\xBA\"}",
    };
    assert_int_equal(sluice_test_kafka_produce(b, "enc-in", 0, values, NULL, 3), 0);

    char sql[4200], ini[4200], dl[4200], err[4200];
    snprintf(sql, sizeof sql, "%s/enc.sql", dir);
    snprintf(ini, sizeof ini, "%s/enc.ini", dir);
    snprintf(dl, sizeof dl, "%s/dead.jsonl", dir);
    snprintf(err, sizeof err, "%s/stderr.txt", dir);
    assert_int_equal(sluice_test_write_file(sql, "CREATE SOURCE ev (id BIGINT, name VARCHAR);\n"
                                                 "CREATE SINK out PRIMARY KEY (k) AS\n"
                                                 "SELECT 'k\xFF' AS k, id, UPPER(name) AS up, 'x\xE2\x82' AS bad FROM ev;\n"),
                     0);
    char text[8192];
    snprintf(text, sizeof text,
             "[pipeline]\ntrigger = available_now\ndead_letter = %s\n"
             "[kafka]\nbootstrap.servers = %s\nsession.timeout.ms = 4000\nheartbeat.interval.ms = 500\n"
             "[source ev]\ntopic = enc-in\nstartingOffsets = earliest\nformat = json\n"
             "[sink out]\nconnector = kafka\ntopic = enc-out\n",
             dl, b);
    assert_int_equal(sluice_test_write_file(ini, text), 0);
    const char *argv[] = {"run", sql, "--profile", "prod", "--config", ini, NULL};
    int rc = sluice_test_wait_cli(sluice_test_spawn_cli(argv, NULL, err), 60000);
    if (rc != 0) fail_msg("exit %d: %s", rc, sluice_test_read_file(err, NULL));

    sluice_test_kmsg *msgs = NULL;
    long n = sluice_test_kafka_consume_all(b, "enc-out", &msgs);
    assert_int_equal(n, 2);
    const char *want_values[] = {
        "{\"k\":\"k" R "\",\"id\":1,\"up\":\"STRASSE\",\"bad\":\"x" R "\"}",
        "{\"k\":\"k" R "\",\"id\":3,\"up\":\"\xCE\x9A\",\"bad\":\"x" R "\"}",
    };
    for (long i = 0; i < n; i++) {
        assert_string_equal(msgs[i].value, want_values[i]);
        assert_string_equal(msgs[i].key, "{\"k\":\"k" R "\"}");
    }
    sluice_test_kafka_msgs_free(msgs, n);

    char *d = sluice_test_read_file(dl, NULL);
    assert_non_null(d);
    cJSON *o = cJSON_Parse(d);
    assert_non_null(o);
    assert_string_equal(cJSON_GetObjectItem(o, "reason")->valuestring, "invalid JSON: invalid UTF-8 at byte 18");
    assert_null(cJSON_GetObjectItem(o, "raw"));
    /* base64 of {"id":2,"name":"a<C0><AF>"} */
    assert_string_equal(cJSON_GetObjectItem(o, "raw_base64")->valuestring, "eyJpZCI6MiwibmFtZSI6ImHAryJ9");
    size_t lines = 0;
    for (const char *p = d; *p; p++) lines += *p == '\n';
    assert_int_equal(lines, 1); /* one dead letter: the other messages decoded */
    cJSON_Delete(o);
    free(d);
    sluice_test_broker_stop(broker);
    free(dir);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(kafka_values_and_dead_letters),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
