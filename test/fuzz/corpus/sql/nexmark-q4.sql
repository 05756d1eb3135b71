-- The three Nexmark event streams, with the columns and types of the
-- Flink benchmark's views (nexmark/nexmark, nexmark-flink,
-- src/main/resources/queries/ddl_gen.sql and ddl_views.sql, Apache License
-- 2.0) and its watermark: dateTime - 4 s.  TIMESTAMP(3) is sluice's
-- TIMESTAMP (ms); the files come from nexmark_gen (ISO-8601 UTC).
CREATE SOURCE person (
    id           BIGINT,
    name         VARCHAR,
    emailAddress VARCHAR,
    creditCard   VARCHAR,
    city         VARCHAR,
    state        VARCHAR,
    dateTime     TIMESTAMP,
    extra        VARCHAR,
    WATERMARK FOR dateTime AS dateTime - INTERVAL '4' SECOND
);

CREATE SOURCE auction (
    id          BIGINT,
    itemName    VARCHAR,
    description VARCHAR,
    initialBid  BIGINT,
    reserve     BIGINT,
    dateTime    TIMESTAMP,
    expires     TIMESTAMP,
    seller      BIGINT,
    category    BIGINT,
    extra       VARCHAR,
    WATERMARK FOR dateTime AS dateTime - INTERVAL '4' SECOND
);

CREATE SOURCE bid (
    auction  BIGINT,
    bidder   BIGINT,
    price    BIGINT,
    channel  VARCHAR,
    url      VARCHAR,
    dateTime TIMESTAMP,
    extra    VARCHAR,
    WATERMARK FOR dateTime AS dateTime - INTERVAL '4' SECOND
);

-- Nexmark q14's user function (Flink's nexmark declares it the same way),
-- bound by nexmark.test.ini to the C example test/support/count_char_udf.c.
-- q13's side input, a lookup table (FOR SYSTEM_TIME AS OF): Flink's
-- declaration without its WITH clause, bound by [lookup side_input].
CREATE TABLE side_input (
    key     BIGINT,
    `value` VARCHAR
);

CREATE FUNCTION count_char(s VARCHAR, c VARCHAR) RETURNS BIGINT DETERMINISTIC;



CREATE SINK nexmark_q4 AS

SELECT
    Q.category,
    AVG(Q.final)
FROM (
    SELECT MAX(B.price) AS final, A.category
    FROM auction A, bid B
    WHERE A.id = B.auction AND B.`dateTime` BETWEEN A.`dateTime` AND A.expires
    GROUP BY A.id, A.category
) Q
GROUP BY Q.category
;
