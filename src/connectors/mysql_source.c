/*
 * The "mysql" source: change capture from a MySQL or MariaDB table by
 * polling, as Kafka Connect's JDBC source connector does in incrementing
 * mode.  Each poll runs
 *
 *   SELECT * FROM `table` WHERE `col` > LAST ORDER BY `col` LIMIT batch_rows
 *
 * and hands out every row as one JSON object record (`format = json`): the
 * column names as keys, integers and decimals as JSON numbers, DATETIME and
 * TIMESTAMP as 'YYYY-MM-DD HH:MM:SS[.ffffff]' strings (UTC: the session's
 * time zone is +00:00), other values as strings, SQL NULL as null.  The
 * source has one partition, 0; a record's offset is its `col` value (a
 * DATETIME or TIMESTAMP column: microseconds since the Unix epoch), and
 * LAST is the offset of the last record handed out.  seek(0, offset) makes
 * the next record the first one with `col` >= offset, so the offsets log
 * of a checkpoint replays exactly (docs/checkpoints.md).
 *
 * `col` must be strictly increasing in insertion order (an AUTO_INCREMENT
 * id, or a timestamp no two rows share): a row inserted later with a value
 * at or below LAST is never read, as in Kafka Connect's incrementing mode.
 *
 * The source never ends (like Kafka): under `trigger = available_now` the
 * run stops at the first poll that finds no new row.  Otherwise a poll that
 * finds nothing waits (within the engine's timeout) until `poll_interval`
 * has passed since the last query before asking again.
 *
 * Options of [source NAME]: `table` (required), `incrementing_column`
 * (required), `poll_interval` (default 1s), `batch_rows` (rows per query,
 * default 10000), `retry_timeout`, `format` (json only), `idle_timeout`;
 * the connection comes from [mysql] (mysql_common.h).  A missing table or
 * column, or a column that is neither an integer nor a DATETIME/TIMESTAMP,
 * is SLUICE_ERR_CONFIG at open naming it.  A lost connection is retried
 * with backoff until retry_timeout, then the run fails.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <errmsg.h>
#include <mysql.h>
#include <mysqld_error.h>

#include "connectors/connectors.h"
#include "connectors/connectors_int.h"
#include "connectors/mysql_common.h"
#include "base/clock.h"
#include "base/config.h"
#include "format/format.h"

/* The option table (sluice/module.h): checked before open(), printed by
 * `sluice connectors`.  The connector's own checks below stay: they also
 * hold the limits a type cannot say, and a message the type check words
 * differently. */
static const sluice_option_spec mysql_source_specs[] = {
    {"table", SLUICE_OPT_STRING, NULL, "the table to read", NULL, 0, 0, SLUICE_OPT_REQUIRED | SLUICE_OPT_IDENTITY},
    {"incrementing_column", SLUICE_OPT_STRING, NULL,
     "the column that increases strictly in insertion order (an integer such as an AUTO_INCREMENT id, or a "
     "DATETIME or TIMESTAMP): a row's offset is its value",
     NULL, 0, 0, SLUICE_OPT_REQUIRED},
    /* text, not a duration: a bad value keeps the connector's message
     * ("expected a duration such as 1s or 200ms"), which `sluice check`
     * reports with the key's file and line */
    {"poll_interval", SLUICE_OPT_DURATION, "1s", "time between two queries for new rows", NULL, 0, 0, 0},
    {"batch_rows", SLUICE_OPT_INT, "10000", "rows one query reads, at most (its LIMIT)", NULL, 1, 0, 0},
    {"retry_timeout", SLUICE_OPT_DURATION, NULL,
     "how long a lost connection is retried before the run fails; default: `[mysql] retry_timeout`", NULL, 0, 0, 0},
    {"format", SLUICE_OPT_ENUM, "json", "the source hands out each row as a JSON object (the column names are the keys)",
     "json", 0, 0, 0},
    {"idle_timeout", SLUICE_OPT_DURATION, NULL, "this source's idle timeout; default: `[pipeline] idle_timeout`",
     NULL, 0, 0, 0},
    {NULL, 0, NULL, NULL, NULL, 0, 0, 0},
};

#define DEFAULT_POLL_MS 1000
#define DEFAULT_BATCH_ROWS 10000

