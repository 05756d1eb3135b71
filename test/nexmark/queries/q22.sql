-- Nexmark query 22: Get URL directories: the first three directories of each bid's url (SPLIT_INDEX).
-- Source: nexmark/nexmark, nexmark-flink/src/main/resources/queries/q22.sql
-- (Apache License 2.0): the SELECT of its INSERT INTO, verbatim.

SELECT
    auction, bidder, price, channel,
    SPLIT_INDEX(url, '/', 3) as dir1,
    SPLIT_INDEX(url, '/', 4) as dir2,
    SPLIT_INDEX(url, '/', 5) as dir3 FROM bid;
