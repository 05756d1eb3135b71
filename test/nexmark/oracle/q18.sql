-- Oracle of Nexmark q18 (SQLite over oracle/load.sql's tables; times in ms):
-- per (bidder, auction), its bid with the latest dateTime (nexmark_gen gives every event its own millisecond, so there are no ties at 20,000 events and rates up to 1000/s).
SELECT auction, bidder, price, channel, url, dateTime, extra
FROM (SELECT *, ROW_NUMBER() OVER (PARTITION BY bidder, auction ORDER BY dateTime DESC) AS rank_number FROM bid)
WHERE rank_number <= 1;
