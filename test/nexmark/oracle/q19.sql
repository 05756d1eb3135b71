-- Oracle of Nexmark q19 (SQLite over oracle/load.sql's tables; times in ms):
-- per auction, its 10 bids of highest price with their rank 1..10 (ties in price, for which ROW_NUMBER's order is not defined, broken by the earlier dateTime).
SELECT auction, bidder, price, channel, url, dateTime, extra, rank_number
FROM (SELECT *, ROW_NUMBER() OVER (PARTITION BY auction ORDER BY price DESC, dateTime ASC) AS rank_number FROM bid)
WHERE rank_number <= 10;
