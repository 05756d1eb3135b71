/*
 * The memory of a grouped aggregate's state and the time to restore it:
 *   SELECT k, COUNT(*), SUM(v) FROM ev GROUP BY k EMIT UPDATE
 * over N distinct keys (one group per key, one window), fed through the
 * engine in micro-batches of 65,536 rows, for short VARCHAR keys
 * ("key-0000001", 11 bytes) and for BIGINT keys.  Prints, per (window,
 * key): the engine's state_bytes (what max_state_bytes caps) and the
 * growth of the resident set; then the time to restore a snapshot of that
 * state into a fresh engine, per GB of the restored state.  Run by hand
 * (test/bench/README.md, "State benchmark"):
 *   ./build/test/bench/bench_state [N keys, default 10000000] [string|bigint|both] [restores, default 3]
 */
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "exec/engine.h"
#include "sql/parser.h"

enum { BATCH = 65536, SLOT = 64 };

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Resident bytes of this process (/proc/self/statm), freed heap trimmed. */
static double rss_bytes(void) {
    malloc_trim(0);
    long pages = 0, res = 0;
    FILE *f = fopen("/proc/self/statm", "r");
    if (!f || fscanf(f, "%ld %ld", &pages, &res) != 2) res = 0;
    if (f) fclose(f);
    return (double)res * (double)sysconf(_SC_PAGESIZE);
}

static void die(const char *what, const char *err) {
    fprintf(stderr, "bench_state: %s: %s\n", what, err);
    exit(2);
}

static sluice_transform *engine(sluice_plan *plan) {
    sluice_engine_source_options opts = {.format = SLUICE_FORMAT_JSON};
    sluice_transform *t = NULL;
    char err[512];
    if (sluice_engine_new(plan, &opts, NULL, NULL, &t, err, sizeof err) != SLUICE_OK) die("engine", err);
    return t;
}

static void run(size_t nkeys, int bigint, int restores) {
    char err[512];
    const char *sql = bigint ? "CREATE SOURCE ev (k BIGINT, v BIGINT);\n"
                               "CREATE SINK s AS SELECT k, COUNT(*) AS n, SUM(v) AS total FROM ev GROUP BY k EMIT UPDATE;\n"
                             : "CREATE SOURCE ev (k VARCHAR, v BIGINT);\n"
                               "CREATE SINK s AS SELECT k, COUNT(*) AS n, SUM(v) AS total FROM ev GROUP BY k EMIT UPDATE;\n";
    sluice_arena *pa = sluice_arena_new(0);
    sluice_ast_pipeline *ast = NULL;
    sluice_plan *plan = NULL;
    if (sluice_sql_parse(sql, strlen(sql), "state.sql", pa, &ast, err, sizeof err) != SLUICE_OK) die("parse", err);
    if (sluice_plan_build(ast, &plan, err, sizeof err) != SLUICE_OK) die("plan", err);

    sluice_record *recs = calloc(BATCH, sizeof *recs);
    char *text = calloc(BATCH, SLOT + SLUICE_RECORD_PADDING);
    if (!recs || !text) die("memory", "out of memory");
    double rss0 = rss_bytes();
    sluice_transform *t = engine(plan);
    double t0 = now();
    int64_t epoch = 0;
    for (size_t done = 0; done < nkeys; epoch++) {
        size_t n = nkeys - done < BATCH ? nkeys - done : BATCH;
        for (size_t i = 0; i < n; i++) {
            char *p = text + i * (SLOT + SLUICE_RECORD_PADDING);
            size_t key = done + i;
            int len = bigint ? snprintf(p, SLOT, "{\"k\":%zu,\"v\":%zu}", key * 7919, key % 1000)
                             : snprintf(p, SLOT, "{\"k\":\"key-%07zu\",\"v\":%zu}", key, key % 1000);
            memset(p + len, 0, SLUICE_RECORD_PADDING);
            recs[i] = (sluice_record){.value = p, .value_len = (size_t)len, .offset = (int64_t)(key + 1)};
        }
        sluice_record_batch in = {.records = recs, .count = n, .capacity = BATCH};
        if (t->ops->process(t, 0, NULL, &in, err, sizeof err) != SLUICE_OK) die("process", err);
        const sluice_row_batch *out[1];
        if (t->ops->end_batch(t, epoch, out, 1, err, sizeof err) != SLUICE_OK) die("end_batch", err);
        done += n;
    }
    double build_s = now() - t0;
    double state = (double)sluice_engine_state_bytes(t);
    double rss1 = rss_bytes();
    void *snap = NULL;
    size_t len = 0;
    if (t->ops->snapshot(t, &snap, &len, err, sizeof err) != SLUICE_OK) die("snapshot", err);
    t->ops->destroy(t);

    /* the best of `restores` restores, each into a fresh engine */
    double rss2 = 0, rss3 = 0, rstate = 0, restore_s = 0;
    for (int r = 0; r < restores; r++) {
        rss2 = rss_bytes();
        t = engine(plan);
        t0 = now();
        if (t->ops->restore(t, snap, len, err, sizeof err) != SLUICE_OK) die("restore", err);
        double s = now() - t0;
        if (!r || s < restore_s) restore_s = s;
        rstate = (double)sluice_engine_state_bytes(t);
        rss3 = rss_bytes();
        t->ops->destroy(t);
    }
    free(snap);

    const char *kind = bigint ? "bigint" : "string";
    printf("%s keys %zu: build %.2f s; state_bytes %.1f B/key, resident +%.1f B/key; snapshot %.1f B/key\n", kind,
           nkeys, build_s, state / (double)nkeys, (rss1 - rss0) / (double)nkeys, (double)len / (double)nkeys);
    printf("%s restore (best of %d): %.3f s; state_bytes %.1f B/key, resident +%.1f B/key; %.2f s per GB of state_bytes, "
           "%.2f s per GB resident\n",
           kind, restores, restore_s, rstate / (double)nkeys, (rss3 - rss2) / (double)nkeys, restore_s / (rstate / 1e9),
           restore_s / ((rss3 - rss2) / 1e9));
    printf("summary kind=%s keys=%zu state_b_per_key=%.1f rss_b_per_key=%.1f restore_s=%.3f s_per_gb_state=%.2f "
           "s_per_gb_rss=%.2f\n",
           kind, nkeys, state / (double)nkeys, (rss1 - rss0) / (double)nkeys, restore_s, restore_s / (rstate / 1e9),
           restore_s / ((rss3 - rss2) / 1e9));
    free(recs);
    free(text);
    sluice_plan_free(plan);
    sluice_arena_destroy(pa);
}

int main(int argc, char **argv) {
    size_t nkeys = argc > 1 ? strtoull(argv[1], NULL, 10) : 10000000;
    if (!nkeys) nkeys = 1;
    const char *kind = argc > 2 ? argv[2] : "";
    int restores = argc > 3 ? atoi(argv[3]) : 3;
    if (restores < 1) restores = 1;
    if (strcmp(kind, "bigint") != 0) run(nkeys, 0, restores);
    if (strcmp(kind, "string") != 0) run(nkeys, 1, restores);
    return 0;
}
