-- Oracle of Nexmark q12 (SQLite over oracle/load.sql's tables; times in ms):
-- processing time: which window a bid falls in depends on when it is read, so the comparison is per bidder of the total bid_count over its windows, and whether every window is 10 s long and aligned to the epoch (1); q12.actual.sql reduces sluice's rows the same way.
SELECT bidder, COUNT(*) AS bid_count, 1 AS windows_aligned FROM bid GROUP BY bidder;
