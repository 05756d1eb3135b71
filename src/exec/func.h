/*
 * sluice exec — the evaluation of the everyday scalar functions (Flink's
 * "System (Built-in) Functions" of the same names; docs/sql.md
 * "Functions"), and the helpers they share with their binding
 * (src/sql/plan_func.c).  Every function here follows sluice_expr_fn: it
 * evaluates its own arguments over `row`, returns SQL NULL rather than
 * failing, and allocates what it returns from `arena`.  Timestamps are
 * UTC milliseconds since the Unix epoch: sluice has no time zones.
 * Private to the engine.
 */
#ifndef SLUICE_EXEC_FUNC_H
#define SLUICE_EXEC_FUNC_H

#include <stddef.h>
#include <stdint.h>

#include "plan/plan.h"

/* ---- func_misc.c: MOD, GREATEST, LEAST, IF, NULLIF ---- */
sluice_value sluice_fn_mod(const sluice_expr *e, const sluice_value *row, sluice_arena *arena);
sluice_value sluice_fn_greatest(const sluice_expr *e, const sluice_value *row, sluice_arena *arena);
sluice_value sluice_fn_least(const sluice_expr *e, const sluice_value *row, sluice_arena *arena);
sluice_value sluice_fn_if(const sluice_expr *e, const sluice_value *row, sluice_arena *arena);
sluice_value sluice_fn_nullif(const sluice_expr *e, const sluice_value *row, sluice_arena *arena);

/* ---- func_text.c: CONCAT (and ||), CONCAT_WS, REPLACE, SPLIT_INDEX ---- */
sluice_value sluice_fn_concat(const sluice_expr *e, const sluice_value *row, sluice_arena *arena);
sluice_value sluice_fn_concat_ws(const sluice_expr *e, const sluice_value *row, sluice_arena *arena);
sluice_value sluice_fn_replace(const sluice_expr *e, const sluice_value *row, sluice_arena *arena);
sluice_value sluice_fn_split_index(const sluice_expr *e, const sluice_value *row, sluice_arena *arena);

/* ---- func_regex.c: REGEXP, REGEXP_EXTRACT, REGEXP_REPLACE (PCRE2) ---- */

/** A call's regular expressions: the pattern compiled at plan time when it
 *  is a constant, else a small cache of the patterns the rows brought. */
typedef struct sluice_regex_site sluice_regex_site;

/** A site for pattern argument `pattern` (a constant when non-NULL:
 *  compiled now).  Allocated from arena; its compiled patterns are freed
 *  by sluice_regex_site_free (register it with the plan).  NULL with a
 *  message in err ("bad regular expression ... at offset N") when the
 *  constant does not compile, or on no memory. */
sluice_regex_site *sluice_regex_site_new(sluice_arena *arena, const sluice_value *pattern, char *err,
                                         size_t err_size);
void sluice_regex_site_free(void *site);

sluice_value sluice_fn_regexp(const sluice_expr *e, const sluice_value *row, sluice_arena *arena);
sluice_value sluice_fn_regexp_extract(const sluice_expr *e, const sluice_value *row, sluice_arena *arena);
sluice_value sluice_fn_regexp_replace(const sluice_expr *e, const sluice_value *row, sluice_arena *arena);

/* ---- func_json.cpp: JSON_VALUE ---- */

/** A compiled JSON path ($.a.b[0], $['a b']): its steps. */
typedef struct sluice_json_path sluice_json_path;

/** Compile a path of the lax JSON path language's member and element
 *  accessors (`$`, `.name`, `['name']`, `[n]`), allocated from arena.
 *  NULL when the text is not such a path (or on no memory). */
sluice_json_path *sluice_json_path_compile(const char *text, size_t len, sluice_arena *arena);

sluice_value sluice_fn_json_value(const sluice_expr *e, const sluice_value *row, sluice_arena *arena);

/* ---- func_calendar.c: the proleptic Gregorian calendar in UTC ---- */

typedef struct sluice_civil {
    int64_t year;          /**< may be far outside 0000-9999 */
    int month, day;        /**< 1-12, 1-31 */
    int hour, minute, second, millis;
    int dow;               /**< day of week, 1 = Sunday .. 7 = Saturday (Flink's DAYOFWEEK) */
    int doy;               /**< day of year, 1-366 */
} sluice_civil;

