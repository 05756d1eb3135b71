#include <math.h>
#include <string.h>

#include "sluice/value.h"

const char *sluice_type_name(sluice_type_t t) {
    switch (t) {
    case SLUICE_TYPE_NULL: return "NULL";
    case SLUICE_TYPE_BIGINT: return "BIGINT";
    case SLUICE_TYPE_DOUBLE: return "DOUBLE";
    case SLUICE_TYPE_VARCHAR: return "VARCHAR";
    case SLUICE_TYPE_BOOLEAN: return "BOOLEAN";
    case SLUICE_TYPE_TIMESTAMP: return "TIMESTAMP";
    case SLUICE_TYPE_INTERVAL: return "INTERVAL";
    }
    return "UNKNOWN";
}

static int is_number(uint8_t t) {
    return t == SLUICE_TYPE_BIGINT || t == SLUICE_TYPE_DOUBLE;
}

static int cmp_i64(int64_t a, int64_t b) { return (a > b) - (a < b); }

static int cmp_double(double a, double b) {
    /* NaN sorts after every number and equal to itself: a total order. */
    if (isnan(a) || isnan(b)) return isnan(a) - isnan(b);
    return (a > b) - (a < b);
}

int sluice_value_compare(const sluice_value *a, const sluice_value *b) {
    if (a->type == SLUICE_TYPE_NULL || b->type == SLUICE_TYPE_NULL)
        return (b->type == SLUICE_TYPE_NULL) - (a->type == SLUICE_TYPE_NULL);
    if (is_number(a->type) && is_number(b->type)) {
        if (a->type == SLUICE_TYPE_BIGINT && b->type == SLUICE_TYPE_BIGINT)
            return cmp_i64(a->u.i, b->u.i);
        double x = a->type == SLUICE_TYPE_BIGINT ? (double)a->u.i : a->u.d;
        double y = b->type == SLUICE_TYPE_BIGINT ? (double)b->u.i : b->u.d;
        return cmp_double(x, y);
    }
    if (a->type != b->type) return cmp_i64(a->type, b->type);
    if (a->type == SLUICE_TYPE_VARCHAR) {
        size_t n = a->len < b->len ? a->len : b->len;
        int c = n ? memcmp(a->u.s, b->u.s, n) : 0;
        if (c) return c < 0 ? -1 : 1;
        return cmp_i64(a->len, b->len);
    }
    return cmp_i64(a->u.i, b->u.i);
}

int sluice_value_equal(const sluice_value *a, const sluice_value *b) {
    if (a->type != b->type) return 0;
    switch (a->type) {
    case SLUICE_TYPE_NULL: return 1;
    case SLUICE_TYPE_VARCHAR:
        return a->len == b->len && (a->len == 0 || memcmp(a->u.s, b->u.s, a->len) == 0);
    case SLUICE_TYPE_DOUBLE:
        return a->u.d == b->u.d || (isnan(a->u.d) && isnan(b->u.d));
    default: return a->u.i == b->u.i;
    }
}

static uint64_t mix64(uint64_t x) {
    /* splitmix64 finaliser */
    x ^= x >> 30; x *= 0xbf58476d1ce4e5b9ULL;
    x ^= x >> 27; x *= 0x94d049bb133111ebULL;
    x ^= x >> 31;
    return x;
}

uint64_t sluice_value_hash(const sluice_value *v, uint64_t seed) {
    uint64_t h = seed ^ (0x9e3779b97f4a7c15ULL * (uint64_t)(v->type + 1));
    switch (v->type) {
    case SLUICE_TYPE_NULL: return mix64(h);
    case SLUICE_TYPE_VARCHAR: {
        /* FNV-1a over the bytes, then mixed */
        uint64_t f = 0xcbf29ce484222325ULL;
        for (uint32_t i = 0; i < v->len; i++) {
            f ^= (unsigned char)v->u.s[i];
            f *= 0x100000001b3ULL;
        }
        return mix64(h ^ f);
    }
    case SLUICE_TYPE_DOUBLE: {
        double d = v->u.d == 0.0 ? 0.0 : v->u.d; /* -0.0 == 0.0 */
        uint64_t bits;
        if (isnan(d)) bits = 0x7ff8000000000000ULL;
        else memcpy(&bits, &d, sizeof bits);
        return mix64(h ^ bits);
    }
    default: return mix64(h ^ (uint64_t)v->u.i);
    }
}
