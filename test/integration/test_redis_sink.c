/*
 * The redis sink against a real redis-server that this test starts (one
 * private server for the whole executable; each test uses keys of its own
 * pipeline name):
 *
 * - hash: one hash per row, key = prefix + PRIMARY KEY values, the other
 *   columns as fields, a NULL field left out, ttl applied;
 * - zset: a top-N ranking replaced per key and epoch (members that left it
 *   are removed), or kept with replace = false;
 * - string: the row as JSON;
 * - exactly once: epochs at or below the recorded one are skipped, the
 *   record is reset without checkpointing; COMPLETE mode replaces the keys;
 * - rows the sink cannot store go to on_error; a WRONGTYPE inside EXEC
 *   fails the epoch; configuration errors name file:line; the password
 *   never appears; a unix socket, a database and an ACL user work; a
 *   killed connection and a BUSY server are retried;
 * - the orders_analytics scenario, from one read of the orders: the
 *   per-shop report in MySQL (a private MariaDB) and the leaderboard in
 *   Redis equal the SQLite oracle; `sluice check` shows the [redis]
 *   section masked.
 */
#include "sluice_test.h"
#include "conn_support.h"
#include "orders_analytics.h"
#include "redis_server.h"
#ifdef SLUICE_WITH_MYSQL
#include "mariadb.h"
#endif

#include <math.h>
#include <pthread.h>
#include <time.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "connectors/connectors.h"
#include "sluice/sluice.h"

static sluice_test_redis server;
static char *tmpdir;
static char port_text[16];

/* ---- helpers ---------------------------------------------------------------------------------- */

typedef struct opened {
    sluice_test_cfg c;
    const char *kv[16];
    sluice_sink *sink;
} opened;

static void cfg_for(opened *o, const char *pipeline, const char *instance, const sluice_schema *schema, int mode,
                    const char *password) {
    sluice_test_cfg_init(&o->c, instance, schema);
    o->c.cfg.pipeline = pipeline;
    o->c.cfg.output_mode = mode;
    o->c.cfg.checkpointing = 1;
    const char *kv[] = {"host", "127.0.0.1", "port", port_text, "password", password, NULL};
    memcpy(o->kv, kv, sizeof kv);
    o->c.cfg.shared = o->kv;
}

static sluice_err_t try_open(opened *o, char *err, size_t size) {
    o->sink = NULL;
    err[0] = '\0';
    return sluice_redis_sink_ops.open(&o->c.cfg, &o->sink, err, size);
}

static void do_open(opened *o) {
    char err[1024];
    if (try_open(o, err, sizeof err) != SLUICE_OK) fail_msg("open: %s", err);
}

static void epoch(opened *o, int64_t e, const sluice_row_batch *b) {
    char err[1024] = "";
    if (sluice_redis_sink_ops.write(o->sink, e, b, err, sizeof err) != SLUICE_OK) fail_msg("write: %s", err);
    if (sluice_redis_sink_ops.commit(o->sink, e, err, sizeof err) != SLUICE_OK) fail_msg("commit: %s", err);
}

static void assert_dump(const char *pattern, const char *want) {
    char *got = sluice_test_redis_dump(&server, pattern);
    assert_non_null(got);
    if (strcmp(got, want) != 0) fail_msg("keys %s:\n--- got\n%s--- want\n%s", pattern, got, want);
    free(got);
}

static void redis_do(const char *const *argv) {
    redisReply *r = sluice_test_redis_cmd(&server, argv);
    assert_non_null(r);
    if (r->type == REDIS_REPLY_ERROR) fail_msg("%s: %s", argv[0], r->str);
    freeReplyObject(r);
}

/* sales(window_start TIMESTAMP, shop BIGINT, region VARCHAR, orders BIGINT, note VARCHAR)
 * PRIMARY KEY (window_start, shop) */
static const sluice_column sales_cols[] = {{.name = "window_start", .type = SLUICE_TYPE_TIMESTAMP},
                                           {.name = "shop", .type = SLUICE_TYPE_BIGINT},
                                           {.name = "region", .type = SLUICE_TYPE_VARCHAR},
                                           {.name = "orders", .type = SLUICE_TYPE_BIGINT},
                                           {.name = "avg", .type = SLUICE_TYPE_DOUBLE}};
static const size_t sales_pk[] = {0, 1};
static const sluice_schema sales = {.ncolumns = 5, .columns = sales_cols, .npk = 2, .pk = sales_pk};

#define T0 1767225660000LL /* 2026-01-01 00:01:00 UTC */

static void add_sale(sluice_row_batch *b, int64_t ts, int64_t shop, const char *region, int64_t orders, double avg) {
    sluice_value *row = sluice_row_batch_append(b);
    row[0] = sluice_value_timestamp(ts);
    row[1] = sluice_value_bigint(shop);
    row[2] = region ? sluice_value_varchar(region, strlen(region)) : sluice_value_null();
    row[3] = sluice_value_bigint(orders);
    row[4] = sluice_value_double(avg);
}

/* top(window_start TIMESTAMP, rank BIGINT, product VARCHAR, cnt BIGINT)
 * PRIMARY KEY (window_start, rank): a top-N query's output */
static const sluice_column top_cols[] = {{.name = "window_start", .type = SLUICE_TYPE_TIMESTAMP},
                                         {.name = "rank", .type = SLUICE_TYPE_BIGINT},
                                         {.name = "product", .type = SLUICE_TYPE_VARCHAR},
                                         {.name = "cnt", .type = SLUICE_TYPE_BIGINT}};
static const size_t top_pk[] = {0, 1};
static const sluice_schema top = {.ncolumns = 4, .columns = top_cols, .npk = 2, .pk = top_pk};

static void add_top(sluice_row_batch *b, int64_t ts, int64_t rank, const char *product, int64_t cnt) {
    sluice_value *row = sluice_row_batch_append(b);
    row[0] = sluice_value_timestamp(ts);
    row[1] = sluice_value_bigint(rank);
    row[2] = product ? sluice_value_varchar(product, strlen(product)) : sluice_value_null();
    row[3] = sluice_value_bigint(cnt);
}

/* ---- data shapes ------------------------------------------------------------------------------- */

