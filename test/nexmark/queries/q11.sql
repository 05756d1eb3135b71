-- Nexmark query 11: User sessions: the number of bids of each bidder per session with a 10 s gap.
-- Source: nexmark/nexmark, nexmark-flink/src/main/resources/queries/q11.sql
-- (Apache License 2.0): the SELECT of its INSERT INTO, verbatim.

SELECT
    B.bidder,
    count(*) as bid_count,
    SESSION_START(B.dateTime, INTERVAL '10' SECOND) as starttime,
    SESSION_END(B.dateTime, INTERVAL '10' SECOND) as endtime
FROM bid B
GROUP BY B.bidder, SESSION(B.dateTime, INTERVAL '10' SECOND);
