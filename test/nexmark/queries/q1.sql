-- Nexmark query 1: Currency conversion: each bid's price from dollars to euros.
-- Source: nexmark/nexmark, nexmark-flink/src/main/resources/queries/q1.sql
-- (Apache License 2.0): the SELECT of its INSERT INTO, verbatim.

SELECT
    auction,
    bidder,
    0.908 * price as price, -- convert dollar to euro
    `dateTime`,
    extra
FROM bid;
