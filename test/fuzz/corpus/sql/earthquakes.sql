-- Alerts: every earthquake of magnitude 5 or more, as it arrives.
-- Data: fixtures/data/earthquakes.jsonl (USGS feed, one GeoJSON Feature per
-- line, 2018-01-31 to 2018-02-07).

CREATE SOURCE quakes (
    time  TIMESTAMP FORMAT 'epoch_ms' PATH '$.properties.time',
    id    VARCHAR,
    place VARCHAR PATH '$.properties.place',
    mag   DOUBLE  PATH '$.properties.mag',
    depth DOUBLE  PATH '$.geometry.coordinates[2]',
    WATERMARK FOR time AS time - INTERVAL '1' MINUTE
);

CREATE SINK strong_quakes AS
SELECT time, id, place, mag, depth,
       CASE WHEN mag >= 7.0 THEN 'major'
            WHEN mag >= 6.0 THEN 'strong'
            ELSE 'moderate'
       END AS severity
FROM quakes
WHERE mag >= 5.0;
