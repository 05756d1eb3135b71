/* The auction-and-bid streams of the relational crash tests; see
 * kafka_auctions.h. */
#include "kafka_auctions.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "kafka_support.h"

/* A 64-bit LCG (Knuth's MMIX constants): the same events on every machine. */
static uint64_t next(uint64_t *s, uint64_t n) {
    *s = *s * UINT64_C(6364136223846793005) + UINT64_C(1442695040888963407);
    return (*s >> 33) % n;
}

/* ISO-8601 UTC of `ms` after 2026-01-01 00:00:00 (under 24 h). */
static void iso(char *buf, size_t size, long ms) {
    snprintf(buf, size, "2026-01-01T%02ld:%02ld:%02ld.%03ldZ", ms / 3600000 % 24, ms / 60000 % 60, ms / 1000 % 60,
             ms % 1000);
}

static void free_all(char **v, size_t n) {
    for (size_t i = 0; i < n; i++) free(v[i]);
    free(v);
}

long sluice_auctions_produce(const char *bootstrap) {
    size_t n = SLUICE_AUCTIONS_EVENTS;
    char **av = calloc(n, sizeof *av), **ak = calloc(n, sizeof *ak), **bv = calloc(n, sizeof *bv),
         **bk = calloc(n, sizeof *bk);
    size_t na = 0, nb = 0;
    uint64_t s = 12345;
    long pending = -1; /* the last auction of category 0 while it has no bid */
    int bad = !av || !ak || !bv || !bk;
    for (size_t i = 0; i < n && !bad; i++) {
        long t = (long)i * 100 + (long)next(&s, 100);
        char ts[128];
        iso(ts, sizeof ts, t);
        if (i % 7 == 0 || na == 0) {
            long id = 1000 + (long)na++;
            long seller = 1 + (long)next(&s, 30), category = (long)na % 10;
            if (category == 0) pending = id;
            bad |= asprintf(&av[na - 1], "{\"id\":%ld,\"seller\":%ld,\"category\":%ld,\"dateTime\":\"%s\"}", id,
                            seller, category, ts) < 0;
            bad |= asprintf(&ak[na - 1], "%ld", id) < 0;
        } else {
            uint64_t back = next(&s, na < 200 ? na : 200);
            long auction = next(&s, 20) ? 1000 + (long)na - 1 - (long)back : 1000 + (long)na + 5;
            if (pending >= 0) auction = pending, pending = -1;
            long bidder = 1 + (long)next(&s, 30), price = 1 + (long)next(&s, 1000);
            bad |= asprintf(&bv[nb], "{\"auction\":%ld,\"bidder\":%ld,\"price\":%ld,\"dateTime\":\"%s\"}", auction,
                            bidder, price, ts) < 0;
            bad |= asprintf(&bk[nb++], "%ld", bidder) < 0;
        }
    }
    if (!bad)
        bad = sluice_test_kafka_produce(bootstrap, "auction", -1, (const char *const *)av, (const char *const *)ak,
                                        na) != 0 ||
              sluice_test_kafka_produce(bootstrap, "bid", -1, (const char *const *)bv, (const char *const *)bk, nb) !=
                  0;
    free_all(av, n);
    free_all(ak, n);
    free_all(bv, n);
    free_all(bk, n);
    return bad ? -1 : (long)nb;
}