typedef struct mysql_source {
    sluice_source base;            /* first: the engine sees a sluice_source */
    const char *instance;
    sluice_mysql_conn conn;
    const char *table, *column;
    int temporal;                  /* the column is DATETIME/TIMESTAMP: offsets in µs */
    int64_t poll_ms;
    int64_t batch_rows;
    int64_t last;                  /* offset of the last record handed out */
    int have_last;                 /* 0: nothing read yet, start from the first row */
    int64_t next_poll_ms;          /* monotonic time of the next query */
    char *qtable, *qcolumn;        /* quoted identifiers */
    char *buf;                     /* the records of the last poll, JSON texts */
    size_t buf_len;
} mysql_source;

/* ---------------- helpers ---------------- */

/* `name` with embedded backticks doubled; malloc'd. */
static char *quote_ident(const char *name) {
    size_t n = strlen(name);
    char *q = malloc(2 * n + 3), *p = q;
    if (!q) return NULL;
    *p++ = '`';
    for (const char *c = name; *c; c++) {
        if (*c == '`') *p++ = '`';
        *p++ = *c;
    }
    *p++ = '`';
    *p = '\0';
    return q;
}

static sluice_err_t src_db_error(mysql_source *s, sluice_err_t code, const char *what, char *errstr,
                                 size_t errstr_size) {
    char msg[600];
    sluice_mysql_conn_scrub(&s->conn, s->conn.db ? mysql_error(s->conn.db) : "not connected", msg, sizeof msg);
    return sluice_seterr(errstr, errstr_size, code, "source %s (mysql): table '%s': %s: %s (error %u)", s->instance,
                         s->table, what, msg, s->conn.db ? mysql_errno(s->conn.db) : 0u);
}

static int is_integer_type(enum enum_field_types t) {
    return t == MYSQL_TYPE_TINY || t == MYSQL_TYPE_SHORT || t == MYSQL_TYPE_LONG || t == MYSQL_TYPE_INT24 ||
           t == MYSQL_TYPE_LONGLONG || t == MYSQL_TYPE_YEAR;
}

static int is_temporal_type(enum enum_field_types t) {
    return t == MYSQL_TYPE_DATETIME || t == MYSQL_TYPE_TIMESTAMP || t == MYSQL_TYPE_DATETIME2 ||
           t == MYSQL_TYPE_TIMESTAMP2;
}

static int is_number_type(enum enum_field_types t) {
    return is_integer_type(t) || t == MYSQL_TYPE_FLOAT || t == MYSQL_TYPE_DOUBLE || t == MYSQL_TYPE_DECIMAL ||
           t == MYSQL_TYPE_NEWDECIMAL;
}

/* 'YYYY-MM-DD HH:MM:SS[.f...]' -> microseconds since the Unix epoch (UTC).
 * Returns 0, or -1 when the text is not such a value. */
static int parse_datetime_us(const char *t, size_t len, int64_t *out) {
    unsigned y, mo, d, h, mi, se;
    int n = 0;
    char tmp[40];
    if (len >= sizeof tmp) return -1;
    memcpy(tmp, t, len);
    tmp[len] = '\0';
    if (sscanf(tmp, "%4u-%2u-%2u %2u:%2u:%2u%n", &y, &mo, &d, &h, &mi, &se, &n) != 6) return -1;
    int64_t us = 0, scale = 100000;
    const char *p = tmp + n;
    if (*p == '.')
        for (p++; *p >= '0' && *p <= '9'; p++, scale /= 10) us += (*p - '0') * scale;
    if (*p) return -1;
    int64_t days = sluice_days_from_civil(y, mo, d);
    *out = ((days * 86400 + h * 3600 + mi * 60 + se) * 1000000) + us;
    return 0;
}

/* The SQL literal of an offset of the incrementing column. */
static void offset_literal(const mysql_source *s, int64_t v, char *buf, size_t size) {
    if (!s->temporal) {
        snprintf(buf, size, "%" PRId64, v);
        return;
    }
    int64_t sec = v >= 0 ? v / 1000000 : -((-v + 999999) / 1000000);
    int64_t us = v - sec * 1000000;
    time_t tt = (time_t)sec;
    struct tm tm;
    gmtime_r(&tt, &tm);
    snprintf(buf, size, "'%04d-%02d-%02d %02d:%02d:%02d.%06" PRId64 "'", tm.tm_year + 1900, tm.tm_mon + 1,
             tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, us);
}

