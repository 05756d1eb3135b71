/*
 * mysql_bench: upsert throughput of the mysql sink against a minimal C
 * client, on a private MariaDB over loopback TCP, in the same run.
 *
 * Both write the same rows into identical tables (the flights result
 * shape: window_start, window_end, origin, flights, avg_delay, max_delay,
 * PRIMARY KEY (window_start, origin)), BENCH_ROWS rows (default 1,000,000)
 * in 10 epochs: the first half inserts BENCH_ROWS/2 keys, the second half
 * updates every one of them (50% updates).  Each epoch is one transaction
 * of multi-row `INSERT ... ON DUPLICATE KEY UPDATE` statements of at most
 * 1 MiB.  The sink runs through its module API (write + commit per epoch,
 * sorting, sluice_commits bookkeeping included); the minimal client only
 * renders, escapes and sends.  Rows are generated in key order, so sorting
 * gains the sink nothing on the server side.
 *
 * Each side runs BENCH_RUNS times (default 3, alternating) on a fresh
 * table; the fastest run counts.  Prints rows/s of both and the ratio;
 * exits 0 when the tables agree and the ratio is at least 0.8.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <mysql.h>

#include "conn_support.h"
#include "connectors/connectors.h"
#include "format/format.h"
#include "mariadb.h"
#include "sluice/sluice.h"

#define EPOCHS 10
#define BATCH_BYTES (1u << 20)
#define DB "bench"

static const sluice_column columns[] = {
    {.name = "window_start", .type = SLUICE_TYPE_TIMESTAMP}, {.name = "window_end", .type = SLUICE_TYPE_TIMESTAMP},
    {.name = "origin", .type = SLUICE_TYPE_VARCHAR},         {.name = "flights", .type = SLUICE_TYPE_BIGINT},
    {.name = "avg_delay", .type = SLUICE_TYPE_DOUBLE},       {.name = "max_delay", .type = SLUICE_TYPE_BIGINT},
};
static const size_t pk[] = {0, 2};
static const sluice_schema schema = {.ncolumns = 6, .columns = columns, .npk = 2, .pk = pk};

static sluice_test_mariadb server;
static size_t nrows = 1000000;

static double cpu_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static double last_cpu; /* client-side CPU seconds of the last run */

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static uint64_t mix(uint64_t x) {
    x += 0x9E3779B97F4A7C15ULL;
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ULL;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBULL;
    return x ^ (x >> 31);
}

/* Row i of epoch e (key order within the epoch). */
static void make_row(size_t epoch, size_t i, sluice_value *row, char *origin) {
    size_t keys = nrows / 2, per_epoch = nrows / EPOCHS;
    size_t key = (epoch % (EPOCHS / 2)) * per_epoch + i;
    if (key >= keys) key %= keys;
    int64_t ws = 978307200000LL + (int64_t)(key / 300) * 3600000;
    size_t o = key % 300;
    origin[0] = (char)('A' + o / 26 % 26);
    origin[1] = (char)('A' + o % 26);
    origin[2] = (char)('A' + (o * 7) % 26);
    uint64_t r = mix(key * 31 + epoch);
    row[0] = sluice_value_timestamp(ws);
    row[1] = sluice_value_timestamp(ws + 3600000);
    row[2] = sluice_value_varchar(origin, 3);
    row[3] = sluice_value_bigint((int64_t)(r % 500) + 1);
    row[4] = sluice_value_double((double)(r % 100000) / 1000.0 - 10.0);
    row[5] = sluice_value_bigint((int64_t)(r >> 20) % 1000);
}

static int exec(MYSQL *db, const char *sql, size_t len) {
    if (mysql_real_query(db, sql, (unsigned long)len) != 0) {
        fprintf(stderr, "mysql_bench: %.200s: %s\n", sql, mysql_error(db));
        return -1;
    }
    return 0;
}

static const char *ddl = "(window_start DATETIME(3) NOT NULL, window_end DATETIME(3), origin VARCHAR(255) NOT NULL, "
                         "flights BIGINT, avg_delay DOUBLE, max_delay BIGINT, PRIMARY KEY (window_start, origin)) "
                         "ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_nopad_bin";

static void fresh(const char *table) {
    char sql[600];
    snprintf(sql, sizeof sql, "DROP TABLE IF EXISTS " DB ".%s; DELETE FROM " DB ".sluice_commits", table);
    sluice_test_mariadb_exec(&server, sql);
}

