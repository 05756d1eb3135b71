CREATE FUNCTION count_char(s VARCHAR, c VARCHAR) RETURNS BIGINT;
CREATE SOURCE bid (auction BIGINT, price BIGINT, url VARCHAR, extra VARCHAR, dateTime TIMESTAMP,
                   WATERMARK FOR dateTime AS dateTime - INTERVAL '1' SECOND);
CREATE SINK f AS
SELECT MOD(auction, 10) AS m, url || '#' || extra AS c, CONCAT_WS('/', url, NULL, extra) AS cw,
       REPLACE(url, 'http', 'https') AS r, SPLIT_INDEX(url, '/', 3) AS si,
       REGEXP(url, '^https?://') AS re, REGEXP_EXTRACT(url, '(&|^)channel_id=([^&]*)', 2) AS rx,
       REGEXP_REPLACE(extra, '(\w+)@(\w+)', '$2 at $1') AS rr, JSON_VALUE(extra, '$.a[0].b') AS jv,
       DATE_FORMAT(dateTime, 'yyyy-MM-dd''T''HH:mm:ss.SSS') AS df, TO_TIMESTAMP(extra, 'yyyyMMdd') AS tt,
       EXTRACT(DOW FROM dateTime) AS dow, HOUR(dateTime) AS h, WEEK(dateTime) AS w,
       TIMESTAMPADD(MONTH, 1, dateTime) AS ta, TIMESTAMPDIFF(SECOND, dateTime, CURRENT_TIMESTAMP) AS td,
       GREATEST(price, 1, 2.5) AS g, LEAST(url, extra) AS l, IF(price > 10, 'hi', 'lo') AS i,
       NULLIF(price, 0) AS n, count_char(extra, 'c') AS cc, NOW() AS now1
FROM bid
WHERE DAYOFWEEK(dateTime) BETWEEN 2 AND 6;
