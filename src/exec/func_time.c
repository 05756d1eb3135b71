/*
 * The date and time functions, as Flink's of the same names, in UTC
 * (sluice has no time zones): DATE_FORMAT, TO_TIMESTAMP, EXTRACT and
 * YEAR() .. SECOND(), TIMESTAMPADD, TIMESTAMPDIFF and CURRENT_TIMESTAMP.
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "base/clock.h"
#include "exec/func.h"
#include "format/format.h"

static const struct {
    const char *name;
    sluice_time_unit unit;
} unit_names[] = {
    {"MILLISECOND", SLUICE_UNIT_MILLISECOND}, {"SECOND", SLUICE_UNIT_SECOND},
    {"MINUTE", SLUICE_UNIT_MINUTE},           {"HOUR", SLUICE_UNIT_HOUR},
    {"DAY", SLUICE_UNIT_DAY},                 {"DAYOFMONTH", SLUICE_UNIT_DAY},
    {"WEEK", SLUICE_UNIT_WEEK},               {"MONTH", SLUICE_UNIT_MONTH},
    {"QUARTER", SLUICE_UNIT_QUARTER},         {"YEAR", SLUICE_UNIT_YEAR},
    {"DOW", SLUICE_UNIT_DOW},                 {"DAYOFWEEK", SLUICE_UNIT_DOW},
    {"DOY", SLUICE_UNIT_DOY},                 {"DAYOFYEAR", SLUICE_UNIT_DOY},
    {"EPOCH", SLUICE_UNIT_EPOCH},
};

int sluice_time_unit_find(const char *name) {
    for (size_t i = 0; i < sizeof unit_names / sizeof unit_names[0]; i++)
        if (strcasecmp(unit_names[i].name, name) == 0) return (int)unit_names[i].unit;
    return -1;
}

/* A TIMESTAMP argument, or a VARCHAR one read as CAST(s AS TIMESTAMP)
 * (Flink's DATE_FORMAT takes both).  0, or -1 for NULL / unreadable. */
static int ts_arg(const sluice_expr *e, size_t i, const sluice_value *row, sluice_arena *arena, int64_t *ms) {
    sluice_value v = sluice_expr_eval(e->args[i], row, arena);
    if (v.type == SLUICE_TYPE_TIMESTAMP) {
        *ms = v.u.i;
        return 0;
    }
    if (v.type == SLUICE_TYPE_VARCHAR) return sluice_ts_parse(NULL, v.u.s, v.len, ms);
    return -1;
}

/* The call's pattern: the one compiled at plan time, else argument i
 * compiled now (NULL when NULL or not a pattern). */
static const sluice_datefmt *pattern_arg(const sluice_expr *e, size_t i, const sluice_value *row,
                                         sluice_arena *arena) {
    const sluice_datefmt_site *site = e->aux;
    if (site && site->constant) return site->constant;
    sluice_value p = sluice_expr_eval(e->args[i], row, arena);
    if (p.type != SLUICE_TYPE_VARCHAR) return NULL;
    char err[160];
    return sluice_datefmt_compile(p.u.s, p.len, arena, err, sizeof err);
}

sluice_value sluice_fn_date_format(const sluice_expr *e, const sluice_value *row, sluice_arena *arena) {
    int64_t ms;
    if (ts_arg(e, 0, row, arena, &ms) != 0) return sluice_value_null();
    const sluice_datefmt *f = pattern_arg(e, 1, row, arena);
    if (!f) return sluice_value_null();
    char small[64];
    size_t n = sluice_datefmt_format(f, ms, small, sizeof small);
    if (n > UINT32_MAX / 2) return sluice_value_null();
    char *p = sluice_arena_alloc(arena, n + 1);
    if (!p) return sluice_value_null();
    if (n < sizeof small) memcpy(p, small, n + 1);
    else sluice_datefmt_format(f, ms, p, n + 1);
    return sluice_value_varchar(p, n);
}

sluice_value sluice_fn_to_timestamp(const sluice_expr *e, const sluice_value *row, sluice_arena *arena) {
    sluice_value s = sluice_expr_eval(e->args[0], row, arena);
    if (s.type != SLUICE_TYPE_VARCHAR) return sluice_value_null();
    int64_t ms;
    if (e->nargs == 1) /* 'yyyy-MM-dd HH:mm:ss[.fff]', as CAST */
        return sluice_ts_parse(NULL, s.u.s, s.len, &ms) == 0 ? sluice_value_timestamp(ms) : sluice_value_null();
    const sluice_datefmt *f = pattern_arg(e, 1, row, arena);
    if (!f || sluice_datefmt_parse(f, s.u.s, s.len, &ms) != 0) return sluice_value_null();
    return sluice_value_timestamp(ms);
}

sluice_value sluice_fn_extract(const sluice_expr *e, const sluice_value *row, sluice_arena *arena) {
    sluice_value v = sluice_expr_eval(e->args[e->nargs - 1], row, arena);
    if (v.type != SLUICE_TYPE_TIMESTAMP) return sluice_value_null();
    sluice_civil c;
    sluice_civil_from_ms(v.u.i, &c);
    int64_t r;
    switch ((sluice_time_unit) * (const int *)e->aux) {
    case SLUICE_UNIT_MILLISECOND: r = c.second * 1000 + c.millis; break; /* Calcite: within the minute */
    case SLUICE_UNIT_SECOND: r = c.second; break;
    case SLUICE_UNIT_MINUTE: r = c.minute; break;
    case SLUICE_UNIT_HOUR: r = c.hour; break;
    case SLUICE_UNIT_DAY: r = c.day; break;
    case SLUICE_UNIT_WEEK: r = sluice_civil_iso_week(&c); break;
    case SLUICE_UNIT_MONTH: r = c.month; break;
    case SLUICE_UNIT_QUARTER: r = (c.month + 2) / 3; break;
    case SLUICE_UNIT_YEAR: r = c.year; break;
    case SLUICE_UNIT_DOW: r = c.dow; break;
    case SLUICE_UNIT_DOY: r = c.doy; break;
    case SLUICE_UNIT_EPOCH: r = v.u.i / 1000 - (v.u.i % 1000 < 0); break; /* whole seconds, floor */
    default: return sluice_value_null();
    }
    return sluice_value_bigint(r);
}

