-- Oracle of Nexmark q14 (SQLite over oracle/load.sql's tables; times in ms):
-- bids with 1000000 < 0.908 * price < 50000000, the hour class of their UTC dateTime and count_char(extra, 'c'), the occurrences of 'c' in extra.
SELECT auction, bidder, 0.908 * price AS price,
       CASE WHEN h >= 8 AND h <= 18 THEN 'dayTime'
            WHEN h <= 6 OR h >= 20 THEN 'nightTime'
            ELSE 'otherTime' END AS bidTimeType,
       dateTime, extra,
       length(extra) - length(replace(extra, 'c', '')) AS c_counts
FROM (SELECT *, CAST(strftime('%H', dateTime / 1000, 'unixepoch') AS INTEGER) AS h FROM bid)
WHERE 0.908 * price > 1000000 AND 0.908 * price < 50000000;
