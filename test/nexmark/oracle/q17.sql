-- Oracle of Nexmark q17 (SQLite over oracle/load.sql's tables; times in ms):
-- per auction and UTC day, bid counts per price range, MIN, MAX, AVG (DOUBLE) and SUM of price.
SELECT auction, strftime('%Y-%m-%d', dateTime / 1000, 'unixepoch') AS day,
       COUNT(*) AS total_bids,
       COUNT(*) FILTER (WHERE price < 10000) AS rank1_bids,
       COUNT(*) FILTER (WHERE price >= 10000 AND price < 1000000) AS rank2_bids,
       COUNT(*) FILTER (WHERE price >= 1000000) AS rank3_bids,
       MIN(price) AS min_price, MAX(price) AS max_price, AVG(price) AS avg_price, SUM(price) AS sum_price
FROM bid GROUP BY auction, 2;
