-- Nexmark query 3: Local item suggestion: sellers in OR, ID or CA of auctions in category 10 (regular join).
-- Source: nexmark/nexmark, nexmark-flink/src/main/resources/queries/q3.sql
-- (Apache License 2.0): the SELECT of its INSERT INTO, verbatim.

SELECT
    P.name, P.city, P.state, A.id
FROM
    auction AS A INNER JOIN person AS P on A.seller = P.id
WHERE
    A.category = 10 and (P.state = 'OR' OR P.state = 'ID' OR P.state = 'CA');
