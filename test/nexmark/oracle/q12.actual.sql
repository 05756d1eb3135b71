-- Reduces q12's final rows (table actual: one JSON array per row, times in
-- ms) to what does not depend on arrival time: per bidder, the total
-- bid_count and whether every window is [k * 10 s, (k + 1) * 10 s) (1).
SELECT json_array(bidder, bid_count, windows_aligned) AS content FROM (
  SELECT json_extract(content, '$[0]') AS bidder,
         SUM(json_extract(content, '$[1]')) AS bid_count,
         MIN(json_extract(content, '$[2]') % 10000 = 0
             AND json_extract(content, '$[3]') - json_extract(content, '$[2]') = 10000) AS windows_aligned
  FROM actual GROUP BY 1);
