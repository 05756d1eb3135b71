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



CREATE SINK nexmark_q13 AS

SELECT
    B.auction,
    B.bidder,
    B.price,
    B.`dateTime`,
    S.`value`
FROM (SELECT *, PROCTIME() as p_time FROM bid) B
JOIN side_input FOR SYSTEM_TIME AS OF B.p_time AS S
ON mod(B.auction, 10000) = S.key
;
