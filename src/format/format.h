/*
 * sluice formats — decoding record values into typed columns, parsing and
 * rendering timestamps, rendering values as text, and writing rows as CSV
 * or JSON lines (private to the engine).
 *
 * JSON decoding uses simdjson's On-Demand API through a thin C++ adapter
 * (json_decoder.cpp); CSV uses libcsv.  Rows are written by rendering
 * them into an output buffer (outbuf.h); numbers by number_format.h.
 */
#ifndef SLUICE_FORMAT_H
#define SLUICE_FORMAT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "base/json_string.h"
#include "base/utf8.h"
#include "format/outbuf.h"
#include "sluice/arena.h"
#include "sluice/error.h"
#include "sluice/value.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---------------- timestamps ---------------- */

typedef struct sluice_ts_format sluice_ts_format;

/** Compile a TIMESTAMP FORMAT: a strptime pattern interpreted as UTC
 *  ('%Y/%m/%d %H:%M'), or 'epoch_ms' / 'epoch_s' for numbers.  A NULL or
 *  empty pattern means ISO-8601.  Common directives (%Y %m %d %H %M %S %b
 *  %e %%, literal characters) take a fast path; others fall back to
 *  strptime(3)+timegm(3).  Returns SLUICE_ERR_INVALID with errstr quoting
 *  the pattern on an unusable pattern.  Free with sluice_ts_format_free(). */
sluice_err_t sluice_ts_format_compile(const char *pattern, sluice_ts_format **out,
                                      char *errstr, size_t errstr_size);
void sluice_ts_format_free(sluice_ts_format *f);

/** 1 when the format is epoch_ms or epoch_s (expects a number). */
int sluice_ts_format_is_epoch(const sluice_ts_format *f);

/** Parse text (len bytes, not NUL-terminated) with format f (NULL = ISO-8601:
 *  `2001-01-01T00:47:00Z`, `2001-01-01 00:47:00`, `2001-01-01`, optional
 *  `.fff` fraction (kept to ms), zone `Z` or `±HH:MM`/`±HHMM`; no zone = UTC)
 *  into milliseconds since the epoch.  For epoch formats the text must be a
 *  number.  Returns 0 on success, -1 when the text does not match or the
 *  time is outside Flink's TIMESTAMP(3) range, 0000-01-01 00:00:00.000 to
 *  9999-12-31 23:59:59.999 UTC. */
int sluice_ts_parse(const sluice_ts_format *f, const char *text, size_t len, int64_t *ms);

/** 1 when ms (since the Unix epoch) is within Flink's TIMESTAMP(3) range,
 *  0000-01-01 00:00:00.000 to 9999-12-31 23:59:59.999 UTC: the range every
 *  TIMESTAMP that enters the engine keeps to, so that window ends and
 *  watermarks never overflow. */
int sluice_ts_in_range(int64_t ms);

/** Convert a JSON number under an epoch format (or ms when f is NULL is
 *  NOT allowed: returns -1).  epoch_s may be fractional.  -1 outside the
 *  range of sluice_ts_parse(). */
int sluice_ts_from_number(const sluice_ts_format *f, double num, int64_t *ms);

/** Render ms as `YYYY-MM-DD HH:MM:SS` UTC, with `.mmm` only when the
 *  milliseconds are non-zero.  Returns the length written (buf needs 32
 *  bytes). */
size_t sluice_ts_render(int64_t ms, char *buf, size_t size);

/** Days since 1970-01-01 of a proleptic Gregorian date (Hinnant's
 *  days_from_civil). */
int64_t sluice_days_from_civil(int64_t y, unsigned m, unsigned d);

/* ---------------- value rendering ---------------- */

/** Render a value as text (profiles.md "Value rendering"): BIGINT decimal;
 *  DOUBLE the fewest digits that read back to the same double, laid out
 *  as %g would (sluice_fmt_double in number_format.h: "0.1", "1e+21";
 *  "nan", "inf", "-inf" for non-finite); VARCHAR its bytes, with
 *  ill-formed UTF-8 replaced by U+FFFD per maximal subpart;
 *  BOOLEAN true/false; TIMESTAMP per sluice_ts_render; INTERVAL ms; ARRAY
 *  its JSON text (["a",null,1,true]: strings and timestamps quoted, NULL
 *  and non-finite doubles null); NULL the empty string.  Writes at most size-1 bytes plus NUL; returns the
 *  full length (like snprintf). */
size_t sluice_value_render(const sluice_value *v, char *buf, size_t size);

/** The whole of sluice_value_render's text for v (an ARRAY's JSON text can
 *  be of any length), NUL-terminated, in a buffer to free() with free();
 *  *len set to its length.  NULL when out of memory. */
char *sluice_value_render_alloc(const sluice_value *v, size_t *len);

/* ---------------- decoding ---------------- */

/** What to take from each record for one column. */
typedef struct sluice_field_spec {
    const char *name;                  /**< top-level JSON key / CSV header name */
    const char *path;                  /**< PATH '$.a.b[0]', or NULL: use name */
    sluice_type_t type;                /**< BIGINT DOUBLE VARCHAR BOOLEAN TIMESTAMP ARRAY (JSON only) */
    sluice_type_t elem_type;           /**< ARRAY: its elements' type (a scalar) */
    const sluice_ts_format *ts_format; /**< TIMESTAMP: borrowed; NULL = ISO-8601 */
} sluice_field_spec;

typedef enum sluice_format_kind {
    SLUICE_FORMAT_JSON = 1,
    SLUICE_FORMAT_CSV = 2,
    SLUICE_FORMAT_LINES = 3   /**< the record is one VARCHAR (or converted) value */
} sluice_format_kind;