/* ---- the sink ---- */

static double run_sink(int run) {
    fresh("bench_sink");
    sluice_test_cfg c;
    sluice_test_cfg_init(&c, "bench_sink", &schema);
    char port[16], pipeline[32];
    snprintf(port, sizeof port, "%d", server.port);
    snprintf(pipeline, sizeof pipeline, "bench%d", run);
    const char *shared[] = {"host", "127.0.0.1", "port", port, "user", SLUICE_TEST_MARIADB_USER,
                            "password", SLUICE_TEST_MARIADB_PASSWORD, "database", DB, NULL};
    c.cfg.shared = shared;
    c.cfg.pipeline = pipeline;
    c.cfg.output_mode = SLUICE_OUTPUT_UPDATE;
    char err[1024] = "";
    sluice_row_batch b;
    sluice_row_batch_init(&b, &schema);
    size_t per_epoch = nrows / EPOCHS;
    char *origins = malloc(per_epoch * 4);
    sluice_sink *s = NULL;
    double t0 = now_s(), c0 = cpu_s();
    if (sluice_mysql_sink_ops.open(&c.cfg, &s, err, sizeof err) != SLUICE_OK) {
        fprintf(stderr, "mysql_bench: %s\n", err);
        exit(1);
    }
    for (size_t e = 0; e < EPOCHS; e++) {
        sluice_row_batch_clear(&b);
        for (size_t i = 0; i < per_epoch; i++) make_row(e, i, sluice_row_batch_append(&b), origins + 4 * i);
        if (sluice_mysql_sink_ops.write(s, (int64_t)e, &b, err, sizeof err) ||
            sluice_mysql_sink_ops.commit(s, (int64_t)e, err, sizeof err)) {
            fprintf(stderr, "mysql_bench: %s\n", err);
            exit(1);
        }
    }
    sluice_mysql_sink_ops.close(s);
    double t = now_s() - t0;
    last_cpu = cpu_s() - c0;
    free(origins);
    sluice_row_batch_free(&b);
    return t;
}

/* ---- the minimal client ---- */

static double run_client(void) {
    fresh("bench_ref");
    MYSQL *db = mysql_init(NULL);
    mysql_optionsv(db, MYSQL_SET_CHARSET_NAME, "utf8mb4");
    double t0 = now_s(), c0 = cpu_s();
    if (!mysql_real_connect(db, "127.0.0.1", SLUICE_TEST_MARIADB_USER, SLUICE_TEST_MARIADB_PASSWORD, DB,
                            (unsigned)server.port, NULL, 0)) {
        fprintf(stderr, "mysql_bench: %s\n", mysql_error(db));
        exit(1);
    }
    char create[600];
    int n = snprintf(create, sizeof create, "CREATE TABLE IF NOT EXISTS bench_ref %s", ddl);
    if (exec(db, create, (size_t)n)) exit(1);
    static const char head[] = "INSERT INTO bench_ref (window_start,window_end,origin,flights,avg_delay,max_delay) VALUES ";
    static const char tail[] = " ON DUPLICATE KEY UPDATE window_end=VALUES(window_end),flights=VALUES(flights),"
                               "avg_delay=VALUES(avg_delay),max_delay=VALUES(max_delay)";
    size_t cap = BATCH_BYTES + 4096, per_epoch = nrows / EPOCHS;
    char *sql = malloc(cap);
    sluice_value row[6];
    char origin[4];
    for (size_t e = 0; e < EPOCHS; e++) {
        if (exec(db, "START TRANSACTION", 17)) exit(1);
        size_t len = 0, in_stmt = 0;
        for (size_t i = 0; i <= per_epoch; i++) {
            char tuple[512];
            size_t tl = 0;
            if (i < per_epoch) {
                make_row(e, i, row, origin);
                char ws[32], we[32], esc[16];
                sluice_ts_render(row[0].u.i, ws, sizeof ws);
                sluice_ts_render(row[1].u.i, we, sizeof we);
                mysql_real_escape_string(db, esc, origin, 3);
                tl = (size_t)snprintf(tuple, sizeof tuple, "%s('%s','%s','%s',%" PRId64 ",%.17g,%" PRId64 ")",
                                      in_stmt ? "," : "", ws, we, esc, row[3].u.i, row[4].u.d, row[5].u.i);
            }
            if (i == per_epoch || (in_stmt && len + tl + sizeof tail > BATCH_BYTES)) {
                memcpy(sql + len, tail, sizeof tail - 1);
                if (exec(db, sql, len + sizeof tail - 1)) exit(1);
                len = in_stmt = 0;
                if (i == per_epoch) break;
                memmove(tuple, tuple + 1, tl--); /* the new statement's first tuple: no comma */
            }
            if (len == 0) {
                memcpy(sql, head, sizeof head - 1);
                len = sizeof head - 1;
            }
            memcpy(sql + len, tuple, tl);
            len += tl;
            in_stmt++;
        }
        if (exec(db, "COMMIT", 6)) exit(1);
    }
    mysql_close(db);
    double t = now_s() - t0;
    last_cpu = cpu_s() - c0;
    free(sql);
    return t;
}

