/*
 * Timestamps: ISO-8601 and strptime-pattern parsing into UTC milliseconds,
 * epoch numbers, and rendering.  No time zone database: patterns are UTC,
 * ISO-8601 offsets are applied arithmetically.
 *
 * Calendar arithmetic follows Howard Hinnant's "chrono-Compatible Low-Level
 * Date Algorithms" (days_from_civil / civil_from_days), valid for the whole
 * proleptic Gregorian calendar, including dates before 1970.
 */
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "format/format_int.h"

#define MS_PER_DAY 86400000LL

/* The TIMESTAMP range, Flink's TIMESTAMP(3): 0000-01-01 00:00:00.000 to
 * 9999-12-31 23:59:59.999 (days_from_civil(0, 1, 1) and (10000, 1, 1)).
 * A value outside it does not decode: the row is malformed.  Within it,
 * window ends (start + size) and watermarks (time - delay) stay far from
 * int64 overflow; one row with epoch_ms 9223372036854775807 used to abort
 * the engine on its window's end. */
#define TS_LOWEST (-719528LL * MS_PER_DAY)
#define TS_HIGHEST (2932897LL * MS_PER_DAY - 1)

static int in_range(int rc, const int64_t *ms) {
    return rc == 0 && *ms >= TS_LOWEST && *ms <= TS_HIGHEST ? 0 : -1;
}

int sluice_ts_in_range(int64_t ms) {
    return ms >= TS_LOWEST && ms <= TS_HIGHEST;
}

typedef enum ts_kind {
    TS_ISO = 0,
    TS_EPOCH_MS,
    TS_EPOCH_S,
    TS_FAST,      /* compiled directive list */
    TS_STRPTIME   /* strptime(3) + timegm(3) */
} ts_kind;

typedef enum ts_dir {
    D_LIT,      /* one literal character, matched exactly */
    D_SPACE,    /* whitespace in the pattern: zero or more in the input */
    D_YEAR,     /* %Y */
    D_MON,      /* %m */
    D_DAY,      /* %d %e */
    D_HOUR,     /* %H */
    D_MIN,      /* %M */
    D_SEC,      /* %S */
    D_MONNAME,  /* %b %B %h */
    D_YDAY      /* %j */
} ts_dir;

typedef struct ts_directive {
    unsigned char kind;
    char lit;
} ts_directive;

struct sluice_ts_format {
    ts_kind kind;
    char *pattern;         /* TS_STRPTIME */
    size_t ndirs;
    ts_directive dirs[];   /* TS_FAST */
};

int64_t sluice_days_from_civil(int64_t y, unsigned m, unsigned d) {
    y -= m <= 2;
    const int64_t era = (y >= 0 ? y : y - 399) / 400;
    const int64_t yoe = y - era * 400;                                   /* [0, 399] */
    const int64_t doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1; /* [0, 365] */
    const int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;          /* [0, 146096] */
    return era * 146097 + doe - 719468;
}

static void civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d) {
    z += 719468;
    const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    const int64_t doe = z - era * 146097;
    const int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    const int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    const int64_t mp = (5 * doy + 2) / 153;
    *d = (unsigned)(doy - (153 * mp + 2) / 5 + 1);
    *m = (unsigned)(mp < 10 ? mp + 3 : mp - 9);
    *y = yoe + era * 400 + (*m <= 2);
}

