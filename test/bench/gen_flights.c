/*
 * gen_flights N DAYS OUT — write N flights-like JSON lines to OUT.
 *
 * {"date":"2001/01/01 00:00","delay":12,"distance":1234,"origin":"ABC","destination":"XYZ"}
 *
 * Rows are in time order, spread evenly over DAYS days from 2001-01-01 00:00
 * (minute resolution, format '%Y/%m/%d %H:%M' as in
 * fixtures/data/flights-20k.jsonl).  300 origin codes of three upper-case
 * letters, the same for every run.  Delays are in minutes, never null: mostly
 * -10..15, some 15..60, a few long ones up to 300.  The output depends only
 * on N and DAYS (splitmix64 with a fixed seed).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define N_AIRPORTS 300

static uint64_t rng_state = 0x5eed5109ce2001ULL;

static uint64_t splitmix64(void) {
    uint64_t z = (rng_state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

/* Uniform integer in [0, n). */
static uint32_t rng_below(uint32_t n) {
    return (uint32_t)(((splitmix64() >> 32) * (uint64_t)n) >> 32);
}

/* Hinnant's civil_from_days. */
static void civil_from_days(int64_t z, int *y, unsigned *m, unsigned *d) {
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    unsigned doe = (unsigned)(z - era * 146097);
    unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t yy = (int64_t)yoe + era * 400;
    unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    unsigned mp = (5 * doy + 2) / 153;
    *d = doy - (153 * mp + 2) / 5 + 1;
    *m = mp < 10 ? mp + 3 : mp - 9;
    *y = (int)(yy + (*m <= 2));
}

static char *put_uint(char *p, uint64_t v) {
    char tmp[24];
    int n = 0;
    do {
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    while (n)
        *p++ = tmp[--n];
    return p;
}

static char *put_int(char *p, int64_t v) {
    if (v < 0) {
        *p++ = '-';
        return put_uint(p, (uint64_t)(-v));
    }
    return put_uint(p, (uint64_t)v);
}

static char *put_2(char *p, unsigned v) {
    *p++ = (char)('0' + v / 10);
    *p++ = (char)('0' + v % 10);
    return p;
}

static char *put_str(char *p, const char *s) {
    size_t n = strlen(s);
    memcpy(p, s, n);
    return p + n;
}

static int64_t draw_delay(void) {
    uint32_t r = rng_below(100);
    if (r < 70)
        return -10 + (int64_t)rng_below(26);  /* -10..15 */
    if (r < 95)
        return 15 + (int64_t)rng_below(46);   /* 15..60 */
    return 60 + (int64_t)rng_below(241);      /* 60..300 */
}

/* A mildly skewed airport choice: a third of the traffic goes to the 30
 * busiest airports, the rest is spread over all 300. */
static uint32_t draw_airport(void) {
    if (rng_below(3) == 0)
        return rng_below(30);
    return rng_below(N_AIRPORTS);
}

static int parse_count(const char *s, const char *what, uint64_t max, uint64_t *out) {
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || end == s || *end || s[0] == '-' || v == 0 || v > max) {
        fprintf(stderr, "gen_flights: %s '%s' must be an integer in 1..%" PRIu64 "\n", what, s, max);
        return -1;
    }
    *out = v;
    return 0;
}

int main(int argc, char **argv) {
    if (argc != 4) {
        fprintf(stderr, "usage: gen_flights N DAYS OUT\n"
                        "  write N flights-like JSON lines in time order over DAYS days to OUT\n");
        return 2;
    }
    uint64_t n, days;
    if (parse_count(argv[1], "N", UINT64_C(1) << 40, &n) || parse_count(argv[2], "DAYS", 36500, &days))
        return 2;

    char codes[N_AIRPORTS][4];
    for (unsigned k = 0; k < N_AIRPORTS; k++) {
        /* 7919 is coprime with 26^3, so the codes are distinct. */
        unsigned c = (k * 7919u + 1234u) % (26u * 26u * 26u);
        codes[k][0] = (char)('A' + c / 676);
        codes[k][1] = (char)('A' + c / 26 % 26);
        codes[k][2] = (char)('A' + c % 26);
        codes[k][3] = '\0';
    }

    FILE *out = fopen(argv[3], "wb");
    if (!out) {
        fprintf(stderr, "gen_flights: cannot open '%s': %s\n", argv[3], strerror(errno));
        return 1;
    }

    const int64_t epoch_day0 = 11323; /* 2001-01-01 */
    const uint64_t total_minutes = days * 1440;
    static char buf[1 << 20];
    size_t used = 0;
    int64_t cached_day = -1;
    char date_prefix[48]; /* "2001/01/01 " */

    for (uint64_t i = 0; i < n; i++) {
        uint64_t minute = (uint64_t)(((unsigned __int128)i * total_minutes) / n);
        int64_t day = (int64_t)(minute / 1440);
        unsigned hh = (unsigned)(minute % 1440 / 60), mm = (unsigned)(minute % 60);
        if (day != cached_day) {
            int y;
            unsigned mo, d;
            civil_from_days(epoch_day0 + day, &y, &mo, &d);
            snprintf(date_prefix, sizeof date_prefix, "%04d/%02u/%02u ", y, mo, d);
            cached_day = day;
        }
        uint32_t origin = draw_airport();
        uint32_t dest = draw_airport();
        if (dest == origin)
            dest = (dest + 1) % N_AIRPORTS;
        int64_t delay = draw_delay();
        uint64_t distance = 100 + rng_below(2600);

        if (used > sizeof buf - 256) {
            if (fwrite(buf, 1, used, out) != used)
                goto write_error;
            used = 0;
        }
        char *p = buf + used;
        p = put_str(p, "{\"date\":\"");
        p = put_str(p, date_prefix);
        p = put_2(p, hh);
        *p++ = ':';
        p = put_2(p, mm);
        p = put_str(p, "\",\"delay\":");
        p = put_int(p, delay);
        p = put_str(p, ",\"distance\":");
        p = put_uint(p, distance);
        p = put_str(p, ",\"origin\":\"");
        p = put_str(p, codes[origin]);
        p = put_str(p, "\",\"destination\":\"");
        p = put_str(p, codes[dest]);
        p = put_str(p, "\"}\n");
        used = (size_t)(p - buf);
    }
    if (used && fwrite(buf, 1, used, out) != used)
        goto write_error;
    if (fclose(out) != 0) {
        fprintf(stderr, "gen_flights: cannot write '%s': %s\n", argv[3], strerror(errno));
        return 1;
    }
    return 0;

write_error:
    fprintf(stderr, "gen_flights: cannot write '%s': %s\n", argv[3], strerror(errno));
    fclose(out);
    return 1;
}