static void hash_rows_keyed_by_primary_key(void **state) {
    (void)state;
    opened o;
    cfg_for(&o, "h1", "sales", &sales, SLUICE_OUTPUT_UPDATE, SLUICE_TEST_REDIS_PASSWORD);
    sluice_test_cfg_set(&o.c, "ttl", "1h");
    do_open(&o);
    sluice_row_batch b;
    sluice_row_batch_init(&b, &sales);
    add_sale(&b, T0, 7, "eu", 3, 2.5);
    add_sale(&b, T0, 8, "us", 1, 0.1);
    epoch(&o, 0, &b);
    assert_dump("sales:*", "sales:2026-01-01 00:01:00:7 hash avg=2.5 orders=3 region=eu\n"
                           "sales:2026-01-01 00:01:00:8 hash avg=0.1 orders=1 region=us\n");
    long long ttl = sluice_test_redis_pttl(&server, "sales:2026-01-01 00:01:00:7");
    if (ttl <= 3600000 - 60000 || ttl > 3600000) fail_msg("PTTL %lld, expected just under 3600000", ttl);

    /* an update replaces the hash: region now NULL is no field any more */
    sluice_row_batch_clear(&b);
    add_sale(&b, T0, 7, NULL, 4, 2.25);
    epoch(&o, 1, &b);
    sluice_redis_sink_ops.close(o.sink);
    assert_dump("sales:*", "sales:2026-01-01 00:01:00:7 hash avg=2.25 orders=4\n"
                           "sales:2026-01-01 00:01:00:8 hash avg=0.1 orders=1 region=us\n");
    assert_dump("sluice:commits:h1:*", "sluice:commits:h1:sales string 1\n");

    /* key_prefix, and a template naming the key columns */
    cfg_for(&o, "h2", "sales", &sales, SLUICE_OUTPUT_UPDATE, SLUICE_TEST_REDIS_PASSWORD);
    sluice_test_cfg_set(&o.c, "key", "shop/{shop}");
    do_open(&o);
    sluice_row_batch_clear(&b);
    add_sale(&b, T0 + 500, 9, "eu", 2, 1);
    epoch(&o, 0, &b);
    sluice_redis_sink_ops.close(o.sink);
    /* window_start is a key column left out of the template: a field */
    assert_dump("shop/*", "shop/9 hash avg=1 orders=2 region=eu window_start=2026-01-01 00:01:00.500\n");
    cfg_for(&o, "h3", "sales", &sales, SLUICE_OUTPUT_UPDATE, SLUICE_TEST_REDIS_PASSWORD);
    sluice_test_cfg_set(&o.c, "key_prefix", "dash:");
    do_open(&o);
    epoch(&o, 0, &b);
    sluice_redis_sink_ops.close(o.sink);
    assert_dump("dash:*", "dash:2026-01-01 00:01:00.500:9 hash avg=1 orders=2 region=eu\n");
    sluice_row_batch_free(&b);
}

static void zset_top_n_replaces_the_ranking(void **state) {
    (void)state;
    opened o;
    cfg_for(&o, "z1", "top", &top, SLUICE_OUTPUT_UPDATE, SLUICE_TEST_REDIS_PASSWORD);
    sluice_test_cfg_set(&o.c, "data_type", "zset");
    sluice_test_cfg_set(&o.c, "key", "top:{window_start}");
    sluice_test_cfg_set(&o.c, "member", "product");
    sluice_test_cfg_set(&o.c, "score", "cnt");
    do_open(&o);
    sluice_row_batch b;
    sluice_row_batch_init(&b, &top);
    add_top(&b, T0, 1, "apple", 5);
    add_top(&b, T0, 2, "pear", 3);
    add_top(&b, T0, 3, "fig", 1);
    add_top(&b, T0 + 60000, 1, "kiwi", 2);
    epoch(&o, 0, &b);
    assert_dump("top:*", "top:2026-01-01 00:01:00 zset fig=1 pear=3 apple=5\n"
                         "top:2026-01-01 00:02:00 zset kiwi=2\n");
    /* the first window's new ranking: fig left it, date entered */
    sluice_row_batch_clear(&b);
    add_top(&b, T0, 1, "apple", 6);
    add_top(&b, T0, 2, "date", 4);
    add_top(&b, T0, 3, "pear", 3);
    epoch(&o, 1, &b);
    sluice_redis_sink_ops.close(o.sink);
    assert_dump("top:*", "top:2026-01-01 00:01:00 zset pear=3 date=4 apple=6\n"
                         "top:2026-01-01 00:02:00 zset kiwi=2\n");

    /* replace = false: members are only added or updated */
    cfg_for(&o, "z2", "top", &top, SLUICE_OUTPUT_UPDATE, SLUICE_TEST_REDIS_PASSWORD);
    sluice_test_cfg_set(&o.c, "data_type", "zset");
    sluice_test_cfg_set(&o.c, "key", "keep:{window_start}");
    sluice_test_cfg_set(&o.c, "member", "product");
    sluice_test_cfg_set(&o.c, "score", "cnt");
    sluice_test_cfg_set(&o.c, "replace", "false");
    do_open(&o);
    sluice_row_batch_clear(&b);
    add_top(&b, T0, 1, "apple", 5);
    add_top(&b, T0, 3, "fig", 1);
    epoch(&o, 0, &b);
    sluice_row_batch_clear(&b);
    add_top(&b, T0, 1, "apple", 6);
    epoch(&o, 1, &b);
    sluice_redis_sink_ops.close(o.sink);
    assert_dump("keep:*", "keep:2026-01-01 00:01:00 zset fig=1 apple=6\n");

    /* not a top-N query (no `rank` key column): replace defaults to false */
    cfg_for(&o, "z3", "sales", &sales, SLUICE_OUTPUT_UPDATE, SLUICE_TEST_REDIS_PASSWORD);
    sluice_test_cfg_set(&o.c, "data_type", "zset");
    sluice_test_cfg_set(&o.c, "key", "region:{region}");
    sluice_test_cfg_set(&o.c, "member", "shop");
    sluice_test_cfg_set(&o.c, "score", "avg");
    do_open(&o);
    sluice_row_batch s2;
    sluice_row_batch_init(&s2, &sales);
    add_sale(&s2, T0, 1, "eu", 1, 0.5);
    epoch(&o, 0, &s2);
    sluice_row_batch_clear(&s2);
    add_sale(&s2, T0, 2, "eu", 1, 0.25);
    epoch(&o, 1, &s2);
    sluice_redis_sink_ops.close(o.sink);
    assert_dump("region:*", "region:eu zset 2=0.25 1=0.5\n");
    sluice_row_batch_free(&s2);
    sluice_row_batch_free(&b);
}

static void string_rows_as_json(void **state) {
    (void)state;
    opened o;
    cfg_for(&o, "s1", "sales", &sales, SLUICE_OUTPUT_UPDATE, SLUICE_TEST_REDIS_PASSWORD);
    sluice_test_cfg_set(&o.c, "data_type", "string");
    sluice_test_cfg_set(&o.c, "key_prefix", "js:");
    sluice_test_cfg_set(&o.c, "ttl", "90s");
    do_open(&o);
    sluice_row_batch b;
    sluice_row_batch_init(&b, &sales);
    add_sale(&b, T0, 7, "e\"u", 3, 2.5);
    epoch(&o, 0, &b);
    sluice_redis_sink_ops.close(o.sink);
    assert_dump("js:*", "js:2026-01-01 00:01:00:7 string "
                        "{\"window_start\":\"2026-01-01 00:01:00\",\"shop\":7,\"region\":\"e\\\"u\",\"orders\":3,"
                        "\"avg\":2.5}\n");
    long long ttl = sluice_test_redis_pttl(&server, "js:2026-01-01 00:01:00:7");
    if (ttl <= 30000 || ttl > 90000) fail_msg("PTTL %lld, expected just under 90000", ttl);
    sluice_row_batch_free(&b);
}