/* ---------------- open / close ---------------- */

static void mysql_source_close(sluice_source *src) {
    if (!src) return;
    mysql_source *s = (mysql_source *)src;
    sluice_mysql_conn_drop(&s->conn);
    free(s->qtable);
    free(s->qcolumn);
    free(s->buf);
    free(s);
}

/* The table and the column exist, and the column's type can be an offset. */
static sluice_err_t check_table(mysql_source *s, char *errstr, size_t errstr_size) {
    char *sql = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&sql, &len);
    if (!f) return SLUICE_ERR_NOMEM;
    fprintf(f, "SELECT * FROM %s LIMIT 0", s->qtable);
    fclose(f);
    if (!sql) return SLUICE_ERR_NOMEM;
    int rc = mysql_real_query(s->conn.db, sql, (unsigned long)len);
    free(sql);
    if (rc != 0) {
        unsigned e = mysql_errno(s->conn.db);
        if (e == ER_NO_SUCH_TABLE)
            return sluice_seterr(errstr, errstr_size, SLUICE_ERR_CONFIG,
                                 "source %s (mysql): table '%s' does not exist in database '%s'", s->instance,
                                 s->table, s->conn.database);
        return src_db_error(s, sluice_mysql_err_is_connection(e) ? SLUICE_ERR_IO : SLUICE_ERR_CONFIG,
                            "cannot read the table", errstr, errstr_size);
    }
    MYSQL_RES *r = mysql_store_result(s->conn.db);
    if (!r) return src_db_error(s, SLUICE_ERR_IO, "cannot read the table", errstr, errstr_size);
    unsigned n = mysql_num_fields(r);
    MYSQL_FIELD *fields = mysql_fetch_fields(r);
    int found = -1;
    for (unsigned i = 0; i < n; i++)
        if (strcmp(fields[i].name, s->column) == 0) found = (int)i;
    sluice_err_t err = SLUICE_OK;
    if (found < 0) {
        err = sluice_seterr(errstr, errstr_size, SLUICE_ERR_CONFIG,
                            "source %s (mysql): incrementing_column '%s' is not a column of table '%s'",
                            s->instance, s->column, s->table);
    } else if (is_temporal_type(fields[found].type)) {
        s->temporal = 1;
    } else if (!is_integer_type(fields[found].type)) {
        err = sluice_seterr(errstr, errstr_size, SLUICE_ERR_CONFIG,
                            "source %s (mysql): incrementing_column '%s' of table '%s' is neither an integer nor "
                            "a DATETIME/TIMESTAMP column",
                            s->instance, s->column, s->table);
    }
    mysql_free_result(r);
    return err;
}

/* Check the options and fill s's settings from them (no connection). */
static sluice_err_t mysql_source_settings(mysql_source *s, const sluice_module_config *cfg, char *errstr,
                                          size_t errstr_size) {
    const char *inst = s->instance;
    sluice_err_t err = sluice_conn_check_specs(cfg, mysql_source_specs, "source", "mysql", errstr, errstr_size);
    if (err) return err;
    const char *format = sluice_module_config_get(cfg, "format");
    if (format && strcmp(format, "json") != 0) {
        err = sluice_conn_bad_option(cfg, "format", "source", "mysql",
                                     "the mysql source hands out JSON objects: expected json", errstr, errstr_size);
        return err;
    }
    s->table = sluice_module_config_get(cfg, "table");
    s->column = sluice_module_config_get(cfg, "incrementing_column");
    if (!s->table || !s->table[0] || !s->column || !s->column[0]) {
        err = sluice_seterr(errstr, errstr_size, SLUICE_ERR_CONFIG,
                            "source %s (mysql): option '%s' is required", inst,
                            !s->table || !s->table[0] ? "table" : "incrementing_column");
        return err;
    }
    if ((err = sluice_mysql_conn_parse(&s->conn, cfg, "source", "the database of the table", errstr, errstr_size)))
        return err;
    s->conn.table = s->table;
    s->poll_ms = DEFAULT_POLL_MS;
    const char *pi = sluice_module_config_get(cfg, "poll_interval");
    if (pi && (sluice_parse_duration_ms(pi, &s->poll_ms) != 0 || s->poll_ms < 1)) {
        err = sluice_conn_bad_option(cfg, "poll_interval", "source", "mysql", "expected a duration such as 1s or 200ms",
                                     errstr, errstr_size);
        return err;
    }
    s->batch_rows = DEFAULT_BATCH_ROWS;
    if ((err = sluice_conn_opt_posint(cfg, "batch_rows", "source", "mysql", &s->batch_rows, errstr, errstr_size)))
        return err;
    s->qtable = quote_ident(s->table);
    s->qcolumn = quote_ident(s->column);
    if (!s->qtable || !s->qcolumn) {
        err = SLUICE_ERR_NOMEM;
        return err;
    }
    return SLUICE_OK;
}

