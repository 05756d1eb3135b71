-- Oracle of Nexmark q8 (SQLite over oracle/load.sql's tables; times in ms):
-- the persons who created an auction in the 10 s tumbling window they registered in.
WITH P AS (SELECT DISTINCT id, name, (dateTime / 10000) * 10000 AS starttime FROM person),
     A AS (SELECT DISTINCT seller, (dateTime / 10000) * 10000 AS starttime FROM auction)
SELECT P.id, P.name, P.starttime FROM P JOIN A ON P.id = A.seller AND P.starttime = A.starttime;
