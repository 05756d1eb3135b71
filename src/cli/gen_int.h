/*
 * sluice-gen internals: the seeded random source, the synthetic streams and
 * the outputs (a JSON-lines file or a Kafka topic).
 */
#ifndef SLUICE_CLI_GEN_INT_H
#define SLUICE_CLI_GEN_INT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* ---------------- random source ---------------- */

/** xoshiro256** (Blackman and Vigna), its state seeded by splitmix64.  The
 *  same (seed, stream) always yields the same sequence on every platform. */
typedef struct sluice_gen_rng {
    uint64_t s[4];
} sluice_gen_rng;

/** Seed r from seed and a stream number; different stream numbers give
 *  independent sequences for the same seed. */
void sluice_gen_rng_seed(sluice_gen_rng *r, uint64_t seed, uint64_t stream);

/** The next 64 random bits. */
uint64_t sluice_gen_rng_next(sluice_gen_rng *r);

/** A uniform integer in [0, n) (n > 0), by rejection, without bias. */
uint64_t sluice_gen_rng_below(sluice_gen_rng *r, uint64_t n);

/** A uniform integer in [lo, hi] (lo <= hi). */
int64_t sluice_gen_rng_range(sluice_gen_rng *r, int64_t lo, int64_t hi);

/** A uniform double in [0, 1) with 53 random bits. */
double sluice_gen_rng_unit(sluice_gen_rng *r);

/* ---------------- streams ---------------- */

typedef struct sluice_gen_writer sluice_gen_writer;

/** The JSON type of a generated field. */
typedef enum sluice_gen_type {
    SLUICE_GEN_INT,       /**< JSON integer */
    SLUICE_GEN_DECIMAL,   /**< JSON number with two decimals */
    SLUICE_GEN_STRING,    /**< JSON string */
    SLUICE_GEN_TIMESTAMP  /**< JSON string, ISO-8601 UTC with milliseconds */
} sluice_gen_type;

/** One field of a stream's records, in output order. */
typedef struct sluice_gen_field {
    const char *name;
    sluice_gen_type type;
} sluice_gen_field;

/** A synthetic stream: its name, one-line description and fields. */
typedef struct sluice_gen_stream {
    const char *name;
    const char *description;
    const sluice_gen_field *fields;
    size_t nfields;
    void *(*state_new)(void);
    void (*state_free)(void *state);
    /* Write one record's fields with the record writer. */
    void (*record)(void *state, sluice_gen_writer *w, sluice_gen_rng *r, uint64_t index);
} sluice_gen_stream;

/** The streams, in help order; *n receives their number. */
const sluice_gen_stream *sluice_gen_streams(size_t *n);

/** The stream named name, or NULL. */
const sluice_gen_stream *sluice_gen_stream_find(const char *name);

/** Index of the field named name in s, or -1. */
int sluice_gen_stream_field(const sluice_gen_stream *s, const char *name);

/** Generation settings.  Times are milliseconds since the epoch (UTC). */
typedef struct sluice_gen_options {
    uint64_t count;             /**< records (lines) to produce */
    uint64_t seed;
    int64_t start_ms;           /**< event time of the first record */
    double event_rate;          /**< records per second of event time, > 0 */
    double late_fraction;       /**< share of records made late, [0, 1] */
    int64_t late_by_ms;         /**< how far a late record lags, ms */
    double malformed_fraction;  /**< share of lines made malformed, [0, 1] */
} sluice_gen_options;

typedef struct sluice_gen sluice_gen;

/** A generator of stream s under options o (copied).  NULL when out of
 *  memory.  Free with sluice_gen_destroy(). */
sluice_gen *sluice_gen_new(const sluice_gen_stream *s, const sluice_gen_options *o);