/* ---- changelog ------------------------------------------------------------------------------- */

/* hash and string: -D deletes the row's key, -U changes nothing; zset: -D
 * and -U remove the member (ZREM), never the rest of the ranking. */
static void changelog_deletes_keys_and_members(void **state) {
    (void)state;
    static const char *const shapes[] = {"hash", "string"};
    static const char *const want[] = {"cl-hash:2026-01-01 00:01:00:8 hash avg=0.5 orders=2 region=us\n",
                                       "cl-string:2026-01-01 00:01:00:8 string {\"window_start\":\"2026-01-01 "
                                       "00:01:00\",\"shop\":8,\"region\":\"us\",\"orders\":2,\"avg\":0.5}\n"};
    sluice_row_batch b;
    sluice_row_batch_init(&b, &sales);
    for (int t = 0; t < 2; t++) {
        opened o;
        char prefix[32], pattern[32];
        snprintf(prefix, sizeof prefix, "cl-%s:", shapes[t]);
        snprintf(pattern, sizeof pattern, "cl-%s:*", shapes[t]);
        cfg_for(&o, "c1", shapes[t], &sales, SLUICE_OUTPUT_UPDATE, SLUICE_TEST_REDIS_PASSWORD);
        sluice_test_cfg_set(&o.c, "data_type", shapes[t]);
        sluice_test_cfg_set(&o.c, "key_prefix", prefix);
        do_open(&o);
        sluice_row_batch_clear(&b);
        add_sale(&b, T0, 7, "eu", 3, 2.5);
        add_sale(&b, T0, 8, "us", 1, 0.1);
        epoch(&o, 0, &b);
        sluice_row_batch_clear(&b);
        sluice_value *row = sluice_row_batch_append_kind(&b, SLUICE_ROW_DELETE);
        row[0] = sluice_value_timestamp(T0);
        row[1] = sluice_value_bigint(7);
        row = sluice_row_batch_append_kind(&b, SLUICE_ROW_UPDATE_BEFORE);
        row[0] = sluice_value_timestamp(T0);
        row[1] = sluice_value_bigint(8);
        row = sluice_row_batch_append_kind(&b, SLUICE_ROW_UPDATE_AFTER);
        row[0] = sluice_value_timestamp(T0);
        row[1] = sluice_value_bigint(8);
        row[2] = sluice_value_varchar("us", 2);
        row[3] = sluice_value_bigint(2);
        row[4] = sluice_value_double(0.5);
        row = sluice_row_batch_append_kind(&b, SLUICE_ROW_DELETE); /* a NULL key: names nothing */
        row[0] = sluice_value_timestamp(T0);
        epoch(&o, 1, &b);
        sluice_redis_sink_ops.close(o.sink);
        assert_dump(pattern, want[t]);
    }
    sluice_row_batch_free(&b);

    opened o;
    cfg_for(&o, "c2", "top", &top, SLUICE_OUTPUT_UPDATE, SLUICE_TEST_REDIS_PASSWORD);
    sluice_test_cfg_set(&o.c, "data_type", "zset");
    sluice_test_cfg_set(&o.c, "key", "cltop:{window_start}");
    sluice_test_cfg_set(&o.c, "member", "product");
    sluice_test_cfg_set(&o.c, "score", "cnt");
    do_open(&o);
    sluice_row_batch_init(&b, &top);
    add_top(&b, T0, 1, "apple", 5);
    add_top(&b, T0, 2, "pear", 3);
    add_top(&b, T0, 3, "fig", 1);
    epoch(&o, 0, &b);
    sluice_row_batch_clear(&b);
    /* fig leaves the top 3 (a delete), pear's rank 2 goes to date */
    sluice_value *row = sluice_row_batch_append_kind(&b, SLUICE_ROW_DELETE);
    row[0] = sluice_value_timestamp(T0);
    row[1] = sluice_value_bigint(3);
    row[2] = sluice_value_varchar("fig", 3);
    row[3] = sluice_value_bigint(1);
    row = sluice_row_batch_append_kind(&b, SLUICE_ROW_UPDATE_BEFORE);
    row[0] = sluice_value_timestamp(T0);
    row[1] = sluice_value_bigint(2);
    row[2] = sluice_value_varchar("pear", 4);
    row[3] = sluice_value_bigint(3);
    epoch(&o, 1, &b);
    sluice_redis_sink_ops.close(o.sink);
    assert_dump("cltop:*", "cltop:2026-01-01 00:01:00 zset apple=5\n");
    sluice_row_batch_free(&b);
}

/* An ARRAY field is its whole JSON text (however long) in a hash, a JSON
 * array in a string row. */
static void array_fields_as_json_text(void **state) {
    (void)state;
    static const sluice_column cols[] = {{.name = "k", .type = SLUICE_TYPE_BIGINT},
                                         {.name = "tags", .type = SLUICE_TYPE_ARRAY}};
    static const size_t pk[] = {0};
    static const sluice_schema schema = {.ncolumns = 2, .columns = cols, .npk = 1, .pk = pk};
    sluice_row_batch b;
    sluice_row_batch_init(&b, &schema);
    sluice_array *a = sluice_array_new(b.arena, SLUICE_TYPE_VARCHAR, 20);
    assert_non_null(a);
    char want[512] = "[";
    for (int i = 0; i < 20; i++) {
        char *w = sluice_arena_alloc(b.arena, 8);
        snprintf(w, 8, "tag%02d", i);
        a->values[i] = sluice_value_varchar(w, strlen(w));
        snprintf(want + strlen(want), sizeof want - strlen(want), "%s\"tag%02d\"", i ? "," : "", i);
    }
    strcat(want, "]");
    sluice_value *row = sluice_row_batch_append(&b);
    row[0] = sluice_value_bigint(1);
    row[1] = sluice_value_array(a);
    opened o;
    cfg_for(&o, "a1", "arr", &schema, SLUICE_OUTPUT_APPEND, SLUICE_TEST_REDIS_PASSWORD);
    do_open(&o);
    epoch(&o, 0, &b);
    sluice_redis_sink_ops.close(o.sink);
    char dump[700];
    snprintf(dump, sizeof dump, "arr:1 hash tags=%s\n", want);
    assert_dump("arr:*", dump);
    cfg_for(&o, "a2", "arr", &schema, SLUICE_OUTPUT_APPEND, SLUICE_TEST_REDIS_PASSWORD);
    sluice_test_cfg_set(&o.c, "data_type", "string");
    sluice_test_cfg_set(&o.c, "key_prefix", "ajs:");
    do_open(&o);
    epoch(&o, 0, &b);
    sluice_redis_sink_ops.close(o.sink);
    snprintf(dump, sizeof dump, "ajs:1 string {\"k\":1,\"tags\":%s}\n", want);
    assert_dump("ajs:*", dump);
    sluice_row_batch_free(&b);
}

