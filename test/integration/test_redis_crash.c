/*
 * Exactly-once into Redis across crashes: the crash tests' flights pipeline
 * from the file source into the redis sink, `hourly` as one hash per
 * (window_start, origin) and `totals` as a sorted set of origins by number
 * of flights, killed with SIGKILL at 20+ random instants and made to
 * abort() before and after the Redis commit (MULTI/EXEC) and halfway
 * through snapshot and offsets writes, restarted each time; the keys must
 * equal those of one uninterrupted run (in another database of the same
 * server), key for key.
 */
#include "sluice_test.h"
#include "crash_support.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "redis_server.h"

static sluice_test_redis server;

static const char *sql = SLUICE_CRASH_SQL;

static char dir[4096], sql_path[4200], ini_path[4200], err_path[4200];

#define REF_DB 1
#define CRASH_DB 2

static int setup(void **state) {
    (void)state;
    char *d = sluice_test_mkdtemp("redis-crash");
    snprintf(dir, sizeof dir, "%s", d);
    free(d);
    snprintf(sql_path, sizeof sql_path, "%s/p.sql", dir);
    snprintf(ini_path, sizeof ini_path, "%s/p.test.ini", dir);
    snprintf(err_path, sizeof err_path, "%s/stderr.txt", dir);
    if (sluice_test_redis_start(&server, "redis-crash") != 0) return -1;
    return sluice_test_write_file(sql_path, sql);
}

static int teardown(void **state) {
    (void)state;
    sluice_test_redis_stop(&server);
    return 0;
}

/* profile: the checkpoint `cp`, keys in database `db` */
static void write_ini(int db, const char *cp) {
    char redis[1024], ini[16384];
    sluice_test_redis_ini(&server, redis, sizeof redis);
    snprintf(ini, sizeof ini,
             "[pipeline]\ntrigger = available_now\nmax_batch_rows = 50\ncheckpoint_dir = %s\n%sdb = %d\n\n"
             "[source flights]\npath = %s\n"
             "[sink hourly]\nconnector = redis\nkey = h:{window_start}:{origin}\n"
             "[sink totals]\nconnector = redis\ndata_type = zset\nkey = t:flights\nmember = origin\nscore = n\n",
             cp, redis, db, sluice_test_fixture("data/flights-20k.jsonl"));
    assert_int_equal(sluice_test_write_file(ini_path, ini), 0);
}

static char *dump(int db, const char *pattern) {
    server.db = db;
    char *text = sluice_test_redis_dump(&server, pattern);
    server.db = 0;
    assert_non_null(text);
    return text;
}

static void assert_keys_equal(void *ctx, int cycle) {
    (void)ctx;
    (void)cycle;
    static const char *patterns[] = {"h:*", "t:*"};
    for (size_t i = 0; i < 2; i++) {
        char *a = dump(REF_DB, patterns[i]), *b = dump(CRASH_DB, patterns[i]);
        if (strcmp(a, b) != 0) {
            size_t k = 0;
            while (a[k] && a[k] == b[k]) k++;
            fail_msg("keys %s differ from the uninterrupted run at byte %zu: got '%.80s', expected '%.80s'",
                     patterns[i], k, b + k, a + k);
        }
        free(a);
        free(b);
    }
    /* one hash per (hour, origin) of the uninterrupted run: the oracle's count */
    char *h = dump(REF_DB, "h:*");
    size_t lines = 0;
    for (const char *p = h; *p; p++) lines += *p == '\n';
    assert_int_equal(lines, 17473);
    free(h);
}

/* a new cycle: no checkpoint, empty database */
static void new_cycle(void *ctx, int cycle) {
    (void)ctx;
    (void)cycle;
    char cmd[9000];
    snprintf(cmd, sizeof cmd, "rm -rf '%s/cp'", dir);
    assert_int_equal(system(cmd), 0);
    server.db = CRASH_DB;
    const char *flush[] = {"FLUSHDB", NULL};
    redisReply *r = sluice_test_redis_cmd(&server, flush);
    server.db = 0;
    assert_non_null(r);
    assert_int_equal(r->type, REDIS_REPLY_STATUS);
    freeReplyObject(r);
}

static void test_sigkill_and_aborts_into_redis(void **state) {
    (void)state;
    char cp_ref[4300], cp[4300];
    snprintf(cp_ref, sizeof cp_ref, "%s/cp-ref", dir);
    snprintf(cp, sizeof cp, "%s/cp", dir);
    write_ini(REF_DB, cp_ref);
    int st = sluice_crash_wait(sluice_crash_start(sql_path, err_path, NULL));
    assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    write_ini(CRASH_DB, cp);
    const sluice_crash_test t = {.name = "file-to-redis",
                                 .sql_path = sql_path,
                                 .err_path = err_path,
                                 .sinks = (const char *const[]){"totals", "hourly", NULL},
                                 .connector = "redis",
                                 .seed = 4343,
                                 .min_recoveries = 12, /* about half of the 24 to 64 its runs reach */
                                 .kill_min_us = 2000,
                                 .kill_span_us = 150000,
                                 .compare = assert_keys_equal,
                                 .new_cycle = new_cycle};
    sluice_crash_drive(&t);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sigkill_and_aborts_into_redis),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
