/*
 * bench_decode: JSON decoding speed on one core.
 *
 * Generates N flight lines like
 *   {"date":"2001/01/01 00:47","delay":66,"distance":1750,"origin":"DTW","destination":"LAS"}
 * in memory and decodes (date TIMESTAMP FORMAT '%Y/%m/%d %H:%M', delay
 * BIGINT, origin VARCHAR) from each, resetting the arena every 4096 rows as
 * a micro-batch would.  Prints rows/s of the best of a few rounds.
 *
 * usage: bench_decode [rows]   (default 2000000)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "format/format.h"
#include "sluice/batch.h"

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv) {
    size_t n = argc > 1 ? (size_t)strtoull(argv[1], NULL, 10) : 2000000;
    static const char *airports[] = {"DTW", "LAS", "SFO", "ORD", "ATL", "JFK", "SEA", "BOS"};

    /* all lines in one buffer; each line's padding is the bytes after it */
    size_t cap = n * 128 + SLUICE_RECORD_PADDING;
    char *buf = malloc(cap);
    size_t *off = malloc((n + 1) * sizeof *off);
    if (!buf || !off) return 1;
    size_t pos = 0;
    for (size_t i = 0; i < n; i++) {
        off[i] = pos;
        int day = (int)(i / 1440 % 28) + 1, minute = (int)(i % 1440);
        pos += (size_t)snprintf(buf + pos, cap - pos,
                                "{\"date\":\"2001/%02d/%02d %02d:%02d\",\"delay\":%d,"
                                "\"distance\":%d,\"origin\":\"%s\",\"destination\":\"%s\"}",
                                (int)(i / 40320 % 12) + 1, day, minute / 60, minute % 60,
                                (int)(i * 7919 % 400) - 60, (int)(i * 104729 % 3000) + 100,
                                airports[i % 8], airports[(i / 8) % 8]);
        buf[pos++] = '\n';
    }
    off[n] = pos;
    memset(buf + pos, ' ', SLUICE_RECORD_PADDING);

    char err[256];
    sluice_ts_format *fmt = NULL;
    if (sluice_ts_format_compile("%Y/%m/%d %H:%M", &fmt, err, sizeof err) != SLUICE_OK) {
        fprintf(stderr, "%s\n", err);
        return 1;
    }
    const sluice_field_spec specs[] = {
        {.name = "date", .type = SLUICE_TYPE_TIMESTAMP, .ts_format = fmt},
        {.name = "delay", .type = SLUICE_TYPE_BIGINT},
        {.name = "origin", .type = SLUICE_TYPE_VARCHAR},
    };
    sluice_decoder_options opts = {.format = SLUICE_FORMAT_JSON};
    sluice_decoder *dec = NULL;
    if (sluice_decoder_new(&opts, specs, 3, &dec, err, sizeof err) != SLUICE_OK) {
        fprintf(stderr, "%s\n", err);
        return 1;
    }
    sluice_arena *arena = sluice_arena_new(0);
    sluice_value out[3];
    char reason[256];
    double best = 0;
    int64_t checksum = 0;
    for (int round = 0; round < 5; round++) {
        double t0 = now_s();
        for (size_t i = 0; i < n; i++) {
            if ((i & 4095) == 0) sluice_arena_reset(arena);
            size_t len = off[i + 1] - off[i] - 1;
            if (sluice_decoder_decode(dec, buf + off[i], len, out, arena, reason,
                                      sizeof reason) != SLUICE_OK) {
                fprintf(stderr, "line %zu: %s\n", i + 1, reason);
                return 1;
            }
            checksum += out[0].u.i + out[1].u.i + out[2].len;
        }
        double rate = (double)n / (now_s() - t0);
        if (rate > best) best = rate;
    }
    printf("bench_decode: %zu rows x 5 rounds, best %.2f M rows/s (checksum %lld)\n", n,
           best / 1e6, (long long)checksum);
    sluice_arena_destroy(arena);
    sluice_decoder_free(dec);
    sluice_ts_format_free(fmt);
    free(buf);
    free(off);
    return 0;
}
