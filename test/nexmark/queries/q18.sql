-- Nexmark query 18: Find last bid: the latest bid of each bidder on each auction (deduplication, ROW_NUMBER ... DESC <= 1).
-- Source: nexmark/nexmark, nexmark-flink/src/main/resources/queries/q18.sql
-- (Apache License 2.0): the SELECT of its INSERT INTO, verbatim.

SELECT auction, bidder, price, channel, url, `dateTime`, extra
 FROM (SELECT *, ROW_NUMBER() OVER (PARTITION BY bidder, auction ORDER BY `dateTime` DESC) AS rank_number
       FROM bid)
 WHERE rank_number <= 1;
