-- Oracle of Nexmark q1 (SQLite over oracle/load.sql's tables; times in ms):
-- every bid, the price times 0.908 as a DOUBLE.
SELECT auction, bidder, 0.908 * price AS price, dateTime, extra FROM bid;
