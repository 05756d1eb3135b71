/*
 * Result tables for end-to-end tests: a header and rows of text fields, read
 * from a CSV file (the oracle's expected outputs in fixtures/expected/, a
 * file sink's output) or filled row by row (a MySQL table, a Kafka topic),
 * and compared with the rules of a sink's output:
 *
 * - same header, field for field;
 * - keyed (a PRIMARY KEY): the last row written per key is the result (an
 *   UPDATE or COMPLETE sink writes a key many times; an APPEND sink, with
 *   `unique`, must write each key once); both sides are matched by key, the
 *   key fields ordered numerically when both are numbers;
 * - keyless (a stateless sink): all rows as sorted multisets, and with
 *   `unordered` unset (one output partition) also in order;
 * - fields equal byte for byte, or, when both are plain decimal numbers,
 *   within a relative 1e-9 (SQLite and sluice print doubles differently).
 */
#ifndef SLUICE_TEST_RESULT_TABLE_H
#define SLUICE_TEST_RESULT_TABLE_H

#include <stddef.h>

/** Relative tolerance of numeric field comparison. */
#define SLUICE_RESULT_REL_TOLERANCE 1e-9

/** One row: nfields NUL-terminated fields, owned by the table. */
typedef struct sluice_result_row {
    size_t nfields;
    char **fields;
} sluice_result_row;

/** A header and rows, in the order they were read or added. */
typedef struct sluice_result_table {
    sluice_result_row header;
    size_t nrows;
    size_t cap;                 /**< allocated rows */
    sluice_result_row *rows;
} sluice_result_table;

/** How to compare two tables (see the top of this file). */
typedef struct sluice_result_rules {
    const char *const *keys;    /**< PRIMARY KEY column names, NULL-terminated; NULL or empty: keyless */
    int unique;                 /**< keyed: the actual table must hold each key once (APPEND sinks) */
    int unordered;              /**< keyless: compare as sorted multisets only, not also in order */
} sluice_result_rules;

/** Make `t` an empty table (no header, no rows). */
void sluice_result_table_init(sluice_result_table *t);

/** Free every row and field of `t` and leave it empty.  NULL-safe. */
void sluice_result_table_free(sluice_result_table *t);

/** Parse RFC 4180 CSV `text` (the first line is the header; quoted fields
 *  may hold commas, quotes and line breaks; CRLF or LF) into `t`, which is
 *  initialized first.  Returns 0, or -1 with "line N: why" in err (an
 *  unterminated quote, text after a closing quote) and `t` left empty. */
int sluice_result_table_parse_csv(const char *text, sluice_result_table *t, char *err, size_t err_size);

/** Read the CSV file at `path` into `t` (see parse_csv).  Returns 0, or -1
 *  with "PATH: why" in err. */
int sluice_result_table_load_csv(const char *path, sluice_result_table *t, char *err, size_t err_size);

/** Replace the header of `t` by copies of names[0..n).  Returns 0, or -1
 *  when out of memory. */
int sluice_result_table_set_header(sluice_result_table *t, const char *const *names, size_t n);

/** Append a row of copies of fields[0..n) (a NULL field is stored as "",
 *  the CSV rendering of SQL NULL).  Returns 0, or -1 when out of memory. */
int sluice_result_table_append(sluice_result_table *t, const char *const *fields, size_t n);

/** The index of header column `name`, or -1 when the header has none. */
long sluice_result_table_column(const sluice_result_table *t, const char *name);

/** Keep the rows for which keep(row, arg) is non-zero, in order, and free
 *  the others.  Returns the number of rows kept. */
size_t sluice_result_table_filter(sluice_result_table *t, int (*keep)(const sluice_result_row *row, void *arg),
                                  void *arg);

/** Apply the changelog of a sink output written with an `op` first column
 *  (a file sink of an UPDATE or COMPLETE query: "+I", "-U", "+U", "-D", as
 *  Flink's RowKind) the way an upsert table does: per key (the columns
 *  `keys`, NULL-terminated, non-empty), the key's last row that is not
 *  "-U" decides: "+I" or "+U" keeps that row, "-D" removes the key.  The
 *  `op` column is dropped from the header and the rows.  Returns 0, or -1
 *  with a message in err (no `op` first column, an unknown op, a key column
 *  missing) and `t` unchanged. */
int sluice_result_table_apply_changelog(sluice_result_table *t, const char *const *keys, char *err,
                                        size_t err_size);

/** Apply the changelog of a sink output without a key, written with an
 *  `op` first column, the way a retract table does (Flink's retract
 *  streams): "+I" and "+U" add their row, "-U" and "-D" take back the
 *  earliest row left with the same fields.  The `op` column is dropped.
 *  Returns 0, or -1 with a message in err (no `op` column, an unknown op,
 *  a retraction of a row that is not there) and `t` unchanged. */
int sluice_result_table_apply_retractions(sluice_result_table *t, char *err, size_t err_size);

/** Write row `r` as comma-separated fields into buf (cut at size - 1 bytes;
 *  always NUL-terminated when size > 0). */
void sluice_result_row_format(const sluice_result_row *r, char *buf, size_t size);

/** 1 when fields a and b are equal under the rules above (byte for byte, or
 *  numbers within SLUICE_RESULT_REL_TOLERANCE), else 0. */
int sluice_result_field_equal(const char *a, const char *b);

/** Compare `actual` with `expected` under `rules`.  Returns 0 when they are
 *  equal; otherwise -1 with a message in msg naming `what` (the sink), the
 *  row counts on both sides and the first differences: a different header,
 *  a key missing from the actual table or not expected, a field that
 *  differs (column, both values and both rows), a key an APPEND sink wrote
 *  twice, a row with the wrong number of fields.  The message is cut to
 *  msg_size - 1 bytes.  Neither table is modified. */
int sluice_result_table_compare(const char *what, const sluice_result_table *expected,
                                const sluice_result_table *actual, const sluice_result_rules *rules, char *msg,
                                size_t msg_size);

/** Compare like sluice_result_table_compare() and, when the tables differ,
 *  print the message on cmocka's error output (line by line) and fail the
 *  running cmocka test at the caller's file and line (does not return
 *  then). */
#define sluice_result_assert_equal(what, expected, actual, rules) \
    sluice_result_assert_equal_at((what), (expected), (actual), (rules), __FILE__, __LINE__)

/** The function behind sluice_result_assert_equal(). */
void sluice_result_assert_equal_at(const char *what, const sluice_result_table *expected,
                                   const sluice_result_table *actual, const sluice_result_rules *rules,
                                   const char *file, int line);

#endif
