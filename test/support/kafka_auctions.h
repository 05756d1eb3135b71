/*
 * The auction-and-bid streams of the relational crash tests: a small,
 * deterministic Nexmark-like workload (auctions and the bids on them, in
 * event-time order) produced to two topics of the test broker, and the
 * sources that read them.
 */
#ifndef SLUICE_KAFKA_AUCTIONS_H
#define SLUICE_KAFKA_AUCTIONS_H

/** The sources: `auction` (id, seller, category, dateTime) and `bid`
 *  (auction, bidder, price, dateTime), JSON, with Nexmark's watermark
 *  (dateTime - 4 s).  String literals, so that a test appends its views
 *  and sinks: SLUICE_AUCTIONS_BID_SQL declares `bid` alone. */
#define SLUICE_AUCTIONS_BID_SQL                                                                   \
    "CREATE SOURCE bid (auction BIGINT, bidder BIGINT, price BIGINT, dateTime TIMESTAMP,\n"        \
    "    WATERMARK FOR dateTime AS dateTime - INTERVAL '4' SECOND);\n"
#define SLUICE_AUCTIONS_SQL                                                                       \
    "CREATE SOURCE auction (id BIGINT, seller BIGINT, category BIGINT, dateTime TIMESTAMP,\n"      \
    "    WATERMARK FOR dateTime AS dateTime - INTERVAL '4' SECOND);\n" SLUICE_AUCTIONS_BID_SQL

/** Events generated: one every 100 ms (plus 0-99 ms) from 2026-01-01
 *  00:00:00 UTC, every 7th an auction (ids from 1000, sellers 1-30,
 *  category = (n + 1) % 10 for the n-th auction), the others bids (bidders
 *  1-30, prices 1-1000) on one of the last 200 auctions, except that one
 *  bid in 20 is on an auction created only later (5 auctions ahead) and the
 *  first bid after an auction of category 0 is on that auction (so every
 *  such auction has a bid).  About 2000 auctions, 12000 bids, 23 minutes of
 *  event time. */
#define SLUICE_AUCTIONS_EVENTS 14000

/** Produce the events to topics `auction` (keyed by id) and `bid` (keyed by
 *  bidder), which must exist.  Returns the number of bids produced (the
 *  auctions are SLUICE_AUCTIONS_EVENTS minus that), or -1. */
long sluice_auctions_produce(const char *bootstrap);

#endif
