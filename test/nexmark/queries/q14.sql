-- Nexmark query 14: Calculation: bids of some prices with their time of day and a user-defined function (count_char).
-- Source: nexmark/nexmark, nexmark-flink/src/main/resources/queries/q14.sql
-- (Apache License 2.0): the SELECT of its INSERT INTO, verbatim.
-- The original also declares the Java function count_char (the number of
-- occurrences of a character in a string); it is not declared here.

SELECT 
    auction,
    bidder,
    0.908 * price as price,
    CASE
        WHEN HOUR(`dateTime`) >= 8 AND HOUR(`dateTime`) <= 18 THEN 'dayTime'
        WHEN HOUR(`dateTime`) <= 6 OR HOUR(`dateTime`) >= 20 THEN 'nightTime'
        ELSE 'otherTime'
    END AS bidTimeType,
    `dateTime`,
    extra,
    count_char(extra, 'c') AS c_counts
FROM bid
WHERE 0.908 * price > 1000000 AND 0.908 * price < 50000000;
