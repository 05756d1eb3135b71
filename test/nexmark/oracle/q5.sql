-- Oracle of Nexmark q5 (SQLite over oracle/load.sql's tables; times in ms):
-- per HOP window (2 s slide, 10 s size, [start, end) aligned to the epoch; a bid at t is in the 5 windows starting at floor(t/2000)*2000 - k*2000, k = 0..4), the auctions whose bid count equals the window's maximum.
WITH w AS (
  SELECT b.auction, (b.dateTime / 2000) * 2000 - k.k * 2000 AS ws
  FROM bid b, (SELECT 0 AS k UNION ALL SELECT 1 UNION ALL SELECT 2 UNION ALL SELECT 3 UNION ALL SELECT 4) k),
c AS (SELECT auction, ws, COUNT(*) AS num FROM w GROUP BY auction, ws),
m AS (SELECT ws, MAX(num) AS maxn FROM c GROUP BY ws)
SELECT c.auction, c.num FROM c JOIN m ON c.ws = m.ws AND c.num >= m.maxn;