/* ---- exactly once ---------------------------------------------------------------------------- */

static void epochs_at_or_below_the_recorded_one_are_skipped(void **state) {
    (void)state;
    opened o;
    cfg_for(&o, "e1", "sales", &sales, SLUICE_OUTPUT_UPDATE, SLUICE_TEST_REDIS_PASSWORD);
    sluice_test_cfg_set(&o.c, "key_prefix", "e1:");
    do_open(&o);
    sluice_row_batch b;
    sluice_row_batch_init(&b, &sales);
    for (int64_t e = 0; e < 3; e++) {
        sluice_row_batch_clear(&b);
        add_sale(&b, T0, e, "first", e, 0);
        epoch(&o, e, &b);
    }
    sluice_redis_sink_ops.close(o.sink);
    assert_dump("sluice:commits:e1:*", "sluice:commits:e1:sales string 2\n");

    /* a restart replays epochs 1 and 2, then goes on with 3 */
    do_open(&o);
    for (int64_t e = 1; e < 4; e++) {
        sluice_row_batch_clear(&b);
        add_sale(&b, T0, e, "second", e, 0);
        epoch(&o, e, &b);
    }
    sluice_redis_sink_ops.close(o.sink);
    assert_dump("e1:*", "e1:2026-01-01 00:01:00:0 hash avg=0 orders=0 region=first\n"
                           "e1:2026-01-01 00:01:00:1 hash avg=0 orders=1 region=first\n"
                           "e1:2026-01-01 00:01:00:2 hash avg=0 orders=2 region=first\n"
                           "e1:2026-01-01 00:01:00:3 hash avg=0 orders=3 region=second\n");
    assert_dump("sluice:commits:e1:*", "sluice:commits:e1:sales string 3\n");

    /* without checkpointing a run starts a new epoch sequence: nothing skipped */
    o.c.cfg.checkpointing = 0;
    do_open(&o);
    assert_dump("sluice:commits:e1:*", "sluice:commits:e1:sales string -1\n");
    sluice_row_batch_clear(&b);
    add_sale(&b, T0, 0, "third", 0, 0);
    epoch(&o, 0, &b);
    sluice_redis_sink_ops.close(o.sink);
    assert_dump("sluice:commits:e1:*", "sluice:commits:e1:sales string 0\n");
    assert_dump("e1:2026-01-01 00:01:00:0", "e1:2026-01-01 00:01:00:0 hash avg=0 orders=0 region=third\n");
    sluice_row_batch_free(&b);
}

static void complete_mode_replaces_the_sinks_keys(void **state) {
    (void)state;
    opened o;
    cfg_for(&o, "c1", "sales", &sales, SLUICE_OUTPUT_COMPLETE, SLUICE_TEST_REDIS_PASSWORD);
    sluice_test_cfg_set(&o.c, "key_prefix", "all:");
    do_open(&o);
    sluice_row_batch b;
    sluice_row_batch_init(&b, &sales);
    add_sale(&b, T0, 1, "a", 1, 0);
    add_sale(&b, T0, 2, "b", 2, 0);
    epoch(&o, 0, &b);
    sluice_row_batch_clear(&b);
    add_sale(&b, T0, 2, "b", 5, 0);
    add_sale(&b, T0, 3, "c", 3, 0);
    epoch(&o, 1, &b);
    sluice_row_batch_clear(&b); /* an epoch without rows keeps the keys */
    epoch(&o, 2, &b);
    sluice_redis_sink_ops.close(o.sink);
    assert_dump("all:*", "all:2026-01-01 00:01:00:2 hash avg=0 orders=5 region=b\n"
                         "all:2026-01-01 00:01:00:3 hash avg=0 orders=3 region=c\n");
    assert_dump("sluice:keys:c1:*",
                "sluice:keys:c1:sales set\n"); /* its members: the keys above */
    const char *card[] = {"SCARD", "sluice:keys:c1:sales", NULL};
    redisReply *r = sluice_test_redis_cmd(&server, card);
    assert_non_null(r);
    assert_int_equal(r->integer, 2);
    freeReplyObject(r);
    sluice_row_batch_free(&b);
}

/* ---- rows the sink cannot store ------------------------------------------------------------- */

typedef struct rejects {
    int n;
    char reasons[4][300];
    int64_t epochs[4];
} rejects;

static sluice_err_t capture_reject(void *ctx, int64_t epoch_no, const sluice_value *row, const char *raw,
                                   size_t raw_len, const char *reason, char *errstr, size_t errstr_size) {
    (void)row, (void)raw, (void)raw_len, (void)errstr, (void)errstr_size;
    rejects *r = ctx;
    if (r->n < 4) {
        snprintf(r->reasons[r->n], sizeof r->reasons[0], "%s", reason);
        r->epochs[r->n] = epoch_no;
    }
    r->n++;
    return SLUICE_OK;
}

