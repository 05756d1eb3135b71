CREATE SOURCE f (ts TIMESTAMP, delay BIGINT, dist DOUBLE, origin VARCHAR, ok BOOLEAN,
                 WATERMARK FOR ts AS ts - INTERVAL '5' MINUTE);
CREATE SOURCE nowm (t2 TIMESTAMP, v BIGINT);
p.sql:1:1: syntax error at 'SELECT': expected CREATE
