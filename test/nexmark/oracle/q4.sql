-- Oracle of Nexmark q4 (SQLite over oracle/load.sql's tables; times in ms):
-- per category, the average (DOUBLE) of each auction's highest bid placed between its dateTime and expires (both included).
SELECT category, AVG(final) AS avg_final
FROM (SELECT MAX(B.price) AS final, A.category AS category
      FROM auction A JOIN bid B ON A.id = B.auction
      WHERE B.dateTime BETWEEN A.dateTime AND A.expires
      GROUP BY A.id, A.category)
GROUP BY category;
