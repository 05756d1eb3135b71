-- Nexmark query 6: Average selling price per seller over their last 10 closed auctions (OVER window over a retracting input; not supported by Flink either).
-- Source: nexmark/nexmark, nexmark-flink/src/main/resources/queries/q6.sql
-- (Apache License 2.0): the SELECT of its INSERT INTO, verbatim.

SELECT
    Q.seller,
    AVG(Q.price) OVER
        (PARTITION BY Q.seller ORDER BY Q.`dateTime` ROWS BETWEEN 10 PRECEDING AND CURRENT ROW)
FROM (
    SELECT *, ROW_NUMBER() OVER (PARTITION BY A.id, A.seller ORDER BY B.price DESC) AS rownum
    FROM (SELECT A.id, A.seller, B.price, B.`dateTime`
        FROM auction AS A,
            bid AS B
        WHERE A.id = B.auction
            and B.`dateTime` between A.`dateTime` and A.expires)
    WHERE rownum <= 1
) AS Q;
