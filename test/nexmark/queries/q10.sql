-- Nexmark query 10: Log to file system: every bid with its day and minute (DATE_FORMAT), for a partitioned sink.
-- Source: nexmark/nexmark, nexmark-flink/src/main/resources/queries/q10.sql
-- (Apache License 2.0): the SELECT of its INSERT INTO, verbatim.

SELECT auction, bidder, price, `dateTime`, extra, DATE_FORMAT(`dateTime`, 'yyyy-MM-dd'), DATE_FORMAT(`dateTime`, 'HH:mm')
FROM bid;
