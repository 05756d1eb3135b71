/*
 * The orders_analytics scenario's expected outputs (fixtures/expected/
 * orders_analytics/, computed by SQLite) in the shapes its sinks write.
 */
#include "orders_analytics.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sluice_test.h"

/* The oracle's top_products.csv as dump lines: "top_products:WS zset m=s ..."
 * with members in Redis's order (score, then member bytewise). */
char *sluice_test_oracle_leaderboard(void) {
    char *csv = sluice_test_read_file(sluice_test_fixture("expected/orders_analytics/top_products.csv"), NULL);
    assert_non_null(csv);
    typedef struct {
        char ws[32], member[32];
        long long score;
    } entry;
    entry *e = calloc(4096, sizeof *e);
    size_t n = 0;
    char *save = NULL;
    strtok_r(csv, "\n", &save); /* header */
    for (char *line = strtok_r(NULL, "\n", &save); line && n < 4096; line = strtok_r(NULL, "\n", &save)) {
        char ws[32], we[32];
        long long rank;
        if (sscanf(line, "%31[^,],%31[^,],%lld,%31[^,],%lld", ws, we, &rank, e[n].member, &e[n].score) != 5)
            fail_msg("oracle line: %s", line);
        snprintf(e[n].ws, sizeof e[n].ws, "%s", ws);
        n++;
    }
    /* sort: window, score, member */
    for (size_t i = 1; i < n; i++)
        for (size_t j = i; j > 0; j--) {
            entry *a = &e[j - 1], *b = &e[j];
            int c = strcmp(a->ws, b->ws);
            if (!c) c = a->score < b->score ? -1 : a->score > b->score;
            if (!c) c = strcmp(a->member, b->member);
            if (c <= 0) break;
            entry t = *a;
            *a = *b;
            *b = t;
        }
    size_t cap = 1 << 16, len = 0;
    char *out = calloc(1, cap);
    for (size_t i = 0; i < n; i++) {
        if (i == 0 || strcmp(e[i].ws, e[i - 1].ws) != 0)
            len += (size_t)snprintf(out + len, cap - len, "%stop_products:%s zset", i ? "\n" : "", e[i].ws);
        len += (size_t)snprintf(out + len, cap - len, " %s=%lld", e[i].member, e[i].score);
    }
    if (n) snprintf(out + len, cap - len, "\n");
    free(e);
    free(csv);
    return out;
}

#ifdef SLUICE_WITH_MYSQL
/* The MySQL table orders_by_shop equals the oracle's CSV (DATETIME(3)
 * rendered without its ".000"). */
void sluice_test_assert_orders_by_shop(const sluice_test_mariadb *mariadb) {
    char *got = sluice_test_mariadb_rows(mariadb, "SELECT DATE_FORMAT(window_start, '%Y-%m-%d %H:%i:%s'), "
                                                   "DATE_FORMAT(window_end, '%Y-%m-%d %H:%i:%s'), shopid, region, "
                                                   "items_sold, orders FROM orders_by_shop "
                                                   "ORDER BY window_start, shopid, region");
    assert_non_null(got);
    char *csv = sluice_test_read_file(sluice_test_fixture("expected/orders_analytics/orders_by_shop.csv"), NULL);
    assert_non_null(csv);
    char *want = strchr(csv, '\n');
    assert_non_null(want);
    want++;
    for (char *p = want; *p; p++)
        if (*p == ',') *p = '|';
    if (strcmp(got, want) != 0) {
        size_t k = 0;
        while (got[k] && got[k] == want[k]) k++;
        fail_msg("orders_by_shop differs from the oracle at byte %zu: got '%.80s', expected '%.80s'", k, got + k,
                 want + k);
    }
    free(got);
    free(csv);
}
#endif
