-- Oracle of Nexmark q2 (SQLite over oracle/load.sql's tables; times in ms):
-- the bids whose auction is a multiple of 123.
SELECT auction, price FROM bid WHERE auction % 123 = 0;
