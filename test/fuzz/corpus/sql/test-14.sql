CREATE SOURCE flights (
    date        TIMESTAMP FORMAT '%Y/%m/%d %H:%M',
    delay       BIGINT,
    distance    BIGINT,
    origin      VARCHAR,
    destination VARCHAR,
    WATERMARK FOR date AS date - INTERVAL '5' MINUTE
);

CREATE SINK delays_by_origin PRIMARY KEY (window_start, origin) AS
SELECT window_start, window_end, origin,
       COUNT(*)   AS flights,
       AVG(delay) AS avg_delay,
       MAX(delay) AS max_delay
FROM flights
WHERE delay IS NOT NULL
GROUP BY TUMBLE(date, INTERVAL '1' HOUR), origin
EMIT APPEND;