static void unstorable_rows_go_to_on_error(void **state) {
    (void)state;
    static const sluice_column cols[] = {{.name = "k", .type = SLUICE_TYPE_VARCHAR},
                                         {.name = "m", .type = SLUICE_TYPE_VARCHAR},
                                         {.name = "s", .type = SLUICE_TYPE_DOUBLE}};
    static const sluice_schema sc = {.ncolumns = 3, .columns = cols, .npk = 0, .pk = NULL};
    opened o;
    cfg_for(&o, "r1", "board", &sc, SLUICE_OUTPUT_APPEND, SLUICE_TEST_REDIS_PASSWORD);
    sluice_test_cfg_set(&o.c, "data_type", "zset");
    sluice_test_cfg_set(&o.c, "key", "rej:{k}");
    sluice_test_cfg_set(&o.c, "member", "m");
    sluice_test_cfg_set(&o.c, "score", "s");
    rejects rj = {0};
    o.c.cfg.reject = capture_reject;
    o.c.cfg.reject_ctx = &rj;
    do_open(&o);
    sluice_row_batch b;
    sluice_row_batch_init(&b, &sc);
    const struct {
        const char *k, *m;
        int null_s;
        double s;
    } in[] = {{"a", "x", 0, 1}, {NULL, "y", 0, 2}, {"a", NULL, 0, 3}, {"a", "z", 1, 0}, {"a", "w", 0, NAN}, {"a", "v", 0, 4}};
    for (size_t i = 0; i < sizeof in / sizeof in[0]; i++) {
        sluice_value *row = sluice_row_batch_append(&b);
        row[0] = in[i].k ? sluice_value_varchar(in[i].k, 1) : sluice_value_null();
        row[1] = in[i].m ? sluice_value_varchar(in[i].m, 1) : sluice_value_null();
        row[2] = in[i].null_s ? sluice_value_null() : sluice_value_double(in[i].s);
    }
    epoch(&o, 0, &b);
    sluice_redis_sink_ops.close(o.sink);
    assert_dump("rej:*", "rej:a zset x=1 v=4\n");
    assert_int_equal(rj.n, 4);
    assert_string_equal(rj.reasons[0], "key column 'k' is NULL: the key template cannot name the row");
    assert_string_equal(rj.reasons[1], "member column 'm' is NULL");
    assert_string_equal(rj.reasons[2], "score column 's' is NULL, not a number");
    assert_string_equal(rj.reasons[3], "score column 's' is NaN, which a sorted set cannot hold");
    assert_int_equal(rj.epochs[3], 0);

    /* on_error = fail (no callback): the epoch fails, nothing of it is written */
    o.c.cfg.reject = NULL;
    o.c.cfg.pipeline = "r2";
    do_open(&o);
    char err[1024] = "";
    assert_int_equal(sluice_redis_sink_ops.write(o.sink, 0, &b, err, sizeof err), SLUICE_OK);
    assert_int_not_equal(sluice_redis_sink_ops.commit(o.sink, 0, err, sizeof err), SLUICE_OK);
    if (!strstr(err, "key column 'k' is NULL")) fail_msg("unexpected message: %s", err);
    sluice_redis_sink_ops.close(o.sink);
    assert_dump("sluice:commits:r2:*", "");
    assert_dump("rej:*", "rej:a zset x=1 v=4\n");
    sluice_row_batch_free(&b);
}

/* A key of another type under a zset with replace = false: Redis applies
 * the rest of the transaction, the run fails saying so. */
static void wrong_type_at_exec_fails_the_epoch(void **state) {
    (void)state;
    const char *set[] = {"SET", "wt:2026-01-01 00:01:00", "not a zset", NULL};
    redis_do(set);
    opened o;
    cfg_for(&o, "wt", "top", &top, SLUICE_OUTPUT_UPDATE, SLUICE_TEST_REDIS_PASSWORD);
    sluice_test_cfg_set(&o.c, "data_type", "zset");
    sluice_test_cfg_set(&o.c, "key", "wt:{window_start}");
    sluice_test_cfg_set(&o.c, "member", "product");
    sluice_test_cfg_set(&o.c, "score", "cnt");
    sluice_test_cfg_set(&o.c, "replace", "false");
    do_open(&o);
    sluice_row_batch b;
    sluice_row_batch_init(&b, &top);
    add_top(&b, T0, 1, "apple", 5);
    char err[1024] = "";
    assert_int_equal(sluice_redis_sink_ops.write(o.sink, 0, &b, err, sizeof err), SLUICE_OK);
    assert_int_equal(sluice_redis_sink_ops.commit(o.sink, 0, err, sizeof err), SLUICE_ERR_IO);
    sluice_redis_sink_ops.close(o.sink);
    if (!strstr(err, "sink top (redis): epoch 0: EXEC: command 1 of the transaction failed (the others were "
                     "applied): WRONGTYPE"))
        fail_msg("unexpected message: %s", err);
    assert_dump("wt:*", "wt:2026-01-01 00:01:00 string not a zset\n");
    sluice_row_batch_free(&b);
}

/* ---- configuration ---------------------------------------------------------------------------- */

static void expect_config_error(opened *o, const char *want) {
    char err[1024];
    assert_int_equal(try_open(o, err, sizeof err), SLUICE_ERR_CONFIG);
    assert_null(o->sink);
    if (!strstr(err, want)) fail_msg("expected '%s' in: %s", want, err);
}

static void bad_options_fail_at_open_naming_them(void **state) {
    (void)state;
    opened o;
    cfg_for(&o, "x", "top", &top, SLUICE_OUTPUT_UPDATE, SLUICE_TEST_REDIS_PASSWORD);
    sluice_test_cfg_set(&o.c, "data_type", "zset");
    sluice_test_cfg_set(&o.c, "key", "top:{window}");
    expect_config_error(&o, "sink top (redis): option 'key' = 'top:{window}' (test.ini:2): the query has no output "
                            "column 'window'");

    cfg_for(&o, "x", "top", &top, SLUICE_OUTPUT_UPDATE, SLUICE_TEST_REDIS_PASSWORD);
    sluice_test_cfg_set(&o.c, "data_type", "list");
    expect_config_error(&o, "option 'data_type' = 'list' (test.ini:1): expected hash, zset or string");

    cfg_for(&o, "x", "top", &top, SLUICE_OUTPUT_UPDATE, SLUICE_TEST_REDIS_PASSWORD);
    sluice_test_cfg_set(&o.c, "data_type", "zset");
    expect_config_error(&o, "option 'data_type' = 'zset' (test.ini:1): a zset needs `key`");

    cfg_for(&o, "x", "top", &top, SLUICE_OUTPUT_UPDATE, SLUICE_TEST_REDIS_PASSWORD);
    sluice_test_cfg_set(&o.c, "data_type", "zset");
    sluice_test_cfg_set(&o.c, "key", "t:{window_start}");
    sluice_test_cfg_set(&o.c, "score", "cnt");
    expect_config_error(&o, "option 'data_type' = 'zset' (test.ini:1): a zset needs `member`, an output column");

    cfg_for(&o, "x", "top", &top, SLUICE_OUTPUT_UPDATE, SLUICE_TEST_REDIS_PASSWORD);
    sluice_test_cfg_set(&o.c, "data_type", "zset");
    sluice_test_cfg_set(&o.c, "key", "t:{window_start}");
    sluice_test_cfg_set(&o.c, "member", "product");
    sluice_test_cfg_set(&o.c, "score", "product");
    expect_config_error(&o, "option 'score' = 'product' (test.ini:4): a score must be a BIGINT or DOUBLE column");

    cfg_for(&o, "x", "top", &top, SLUICE_OUTPUT_UPDATE, SLUICE_TEST_REDIS_PASSWORD);
    sluice_test_cfg_set(&o.c, "key", "t:{");
    expect_config_error(&o, "(test.ini:1): a '{' without its '}'");

    cfg_for(&o, "x", "top", &top, SLUICE_OUTPUT_UPDATE, SLUICE_TEST_REDIS_PASSWORD);
    sluice_test_cfg_set(&o.c, "ttl", "soon");
    expect_config_error(&o, "option 'ttl' = 'soon' (test.ini:1): expected a duration such as 1h");

    cfg_for(&o, "x", "top", &top, SLUICE_OUTPUT_UPDATE, SLUICE_TEST_REDIS_PASSWORD);
    sluice_test_cfg_set(&o.c, "member", "product");
    expect_config_error(&o, "option 'member' = 'product' (test.ini:1): only for data_type = zset");

    static const sluice_schema nokey = {.ncolumns = 4, .columns = top_cols, .npk = 0, .pk = NULL};
    cfg_for(&o, "x", "top", &nokey, SLUICE_OUTPUT_UPDATE, SLUICE_TEST_REDIS_PASSWORD);
    expect_config_error(&o, "the query has no PRIMARY KEY to name its keys by; set `key`");

    /* [redis] */
    cfg_for(&o, "x", "top", &top, SLUICE_OUTPUT_UPDATE, SLUICE_TEST_REDIS_PASSWORD);
    const char *tls[] = {"socket", server.socket, "password", SLUICE_TEST_REDIS_PASSWORD, "tls", "true", NULL};
    o.c.cfg.shared = tls;
    expect_config_error(&o, "[redis] tls = 'true': TLS is for host and port");
    const char *unknown[] = {"port", port_text, "pasword", "x", NULL};
    o.c.cfg.shared = unknown;
    expect_config_error(&o, "unknown key 'pasword' in [redis]");
    const char *port[] = {"port", "70000", NULL};
    o.c.cfg.shared = port;
    expect_config_error(&o, "[redis] port = '70000': expected a TCP port 1..65535");
}

