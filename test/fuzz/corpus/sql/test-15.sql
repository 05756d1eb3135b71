CREATE SOURCE f (ts TIMESTAMP, delay BIGINT, dist DOUBLE, origin VARCHAR, ok BOOLEAN,
                 WATERMARK FOR ts AS ts - INTERVAL '5' MINUTE);
CREATE SOURCE nowm (t2 TIMESTAMP, v BIGINT);
CREATE SINK alerts AS SELECT date, origin, delay FROM flights WHERE delay > 60
