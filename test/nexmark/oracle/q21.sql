-- Oracle of Nexmark q21 (SQLite over oracle/load.sql's tables; times in ms):
-- channel ids: '0'..'3' for the hot channels (case-insensitive), else the text after '&channel_id=' (or a leading 'channel_id=') up to the next '&', as REGEXP_EXTRACT(url, '(&|^)channel_id=([^&]*)', 2); rows with neither are dropped.
WITH x AS (
  SELECT *,
         CASE WHEN instr(url, '&channel_id=') > 0 THEN substr(url, instr(url, '&channel_id=') + 12)
              WHEN url LIKE 'channel_id=%' THEN substr(url, 12) END AS tail
  FROM bid),
y AS (SELECT *, CASE WHEN tail IS NULL THEN NULL
                     WHEN instr(tail, '&') > 0 THEN substr(tail, 1, instr(tail, '&') - 1)
                     ELSE tail END AS extracted
      FROM x)
SELECT auction, bidder, price, channel,
       CASE lower(channel) WHEN 'apple' THEN '0' WHEN 'google' THEN '1' WHEN 'facebook' THEN '2' WHEN 'baidu' THEN '3'
            ELSE extracted END AS channel_id
FROM y
WHERE extracted IS NOT NULL OR lower(channel) IN ('apple', 'google', 'facebook', 'baidu');
