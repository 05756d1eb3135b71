-- Oracle of Nexmark q0 (SQLite over oracle/load.sql's tables; times in ms):
-- every bid.
SELECT auction, bidder, price, dateTime, extra FROM bid;
