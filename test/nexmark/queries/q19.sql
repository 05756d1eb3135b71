-- Nexmark query 19: Auction top-10 price: the 10 highest bids of each auction (top-N).
-- Source: nexmark/nexmark, nexmark-flink/src/main/resources/queries/q19.sql
-- (Apache License 2.0): the SELECT of its INSERT INTO, verbatim.

SELECT * FROM
(SELECT *, ROW_NUMBER() OVER (PARTITION BY auction ORDER BY price DESC) AS rank_number FROM bid)
WHERE rank_number <= 10;
