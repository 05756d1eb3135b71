-- Oracle of Nexmark q3 (SQLite over oracle/load.sql's tables; times in ms):
-- the inner join's final result (every matching pair, whatever the arrival order).
SELECT P.name, P.city, P.state, A.id
FROM auction AS A JOIN person AS P ON A.seller = P.id
WHERE A.category = 10 AND P.state IN ('OR', 'ID', 'CA');
