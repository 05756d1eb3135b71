/*
 * Date patterns with the letters of Java's SimpleDateFormat and
 * DateTimeFormatter, which Flink's DATE_FORMAT and TO_TIMESTAMP take:
 *   y year (yy: two digits)  M month (MMM Jan, MMMM January)  d day
 *   H hour 0-23  h hour 1-12  a AM/PM  m minute  s second
 *   S fraction of the second (DateTimeFormatter's meaning: SSS = ms)
 *   E weekday (EEE Mon, EEEE Monday)  D day of year
 * A letter repeated n times pads its number to n digits; other letters
 * are refused (so a pattern never silently means something else); text
 * in single quotes is literal ('' is a quote); other characters are
 * literal.  Everything is UTC.
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "exec/func.h"
#include "format/format.h"

typedef struct item {
    char letter;       /* 0: literal text */
    int count;
    const char *text;  /* literal */
    size_t len;
} item;

struct sluice_datefmt {
    item *items;
    size_t n;
};

static const char *const month_names[12] = {"January", "February", "March",     "April",   "May",      "June",
                                            "July",    "August",   "September", "October", "November", "December"};
static const char *const day_names[7] = {"Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"};

sluice_datefmt *sluice_datefmt_compile(const char *p, size_t len, sluice_arena *arena, char *err,
                                       size_t err_size) {
    /* at most one item per pattern byte */
    sluice_datefmt *f = sluice_arena_alloc(arena, sizeof *f);
    item *items = sluice_arena_alloc(arena, (len + 1) * sizeof *items);
    char *lit = sluice_arena_alloc(arena, len + 1);
    if (!f || !items || !lit) {
        snprintf(err, err_size, "out of memory");
        return NULL;
    }
    size_t n = 0, nlit = 0;
    for (size_t i = 0; i < len;) {
        unsigned char c = (unsigned char)p[i];
        if (c == '\'') {
            /* quoted text; '' inside or outside quotes is one quote */
            char *start = lit + nlit;
            size_t j = i + 1;
            if (j < len && p[j] == '\'') {
                lit[nlit++] = '\'';
                i = j + 1;
            } else {
                for (;;) {
                    if (j >= len) {
                        snprintf(err, err_size, "unterminated quoted text in the date pattern");
                        return NULL;
                    }
                    if (p[j] == '\'') {
                        if (j + 1 < len && p[j + 1] == '\'') {
                            lit[nlit++] = '\'';
                            j += 2;
                            continue;
                        }
                        break;
                    }
                    lit[nlit++] = p[j++];
                }
                i = j + 1;
            }
            items[n++] = (item){0, 0, start, (size_t)(lit + nlit - start)};
            continue;
        }
        if (isalpha(c)) {
            if (!strchr("yMdHhmsSaED", c)) {
                snprintf(err, err_size,
                         "date pattern letter '%c' is not supported (supported: y M d H h m s S a E D; "
                         "quote literal text with '...')",
                         c);
                return NULL;
            }
            size_t j = i;
            while (j < len && p[j] == (char)c) j++;
            if (j - i > 64) {
                snprintf(err, err_size, "date pattern letter '%c' repeated more than 64 times", c);
                return NULL;
            }
            items[n++] = (item){(char)c, (int)(j - i), NULL, 0};
            i = j;
            continue;
        }
        items[n++] = (item){0, 0, lit + nlit, 1};
        lit[nlit++] = (char)c;
        i++;
    }
    f->items = items;
    f->n = n;
    return f;
}

/* ---- formatting ---- */

typedef struct out {
    char *buf;
    size_t size, len;
} out;

static void put(out *o, const char *s, size_t n) {
    for (size_t i = 0; i < n; i++, o->len++)
        if (o->len + 1 < o->size) o->buf[o->len] = s[i];
}

static void put_num(out *o, int64_t v, int width) {
    char tmp[96];
    /* compile() keeps a letter's count to 64; said again for the compiler */
    width = width < 1 ? 1 : width > 64 ? 64 : width;
    int n = v < 0 ? snprintf(tmp, sizeof tmp, "-%0*llu", width - 1,
                             (unsigned long long)(-(v + 1)) + 1ULL)
                  : snprintf(tmp, sizeof tmp, "%0*lld", width, (long long)v);
    if (n > 0) put(o, tmp, (size_t)n < sizeof tmp ? (size_t)n : sizeof tmp - 1);
}

size_t sluice_datefmt_format(const sluice_datefmt *f, int64_t ms, char *buf, size_t size) {
    sluice_civil c;
    sluice_civil_from_ms(ms, &c);
    out o = {buf, size, 0};
    for (size_t i = 0; i < f->n; i++) {
        const item *it = &f->items[i];
        int n = it->count;
        switch (it->letter) {
        case 0: put(&o, it->text, it->len); break;
        case 'y':
            if (n == 2) put_num(&o, ((c.year % 100) + 100) % 100, 2);
            else put_num(&o, c.year, n);
            break;
        case 'M':
            if (n >= 3) put(&o, month_names[c.month - 1], n == 3 ? 3 : strlen(month_names[c.month - 1]));
            else put_num(&o, c.month, n);
            break;
        case 'd': put_num(&o, c.day, n); break;
        case 'H': put_num(&o, c.hour, n); break;
        case 'h': put_num(&o, c.hour % 12 == 0 ? 12 : c.hour % 12, n); break;
        case 'a': put(&o, c.hour < 12 ? "AM" : "PM", 2); break;
        case 'm': put_num(&o, c.minute, n); break;
        case 's': put_num(&o, c.second, n); break;
        case 'D': put_num(&o, c.doy, n); break;
        case 'E': {
            const char *name = day_names[c.dow - 1];
            put(&o, name, n <= 3 ? 3 : strlen(name));
            break;
        }
        case 'S': {
            /* the fraction of the second, to n digits (ms holds three) */
            char digits[3] = {(char)('0' + c.millis / 100), (char)('0' + c.millis / 10 % 10),
                              (char)('0' + c.millis % 10)};
            for (int k = 0; k < n; k++) put(&o, k < 3 ? &digits[k] : "0", 1);
            break;
        }
        default: break;
        }
    }
    if (size) o.buf[o.len < size ? o.len : size - 1] = '\0';
    return o.len;
}

