/*
 * The proleptic Gregorian calendar in UTC for the date functions: days
 * since the epoch to year-month-day and back (the algorithms of Howard
 * Hinnant's "chrono-Compatible Low-Level Date Algorithms"), weekday, day
 * of year and the ISO-8601 week.  Defined for every int64 millisecond, so
 * no input can make a date function read outside its tables.
 */
#include "exec/func.h"

static int64_t floor_div(int64_t a, int64_t b) {
    int64_t q = a / b;
    return (a % b != 0 && ((a < 0) != (b < 0))) ? q - 1 : q;
}

int64_t sluice_civil_days(int64_t y, int m, int d) {
    y -= m <= 2;
    int64_t era = floor_div(y, 400);
    int64_t yoe = y - era * 400;
    int64_t mp = (m + 9) % 12;
    int64_t doy = (153 * mp + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static int is_leap(int64_t y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

int sluice_civil_month_days(int64_t y, int m) {
    static const int days[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (m < 1 || m > 12) return 0;
    return m == 2 && is_leap(y) ? 29 : days[m - 1];
}

void sluice_civil_from_ms(int64_t ms, sluice_civil *out) {
    /* truncating division, then the floor: days * 86400000 itself could
     * pass INT64_MIN */
    int64_t days = ms / 86400000, rem = ms % 86400000;
    if (rem < 0) rem += 86400000, days--;
    out->hour = (int)(rem / 3600000);
    out->minute = (int)(rem / 60000 % 60);
    out->second = (int)(rem / 1000 % 60);
    out->millis = (int)(rem % 1000);
    /* 1970-01-01 was a Thursday (5 with Sunday = 1) */
    out->dow = (int)((days % 7 + 7 + 4) % 7) + 1;
    int64_t z = days + 719468;
    int64_t era = floor_div(z, 146097);
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t y = yoe + era * 400;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    out->day = (int)(doy - (153 * mp + 2) / 5 + 1);
    out->month = (int)(mp < 10 ? mp + 3 : mp - 9);
    out->year = y + (out->month <= 2);
    out->doy = (int)(days - sluice_civil_days(out->year, 1, 1) + 1);
}

/* ISO 8601: weeks start on Monday; week 1 holds the year's first Thursday. */
int sluice_civil_iso_week(const sluice_civil *c) {
    int iso_dow = (c->dow + 5) % 7 + 1; /* Monday = 1 .. Sunday = 7 */
    int week = (c->doy - iso_dow + 10) / 7;
    if (week < 1) {
        /* the last week of the previous year: 52 or 53 */
        int64_t py = c->year - 1;
        int jan1 = (int)((sluice_civil_days(py, 1, 1) % 7 + 7 + 3) % 7) + 1; /* ISO weekday of Jan 1 */
        return (jan1 == 4 || (jan1 == 3 && is_leap(py))) ? 53 : 52;
    }
    if (week == 53) {
        int jan1 = (int)((sluice_civil_days(c->year, 1, 1) % 7 + 7 + 3) % 7) + 1;
        if (!(jan1 == 4 || (jan1 == 3 && is_leap(c->year)))) return 1;
    }
    return week;
}
