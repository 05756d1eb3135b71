-- Oracle of Nexmark q11 (SQLite over oracle/load.sql's tables; times in ms):
-- per bidder, sessions as Flink merges them: a bid at most 10 s after the previous one of the bidder joins its session (Flink's TimeWindow.intersects counts touching windows as overlapping); a session is [first, last + 10 s).
WITH o AS (
  SELECT bidder, dateTime,
         CASE WHEN dateTime - LAG(dateTime) OVER (PARTITION BY bidder ORDER BY dateTime) <= 10000 THEN 0 ELSE 1 END AS new_session
  FROM bid),
s AS (SELECT bidder, dateTime,
             SUM(new_session) OVER (PARTITION BY bidder ORDER BY dateTime ROWS UNBOUNDED PRECEDING) AS sid
      FROM o)
SELECT bidder, COUNT(*) AS bid_count, MIN(dateTime) AS starttime, MAX(dateTime) + 10000 AS endtime
FROM s GROUP BY bidder, sid;