/* ---- parsing ---- */

static int is_numeric_item(const item *it) {
    return it->letter && !strchr("aE", it->letter) && !(it->letter == 'M' && it->count >= 3);
}

/* Read 1..max digits at *pos (exactly `max` when exact).  -1 when none. */
static int read_num(const char *s, size_t len, size_t *pos, int max, int exact, int64_t *v, int *ndigits) {
    size_t i = *pos;
    int64_t x = 0;
    int k = 0;
    while (i < len && k < max && isdigit((unsigned char)s[i])) x = x * 10 + (s[i++] - '0'), k++;
    if (k == 0 || (exact && k != max)) return -1;
    *pos = i;
    *v = x;
    if (ndigits) *ndigits = k;
    return 0;
}

/* Match one of names (full or its first three letters when abbrev),
 * case-insensitively; returns its index or -1. */
static int read_name(const char *s, size_t len, size_t *pos, const char *const *names, int count, int abbrev) {
    for (int k = 0; k < count; k++) {
        size_t n = abbrev ? 3 : strlen(names[k]);
        if (len - *pos >= n && strncasecmp(s + *pos, names[k], n) == 0) {
            *pos += n;
            return k;
        }
    }
    return -1;
}

int sluice_datefmt_parse(const sluice_datefmt *f, const char *s, size_t len, int64_t *ms) {
    int64_t year = 1970, month = 1, day = 1, hour = 0, minute = 0, second = 0, millis = 0, doy = 0;
    int pm = -1, h12 = 0;
    size_t pos = 0;
    for (size_t i = 0; i < f->n; i++) {
        const item *it = &f->items[i];
        /* a number directly followed by another takes exactly its width */
        int adjacent = i + 1 < f->n && is_numeric_item(&f->items[i + 1]);
        int64_t v;
        int nd;
        switch (it->letter) {
        case 0:
            if (len - pos < it->len || memcmp(s + pos, it->text, it->len) != 0) return -1;
            pos += it->len;
            break;
        case 'y':
            if (it->count == 2) {
                if (read_num(s, len, &pos, 2, 1, &v, NULL)) return -1;
                year = 2000 + v;
            } else {
                if (read_num(s, len, &pos, adjacent ? (it->count > 4 ? it->count : 4) : 9, adjacent, &v, NULL))
                    return -1;
                year = v;
            }
            break;
        case 'M':
            if (it->count >= 3) {
                int k = read_name(s, len, &pos, month_names, 12, it->count == 3);
                if (k < 0) return -1;
                month = k + 1;
            } else if (read_num(s, len, &pos, 2, adjacent, &month, NULL)) {
                return -1;
            }
            break;
        case 'd': if (read_num(s, len, &pos, 2, adjacent, &day, NULL)) return -1; break;
        case 'H': if (read_num(s, len, &pos, 2, adjacent, &hour, NULL)) return -1; break;
        case 'h':
            if (read_num(s, len, &pos, 2, adjacent, &hour, NULL)) return -1;
            h12 = 1;
            break;
        case 'm': if (read_num(s, len, &pos, 2, adjacent, &minute, NULL)) return -1; break;
        case 's': if (read_num(s, len, &pos, 2, adjacent, &second, NULL)) return -1; break;
        case 'D': if (read_num(s, len, &pos, 3, adjacent, &doy, NULL)) return -1; break;
        case 'S':
            if (read_num(s, len, &pos, adjacent ? it->count : 9, adjacent, &v, &nd)) return -1;
            while (nd > 3) v /= 10, nd--;
            while (nd < 3) v *= 10, nd++;
            millis = v;
            break;
        case 'a':
            if (len - pos >= 2 && strncasecmp(s + pos, "AM", 2) == 0) pm = 0;
            else if (len - pos >= 2 && strncasecmp(s + pos, "PM", 2) == 0) pm = 1;
            else return -1;
            pos += 2;
            break;
        case 'E':
            if (read_name(s, len, &pos, day_names, 7, it->count <= 3) < 0) return -1;
            break;
        default: return -1;
        }
    }
    if (pos != len) return -1;
    if (h12) {
        if (hour < 1 || hour > 12) return -1;
        if (hour == 12) hour = 0;
        if (pm == 1) hour += 12;
    } else if (pm == 1 && hour < 12) {
        hour += 12;
    }
    if (year > 9999 || month < 1 || month > 12 || day < 1 || day > sluice_civil_month_days(year, (int)month) ||
        hour > 23 || minute > 59 || second > 59)
        return -1;
    int64_t days = sluice_civil_days(year, (int)month, (int)day);
    if (doy) {
        if (doy > 365 + (sluice_civil_month_days(year, 2) == 29)) return -1;
        days = sluice_civil_days(year, 1, 1) + doy - 1;
    }
    *ms = days * 86400000 + hour * 3600000 + minute * 60000 + second * 1000 + millis;
    return sluice_ts_in_range(*ms) ? 0 : -1;
}
