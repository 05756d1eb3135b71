-- Oracle of Nexmark q6 (SQLite over oracle/load.sql's tables; times in ms):
-- one reading of a query Flink cannot run: each auction's winning bid (highest price in [dateTime, expires], ties to the earliest), then per seller the average price of its winning bids over the current and 10 preceding ones in dateTime order, one row per winning bid.
WITH won AS (
  SELECT A.id, A.seller, B.price, B.dateTime,
         ROW_NUMBER() OVER (PARTITION BY A.id, A.seller ORDER BY B.price DESC, B.dateTime ASC) AS rownum
  FROM auction A JOIN bid B ON A.id = B.auction
  WHERE B.dateTime BETWEEN A.dateTime AND A.expires)
SELECT seller,
       AVG(price) OVER (PARTITION BY seller ORDER BY dateTime ROWS BETWEEN 10 PRECEDING AND CURRENT ROW) AS avg_price
FROM won WHERE rownum = 1;