/** The next line, without its newline, into *line (borrowed until the next
 *  call or sluice_gen_destroy()) and *len.  Returns 0, or -1 once count
 *  lines were produced.
 *
 *  Record i (from 0) has event time start_ms + floor(i * 1000 / event_rate).
 *  Three independent random sequences of the seed decide the values, the
 *  late records and the malformed lines, so a record that is neither late
 *  nor malformed is byte-identical to the same record of a run without
 *  late or malformed fractions.  A late record's event time is late_by_ms
 *  before its place in the sequence.  A malformed line is one of: the record
 *  cut short (invalid JSON), a line of text that is not JSON, or the record
 *  with one field of the wrong JSON type (a number as a string, a string as
 *  an object, the timestamp as a boolean). */
int sluice_gen_next(sluice_gen *g, const char **line, size_t *len);

/** NULL-safe. */
void sluice_gen_destroy(sluice_gen *g);

/** Render ms as ISO-8601 UTC `YYYY-MM-DDTHH:MM:SS.mmmZ` into buf (at least
 *  32 bytes).  Returns the length. */
size_t sluice_gen_ts_render(int64_t ms, char *buf, size_t size);

/* ---------------- record writer ---------------- */

/** Builds one JSON object; each call appends one field of the stream, in
 *  the stream's field order. */
struct sluice_gen_writer {
    char *buf;
    size_t len, cap;
    int field;      /* index of the next field */
    int wrong_type; /* field written with the wrong JSON type, or -1 */
    int64_t ts_ms;  /* the record's event time, ms since the epoch */
};

/** Append an integer field. */
void sluice_gen_write_int(sluice_gen_writer *w, const char *name, int64_t v);
/** Append a number with two decimals from hundredths (cents). */
void sluice_gen_write_cents(sluice_gen_writer *w, const char *name, int64_t cents);
/** Append a string field (escaped as JSON). */
void sluice_gen_write_str(sluice_gen_writer *w, const char *name, const char *v);
/** Append the record's event time as an ISO-8601 string. */
void sluice_gen_write_ts(sluice_gen_writer *w, const char *name);

/* ---------------- keys ---------------- */

/** The Kafka key of a JSON-lines record: the value of top-level field
 *  column — a string's characters, any other value as compact JSON.
 *  Returns a malloc'd NUL-terminated key (caller frees) with *len set, or
 *  NULL when the line is not a JSON object, lacks the field or holds null
 *  there. */
char *sluice_gen_key_of(const char *line, size_t len, const char *column, size_t *keylen);

/* ---------------- outputs ---------------- */

typedef struct sluice_gen_output sluice_gen_output;

/** Kafka output settings. */
typedef struct sluice_gen_kafka_options {
    const char *bootstrap;
    const char *topic;
    int partition_by_key;     /**< murmur2 partitioner (the Java client's) */
    const char **properties;  /**< "K=V" librdkafka properties */
    size_t nproperties;
} sluice_gen_kafka_options;

/** Open a JSON-lines file (path NULL or "-" = standard output). */
sluice_gen_output *sluice_gen_output_file(const char *path, char *errstr, size_t errstr_size);

/** Open an idempotent Kafka producer (acks=all).  NULL with errstr filled
 *  on a bad property or when built without Kafka support. */
sluice_gen_output *sluice_gen_output_kafka(const sluice_gen_kafka_options *o, char *errstr,
                                           size_t errstr_size);

/** Write one record (line without newline; key NULL = no key).  Returns 0,
 *  or -1 with errstr filled. */
int sluice_gen_output_write(sluice_gen_output *out, const char *line, size_t len, const char *key,
                            size_t keylen, char *errstr, size_t errstr_size);

/** Let the output do background work (serve delivery reports). */
void sluice_gen_output_poll(sluice_gen_output *out);

/** Flush and close: every record written, or for Kafka acknowledged.
 *  Returns 0, or -1 with errstr filled when anything failed (a write error,
 *  a failed delivery).  *delivered (may be NULL) receives the number of
 *  records written or acknowledged.  Frees out; NULL-safe. */
int sluice_gen_output_close(sluice_gen_output *out, uint64_t *delivered, char *errstr,
                            size_t errstr_size);

#endif