/* sluice check: the options and the [mysql] section, without connecting. */
static sluice_err_t mysql_source_validate(const sluice_module_config *cfg, char *errstr, size_t errstr_size) {
    mysql_source *s = calloc(1, sizeof *s);
    if (!s) return SLUICE_ERR_NOMEM;
    s->base.ops = &sluice_mysql_source_ops;
    s->instance = cfg->instance ? cfg->instance : "?";
    sluice_err_t err = mysql_source_settings(s, cfg, errstr, errstr_size);
    mysql_source_close(&s->base);
    return err;
}

static sluice_err_t mysql_source_open(const sluice_module_config *cfg, sluice_source **out, char *errstr,
                                      size_t errstr_size) {
    const char *inst = cfg->instance ? cfg->instance : "?";
    mysql_source *s = calloc(1, sizeof *s);
    if (!s) return SLUICE_ERR_NOMEM;
    s->base.ops = &sluice_mysql_source_ops;
    s->instance = inst;
    sluice_err_t err = mysql_source_settings(s, cfg, errstr, errstr_size);
    if (err) goto fail;
    if (sluice_mysql_library_init() != 0) {
        err = sluice_seterr(errstr, errstr_size, SLUICE_ERR_RUNTIME,
                            "source %s (mysql): cannot initialise the client library", inst);
        goto fail;
    }
    if ((err = sluice_mysql_conn_connect_retry(&s->conn, errstr, errstr_size))) goto fail;
    if ((err = check_table(s, errstr, errstr_size))) goto fail;
    *out = &s->base;
    return SLUICE_OK;
fail:
    if (err == SLUICE_ERR_NOMEM && errstr && errstr_size && !errstr[0])
        sluice_seterr(errstr, errstr_size, err, "source %s (mysql): out of memory", inst);
    mysql_source_close(&s->base);
    return err;
}

/* ---------------- poll ---------------- */

/* One query.  Returns 0 with *res set (possibly no rows), or the error
 * number. */
static unsigned run_query(mysql_source *s, size_t limit, MYSQL_RES **res) {
    char sql[1024 + 2 * 64 * 2], lit[64];
    *res = NULL;
    if (s->have_last) {
        offset_literal(s, s->last, lit, sizeof lit);
        snprintf(sql, sizeof sql, "SELECT * FROM %s WHERE %s > %s ORDER BY %s LIMIT %zu", s->qtable, s->qcolumn, lit,
                 s->qcolumn, limit);
    } else {
        snprintf(sql, sizeof sql, "SELECT * FROM %s ORDER BY %s LIMIT %zu", s->qtable, s->qcolumn, limit);
    }
    if (mysql_query(s->conn.db, sql) != 0) return mysql_errno(s->conn.db) ? mysql_errno(s->conn.db) : CR_UNKNOWN_ERROR;
    *res = mysql_store_result(s->conn.db);
    if (!*res) return mysql_errno(s->conn.db) ? mysql_errno(s->conn.db) : CR_UNKNOWN_ERROR;
    return 0;
}

/* Query, reconnecting after a lost connection with backoff until
 * retry_timeout. */
