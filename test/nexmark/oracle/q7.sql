-- Oracle of Nexmark q7 (SQLite over oracle/load.sql's tables; times in ms):
-- the bids whose price is the maximum of a 10 s tumbling window and whose dateTime lies in [window_end - 10 s, window_end] (both ends included, as BETWEEN).
WITH B1 AS (SELECT MAX(price) AS maxprice, (dateTime / 10000) * 10000 + 10000 AS dt
            FROM bid GROUP BY dateTime / 10000)
SELECT B.auction, B.price, B.bidder, B.dateTime, B.extra
FROM bid B JOIN B1 ON B.price = B1.maxprice
WHERE B.dateTime BETWEEN B1.dt - 10000 AND B1.dt;
