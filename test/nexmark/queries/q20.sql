-- Nexmark query 20: Expand bid with auction: bids joined with their auction, for auctions in category 10 (filter join).
-- Source: nexmark/nexmark, nexmark-flink/src/main/resources/queries/q20.sql
-- (Apache License 2.0): the SELECT of its INSERT INTO, verbatim.

SELECT
    auction, bidder, price, channel, url, B.`dateTime`, B.extra,
    itemName, description, initialBid, reserve, A.`dateTime`, expires, seller, category, A.extra
FROM
    bid AS B INNER JOIN auction AS A on B.auction = A.id
WHERE A.category = 10;