/* `sluice check` of a profile (the query writes sink `out`): its exit
 * status, and stderr into err (NUL-terminated, cut at size - 1) */
static int check_profile(const char *ini_text, const char *ini, char *err, size_t size) {
    char sql[4200], in[4200], errp[4300], text[8192];
    snprintf(sql, sizeof sql, "%s/types.sql", tmpdir);
    snprintf(in, sizeof in, "%s/types.jsonl", tmpdir);
    snprintf(errp, sizeof errp, "%s/types.err", tmpdir);
    snprintf(text, sizeof text, ini_text, in);
    assert_int_equal(sluice_test_write_file(sql, "CREATE SOURCE ev (k VARCHAR, v BIGINT);\n"
                                                 "CREATE SINK out AS SELECT k, COUNT(*) AS n FROM ev GROUP BY k;\n"),
                     0);
    assert_int_equal(sluice_test_write_file(in, "{\"k\":\"a\",\"v\":1}\n"), 0);
    assert_int_equal(sluice_test_write_file(ini, text), 0);
    const char *argv[] = {"check", sql, "--config", ini, NULL};
    int rc = sluice_test_run_cli(argv, NULL, errp);
    char *t = sluice_test_read_file(errp, NULL);
    snprintf(err, size, "%s", t ? t : "");
    free(t);
    return rc;
}

/* The option tables of the sink and of [redis]: `sluice check` refuses a
 * value of the wrong type naming the key and its FILE:LINE (it used to
 * accept them: the redis sink has no check without connecting), and
 * `sluice connectors` lists every option. */
static void check_types_options_from_their_tables(void **state) {
    (void)state;
    static const struct {
        const char *ini;
        int line;
        const char *want;
    } bad[] = {
        {"[source ev]\npath = %s\n[sink out]\nconnector = redis\nttl = soon\n", 5,
         "[sink out] ttl = 'soon': expected a duration such as 30s or 500ms"},
        {"[source ev]\npath = %s\n[sink out]\nconnector = redis\ndata_type = list\n", 5,
         "[sink out] data_type = 'list': expected hash, zset or string"},
        {"[source ev]\npath = %s\n[sink out]\nconnector = redis\nreplace = maybe\n", 5,
         "[sink out] replace = 'maybe': expected true or false"},
        {"[source ev]\npath = %s\n[redis]\nhost = 127.0.0.1\nport = many\n[sink out]\nconnector = redis\n", 5,
         "[redis] port = 'many': expected integer from 1 to 65535"},
        {"[source ev]\npath = %s\n[redis]\ndb = -1\n[sink out]\nconnector = redis\n", 4,
         "[redis] db = '-1': expected integer from 0 to 100000"},
        {"[source ev]\npath = %s\n[redis]\ncommand_timeout = later\n[sink out]\nconnector = redis\n", 4,
         "[redis] command_timeout = 'later': expected a duration such as 30s or 500ms"},
    };
    char ini[4200], err[4096], want[4400];
    snprintf(ini, sizeof ini, "%s/types.ini", tmpdir);
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int rc = check_profile(bad[i].ini, ini, err, sizeof err);
        snprintf(want, sizeof want, "%s:%d:", ini, bad[i].line);
        if (rc != 2 || !strstr(err, want) || !strstr(err, bad[i].want))
            fail_msg("check exited %d, expected 2 with '%s' and '%s' in:\n%s", rc, want, bad[i].want, err);
    }
    /* the good profile passes: it does not connect */
    assert_int_equal(check_profile("[source ev]\npath = %s\n[redis]\nport = 1\ndb = 3\ntls = false\n"
                                   "[sink out]\nconnector = redis\nttl = 1h\nreplace = false\n",
                                   ini, err, sizeof err),
                     0);

    char out[4200];
    snprintf(out, sizeof out, "%s/connectors.md", tmpdir);
    const char *argv[] = {"connectors", NULL};
    assert_int_equal(sluice_test_run_cli(argv, out, NULL), 0);
    char *t = sluice_test_read_file(out, NULL);
    assert_non_null(t);
    const char *sink = strstr(t, "### Sink `redis`"), *shared = strstr(t, "### `[redis]`");
    if (!sink || !shared) fail_msg("sluice connectors:\n%s", t);
    static const char *const sink_keys[] = {"data_type", "key_prefix", "key", "member", "score", "replace", "ttl",
                                            "retry_timeout", NULL};
    static const char *const shared_keys[] = {"host", "port", "socket", "db", "user", "password", "tls",
                                              "tls.ca_file", "tls.cert_file", "tls.key_file", "tls.server_name",
                                              "tls.verify", "connect_timeout", "command_timeout", "retry_timeout", NULL};
    const struct {
        const char *at;
        const char *const *keys;
    } lists[] = {{sink, sink_keys}, {shared, shared_keys}};
    for (size_t i = 0; i < 2; i++) {
        const char *end = strstr(lists[i].at + 4, "\n### ");
        for (const char *const *k = lists[i].keys; *k; k++) {
            char row[100];
            snprintf(row, sizeof row, "\n| `%s` |", *k);
            const char *hit = strstr(lists[i].at, row);
            if (!hit || (end && hit > end)) fail_msg("no row for %s after '%.20s' in:\n%s", *k, lists[i].at, t);
        }
    }
    assert_non_null(strstr(sink, "| `data_type` | one of hash, zset, string | `hash` |"));
    assert_non_null(strstr(shared, "| `port` | integer from 1 to 65535 | `6379` |"));
    free(t);
}

