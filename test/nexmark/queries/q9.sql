-- Nexmark query 9: Winning bids: the highest bid of each auction while it is open (join, then ROW_NUMBER top-1).
-- Source: nexmark/nexmark, nexmark-flink/src/main/resources/queries/q9.sql
-- (Apache License 2.0): the SELECT of its INSERT INTO, verbatim.

SELECT
    id, itemName, description, initialBid, reserve, `dateTime`, expires, seller, category, extra,
    auction, bidder, price, bid_dateTime, bid_extra
FROM (
   SELECT A.*, B.auction, B.bidder, B.price, B.`dateTime` AS bid_dateTime, B.extra AS bid_extra,
     ROW_NUMBER() OVER (PARTITION BY A.id ORDER BY B.price DESC, B.`dateTime` ASC) AS rownum
   FROM auction A, bid B
   WHERE A.id = B.auction AND B.`dateTime` BETWEEN A.`dateTime` AND A.expires
)
WHERE rownum <= 1;
