-- Nexmark query 13: Bounded side input join: each bid enriched from a side table keyed by auction mod 10000 (lookup join).
-- Source: nexmark/nexmark, nexmark-flink/src/main/resources/queries/q13.sql
-- (Apache License 2.0): the SELECT of its INSERT INTO, verbatim.
-- The original also declares the table side_input (key BIGINT, `value` VARCHAR),
-- a bounded CSV file: sources.sql declares it, the profile binds it to
-- nexmark_gen's side_input.csv ([lookup side_input]).

SELECT
    B.auction,
    B.bidder,
    B.price,
    B.`dateTime`,
    S.`value`
FROM (SELECT *, PROCTIME() as p_time FROM bid) B
JOIN side_input FOR SYSTEM_TIME AS OF B.p_time AS S
ON mod(B.auction, 10000) = S.key;