static int is_leap(int64_t y) {
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static unsigned days_in_month(int64_t y, unsigned m) {
    static const unsigned char dim[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return m == 2 && is_leap(y) ? 29 : dim[m - 1];
}

static int64_t compose(int64_t y, unsigned mon, unsigned day, int64_t h, int64_t mi,
                       int64_t s, int64_t frac_ms) {
    return sluice_days_from_civil(y, mon, day) * MS_PER_DAY + h * 3600000 + mi * 60000 +
           s * 1000 + frac_ms;
}

/* ---------------- compile ---------------- */

/* Conversions glibc's strptime knows (after optional flags / E / O). */
static const char STRPTIME_CONVERSIONS[] = "aAbBcCdDeFgGhHIjmMnprRsStTuUVwWxXyYzZ%";

static sluice_ts_format *alloc_format(ts_kind kind, size_t ndirs) {
    sluice_ts_format *f = calloc(1, sizeof(*f) + ndirs * sizeof(ts_directive));
    if (f) f->kind = kind;
    return f;
}

sluice_err_t sluice_ts_format_compile(const char *pattern, sluice_ts_format **out,
                                      char *errstr, size_t errstr_size) {
    *out = NULL;
    if (!pattern || !*pattern) {
        if (!(*out = alloc_format(TS_ISO, 0))) return SLUICE_ERR_NOMEM;
        return SLUICE_OK;
    }
    if (strcmp(pattern, "epoch_ms") == 0 || strcmp(pattern, "epoch_s") == 0) {
        *out = alloc_format(pattern[6] == 'm' ? TS_EPOCH_MS : TS_EPOCH_S, 0);
        return *out ? SLUICE_OK : SLUICE_ERR_NOMEM;
    }

    /* Validate, and see whether the fast path covers every directive. */
    size_t plen = strlen(pattern), nconv = 0;
    int fast = 1;
    for (size_t i = 0; i < plen; i++) {
        if (pattern[i] != '%') continue;
        size_t j = i + 1;
        while (j < plen && strchr("-_0^#", pattern[j])) { j++; fast = 0; }
        if (j < plen && (pattern[j] == 'E' || pattern[j] == 'O')) { j++; fast = 0; }
        if (j >= plen || !strchr(STRPTIME_CONVERSIONS, pattern[j]))
            return sluice_seterr(errstr, errstr_size, SLUICE_ERR_INVALID,
                                 "TIMESTAMP FORMAT '%s': unknown or incomplete conversion "
                                 "at offset %zu", pattern, i);
        if (!strchr("YmdeHMSbBhjnt%", pattern[j])) fast = 0;
        if (pattern[j] != '%' && pattern[j] != 'n' && pattern[j] != 't') nconv++;
        i = j;
    }
    if (nconv == 0)
        return sluice_seterr(errstr, errstr_size, SLUICE_ERR_INVALID,
                             "TIMESTAMP FORMAT '%s': no date or time conversion "
                             "(use a strptime pattern, 'epoch_ms' or 'epoch_s')", pattern);

    if (!fast) {
        sluice_ts_format *f = alloc_format(TS_STRPTIME, 0);
        if (!f || !(f->pattern = strdup(pattern))) {
            free(f);
            return SLUICE_ERR_NOMEM;
        }
        *out = f;
        return SLUICE_OK;
    }

    sluice_ts_format *f = alloc_format(TS_FAST, plen);
    if (!f) return SLUICE_ERR_NOMEM;
    size_t n = 0;
    for (size_t i = 0; i < plen; i++) {
        ts_directive *d = &f->dirs[n++];
        char c = pattern[i];
        if (c != '%') {
            d->kind = isspace((unsigned char)c) ? D_SPACE : D_LIT;
            d->lit = c;
            continue;
        }
        switch (pattern[++i]) {
        case 'Y': d->kind = D_YEAR; break;
        case 'm': d->kind = D_MON; break;
        case 'd': case 'e': d->kind = D_DAY; break;
        case 'H': d->kind = D_HOUR; break;
        case 'M': d->kind = D_MIN; break;
        case 'S': d->kind = D_SEC; break;
        case 'b': case 'B': case 'h': d->kind = D_MONNAME; break;
        case 'j': d->kind = D_YDAY; break;
        case 'n': case 't': d->kind = D_SPACE; break;
        default: d->kind = D_LIT; d->lit = '%'; break; /* %% */
        }
    }
    f->ndirs = n;
    *out = f;
    return SLUICE_OK;
}

void sluice_ts_format_free(sluice_ts_format *f) {
    if (!f) return;
    free(f->pattern);
    free(f);
}

int sluice_ts_format_is_epoch(const sluice_ts_format *f) {
    return f && (f->kind == TS_EPOCH_MS || f->kind == TS_EPOCH_S);
}

/* ---------------- ISO-8601 ---------------- */

static inline int digits(const char *p, int n, int *out) {
    int v = 0;
    for (int i = 0; i < n; i++) {
        unsigned c = (unsigned char)p[i] - '0';
        if (c > 9) return -1;
        v = v * 10 + (int)c;
    }
    *out = v;
    return 0;
}

static int parse_iso(const char *s, size_t len, int64_t *ms) {
    int y, mo, d, h = 0, mi = 0, sec = 0, frac = 0;
    if (len < 10 || digits(s, 4, &y) || s[4] != '-' || digits(s + 5, 2, &mo) ||
        s[7] != '-' || digits(s + 8, 2, &d))
        return -1;
    if (mo < 1 || mo > 12 || d < 1 || (unsigned)d > days_in_month(y, (unsigned)mo)) return -1;
    const char *p = s + 10, *end = s + len;
    int64_t offset_min = 0;
    if (p < end) {
        if (*p != 'T' && *p != 't' && *p != ' ') return -1;
        p++;
        if (end - p < 5 || digits(p, 2, &h) || p[2] != ':' || digits(p + 3, 2, &mi)) return -1;
        p += 5;
        if (p < end && *p == ':') {
            if (end - p < 3 || digits(p + 1, 2, &sec)) return -1;
            p += 3;
            if (p < end && (*p == '.' || *p == ',')) {
                p++;
                const char *f0 = p;
                int scale = 100;
                while (p < end && (unsigned)(*p - '0') <= 9) {
                    frac += (*p - '0') * scale;
                    scale /= 10;
                    p++;
                }
                if (p == f0) return -1;
            }
        }
        if (h > 23 || mi > 59 || sec > 59) return -1;
        if (p < end) {
            if (*p == 'Z' || *p == 'z') {
                p++;
            } else if (*p == '+' || *p == '-') {
                int sign = *p == '-' ? -1 : 1, oh, om = 0;
                p++;
                if (end - p < 2 || digits(p, 2, &oh)) return -1;
                p += 2;
                if (p < end && *p == ':') p++;
                if (p < end) {
                    if (end - p < 2 || digits(p, 2, &om)) return -1;
                    p += 2;
                }
                if (oh > 23 || om > 59) return -1;
                offset_min = sign * (oh * 60 + om);
            } else {
                return -1;
            }
        }
        if (p != end) return -1;
    }
    *ms = compose(y, (unsigned)mo, (unsigned)d, h, mi, sec, frac) - offset_min * 60000;
    return 0;
}

/* ---------------- strptime fast path ---------------- */

static inline int is_space(char c) { return c == ' ' || (c >= '\t' && c <= '\r'); }

/* glibc's get_number(): skip whitespace, then 1..maxdigits digits, stopping
 * early once another digit would exceed `to`. */
static inline int get_number(const char **pp, const char *end, int from, int to, int maxdigits,
                             int *out) {
    const char *p = *pp;
    while (p < end && is_space(*p)) p++;
    if (p >= end || (unsigned)(*p - '0') > 9) return -1;
    int v = 0;
    do {
        v = v * 10 + (*p++ - '0');
    } while (--maxdigits > 0 && v * 10 <= to && p < end && (unsigned)(*p - '0') <= 9);
    if (v < from || v > to) return -1;
    *pp = p;
    *out = v;
    return 0;
}

static const char *const MONTH_NAMES[12] = {
    "january", "february", "march", "april", "may", "june", "july",
    "august", "september", "october", "november", "december"};

static int get_month_name(const char **pp, const char *end, int *out) {
    const char *p = *pp;
    size_t avail = (size_t)(end - p);
    for (int i = 0; i < 12; i++) {
        const char *name = MONTH_NAMES[i];
        size_t full = strlen(name);
        if (avail >= full && strncasecmp(p, name, full) == 0) {
            *pp = p + full;
            *out = i + 1;
            return 0;
        }
        if (avail >= 3 && strncasecmp(p, name, 3) == 0) {
            *pp = p + 3;
            *out = i + 1;
            return 0;
        }
    }
    return -1;
}

static int parse_fast(const sluice_ts_format *f, const char *s, size_t len, int64_t *ms) {
    const char *p = s, *end = s + len;
    int y = 1970, mo = 1, d = 1, h = 0, mi = 0, sec = 0, yday = 0, have_md = 0;
    for (size_t i = 0; i < f->ndirs; i++) {
        const ts_directive *dir = &f->dirs[i];
        int rc = 0;
        switch ((ts_dir)dir->kind) {
        case D_LIT:
            if (p >= end || *p != dir->lit) return -1;
            p++;
            break;
        case D_SPACE:
            while (p < end && is_space(*p)) p++;
            break;
        case D_YEAR: rc = get_number(&p, end, 0, 9999, 4, &y); break;
        case D_MON: rc = get_number(&p, end, 1, 12, 2, &mo); have_md = 1; break;
        case D_DAY: rc = get_number(&p, end, 1, 31, 2, &d); have_md = 1; break;
        case D_HOUR: rc = get_number(&p, end, 0, 23, 2, &h); break;
        case D_MIN: rc = get_number(&p, end, 0, 59, 2, &mi); break;
        case D_SEC: rc = get_number(&p, end, 0, 61, 2, &sec); break;
        case D_MONNAME: rc = get_month_name(&p, end, &mo); have_md = 1; break;
        case D_YDAY: rc = get_number(&p, end, 1, 366, 3, &yday); break;
        }
        if (rc) return -1;
    }
    if (p != end) return -1;
    if (yday && !have_md) {
        if (yday > 365 + is_leap(y)) return -1;
        *ms = (sluice_days_from_civil(y, 1, 1) + yday - 1) * MS_PER_DAY + h * 3600000LL +
              mi * 60000LL + sec * 1000LL;
        return 0;
    }
    if ((unsigned)d > days_in_month(y, (unsigned)mo)) return -1;
    *ms = compose(y, (unsigned)mo, (unsigned)d, h, mi, sec, 0);
    return 0;
}

static int parse_strptime(const sluice_ts_format *f, const char *s, size_t len, int64_t *ms) {
    char buf[256];
    if (len >= sizeof buf) return -1;
    memcpy(buf, s, len);
    buf[len] = '\0';
    struct tm tm;
    memset(&tm, 0, sizeof tm);
    tm.tm_year = 70;
    tm.tm_mday = 1;
    const char *rest = strptime(buf, f->pattern, &tm);
    if (!rest || *rest != '\0') return -1;
    long gmtoff = tm.tm_gmtoff; /* set by %z; timegm() ignores it */
    time_t t = timegm(&tm);
    *ms = ((int64_t)t - gmtoff) * 1000;
    return 0;
}

/* ---------------- epoch ---------------- */

int sluice_ts_from_number(const sluice_ts_format *f, double num, int64_t *ms) {
    if (!sluice_ts_format_is_epoch(f)) return -1;
    double x = f->kind == TS_EPOCH_S ? num * 1000.0 : num;
    if (!isfinite(x) || fabs(x) >= 9.2e18) return -1;
    *ms = (int64_t)llround(x);
    return in_range(0, ms);
}

static int parse_epoch(const sluice_ts_format *f, const char *s, size_t len, int64_t *ms) {
    int64_t v;
    if (sluice_format_parse_int64(s, len, &v) == 0) {
        if (f->kind == TS_EPOCH_S && __builtin_mul_overflow(v, 1000, &v)) return -1;
        *ms = v;
        return 0;
    }
    char buf[64];
    if (len == 0 || len >= sizeof buf || isspace((unsigned char)s[0])) return -1;
    memcpy(buf, s, len);
    buf[len] = '\0';
    char *endp;
    double d = strtod(buf, &endp);
    if (*endp != '\0') return -1;
    return sluice_ts_from_number(f, d, ms);
}

int sluice_ts_parse(const sluice_ts_format *f, const char *text, size_t len, int64_t *ms) {
    if (!f) return in_range(parse_iso(text, len, ms), ms);
    switch (f->kind) {
    case TS_ISO: return in_range(parse_iso(text, len, ms), ms);
    case TS_FAST: return in_range(parse_fast(f, text, len, ms), ms);
    case TS_STRPTIME: return in_range(parse_strptime(f, text, len, ms), ms);
    case TS_EPOCH_MS:
    case TS_EPOCH_S: return in_range(parse_epoch(f, text, len, ms), ms);
    }
    return -1;
}

/* ---------------- render ---------------- */

static inline char *put2(char *p, unsigned v) {
    p[0] = (char)('0' + v / 10);
    p[1] = (char)('0' + v % 10);
    return p + 2;
}

/* The date part "YYYY-MM-DD " of the last day rendered, per thread: rows
 * of a batch mostly fall on one day, so the calendar arithmetic runs once
 * per day, not once per row. */
static _Thread_local int64_t date_cache_day = INT64_MIN;
static _Thread_local char date_cache_text[32];
static _Thread_local size_t date_cache_len;

size_t sluice_ts_render(int64_t ms, char *buf, size_t size) {
    int64_t days = ms / MS_PER_DAY, rem = ms % MS_PER_DAY;
    if (rem < 0) {
        rem += MS_PER_DAY;
        days--;
    }
    unsigned secs = (unsigned)(rem / 1000), frac = (unsigned)(rem % 1000);
    char tmp[48], *p = tmp;
    if (days != date_cache_day) {
        int64_t y;
        unsigned mo, d;
        civil_from_days(days, &y, &mo, &d);
        char *q = date_cache_text;
        if (y >= 0 && y <= 9999) {
            q = put2(q, (unsigned)(y / 100));
            q = put2(q, (unsigned)(y % 100));
        } else {
            q += snprintf(date_cache_text, 21, "%lld", (long long)y);
        }
        *q++ = '-';
        q = put2(q, mo);
        *q++ = '-';
        q = put2(q, d);
        *q++ = ' ';
        date_cache_len = (size_t)(q - date_cache_text);
        date_cache_day = days;
    }
    memcpy(p, date_cache_text, date_cache_len);
    p += date_cache_len;
    p = put2(p, secs / 3600);
    *p++ = ':';
    p = put2(p, secs / 60 % 60);
    *p++ = ':';
    p = put2(p, secs % 60);
    if (frac) {
        *p++ = '.';
        *p++ = (char)('0' + frac / 100);
        p = put2(p, frac % 100);
    }
    size_t n = (size_t)(p - tmp);
    if (size == 0) return 0;
    if (n >= size) n = size - 1;
    memcpy(buf, tmp, n);
    buf[n] = '\0';
    return n;
}