static sluice_err_t query_with_retry(mysql_source *s, size_t limit, MYSQL_RES **res, char *errstr,
                                     size_t errstr_size) {
    int64_t start = sluice_clock_monotonic_ms(), delay = SLUICE_MYSQL_BACKOFF_FIRST_MS;
    for (;;) {
        unsigned e = s->conn.db ? run_query(s, limit, res) : CR_SERVER_LOST;
        if (!e) return SLUICE_OK;
        if (!sluice_mysql_err_is_connection(e)) return src_db_error(s, SLUICE_ERR_RUNTIME, "poll", errstr, errstr_size);
        if (sluice_clock_monotonic_ms() - start + delay > s->conn.retry_timeout_ms) {
            if (s->conn.db) return src_db_error(s, SLUICE_ERR_IO, "poll (gave up after retry_timeout)", errstr, errstr_size);
            return sluice_seterr(errstr, errstr_size, SLUICE_ERR_IO,
                                 "source %s (mysql): table '%s': cannot reconnect within retry_timeout", s->instance,
                                 s->table);
        }
        sluice_mysql_conn_drop(&s->conn);
        sluice_mysql_sleep_ms(delay);
        delay = delay * 2 > SLUICE_MYSQL_BACKOFF_MAX_MS ? SLUICE_MYSQL_BACKOFF_MAX_MS : delay * 2;
        char ignored[256];
        sluice_mysql_conn_connect(&s->conn, ignored, sizeof ignored);
    }
}

/* Render the rows of r as JSON objects into s->buf and push one record per
 * row.  Returns SLUICE_OK or an error. */
static sluice_err_t render_rows(mysql_source *s, MYSQL_RES *r, sluice_record_batch *out, char *errstr,
                                size_t errstr_size) {
    unsigned nf = mysql_num_fields(r);
    MYSQL_FIELD *fields = mysql_fetch_fields(r);
    int col = -1;
    for (unsigned i = 0; i < nf; i++)
        if (strcmp(fields[i].name, s->column) == 0) col = (int)i;
    if (col < 0)
        return sluice_seterr(errstr, errstr_size, SLUICE_ERR_RUNTIME,
                             "source %s (mysql): column '%s' is no longer in table '%s'", s->instance, s->column,
                             s->table);
    size_t nrows = (size_t)mysql_num_rows(r);
    size_t *starts = calloc(nrows + 1, sizeof *starts), *ends = calloc(nrows + 1, sizeof *ends);
    int64_t *offsets = calloc(nrows + 1, sizeof *offsets);
    free(s->buf);
    s->buf = NULL;
    s->buf_len = 0;
    FILE *f = open_memstream(&s->buf, &s->buf_len);
    sluice_err_t err = SLUICE_OK;
    if (!starts || !ends || !offsets || !f) {
        err = SLUICE_ERR_NOMEM;
        goto done;
    }
    MYSQL_ROW row;
    size_t k = 0;
    while ((row = mysql_fetch_row(r)) != NULL && k < nrows) {
        unsigned long *lens = mysql_fetch_lengths(r);
        if (!row[col]) {
            err = sluice_seterr(errstr, errstr_size, SLUICE_ERR_RUNTIME,
                                "source %s (mysql): table '%s': incrementing_column '%s' is NULL in a row",
                                s->instance, s->table, s->column);
            goto done;
        }
        if (s->temporal) {
            if (parse_datetime_us(row[col], lens[col], &offsets[k]) != 0) {
                err = sluice_seterr(errstr, errstr_size, SLUICE_ERR_RUNTIME,
                                    "source %s (mysql): table '%s': cannot read '%.*s' of column '%s' as a time",
                                    s->instance, s->table, (int)lens[col], row[col], s->column);
                goto done;
            }
        } else {
            char *end;
            errno = 0;
            offsets[k] = strtoll(row[col], &end, 10);
            if (errno || *end) {
                err = sluice_seterr(errstr, errstr_size, SLUICE_ERR_RUNTIME,
                                    "source %s (mysql): table '%s': value '%s' of column '%s' is not a 64-bit integer",
                                    s->instance, s->table, row[col], s->column);
                goto done;
            }
        }
        fflush(f);
        starts[k] = s->buf_len;
        fputc('{', f);
        for (unsigned i = 0; i < nf; i++) {
            if (i) fputc(',', f);
            if (sluice_json_write_string(f, fields[i].name, strlen(fields[i].name)) != SLUICE_OK) {
                err = SLUICE_ERR_IO;
                goto done;
            }
            fputc(':', f);
            if (!row[i])
                fputs("null", f);
            else if (is_number_type(fields[i].type))
                fwrite(row[i], 1, lens[i], f);
            else if (!sluice_utf8_valid(row[i], lens[i])) {
                /* not text (a binary column): the bytes as they are, so that
                 * the row is a dead letter keeping them (raw_base64), rather
                 * than text with U+FFFD in their place */
                fputc('"', f);
                fwrite(row[i], 1, lens[i], f);
                fputc('"', f);
            }
            else if (sluice_json_write_string(f, row[i], lens[i]) != SLUICE_OK) {
                err = SLUICE_ERR_IO;
                goto done;
            }
        }
        fputc('}', f);
        fflush(f);
        ends[k] = s->buf_len;
        fputc('\n', f);
        k++;
    }
    for (int i = 0; i < SLUICE_RECORD_PADDING; i++) fputc('\0', f);
    if (fclose(f) != 0) {
        f = NULL;
        err = SLUICE_ERR_NOMEM;
        goto done;
    }
    f = NULL;
    for (size_t i = 0; i < k; i++) {
        sluice_record *rec = sluice_record_batch_push(out);
        if (!rec) {
            err = SLUICE_ERR_NOMEM;
            goto done;
        }
        rec->value = s->buf + starts[i];
        rec->value_len = ends[i] - starts[i];
        rec->partition = 0;
        rec->offset = offsets[i];
        rec->timestamp_ms = sluice_clock_realtime_ms();
    }
    if (k) {
        s->last = offsets[k - 1];
        s->have_last = 1;
    }
done:
    if (f) fclose(f);
    if (err == SLUICE_ERR_NOMEM) sluice_seterr(errstr, errstr_size, err, "source %s (mysql): out of memory", s->instance);
    free(starts);
    free(ends);
    free(offsets);
    return err;
}

