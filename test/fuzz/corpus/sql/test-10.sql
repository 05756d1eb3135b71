CREATE SOURCE f (ts TIMESTAMP, delay BIGINT, dist DOUBLE, origin VARCHAR, ok BOOLEAN,
                 WATERMARK FOR ts AS ts - INTERVAL '5' MINUTE);
CREATE SOURCE nowm (t2 TIMESTAMP, v BIGINT);
CREATE SINK o PRIMARY KEY (origin, window_start) AS SELECT window_start, origin, COUNT(*) AS n FROM f GROUP BY TUMBLE(ts, INTERVAL '1' HOUR), origin;
