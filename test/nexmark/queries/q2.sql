-- Nexmark query 2: Selection: the bids on every 123rd auction.
-- Source: nexmark/nexmark, nexmark-flink/src/main/resources/queries/q2.sql
-- (Apache License 2.0): the SELECT of its INSERT INTO, verbatim.

SELECT auction, price FROM bid WHERE MOD(auction, 123) = 0;
