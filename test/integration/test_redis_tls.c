/*
 * The redis sink over TLS against a real redis-server started with a TLS
 * port and throwaway certificates (redis_server.h):
 *
 * - exactly once over TLS: epochs at or below the recorded one skipped
 *   after a restart, a connection killed by the server reconnected;
 * - the server's certificate from another CA, or for another name, is
 *   refused at once naming the verification failure; tls.verify = false
 *   accepts it;
 * - a server that never answers the handshake: connect_timeout applies;
 * - a server that requires client certificates: refused without one,
 *   accepted with tls.cert_file and tls.key_file;
 * - configuration errors of the tls.* keys.
 */
#include "sluice_test.h"
#include "conn_support.h"
#include "redis_server.h"

#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "connectors/connectors.h"
#include "sluice/sluice.h"

static sluice_test_redis server;
static char tls_port_text[16];

typedef struct opened {
    sluice_test_cfg c;
    const char *kv[32];
    char prefix[32];
    sluice_sink *sink;
} opened;

/* A sink of pipeline `pipeline` over TLS to the test server, trusting its
 * CA, with extra [redis] keys (NULL-terminated pairs). */
static void cfg_for(opened *o, const char *pipeline, const sluice_schema *schema, const char *const *extra) {
    sluice_test_cfg_init(&o->c, "sales", schema);
    o->c.cfg.pipeline = pipeline;
    o->c.cfg.output_mode = SLUICE_OUTPUT_UPDATE;
    o->c.cfg.checkpointing = 1;
    const char *kv[] = {"port", tls_port_text, "password", SLUICE_TEST_REDIS_PASSWORD, "tls", "true",
                        "tls.ca_file", server.ca_file};
    size_t n = sizeof kv / sizeof kv[0];
    memcpy(o->kv, kv, sizeof kv);
    for (; extra && *extra && n + 2 < 32; extra += 2) {
        size_t i = 0; /* an extra key replaces the default one */
        while (i < n && strcmp(o->kv[i], extra[0]) != 0) i += 2;
        o->kv[i] = extra[0];
        o->kv[i + 1] = extra[1];
        if (i == n) n += 2;
    }
    o->kv[n] = NULL;
    o->c.cfg.shared = o->kv;
    snprintf(o->prefix, sizeof o->prefix, "%s:", pipeline);
    sluice_test_cfg_set(&o->c, "key_prefix", o->prefix);
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

static int64_t now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Open must fail with SLUICE_ERR_IO and every one of `want` in the message,
 * within max_ms. */
static void expect_io_error(opened *o, const char *const *want, int64_t max_ms) {
    char err[1024];
    int64_t t0 = now_ms();
    sluice_err_t e = try_open(o, err, sizeof err);
    int64_t took = now_ms() - t0;
    if (e != SLUICE_ERR_IO) fail_msg("open returned %d: %s", (int)e, err);
    for (; *want; want++)
        if (!strstr(err, *want)) fail_msg("'%s' not in: %s", *want, err);
    if (took > max_ms) fail_msg("took %lld ms (at most %lld expected): %s", (long long)took, (long long)max_ms, err);
}

/* sales(shop BIGINT, region VARCHAR) PRIMARY KEY (shop) */
static const sluice_column sales_cols[] = {{.name = "shop", .type = SLUICE_TYPE_BIGINT},
                                           {.name = "region", .type = SLUICE_TYPE_VARCHAR}};
static const size_t sales_pk[] = {0};
static const sluice_schema sales = {.ncolumns = 2, .columns = sales_cols, .npk = 1, .pk = sales_pk};

static void add_sale(sluice_row_batch *b, int64_t shop, const char *region) {
    sluice_value *row = sluice_row_batch_append(b);
    row[0] = sluice_value_bigint(shop);
    row[1] = sluice_value_varchar(region, strlen(region));
}

/* ---- tests ------------------------------------------------------------------------------------ */

static void exactly_once_over_tls(void **state) {
    (void)state;
    opened o;
    cfg_for(&o, "t1", &sales, NULL);
    do_open(&o);
    sluice_row_batch b;
    sluice_row_batch_init(&b, &sales);
    for (int64_t e = 0; e < 3; e++) {
        sluice_row_batch_clear(&b);
        add_sale(&b, e, "first");
        epoch(&o, e, &b);
        if (e == 1) { /* the server drops every client: the sink reconnects over TLS */
            const char *kill[] = {"CLIENT", "KILL", "TYPE", "normal", NULL};
            redis_do(kill);
        }
    }
    sluice_redis_sink_ops.close(o.sink);
    assert_dump("sluice:commits:t1:*", "sluice:commits:t1:sales string 2\n");

    /* a restart replays epochs 1 and 2 (skipped), then goes on with 3 */
    do_open(&o);
    for (int64_t e = 1; e < 4; e++) {
        sluice_row_batch_clear(&b);
        add_sale(&b, e, "second");
        epoch(&o, e, &b);
    }
    sluice_redis_sink_ops.close(o.sink);
    assert_dump("t1:*", "t1:0 hash region=first\n"
                        "t1:1 hash region=first\n"
                        "t1:2 hash region=first\n"
                        "t1:3 hash region=second\n");
    assert_dump("sluice:commits:t1:*", "sluice:commits:t1:sales string 3\n");
    sluice_row_batch_free(&b);
}

static void wrong_ca_or_name_is_refused_at_once(void **state) {
    (void)state;
    opened o;
    /* retry_timeout 30s: a refused certificate must not be retried */
    const char *other_ca[] = {"tls.ca_file", server.other_ca_file, "retry_timeout", "30s", NULL};
    cfg_for(&o, "t2", &sales, other_ca);
    /* OpenSSL names the chain's self-signed root that no trusted CA matches */
    const char *want_ca[] = {"TLS handshake: certificate verify failed: self-signed certificate in certificate chain",
                             tls_port_text, NULL};
    expect_io_error(&o, want_ca, 5000);

    const char *other_name[] = {"tls.server_name", "redis.example", "retry_timeout", "30s", NULL};
    cfg_for(&o, "t2", &sales, other_name);
    const char *want_name[] = {"certificate verify failed: hostname mismatch", NULL};
    expect_io_error(&o, want_name, 5000);

    /* localhost is in the certificate: SNI and verification by name */
    const char *by_name[] = {"host", "localhost", NULL};
    cfg_for(&o, "t2", &sales, by_name);
    do_open(&o);
    sluice_redis_sink_ops.close(o.sink);

    /* tls.verify = false accepts any certificate */
    const char *no_verify[] = {"tls.ca_file", server.other_ca_file, "tls.verify", "false", NULL};
    cfg_for(&o, "t2", &sales, no_verify);
    do_open(&o);
    sluice_row_batch b;
    sluice_row_batch_init(&b, &sales);
    add_sale(&b, 7, "x");
    epoch(&o, 0, &b);
    sluice_redis_sink_ops.close(o.sink);
    sluice_row_batch_free(&b);
    assert_dump("t2:*", "t2:7 hash region=x\n");
}

static void hanging_handshake_times_out(void **state) {
    (void)state;
    /* a listener that never accepts: the kernel completes TCP, nobody answers TLS */
    int l = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(l >= 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    assert_int_equal(bind(l, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(listen(l, 16), 0);
    assert_int_equal(getsockname(l, (struct sockaddr *)&a, &len), 0);
    char port[16];
    snprintf(port, sizeof port, "%d", ntohs(a.sin_port));
    opened o;
    const char *kv[] = {"port", port, "connect_timeout", "200ms", "retry_timeout", "1s", NULL};
    cfg_for(&o, "t3", &sales, kv);
    const char *want[] = {"TLS handshake: no answer within 200ms (connect_timeout)", "(retry_timeout)", NULL};
    expect_io_error(&o, want, 4000);
    close(l);
}

static void client_certificate_when_required(void **state) {
    (void)state;
    const char *require[] = {"CONFIG", "SET", "tls-auth-clients", "yes", NULL};
    redis_do(require);
    opened o;
    const char *fast[] = {"retry_timeout", "500ms", NULL};
    cfg_for(&o, "t4", &sales, fast);
    const char *want[] = {"certificate required", "(retry_timeout)", NULL};
    expect_io_error(&o, want, 4000);

    const char *with_cert[] = {"tls.cert_file", server.cert_file, "tls.key_file", server.key_file, NULL};
    cfg_for(&o, "t4", &sales, with_cert);
    do_open(&o);
    sluice_row_batch b;
    sluice_row_batch_init(&b, &sales);
    add_sale(&b, 4, "auth");
    epoch(&o, 0, &b);
    sluice_redis_sink_ops.close(o.sink);
    sluice_row_batch_free(&b);
    const char *optional[] = {"CONFIG", "SET", "tls-auth-clients", "optional", NULL};
    redis_do(optional);
    assert_dump("t4:*", "t4:4 hash region=auth\n");
}

static void bad_tls_options_fail_at_open(void **state) {
    (void)state;
    static const struct {
        const char *key, *value, *want;
    } bad[] = {
        {"tls", "maybe", "[redis] tls = 'maybe': expected true or false"},
        {"tls.verify", "sometimes", "[redis] tls.verify = 'sometimes': expected true or false"},
        {"tls.ca_file", "/nonexistent/ca.crt", "[redis] tls.ca_file = '/nonexistent/ca.crt': cannot read"},
        {"tls.cert_file", NULL, "[redis] tls.cert_file = '", /* without its key */},
        {"socket", "/tmp/redis.sock", "[redis] tls = 'true': TLS is for host and port"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        opened o;
        const char *kv[] = {bad[i].key, bad[i].value ? bad[i].value : server.cert_file, NULL};
        cfg_for(&o, "t5", &sales, kv);
        char err[1024];
        assert_int_equal(try_open(&o, err, sizeof err), SLUICE_ERR_CONFIG);
        if (!strstr(err, bad[i].want)) fail_msg("'%s' not in: %s", bad[i].want, err);
    }
}

int main(void) {
    if (sluice_test_redis_start_tls(&server, "redis_tls_server") != 0) {
        fprintf(stderr, "cannot start a private redis-server with TLS\n");
        sluice_test_redis_stop(&server);
        return 1;
    }
    snprintf(tls_port_text, sizeof tls_port_text, "%d", server.tls_port);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(exactly_once_over_tls),
        cmocka_unit_test(wrong_ca_or_name_is_refused_at_once),
        cmocka_unit_test(hanging_handshake_times_out),
        cmocka_unit_test(client_certificate_when_required),
        cmocka_unit_test(bad_tls_options_fail_at_open),
    };
    int rc = cmocka_run_group_tests_name("redis sink over TLS", tests, NULL, NULL);
    sluice_test_redis_stop(&server);
    return rc;
}