/** Split ms since the epoch into its UTC calendar fields (any int64). */
void sluice_civil_from_ms(int64_t ms, sluice_civil *out);

/** Days since 1970-01-01 of y-m-d (month 1-12, day taken as is). */
int64_t sluice_civil_days(int64_t y, int m, int d);

/** Days in month m (1-12) of year y. */
int sluice_civil_month_days(int64_t y, int m);

/** The ISO-8601 week of the year (1-53) of a date (Flink's WEEK). */
int sluice_civil_iso_week(const sluice_civil *c);

/* ---- func_datefmt.c: Java SimpleDateFormat / DateTimeFormatter patterns ---- */

/** A compiled date pattern ('yyyy-MM-dd HH:mm:ss'). */
typedef struct sluice_datefmt sluice_datefmt;

/** Compile a pattern with the letters y M d H h m s S a E D and quoted
 *  text ('...', '' for a quote), allocated from arena.  NULL with a
 *  message in err when the pattern has a letter not supported (or on no
 *  memory). */
sluice_datefmt *sluice_datefmt_compile(const char *p, size_t len, sluice_arena *arena, char *err,
                                       size_t err_size);

/** Format ms (UTC) by f into buf (size bytes, NUL-terminated when size >
 *  0).  Returns the length of the whole text (as snprintf). */
size_t sluice_datefmt_format(const sluice_datefmt *f, int64_t ms, char *buf, size_t size);

/** Parse text by f into ms (UTC; missing fields are 1970-01-01 00:00:00.000).
 *  0, or -1 when the text does not match, a field is out of its range or
 *  the time is outside 0000-9999. */
int sluice_datefmt_parse(const sluice_datefmt *f, const char *text, size_t len, int64_t *ms);

/* ---- func_time.c: DATE_FORMAT, TO_TIMESTAMP, EXTRACT, TIMESTAMPADD, ... ---- */

typedef enum sluice_time_unit {
    SLUICE_UNIT_MILLISECOND, SLUICE_UNIT_SECOND, SLUICE_UNIT_MINUTE, SLUICE_UNIT_HOUR,
    SLUICE_UNIT_DAY, SLUICE_UNIT_WEEK, SLUICE_UNIT_MONTH, SLUICE_UNIT_QUARTER, SLUICE_UNIT_YEAR,
    /* EXTRACT only */
    SLUICE_UNIT_DOW, SLUICE_UNIT_DOY, SLUICE_UNIT_EPOCH
} sluice_time_unit;

/** The unit called name (case-insensitive, as Flink's TimeUnit names and
 *  DAYOFWEEK-style function names: DAYOFMONTH is DAY), or -1. */
int sluice_time_unit_find(const char *name);

/** A DATE_FORMAT or TO_TIMESTAMP call's constant pattern, or NULL: compiled per row. */
typedef struct sluice_datefmt_site {
    const sluice_datefmt *constant;
} sluice_datefmt_site;

sluice_value sluice_fn_date_format(const sluice_expr *e, const sluice_value *row, sluice_arena *arena);
sluice_value sluice_fn_to_timestamp(const sluice_expr *e, const sluice_value *row, sluice_arena *arena);
/** EXTRACT(unit FROM ts) and YEAR(ts) ...: e->aux points to an int, the unit;
 *  the timestamp is the last argument. */
sluice_value sluice_fn_extract(const sluice_expr *e, const sluice_value *row, sluice_arena *arena);
/** TIMESTAMPADD(unit, n, ts), TIMESTAMPDIFF(unit, t1, t2): e->aux as EXTRACT. */
sluice_value sluice_fn_timestampadd(const sluice_expr *e, const sluice_value *row, sluice_arena *arena);
sluice_value sluice_fn_timestampdiff(const sluice_expr *e, const sluice_value *row, sluice_arena *arena);
/** CURRENT_TIMESTAMP, NOW(), LOCALTIMESTAMP: the wall clock, read per row. */
sluice_value sluice_fn_now(const sluice_expr *e, const sluice_value *row, sluice_arena *arena);

/** Months and years added to ms as the calendar does (the day kept, or
 *  the month's last day when shorter: Java's plusMonths).  -1 when the
 *  result overflows. */
int sluice_time_add_months(int64_t ms, int64_t months, int64_t *out);

#endif
