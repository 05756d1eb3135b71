-- Oracle of Nexmark q10 (SQLite over oracle/load.sql's tables; times in ms):
-- every bid with DATE_FORMAT 'yyyy-MM-dd' and 'HH:mm' of its dateTime (UTC).
SELECT auction, bidder, price, dateTime, extra,
       strftime('%Y-%m-%d', dateTime / 1000, 'unixepoch') AS dt,
       strftime('%H:%M', dateTime / 1000, 'unixepoch') AS hm
FROM bid;
