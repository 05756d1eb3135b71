/*
 * The sentiment scenario with its prod profile (fixtures/pipelines/
 * sentiment.prod.ini): the 5000 generated reviews produced to the topic
 * `reviews` of the test broker, scored by the loopback model server over
 * HTTP, into the topic streaming.sentiment.output keyed by product, exactly
 * once (transactional, with a checkpoint).  Every record is compared with
 * the SQLite oracle of fixtures/expected/sentiment/; a second run on the
 * same checkpoint adds nothing and calls the model no more.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "kafka_support.h"
#include "model_server.h"
#include "sluice_test.h"

static void run_prod(const char *dir) {
    char dead[4300], err[4300], trig[64];
    snprintf(dead, sizeof dead, "pipeline.dead_letter=%s/dead.jsonl", dir);
    snprintf(err, sizeof err, "%s/stderr.txt", dir);
    snprintf(trig, sizeof trig, "pipeline.trigger=available_now");
    const char *argv[] = {"run", "fixtures/pipelines/sentiment.sql", "--profile", "prod", "--set", trig,
                          "--set", dead, "--quiet", NULL};
    int rc = sluice_test_run_cli(argv, NULL, err);
    if (rc != 0) {
        char *e = sluice_test_read_file(err, NULL);
        fail_msg("sluice run --profile prod: exit status %d: %s", rc, e ? e : "");
    }
}

static void test_prod_profile_end_to_end(void **state) {
    (void)state;
    char *dir = sluice_test_mkdtemp("kafka_sentiment");
    assert_non_null(dir);
    const char *topics[] = {"reviews:1", "streaming.sentiment.output:1", NULL};
    sluice_test_broker *broker = sluice_test_broker_start(1, topics);
    assert_non_null(broker);
    const char *bootstrap = sluice_test_broker_bootstrap(broker);
    assert_int_equal(sluice_test_kafka_produce_file(bootstrap, "reviews",
                                                    sluice_test_fixture("generated/reviews-5k.jsonl"), "product"),
                     5000);
    model_server *server = model_server_start(sluice_test_fixture("models/afinn-165/afinn-165.tsv"));
    assert_non_null(server);
    char url[128], ckpt[4300];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/v1/models/sentiment:predict", model_server_port(server));
    snprintf(ckpt, sizeof ckpt, "%s/checkpoints", dir);
    setenv("KAFKA_BROKERS", bootstrap, 1);
    setenv("SENTIMENT_MODEL_URL", url, 1);
    setenv("SLUICE_CHECKPOINT_DIR", ckpt, 1);

    run_prod(dir);
    /* each row is computed once by each of the 3 calls of the query */
    assert_int_equal(model_server_instances(server), 3 * 5000);

    sluice_test_kmsg *msgs;
    long n = sluice_test_kafka_consume_all(bootstrap, "streaming.sentiment.output", &msgs);
    assert_int_equal(n, 5000);
    char *expected = sluice_test_read_file(sluice_test_fixture("expected/sentiment/sentiment_output.csv"), NULL);
    assert_non_null(expected);
    char *line = strchr(expected, '\n') + 1; /* after the header */
    for (long i = 0; i < n; i++) {
        char product[16], ts[32], label[16];
        long rating;
        double score;
        assert_int_equal(sscanf(line, "%15[^,],%31[^,],%ld,%lf,%15[^\n]", product, ts, &rating, &score, label), 5);
        line = strchr(line, '\n') + 1;
        cJSON *v = cJSON_Parse(msgs[i].value);
        assert_non_null(v);
        if (strcmp(cJSON_GetObjectItem(v, "product")->valuestring, product) != 0 ||
            cJSON_GetObjectItem(v, "score")->valuedouble != score ||
            strcmp(cJSON_GetObjectItem(v, "label")->valuestring, label) != 0 ||
            cJSON_GetObjectItem(v, "rating")->valuedouble != (double)rating)
            fail_msg("record %ld: %s, expected %s %s %ld %g %s", i, msgs[i].value, product, ts, rating, score, label);
        cJSON_Delete(v);
        char key[64];
        snprintf(key, sizeof key, "{\"product\":\"%s\"}", product);
        assert_non_null(msgs[i].key);
        assert_string_equal(msgs[i].key, key);
    }
    free(expected);
    sluice_test_kafka_msgs_free(msgs, n);

    /* the same checkpoint again: nothing read, nothing written, no calls */
    model_server_set_mode(server, MODEL_OK, 0);
    run_prod(dir);
    assert_int_equal(sluice_test_kafka_count(bootstrap, "streaming.sentiment.output"), 5000);
    assert_int_equal(model_server_instances(server), 0);

    model_server_stop(server);
    sluice_test_broker_stop(broker);
    free(dir);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_prod_profile_end_to_end),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