int main(void) {
    const char *env = getenv("BENCH_ROWS");
    if (env && atol(env) >= EPOCHS * 2) nrows = (size_t)atol(env) / (EPOCHS * 2) * (EPOCHS * 2);
    int runs = getenv("BENCH_RUNS") ? atoi(getenv("BENCH_RUNS")) : 3;
    if (runs < 1) runs = 1;
    if (sluice_test_mariadb_start(&server, "mysql_bench") != 0) return 1;
    sluice_test_mariadb_exec(&server, "CREATE DATABASE " DB " CHARACTER SET utf8mb4; CREATE TABLE " DB
                                      ".sluice_commits (pipeline VARCHAR(255) NOT NULL, sink VARCHAR(255) NOT NULL, "
                                      "epoch BIGINT NOT NULL, PRIMARY KEY (pipeline, sink)) ENGINE=InnoDB DEFAULT "
                                      "CHARSET=utf8mb4 COLLATE=utf8mb4_nopad_bin");
    double best_sink = 1e300, best_client = 1e300, cpu_sink = 1e300, cpu_client = 1e300;
    for (int r = 0; r < runs; r++) { /* alternate which side goes first */
        double ts, tc, cs, cc;
        if (r % 2 == 0) {
            ts = run_sink(r), cs = last_cpu;
            tc = run_client(), cc = last_cpu;
        } else {
            tc = run_client(), cc = last_cpu;
            ts = run_sink(r), cs = last_cpu;
        }
        printf("run %d: sink %.2f s (%.2f CPU-s), minimal client %.2f s (%.2f CPU-s)\n", r + 1, ts, cs, tc, cc);
        fflush(stdout);
        if (ts < best_sink) best_sink = ts;
        if (tc < best_client) best_client = tc;
        if (cs < cpu_sink) cpu_sink = cs;
        if (cc < cpu_client) cpu_client = cc;
    }
    char *a = sluice_test_mariadb_rows(&server, "SELECT COUNT(*), SUM(flights), SUM(max_delay), ROUND(SUM(avg_delay), 3), "
                                                "MIN(window_start), MAX(window_end) FROM " DB ".bench_sink");
    char *b = sluice_test_mariadb_rows(&server, "SELECT COUNT(*), SUM(flights), SUM(max_delay), ROUND(SUM(avg_delay), 3), "
                                                "MIN(window_start), MAX(window_end) FROM " DB ".bench_ref");
    int same = a && b && strcmp(a, b) == 0;
    sluice_test_mariadb_stop(&server);
    double rs = (double)nrows / best_sink, rc = (double)nrows / best_client, ratio = rs / rc;
    printf("rows             %zu upserted in %d epochs (50%% updates), %d run(s) each, best counts\n", nrows, EPOCHS,
           runs);
    printf("mysql sink       %.2f s   %.0f rows/s   client-side CPU %.2f s\n", best_sink, rs, cpu_sink);
    printf("minimal client   %.2f s   %.0f rows/s   client-side CPU %.2f s\n", best_client, rc, cpu_client);
    printf("ratio            %.3f  (sink / minimal client)\n", ratio);
    printf("tables agree     %s   (%s)\n", same ? "yes" : "NO", a ? strtok(a, "\n") : "?");
    printf("verdict          %s\n", same && ratio >= 0.8 ? "PASS (ratio >= 0.80)" : "FAIL");
    free(a);
    free(b);
    return same && ratio >= 0.8 ? 0 : 1;
}
