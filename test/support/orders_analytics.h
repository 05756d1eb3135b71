/*
 * The orders_analytics scenario's expected outputs, for the tests that run
 * it into Redis and MySQL.
 */
#ifndef SLUICE_TEST_ORDERS_ANALYTICS_H
#define SLUICE_TEST_ORDERS_ANALYTICS_H

#include "sluice_test.h"

/** The oracle's top_products.csv as sluice_test_redis_dump() prints the
 *  sink's sorted sets (key top_products:{window_start}, member itemid,
 *  score items_sold): one line per window, members in Redis's order
 *  (score, then member bytewise).  malloc'd; the test fails on a bad
 *  fixture. */
char *sluice_test_oracle_leaderboard(void);

#ifdef SLUICE_WITH_MYSQL
#include "mariadb.h"

/** Fail the test unless the table orders_by_shop of the server's test
 *  database equals the oracle's orders_by_shop.csv, row for row. */
void sluice_test_assert_orders_by_shop(const sluice_test_mariadb *mariadb);
#endif

#endif
