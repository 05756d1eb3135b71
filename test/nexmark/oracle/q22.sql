-- Oracle of Nexmark q22 (SQLite over oracle/load.sql's tables; times in ms):
-- the pieces 3, 4, 5 (0-based) of the url split at '/', NULL past the last piece (SPLIT_INDEX).
WITH RECURSIVE parts(auction, bidder, price, channel, url, rowid_, i, piece, rest) AS (
  SELECT auction, bidder, price, channel, url, rowid, 0,
         CASE WHEN instr(url, '/') > 0 THEN substr(url, 1, instr(url, '/') - 1) ELSE url END,
         CASE WHEN instr(url, '/') > 0 THEN substr(url, instr(url, '/') + 1) END
  FROM bid
  UNION ALL
  SELECT auction, bidder, price, channel, url, rowid_, i + 1,
         CASE WHEN instr(rest, '/') > 0 THEN substr(rest, 1, instr(rest, '/') - 1) ELSE rest END,
         CASE WHEN instr(rest, '/') > 0 THEN substr(rest, instr(rest, '/') + 1) END
  FROM parts WHERE rest IS NOT NULL AND i < 5)
SELECT auction, bidder, price, channel,
       MAX(CASE WHEN i = 3 THEN piece END) AS dir1,
       MAX(CASE WHEN i = 4 THEN piece END) AS dir2,
       MAX(CASE WHEN i = 5 THEN piece END) AS dir3
FROM parts GROUP BY rowid_;
