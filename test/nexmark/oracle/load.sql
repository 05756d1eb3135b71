-- Loads nexmark_gen's three JSON-lines files (from the current directory)
-- into the tables person, auction and bid of the Nexmark views, with every
-- TIMESTAMP as integer milliseconds since the epoch (UTC).  Run by
-- run_nexmark.sh with sqlite3 in the data directory.
CREATE TABLE raw_person(line TEXT);
CREATE TABLE raw_auction(line TEXT);
CREATE TABLE raw_bid(line TEXT);
.mode ascii
.separator "\037" "\n"
.import person.json raw_person
.import auction.json raw_auction
.import bid.json raw_bid
.mode list

-- '2015-07-15T00:00:01.250Z' -> 1436918401250 (nexmark_gen always writes
-- the milliseconds and the Z)

CREATE TABLE person AS
SELECT json_extract(line, '$.id') AS id,
       json_extract(line, '$.name') AS name,
       json_extract(line, '$.emailAddress') AS emailAddress,
       json_extract(line, '$.creditCard') AS creditCard,
       json_extract(line, '$.city') AS city,
       json_extract(line, '$.state') AS state,
       CAST(strftime('%s', substr(json_extract(line, '$.dateTime'), 1, 19)) AS INTEGER) * 1000
         + CAST(substr(json_extract(line, '$.dateTime'), 21, 3) AS INTEGER) AS dateTime,
       json_extract(line, '$.extra') AS extra
FROM raw_person ORDER BY rowid;

CREATE TABLE auction AS
SELECT json_extract(line, '$.id') AS id,
       json_extract(line, '$.itemName') AS itemName,
       json_extract(line, '$.description') AS description,
       json_extract(line, '$.initialBid') AS initialBid,
       json_extract(line, '$.reserve') AS reserve,
       CAST(strftime('%s', substr(json_extract(line, '$.dateTime'), 1, 19)) AS INTEGER) * 1000
         + CAST(substr(json_extract(line, '$.dateTime'), 21, 3) AS INTEGER) AS dateTime,
       CAST(strftime('%s', substr(json_extract(line, '$.expires'), 1, 19)) AS INTEGER) * 1000
         + CAST(substr(json_extract(line, '$.expires'), 21, 3) AS INTEGER) AS expires,
       json_extract(line, '$.seller') AS seller,
       json_extract(line, '$.category') AS category,
       json_extract(line, '$.extra') AS extra
FROM raw_auction ORDER BY rowid;

CREATE TABLE bid AS
SELECT json_extract(line, '$.auction') AS auction,
       json_extract(line, '$.bidder') AS bidder,
       json_extract(line, '$.price') AS price,
       json_extract(line, '$.channel') AS channel,
       json_extract(line, '$.url') AS url,
       CAST(strftime('%s', substr(json_extract(line, '$.dateTime'), 1, 19)) AS INTEGER) * 1000
         + CAST(substr(json_extract(line, '$.dateTime'), 21, 3) AS INTEGER) AS dateTime,
       json_extract(line, '$.extra') AS extra
FROM raw_bid ORDER BY rowid;

DROP TABLE raw_person;
DROP TABLE raw_auction;
DROP TABLE raw_bid;
