-- Nexmark query 4: Average price per category of the winning bids of auctions (join, then two aggregations).
-- Source: nexmark/nexmark, nexmark-flink/src/main/resources/queries/q4.sql
-- (Apache License 2.0): the SELECT of its INSERT INTO, verbatim.

SELECT
    Q.category,
    AVG(Q.final)
FROM (
    SELECT MAX(B.price) AS final, A.category
    FROM auction A, bid B
    WHERE A.id = B.auction AND B.`dateTime` BETWEEN A.`dateTime` AND A.expires
    GROUP BY A.id, A.category
) Q
GROUP BY Q.category;