static void wrong_password_fails_without_echoing_it(void **state) {
    (void)state;
    opened o;
    cfg_for(&o, "pw", "top", &top, SLUICE_OUTPUT_UPDATE, "not-the-Secret-42");
    char err[1024];
    assert_int_equal(try_open(&o, err, sizeof err), SLUICE_ERR_IO);
    if (!strstr(err, "AUTH: WRONGPASS")) fail_msg("unexpected message: %s", err);
    if (strstr(err, "not-the-Secret-42")) fail_msg("the password appears: %s", err);
}

/* a unix socket, a database number, and an ACL user instead of the
 * default one */
static void socket_db_and_user(void **state) {
    (void)state;
    const char *acl[] = {"ACL", "SETUSER", "dash", "on", ">dash-Pa55", "~*", "+@all", NULL};
    redis_do(acl);
    opened o;
    cfg_for(&o, "u1", "sales", &sales, SLUICE_OUTPUT_UPDATE, SLUICE_TEST_REDIS_PASSWORD);
    sluice_test_cfg_set(&o.c, "key_prefix", "acl:");
    const char *kv[] = {"socket", server.socket, "db", "3", "user", "dash", "password", "dash-Pa55", NULL};
    o.c.cfg.shared = kv;
    do_open(&o);
    sluice_row_batch b;
    sluice_row_batch_init(&b, &sales);
    add_sale(&b, T0, 1, "a", 1, 0);
    epoch(&o, 0, &b);
    sluice_redis_sink_ops.close(o.sink);
    assert_dump("acl:*", ""); /* not in database 0 */
    server.db = 3;
    assert_dump("acl:*", "acl:2026-01-01 00:01:00:1 hash avg=0 orders=1 region=a\n");
    server.db = 0;
    const char *deluser[] = {"ACL", "DELUSER", "dash", NULL};
    redis_do(deluser);
    sluice_row_batch_free(&b);
}

static void killed_connection_is_retried(void **state) {
    (void)state;
    opened o;
    cfg_for(&o, "k1", "sales", &sales, SLUICE_OUTPUT_UPDATE, SLUICE_TEST_REDIS_PASSWORD);
    sluice_test_cfg_set(&o.c, "key_prefix", "kill:");
    do_open(&o);
    sluice_row_batch b;
    sluice_row_batch_init(&b, &sales);
    add_sale(&b, T0, 1, "a", 1, 0);
    epoch(&o, 0, &b);
    /* every client connection dropped by the server between two epochs */
    const char *kill[] = {"CLIENT", "KILL", "TYPE", "normal", NULL};
    redis_do(kill);
    sluice_row_batch_clear(&b);
    add_sale(&b, T0, 2, "b", 2, 0);
    epoch(&o, 1, &b);
    sluice_redis_sink_ops.close(o.sink);
    assert_dump("kill:*", "kill:2026-01-01 00:01:00:1 hash avg=0 orders=1 region=a\n"
                          "kill:2026-01-01 00:01:00:2 hash avg=0 orders=2 region=b\n");
    assert_dump("sluice:commits:k1:*", "sluice:commits:k1:sales string 1\n");
    sluice_row_batch_free(&b);
}

/* A Lua script that never ends: the server answers BUSY to everyone else
 * until SCRIPT KILL. */
static void *busy_script(void *arg) {
    (void)arg;
    redisContext *c = sluice_test_redis_connect(&server);
    if (!c) return NULL;
    redisReply *r = redisCommand(c, "EVAL %s 0", "while true do end");
    if (r) freeReplyObject(r);
    redisFree(c);
    return NULL;
}

static void *kill_script_soon(void *arg) {
    (void)arg;
    struct timespec ts = {.tv_sec = 0, .tv_nsec = 400 * 1000000L}; /* the server stays busy this long */
    nanosleep(&ts, NULL);
    const char *kill[] = {"SCRIPT", "KILL", NULL};
    redisReply *r = sluice_test_redis_cmd(&server, kill);
    if (r) freeReplyObject(r);
    return NULL;
}

static int server_busy(void) {
    const char *ping[] = {"PING", NULL};
    redisReply *r = sluice_test_redis_cmd(&server, ping);
    int busy = r && r->type == REDIS_REPLY_ERROR && strncmp(r->str, "BUSY", 4) == 0;
    if (r) freeReplyObject(r);
    return busy;
}

static void busy_server_is_waited_out(void **state) {
    (void)state;
    opened o;
    cfg_for(&o, "b1", "sales", &sales, SLUICE_OUTPUT_UPDATE, SLUICE_TEST_REDIS_PASSWORD);
    sluice_test_cfg_set(&o.c, "key_prefix", "busy:");
    do_open(&o);
    /* the server's own threshold for answering BUSY (default 5 s) */
    const char *cfg[] = {"CONFIG", "SET", "busy-reply-threshold", "50", NULL};
    redis_do(cfg);
    pthread_t script, killer;
    assert_int_equal(pthread_create(&script, NULL, busy_script, NULL), 0);
    while (!server_busy()) {
        struct timespec ts = {.tv_sec = 0, .tv_nsec = 10 * 1000000L};
        nanosleep(&ts, NULL);
    }
    assert_int_equal(pthread_create(&killer, NULL, kill_script_soon, NULL), 0);
    sluice_row_batch b;
    sluice_row_batch_init(&b, &sales);
    add_sale(&b, T0, 1, "a", 1, 0);
    epoch(&o, 0, &b); /* BUSY until the script is killed, then committed */
    pthread_join(killer, NULL);
    pthread_join(script, NULL);
    sluice_redis_sink_ops.close(o.sink);
    const char *reset[] = {"CONFIG", "SET", "busy-reply-threshold", "5000", NULL};
    redis_do(reset);
    assert_dump("busy:*", "busy:2026-01-01 00:01:00:1 hash avg=0 orders=1 region=a\n");
    sluice_row_batch_free(&b);
}

static void no_server_fails_after_retry_timeout(void **state) {
    (void)state;
    opened o;
    cfg_for(&o, "n1", "sales", &sales, SLUICE_OUTPUT_UPDATE, SLUICE_TEST_REDIS_PASSWORD);
    const char *kv[] = {"host", "127.0.0.1", "port", "1", "retry_timeout", "1s", NULL};
    o.c.cfg.shared = kv;
    char err[1024];
    assert_int_equal(try_open(&o, err, sizeof err), SLUICE_ERR_IO);
    if (!strstr(err, "cannot connect to 127.0.0.1:1") || !strstr(err, "(retry_timeout)"))
        fail_msg("unexpected message: %s", err);
}

