-- Nexmark query 12: Processing-time windows: the number of bids of each bidder per 10 s processing-time window.
-- Source: nexmark/nexmark, nexmark-flink/src/main/resources/queries/q12.sql
-- (Apache License 2.0): the SELECT of its INSERT INTO, verbatim.
-- The view B is the query's own (CREATE VIEW in the original).

CREATE VIEW B AS SELECT *, PROCTIME() as p_time FROM bid;

SELECT
    bidder,
    count(*) as bid_count,
    window_start AS starttime,
    window_end AS endtime
FROM TABLE(
        TUMBLE(TABLE B, DESCRIPTOR(p_time), INTERVAL '10' SECOND))
GROUP BY bidder, window_start, window_end;