/* Milliseconds per unit of fixed length; 0 for the calendar units. */
static int64_t fixed_ms(sluice_time_unit u) {
    static const int64_t ms[] = {
        [SLUICE_UNIT_MILLISECOND] = 1, [SLUICE_UNIT_SECOND] = 1000,    [SLUICE_UNIT_MINUTE] = 60000,
        [SLUICE_UNIT_HOUR] = 3600000,  [SLUICE_UNIT_DAY] = 86400000,   [SLUICE_UNIT_WEEK] = 604800000,
    };
    return (size_t)u < sizeof ms / sizeof ms[0] ? ms[u] : 0;
}

/* Months per calendar unit (MONTH, QUARTER, YEAR); 0 otherwise. */
static int64_t unit_months(sluice_time_unit u) {
    return u == SLUICE_UNIT_MONTH ? 1 : u == SLUICE_UNIT_QUARTER ? 3 : u == SLUICE_UNIT_YEAR ? 12 : 0;
}

int sluice_time_add_months(int64_t ms, int64_t months, int64_t *out) {
    /* beyond this many months every result leaves int64 ms anyway */
    if (months > 4000000000LL || months < -4000000000LL) return -1;
    sluice_civil c;
    sluice_civil_from_ms(ms, &c);
    int64_t total = c.year * 12 + (c.month - 1) + months;
    int64_t y = total >= 0 ? total / 12 : -((-total + 11) / 12);
    int m = (int)(total - y * 12) + 1;
    int d = c.day, md = sluice_civil_month_days(y, m);
    if (d > md) d = md;
    int64_t days = sluice_civil_days(y, m, d), r;
    int64_t tod = c.hour * 3600000LL + c.minute * 60000LL + c.second * 1000LL + c.millis;
    if (__builtin_mul_overflow(days, 86400000, &r) || __builtin_add_overflow(r, tod, &r)) return -1;
    *out = r;
    return 0;
}

sluice_value sluice_fn_timestampadd(const sluice_expr *e, const sluice_value *row, sluice_arena *arena) {
    sluice_value n = sluice_expr_eval(e->args[1], row, arena);
    sluice_value t = sluice_expr_eval(e->args[2], row, arena);
    if (n.type != SLUICE_TYPE_BIGINT || t.type != SLUICE_TYPE_TIMESTAMP) return sluice_value_null();
    sluice_time_unit u = (sluice_time_unit) * (const int *)e->aux;
    int64_t r, step = fixed_ms(u), months = unit_months(u);
    if (step) {
        if (__builtin_mul_overflow(n.u.i, step, &r) || __builtin_add_overflow(t.u.i, r, &r))
            return sluice_value_null();
    } else if (months) {
        if (__builtin_mul_overflow(n.u.i, months, &r) || sluice_time_add_months(t.u.i, r, &r) != 0)
            return sluice_value_null();
    } else {
        return sluice_value_null();
    }
    return sluice_value_timestamp(r);
}

/* Whole months from a to b, truncated toward zero (Calcite's and Flink's
 * subtractMonths: a month counts when b's day and time of day reach a's). */
static int64_t months_between(int64_t a, int64_t b) {
    sluice_civil ca, cb;
    sluice_civil_from_ms(a, &ca);
    sluice_civil_from_ms(b, &cb);
    int64_t m = (cb.year - ca.year) * 12 + (cb.month - ca.month);
    int64_t ta = ((int64_t)ca.day * 86400000) + ca.hour * 3600000LL + ca.minute * 60000LL + ca.second * 1000LL + ca.millis;
    int64_t tb = ((int64_t)cb.day * 86400000) + cb.hour * 3600000LL + cb.minute * 60000LL + cb.second * 1000LL + cb.millis;
    if (m > 0 && tb < ta) m--;
    else if (m < 0 && tb > ta) m++;
    return m;
}

sluice_value sluice_fn_timestampdiff(const sluice_expr *e, const sluice_value *row, sluice_arena *arena) {
    sluice_value a = sluice_expr_eval(e->args[1], row, arena);
    sluice_value b = sluice_expr_eval(e->args[2], row, arena);
    if (a.type != SLUICE_TYPE_TIMESTAMP || b.type != SLUICE_TYPE_TIMESTAMP) return sluice_value_null();
    sluice_time_unit u = (sluice_time_unit) * (const int *)e->aux;
    int64_t step = fixed_ms(u), months = unit_months(u), d;
    if (step) {
        if (__builtin_sub_overflow(b.u.i, a.u.i, &d)) return sluice_value_null();
        return sluice_value_bigint(d / step); /* C's division truncates toward zero, as Flink's */
    }
    if (months) return sluice_value_bigint(months_between(a.u.i, b.u.i) / months);
    return sluice_value_null();
}

sluice_value sluice_fn_now(const sluice_expr *e, const sluice_value *row, sluice_arena *arena) {
    (void)e, (void)row, (void)arena;
    return sluice_value_timestamp(sluice_clock_realtime_ms());
}
