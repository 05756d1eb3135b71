-- Moving statistics of monthly stock prices: 90-day windows sliding by
-- 30 days, per symbol.  Each window holds one to three monthly prices.
-- Data: fixtures/data/stocks.csv (five symbols, monthly, 2000-2010).

CREATE SOURCE stocks (
    symbol VARCHAR,
    date   TIMESTAMP FORMAT '%b %d %Y',
    price  DOUBLE,
    WATERMARK FOR date AS date - INTERVAL '1' DAY
);

CREATE SINK moving_avg PRIMARY KEY (window_start, symbol) AS
SELECT window_start, window_end, symbol,
       AVG(price) AS avg_price,
       MAX(price) AS max_price,
       COUNT(*)   AS months
FROM stocks
GROUP BY HOP(date, INTERVAL '30' DAY, INTERVAL '90' DAY), symbol
EMIT APPEND;
