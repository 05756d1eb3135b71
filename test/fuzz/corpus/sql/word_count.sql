-- Word count over a socket, the shape of Spark's structured-streaming
-- example: start `nc -lk 9999`, run this pipeline with `--profile socket`,
-- type lines of text into nc (the test profile reads fixtures/data/words.txt).
-- Each line is split into words (lower-cased, split at spaces: runs of
-- spaces give empty words, which WHERE drops), counted per word per minute
-- of its arrival (the receive time, METADATA FROM 'timestamp').
CREATE SOURCE lines (
    value       VARCHAR,
    received_at TIMESTAMP METADATA FROM 'timestamp',
    WATERMARK FOR received_at AS received_at
);

-- the running count of each word in the current minutes, upserted as lines arrive
CREATE SINK word_counts PRIMARY KEY (window_start, word) AS
SELECT window_start, window_end, word, COUNT(*) AS n
FROM lines CROSS JOIN UNNEST(SPLIT(LOWER(value), ' ')) AS t(word)
WHERE word <> ''
GROUP BY TUMBLE(received_at, INTERVAL '1' MINUTE), word
EMIT UPDATE;

-- the 10 most frequent words of each minute (ties: the word's byte order)
CREATE SINK top_words AS
SELECT window_start, window_end, rank, word, COUNT(*) AS n
FROM lines CROSS JOIN UNNEST(SPLIT(LOWER(value), ' ')) AS t(word)
WHERE word <> ''
GROUP BY TUMBLE(received_at, INTERVAL '1' MINUTE), word
ORDER BY n DESC LIMIT 10
EMIT UPDATE;