static sluice_err_t mysql_source_poll(sluice_source *src, sluice_record_batch *out, size_t max_records,
                                      int timeout_ms, char *errstr, size_t errstr_size) {
    mysql_source *s = (mysql_source *)src;
    int64_t now = sluice_clock_monotonic_ms();
    if (now < s->next_poll_ms) {
        int64_t wait = s->next_poll_ms - now;
        if (wait > timeout_ms) return SLUICE_OK;
        sluice_mysql_sleep_ms(wait);
    }
    size_t limit = (size_t)s->batch_rows;
    if (max_records && max_records < limit) limit = max_records;
    MYSQL_RES *r = NULL;
    sluice_err_t err = query_with_retry(s, limit, &r, errstr, errstr_size);
    if (err) return err;
    err = render_rows(s, r, out, errstr, errstr_size);
    size_t n = (size_t)mysql_num_rows(r);
    mysql_free_result(r);
    /* a full batch: more rows are likely waiting, ask again at once */
    s->next_poll_ms = n >= limit ? 0 : sluice_clock_monotonic_ms() + s->poll_ms;
    return err;
}

static sluice_err_t mysql_source_seek(sluice_source *src, const char *topic, int32_t partition, int64_t offset,
                                      char *errstr, size_t errstr_size) {
    mysql_source *s = (mysql_source *)src;
    (void)topic;
    if (partition != 0)
        return sluice_seterr(errstr, errstr_size, SLUICE_ERR_RUNTIME,
                             "source %s (mysql): no partition %" PRId32 " (a table is partition 0)", s->instance,
                             partition);
    s->last = offset - 1;
    s->have_last = 1;
    s->next_poll_ms = 0;
    return SLUICE_OK;
}

static void mysql_source_position(sluice_source *src, const sluice_record *rec, char *buf, size_t size) {
    mysql_source *s = (mysql_source *)src;
    snprintf(buf, size, "%s.%s = %" PRId64, s->table, s->column, rec->offset);
}

const sluice_source_ops sluice_mysql_source_ops = {
    .version = SLUICE_MODULE_VERSION,
    .name = "mysql",
    .shared_section = "mysql",
    .option_specs = mysql_source_specs,
    .shared_specs = sluice_mysql_shared_specs,
    .open = mysql_source_open,
    .poll = mysql_source_poll,
    .position = mysql_source_position,
    .close = mysql_source_close,
    .seek = mysql_source_seek,
    .validate = mysql_source_validate,
};
