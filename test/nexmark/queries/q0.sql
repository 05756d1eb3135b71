-- Nexmark query 0: Pass through: every bid, unchanged (measures the overhead of reading and writing).
-- Source: nexmark/nexmark, nexmark-flink/src/main/resources/queries/q0.sql
-- (Apache License 2.0): the SELECT of its INSERT INTO, verbatim.

SELECT auction, bidder, price, `dateTime`, extra FROM bid;
