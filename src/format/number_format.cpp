/*
 * Numbers as text (number_format.h).
 */
#include <cmath>
#include <cstring>

#include <double-conversion/double-to-string.h>

#include "format/number_format.h"

/* "00".."99": two digits per division, half the divisions of one digit at
 * a time. */
static const char kDigitPairs[201] =
    "0001020304050607080910111213141516171819"
    "2021222324252627282930313233343536373839"
    "4041424344454647484950515253545556575859"
    "6061626364656667686970717273747576777879"
    "8081828384858687888990919293949596979899";

/* u's digits, written backwards ending at end; returns the first. */
static char *put_u64_back(uint64_t u, char *end) {
    char *p = end;
    while (u >= 100) {
        unsigned k = (unsigned)(u % 100) * 2;
        u /= 100;
        *--p = kDigitPairs[k + 1];
        *--p = kDigitPairs[k];
    }
    if (u >= 10) {
        *--p = kDigitPairs[u * 2 + 1];
        *--p = kDigitPairs[u * 2];
    } else {
        *--p = (char)('0' + u);
    }
    return p;
}

extern "C" size_t sluice_fmt_int64(int64_t v, char *out) {
    char tmp[24];
    char *end = tmp + sizeof tmp;
    /* the magnitude in unsigned arithmetic: -INT64_MIN does not fit int64 */
    uint64_t u = v < 0 ? 0 - (uint64_t)v : (uint64_t)v;
    char *p = put_u64_back(u, end);
    if (v < 0) *--p = '-';
    size_t n = (size_t)(end - p);
    std::memcpy(out, p, n);
    out[n] = '\0';
    return n;
}

extern "C" size_t sluice_fmt_double(double d, char *out) {
    using double_conversion::DoubleToStringConverter;
    if (std::isnan(d)) {
        std::memcpy(out, "nan", 4);
        return 3;
    }
    if (std::isinf(d)) {
        std::memcpy(out, d < 0 ? "-inf" : "inf", d < 0 ? 5 : 4);
        return d < 0 ? 4 : 3;
    }
    char digits[DoubleToStringConverter::kBase10MaximalLength + 1];
    bool negative = false;
    int k = 0, point = 0; /* value = 0.DIGITS x 10^point */
    DoubleToStringConverter::DoubleToAscii(d, DoubleToStringConverter::SHORTEST, 0, digits, sizeof digits,
                                           &negative, &k, &point);
    char *p = out;
    if (std::signbit(d)) *p++ = '-'; /* -0.0 too, as %g writes it */
    int x = point - 1;                 /* %g's exponent of the first digit */
    int precision = k > 15 ? k : 15;   /* the %.15g..%.17g the text used to be */
    if (x >= -4 && x < precision) {
        if (point <= 0) {
            *p++ = '0';
            *p++ = '.';
            for (int i = 0; i < -point; i++) *p++ = '0';
            std::memcpy(p, digits, (size_t)k);
            p += k;
        } else if (point >= k) {
            std::memcpy(p, digits, (size_t)k);
            p += k;
            for (int i = k; i < point; i++) *p++ = '0';
        } else {
            std::memcpy(p, digits, (size_t)point);
            p += point;
            *p++ = '.';
            std::memcpy(p, digits + point, (size_t)(k - point));
            p += k - point;
        }
    } else {
        *p++ = digits[0];
        if (k > 1) {
            *p++ = '.';
            std::memcpy(p, digits + 1, (size_t)(k - 1));
            p += k - 1;
        }
        *p++ = 'e';
        *p++ = x < 0 ? '-' : '+';
        unsigned e = (unsigned)(x < 0 ? -x : x);
        if (e >= 100) *p++ = (char)('0' + e / 100);
        *p++ = kDigitPairs[(e % 100) * 2];
        *p++ = kDigitPairs[(e % 100) * 2 + 1];
    }
    *p = '\0';
    return (size_t)(p - out);
}
