/*
 * The orders_analytics scenario in its prod shape, end to end: the orders
 * produced to a topic of the test broker (sluice-mock-broker), sluice run
 * with fixtures/pipelines/orders_analytics.prod.ini unchanged (Kafka in;
 * the per-shop report into a private MariaDB, the leaderboard into a
 * private redis-server, from one read of the topic), under
 * trigger = available_now.  Both outputs must equal the SQLite oracle;
 * a second run on the same checkpoint reads nothing new and changes
 * nothing.
 */
#include "sluice_test.h"
#include "kafka_support.h"
#include "mariadb.h"
#include "orders_analytics.h"
#include "redis_server.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static sluice_test_broker *broker;
static sluice_test_mariadb db;
static sluice_test_redis redis;
static char *tmpdir;

static int setup(void **state) {
    (void)state;
    tmpdir = sluice_test_mkdtemp("orders_analytics_prod");
    static const char *const topics[] = {"orders:1", NULL};
    if (!(broker = sluice_test_broker_start(1, topics))) return -1;
    if (sluice_test_kafka_produce_file(sluice_test_broker_bootstrap(broker), "orders",
                                       sluice_test_fixture("generated/orders-10k.jsonl"), NULL) != 10000)
        return -1;
    if (sluice_test_mariadb_start(&db, "orders_analytics_mariadb") != 0) return -1;
    if (sluice_test_redis_start(&redis, "orders_analytics_redis") != 0) return -1;
    char my_port[16], redis_port[16], checkpoints[4200];
    snprintf(my_port, sizeof my_port, "%d", db.port);
    snprintf(redis_port, sizeof redis_port, "%d", redis.port);
    snprintf(checkpoints, sizeof checkpoints, "%s/checkpoints", tmpdir);
    setenv("KAFKA_BROKERS", sluice_test_broker_bootstrap(broker), 1);
    setenv("MYSQL_HOST", "127.0.0.1", 1);
    setenv("MYSQL_PORT", my_port, 1);
    setenv("MYSQL_USER", SLUICE_TEST_MARIADB_USER, 1);
    setenv("MYSQL_PASSWORD", SLUICE_TEST_MARIADB_PASSWORD, 1);
    setenv("MYSQL_DATABASE", SLUICE_TEST_MARIADB_DATABASE, 1);
    setenv("REDIS_HOST", "127.0.0.1", 1);
    setenv("REDIS_PORT", redis_port, 1);
    setenv("REDIS_PASSWORD", SLUICE_TEST_REDIS_PASSWORD, 1);
    setenv("SLUICE_CHECKPOINT_DIR", checkpoints, 1);
    return 0;
}

static int teardown(void **state) {
    (void)state;
    sluice_test_redis_stop(&redis);
    sluice_test_mariadb_stop(&db);
    sluice_test_broker_stop(broker);
    free(tmpdir);
    return 0;
}

/* Run the prod profile under available_now; returns the input rows it read. */
static long run_prod(int attempt) {
    char err[4300], dead[4300], dead_set[4400], group[128];
    snprintf(err, sizeof err, "%s/run%d.stderr", tmpdir, attempt);
    snprintf(dead, sizeof dead, "%s/run%d.dead.jsonl", tmpdir, attempt);
    snprintf(dead_set, sizeof dead_set, "pipeline.dead_letter=%s", dead);
    /* a consumer group per run: the broker need not wait out the session
     * of the previous run's consumer; the checkpoint holds the offsets */
    snprintf(group, sizeof group, "source orders.group.id=sluice-test.orders_analytics.run%d", attempt);
    const char *argv[] = {"run", "fixtures/pipelines/orders_analytics.sql", "--profile", "prod", "--set",
                          "pipeline.trigger=available_now", "--set", "pipeline.max_batch_rows=500", "--set",
                          dead_set, "--set", group, NULL};
    int rc = sluice_test_run_cli(argv, NULL, err);
    if (rc != 0) {
        char *text = sluice_test_read_file(err, NULL);
        size_t n = text ? strlen(text) : 0;
        fail_msg("run %d: exit status %d: %s", attempt, rc, text ? (n > 3000 ? text + n - 3000 : text) : "");
    }
    size_t dead_len = 0;
    char *dead_text = sluice_test_read_file(dead, &dead_len);
    if (dead_text && dead_len) fail_msg("run %d: dead letters: %.2000s", attempt, dead_text);
    free(dead_text);
    return sluice_test_progress_input_rows(err);
}

static void prod_profile_into_mysql_and_redis_equals_the_oracle(void **state) {
    (void)state;
    assert_int_equal(run_prod(1), 10000);
    char *want = sluice_test_oracle_leaderboard();
    char *got = sluice_test_redis_dump(&redis, "top_products:*");
    assert_non_null(got);
    if (strcmp(got, want) != 0) fail_msg("leaderboard:\n--- got\n%s--- want\n%s", got, want);
    free(got);
    sluice_test_assert_orders_by_shop(&db);

    /* the same checkpoint: nothing new to read, nothing changes */
    assert_int_equal(run_prod(2), 0);
    got = sluice_test_redis_dump(&redis, "top_products:*");
    assert_non_null(got);
    assert_string_equal(got, want);
    sluice_test_assert_orders_by_shop(&db);
    free(got);
    free(want);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(prod_profile_into_mysql_and_redis_equals_the_oracle),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