typedef struct sluice_decoder sluice_decoder;

typedef struct sluice_decoder_options {
    sluice_format_kind format;
    char csv_delimiter;           /**< default ',' when 0 */
    const char *csv_header;       /**< header line (names), or NULL: fields
                                       are taken in spec order */
    size_t csv_header_len;
} sluice_decoder_options;

/** Create a decoder producing nfields values per record.  specs are
 *  borrowed and must outlive the decoder.  For CSV with a header, a spec
 *  name missing from the header is SLUICE_ERR_CONFIG ("column 'x' is not
 *  in the CSV header"); a PATH is SLUICE_ERR_CONFIG for CSV.
 *  Free with sluice_decoder_free(). */
sluice_err_t sluice_decoder_new(const sluice_decoder_options *opts,
                                const sluice_field_spec *specs, size_t nfields,
                                sluice_decoder **out, char *errstr, size_t errstr_size);

/** Decode one record value (len bytes; for JSON at least
 *  SLUICE_RECORD_PADDING readable bytes must follow) into out[0..nfields).
 *  A missing field (JSON key absent, JSON null, CSV empty field for
 *  non-VARCHAR, CSV row shorter than the header) is NULL; an empty CSV field
 *  of a VARCHAR column is the empty string.  JSON number -> BIGINT needs an
 *  integral value; a JSON string converts to BIGINT/DOUBLE/BOOLEAN only when
 *  it parses completely; TIMESTAMP from a string per ts_format, from a number
 *  only under epoch formats.  BOOLEAN takes JSON true/false, the numbers
 *  0/1, or the text true/false/1/0 (any case).  VARCHAR from a JSON number,
 *  boolean, object or array is its JSON text.  An ARRAY column (JSON only)
 *  takes a JSON array, each element converted to elem_type by the rules
 *  above (so under ARRAY<VARCHAR> an object or array element is its JSON
 *  text, and JSON null is a NULL element), as Flink's JSON format does;
 *  anything else, or an element that does not convert, makes the record
 *  malformed.  A CSV record with more
 *  fields than the header (without a header: than nfields) is malformed.
 *  VARCHAR bytes are copied into `arena`.
 *  Returns SLUICE_ERR_MALFORMED with `reason` (e.g. "invalid JSON",
 *  "column 'delay': expected BIGINT, got \"abc\"") when the record is bad;
 *  then out is unspecified. */
sluice_err_t sluice_decoder_decode(sluice_decoder *d, const char *data, size_t len,
                                   sluice_value *out, sluice_arena *arena,
                                   char *reason, size_t reason_size);

void sluice_decoder_free(sluice_decoder *d);

/* ---------------- writing ---------------- */

/** Write the CSV header line (column names, quoted when needed) + "\n".
 *  Returns SLUICE_ERR_IO on a write error. */
sluice_err_t sluice_csv_write_header(FILE *f, const sluice_column *cols, size_t ncols,
                                     char delimiter);

/** Write one row as a CSV line: values rendered per sluice_value_render,
 *  NULL as an empty field, an empty VARCHAR as "", quoted per RFC 4180
 *  when needed (the delimiter, a quote, CR or LF inside).  Ill-formed UTF-8
 *  becomes U+FFFD per maximal subpart, as in sluice_json_write_string. */
sluice_err_t sluice_csv_write_row(FILE *f, const sluice_value *row, size_t ncols,
                                  char delimiter);

/** Write one row as a JSON object line `{"col":value,...}\n`: numbers as
 *  JSON numbers (non-finite DOUBLE as null), BOOLEAN as true/false,
 *  TIMESTAMP as a string per sluice_ts_render, VARCHAR as a string, NULL as
 *  null.  Keys in column order. */
sluice_err_t sluice_json_write_row(FILE *f, const sluice_column *cols,
                                   const sluice_value *row, size_t ncols);

/** The text of sluice_csv_write_header, appended to o (one write per
 *  batch: the sink writes o).  Returns SLUICE_ERR_NOMEM when o could not
 *  grow (o->failed is set then), else SLUICE_OK. */
sluice_err_t sluice_csv_render_header(sluice_outbuf *o, const sluice_column *cols, size_t ncols,
                                      char delimiter);

/** The text of sluice_csv_write_row, appended to o; errors as
 *  sluice_csv_render_header. */
sluice_err_t sluice_csv_render_row(sluice_outbuf *o, const sluice_value *row, size_t ncols,
                                   char delimiter);

/** The text of sluice_json_write_row, appended to o; errors as
 *  sluice_csv_render_header. */
sluice_err_t sluice_json_render_row(sluice_outbuf *o, const sluice_column *cols,
                                    const sluice_value *row, size_t ncols);

/** The keys of a JSON row, escaped once for every row a sink writes. */
typedef struct sluice_json_keys sluice_json_keys;

/** Escape the names of cols[0..ncols) for sluice_json_render_row_keys;
 *  cols need not outlive the result.  SLUICE_ERR_NOMEM when out of memory.
 *  Free with sluice_json_keys_free() (NULL is fine). */
sluice_err_t sluice_json_keys_new(const sluice_column *cols, size_t ncols, sluice_json_keys **out);
void sluice_json_keys_free(sluice_json_keys *keys);

/** sluice_json_render_row with the columns whose keys are `keys`: row
 *  holds as many values. */
sluice_err_t sluice_json_render_row_keys(sluice_outbuf *o, const sluice_json_keys *keys,
                                         const sluice_value *row);

/* UTF-8 and JSON strings: base/utf8.h and base/json_string.h (below the logger). */

#ifdef __cplusplus
}
#endif
#endif
