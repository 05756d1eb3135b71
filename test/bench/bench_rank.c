/*
 * The rank operator (exec/op_rank.c) alone: rows per second of a few
 * shapes of top-N and deduplication, rows pushed in batches of 1024 into
 * an operator whose downstream counts what it gets.  Run by hand:
 *   ./build/test/bench/bench_rank [part of a case's name]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "exec/operator.h"

enum { NC = 3, BATCH = 1024 };
static const sluice_type_t types[NC] = {SLUICE_TYPE_BIGINT, SLUICE_TYPE_BIGINT, SLUICE_TYPE_TIMESTAMP};
static sluice_expr col_expr[NC];
static sluice_expr *col[NC];
static uint64_t out_rows;
static const char *only; /* argv[1]: run the cases whose name holds it */

static sluice_err_t count_process(sluice_op *op, const sluice_op_batch *in) {
    (void)op;
    out_rows += in->nrows;
    return SLUICE_OK;
}
static void count_close(sluice_op *op) {
    (void)op;
}
static const sluice_op_ops count_ops = {.name = "count", .process = count_process, .close = count_close};
static sluice_op counter = {.ops = &count_ops};

static uint64_t rng = 0x9e3779b97f4a7c15ULL;
static uint64_t next_rand(void) {
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* rows (partition, value, time): n rows, partitions [0, nparts), value
 * random below vmax, time increasing; retract_every > 0: every so many
 * rows one earlier row is deleted again. */
static void run(const char *what, sluice_rank_fn fn, int64_t limit, int order_col, int desc, int output_rank,
                int append_only, size_t n, int64_t nparts, int64_t vmax, size_t retract_every) {
    if (only && !strstr(what, only)) return;
    sluice_expr *part[1] = {col[0]};
    sluice_expr *order[1] = {col[order_col]};
    int od[1] = {desc};
    sluice_rank_plan rp;
    memset(&rp, 0, sizeof rp);
    rp.name = what;
    rp.fn = fn;
    rp.width = NC;
    rp.types = types;
    rp.partition = part;
    rp.npartition = nparts > 1 ? 1 : 0;
    rp.order = order;
    rp.order_desc = od;
    rp.norder = 1;
    rp.limit = limit;
    rp.output_rank = output_rank;
    rp.append_only_input = append_only;
    sluice_transform_stats stats;
    memset(&stats, 0, sizeof stats);
    sluice_op_ctx ctx;
    memset(&ctx, 0, sizeof ctx);
    ctx.batch_arena = sluice_arena_new(0);
    ctx.stats = &stats;
    sluice_op *op = sluice_op_rank_new(&rp, &ctx, &counter);
    if (!op || op->ops->open(op) != SLUICE_OK) exit(1);
    sluice_value *all = malloc(n * NC * sizeof *all);
    sluice_value *rows = malloc(BATCH * NC * sizeof *rows);
    sluice_row_kind *kinds = malloc(BATCH * sizeof *kinds);
    if (!all || !rows || !kinds) exit(1);
    for (size_t i = 0; i < n; i++) {
        all[i * NC + 0] = sluice_value_bigint((int64_t)(next_rand() % (uint64_t)nparts));
        all[i * NC + 1] = sluice_value_bigint((int64_t)(next_rand() % (uint64_t)vmax));
        all[i * NC + 2] = sluice_value_timestamp((int64_t)i);
    }
    out_rows = 0;
    size_t in_rows = 0, next = 0, deleted = 0;
    double t0 = now();
    while (next < n) {
        size_t k = 0;
        while (k < BATCH && next < n) {
            if (retract_every && next % retract_every == retract_every - 1 && deleted < next) {
                /* take back an earlier row (each once: the oldest not yet) */
                memcpy(rows + k * NC, all + deleted++ * NC, NC * sizeof *rows);
                kinds[k++] = SLUICE_ROW_DELETE;
                if (k == BATCH) break;
            }
            memcpy(rows + k * NC, all + next++ * NC, NC * sizeof *rows);
            kinds[k++] = SLUICE_ROW_INSERT;
        }
        sluice_op_batch b;
        memset(&b, 0, sizeof b);
        b.rows = rows;
        b.ncolumns = NC;
        b.nrows = k;
        b.kinds = kinds;
        if (op->ops->process(op, &b) != SLUICE_OK) exit(1);
        in_rows += k;
    }
    double dt = now() - t0;
    printf("%-46s %9zu rows in %6.3f s: %6.2f M rows/s, %8llu out, state %zu rows %zu KiB\n", what, in_rows, dt,
           (double)in_rows / dt / 1e6, (unsigned long long)out_rows, op->ops->state_rows(op),
           op->ops->state_bytes(op) / 1024);
    sluice_op_close(op);
    sluice_arena_destroy(ctx.batch_arena);
    free(all);
    free(rows);
    free(kinds);
}

int main(int argc, char **argv) {
    only = argc > 1 ? argv[1] : NULL;
    for (size_t c = 0; c < NC; c++) {
        col_expr[c].kind = SLUICE_EXPR_COLUMN;
        col_expr[c].type = types[c];
        col_expr[c].column = c;
        col[c] = &col_expr[c];
    }
    size_t n = 2000000;
    run("append-only ROW_NUMBER DESC <= 10, 1000 parts", SLUICE_RANK_ROW_NUMBER, 10, 1, 1, 0, 1, n, 1000, 1000000, 0);
    run("  the same with the rank column", SLUICE_RANK_ROW_NUMBER, 10, 1, 1, 1, 1, n, 1000, 1000000, 0);
    run("append-only RANK DESC <= 100, 1000 parts", SLUICE_RANK_RANK, 100, 1, 1, 1, 1, n, 1000, 1000, 0);
    run("dedup keep-first, 100k parts", SLUICE_RANK_ROW_NUMBER, 1, 2, 0, 0, 1, n, 100000, 1, 0);
    run("dedup keep-last, 100k parts", SLUICE_RANK_ROW_NUMBER, 1, 2, 1, 0, 1, n, 100000, 1, 0);
    run("updating ROW_NUMBER DESC <= 10, 1000 parts", SLUICE_RANK_ROW_NUMBER, 10, 1, 1, 0, 0, n, 1000, 1000000, 4);
    run("updating ROW_NUMBER DESC <= 10, 1 part", SLUICE_RANK_ROW_NUMBER, 10, 1, 1, 0, 0, n / 4, 1, 1000000, 4);
    run("updating ROW_NUMBER DESC <= 10, 1 part", SLUICE_RANK_ROW_NUMBER, 10, 1, 1, 0, 0, n, 1, 1000000, 4);
    return 0;
}