/* ---- the orders_analytics scenario ------------------------------------------------------------ */

#ifdef SLUICE_WITH_MYSQL
static sluice_test_mariadb mariadb;
#endif

/* The scenario's profile: the orders file in; orders_by_shop into MySQL
 * (a file without MySQL in the build), top_products into Redis. */
static void write_scenario_ini(const char *path) {
    char redis[512], report[2048], ini[8192];
    sluice_test_redis_ini(&server, redis, sizeof redis);
#ifdef SLUICE_WITH_MYSQL
    char my[1024];
    sluice_test_mariadb_ini(&mariadb, NULL, my, sizeof my);
    snprintf(report, sizeof report, "[sink orders_by_shop]\nconnector = mysql\n\n%s", my);
#else
    snprintf(report, sizeof report, "[sink orders_by_shop]\nconnector = file\npath = %s/orders_by_shop.csv\n", tmpdir);
#endif
    snprintf(ini, sizeof ini,
             "[pipeline]\ntrigger = available_now\nmax_batch_rows = 1000\ndead_letter = %s/dead.jsonl\n\n"
             "%s\n"
             "[source orders]\npath = %s\nformat = json\n\n"
             "[sink top_products]\nconnector = redis\ndata_type = zset\nkey = top_products:{window_start}\n"
             "member = itemid\nscore = items_sold\nttl = 1d\n\n%s",
             tmpdir, redis, sluice_test_fixture("generated/orders-10k.jsonl"), report);
    assert_int_equal(sluice_test_write_file(path, ini), 0);
}



static int run_scenario(const char *ini, const char *cmd, const char *out_path) {
    char sql[4096], errp[4200];
    snprintf(sql, sizeof sql, "%s", sluice_test_fixture("pipelines/orders_analytics.sql"));
    snprintf(errp, sizeof errp, "%s/scenario.err", tmpdir);
    const char *argv[] = {cmd, sql, "--config", ini, "--quiet", NULL};
    int rc = sluice_test_run_cli(argv, out_path, errp);
    if (rc != 0 && strcmp(cmd, "run") == 0) {
        char *e = sluice_test_read_file(errp, NULL);
        print_error("sluice run: %s\n", e ? e : "");
        free(e);
    }
    return rc;
}

static void orders_analytics_leaderboard_equals_the_oracle(void **state) {
    (void)state;
    char ini[4200], out[4200];
    snprintf(ini, sizeof ini, "%s/orders_analytics.ini", tmpdir);
    snprintf(out, sizeof out, "%s/check.out", tmpdir);
#ifdef SLUICE_WITH_MYSQL
    if (sluice_test_mariadb_start(&mariadb, "redis_sink_mariadb") != 0) fail_msg("cannot start a private MariaDB");
#endif
    write_scenario_ini(ini);

    /* the [redis] section is accepted and shown with the password masked */
    assert_int_equal(run_scenario(ini, "check", out), 0);
    char *text = sluice_test_read_file(out, NULL);
    assert_non_null(text);
    if (!strstr(text, "[redis]\n") || !strstr(text, "  password = ****\n") ||
        strstr(text, SLUICE_TEST_REDIS_PASSWORD))
        fail_msg("sluice check output:\n%s", text);
    free(text);

    /* an unknown section: the message lists the shared sections the connectors declare */
    char bad[4300], errp[4300];
    snprintf(bad, sizeof bad, "%s/bad.ini", tmpdir);
    snprintf(errp, sizeof errp, "%s/scenario.err", tmpdir);
    assert_int_equal(sluice_test_write_file(bad, "[pipeline]\ntrigger = available_now\n\n[redsi]\nport = 1\n"), 0);
    assert_int_equal(run_scenario(bad, "check", out), 2);
    text = sluice_test_read_file(errp, NULL);
    assert_non_null(text);
    if (!strstr(text, ":4:1: unknown section [redsi] (expected [pipeline], [kafka], [mysql], [redis], [source NAME]"))
        fail_msg("sluice check stderr:\n%s", text);
    free(text);

    assert_int_equal(run_scenario(ini, "run", NULL), 0);
    char *want = sluice_test_oracle_leaderboard();
    assert_dump("top_products:*", want);
#ifdef SLUICE_WITH_MYSQL
    sluice_test_assert_orders_by_shop(&mariadb);
#endif
    long long ttl = sluice_test_redis_pttl(&server, "top_products:2024-01-01 00:00:00");
    if (ttl <= 86400000 - 600000 || ttl > 86400000) fail_msg("PTTL %lld, expected just under one day", ttl);

    /* a second run (no checkpoint: it sends every epoch again) changes nothing */
    assert_int_equal(run_scenario(ini, "run", NULL), 0);
    assert_dump("top_products:*", want);
#ifdef SLUICE_WITH_MYSQL
    sluice_test_assert_orders_by_shop(&mariadb);
    sluice_test_mariadb_stop(&mariadb);
#endif
    free(want);
}

int main(void) {
    tmpdir = sluice_test_mkdtemp("redis_sink");
    if (sluice_test_redis_start(&server, "redis_sink_server") != 0) {
        fprintf(stderr, "cannot start a private redis-server\n");
        sluice_test_redis_stop(&server);
        return 1;
    }
    snprintf(port_text, sizeof port_text, "%d", server.port);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(hash_rows_keyed_by_primary_key),
        cmocka_unit_test(zset_top_n_replaces_the_ranking),
        cmocka_unit_test(string_rows_as_json),
        cmocka_unit_test(changelog_deletes_keys_and_members),
        cmocka_unit_test(array_fields_as_json_text),
        cmocka_unit_test(epochs_at_or_below_the_recorded_one_are_skipped),
        cmocka_unit_test(complete_mode_replaces_the_sinks_keys),
        cmocka_unit_test(unstorable_rows_go_to_on_error),
        cmocka_unit_test(wrong_type_at_exec_fails_the_epoch),
        cmocka_unit_test(bad_options_fail_at_open_naming_them),
        cmocka_unit_test(check_types_options_from_their_tables),
        cmocka_unit_test(wrong_password_fails_without_echoing_it),
        cmocka_unit_test(socket_db_and_user),
        cmocka_unit_test(killed_connection_is_retried),
        cmocka_unit_test(busy_server_is_waited_out),
        cmocka_unit_test(no_server_fails_after_retry_timeout),
        cmocka_unit_test(orders_analytics_leaderboard_equals_the_oracle),
    };
    int rc = cmocka_run_group_tests_name("redis sink", tests, NULL, NULL);
    sluice_test_redis_stop(&server);
    free(tmpdir);
    return rc;
}
