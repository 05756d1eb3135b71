-- Oracle of Nexmark q13 (SQLite over oracle/load.sql's tables; times in ms):
-- every bid joined with the side input row of key auction mod 10000; the side input is taken to hold (k, 'k') for k in [0, 10000) (the original reads a file; with a lookup join the result does not depend on arrival time as the side input does not change).
SELECT auction, bidder, price, dateTime, CAST(auction % 10000 AS TEXT) AS value FROM bid;
