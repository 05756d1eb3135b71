#include <math.h>
#include <string.h>

#include "sluice/arena.h"
#include "sluice/value.h"

/* The 16 bytes include/sluice/value.h promises (rows are arrays of them). */
_Static_assert(sizeof(sluice_value) == 16, "sluice_value must stay 16 bytes");

const char *sluice_type_name(sluice_type_t t) {
    switch (t) {
    case SLUICE_TYPE_NULL: return "NULL";
    case SLUICE_TYPE_BIGINT: return "BIGINT";
    case SLUICE_TYPE_DOUBLE: return "DOUBLE";
    case SLUICE_TYPE_VARCHAR: return "VARCHAR";
    case SLUICE_TYPE_BOOLEAN: return "BOOLEAN";
    case SLUICE_TYPE_TIMESTAMP: return "TIMESTAMP";
    case SLUICE_TYPE_INTERVAL: return "INTERVAL";
    case SLUICE_TYPE_ARRAY: return "ARRAY";
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
    if (a->type == SLUICE_TYPE_ARRAY) {
        uint32_t n = a->u.a->count < b->u.a->count ? a->u.a->count : b->u.a->count;
        for (uint32_t i = 0; i < n; i++) {
            int c = sluice_value_compare(&a->u.a->values[i], &b->u.a->values[i]);
            if (c) return c;
        }
        return cmp_i64(a->u.a->count, b->u.a->count);
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
    case SLUICE_TYPE_ARRAY:
        if (a->u.a->count != b->u.a->count) return 0;
        for (uint32_t i = 0; i < a->u.a->count; i++)
            if (!sluice_value_equal(&a->u.a->values[i], &b->u.a->values[i])) return 0;
        return 1;
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
    case SLUICE_TYPE_ARRAY: {
        /* ordered: each element's hash seeds the next */
        uint64_t x = h ^ v->u.a->count;
        for (uint32_t i = 0; i < v->u.a->count; i++) x = sluice_value_hash(&v->u.a->values[i], x);
        return mix64(x);
    }
    default: return mix64(h ^ (uint64_t)v->u.i);
    }
}

sluice_array *sluice_array_new(sluice_arena *arena, sluice_type_t elem_type, size_t count) {
    if (count > UINT32_MAX / sizeof(sluice_value)) return NULL;
    sluice_array *a = sluice_arena_alloc(arena, sizeof *a + (count ? count : 1) * sizeof(sluice_value));
    if (!a) return NULL;
    a->elem_type = (uint8_t)elem_type;
    a->count = (uint32_t)count;
    a->values = (sluice_value *)(a + 1);
    for (size_t i = 0; i < count; i++) a->values[i] = sluice_value_null();
    return a;
}

int sluice_value_copy(sluice_arena *arena, const sluice_value *v, sluice_value *out) {
    *out = *v;
    if (v->type == SLUICE_TYPE_VARCHAR) {
        char *p = sluice_arena_alloc(arena, v->len ? v->len : 1);
        if (!p) goto fail;
        if (v->len) memcpy(p, v->u.s, v->len);
        out->u.s = p;
    } else if (v->type == SLUICE_TYPE_ARRAY) {
        sluice_array *a = sluice_array_new(arena, (sluice_type_t)v->u.a->elem_type, v->u.a->count);
        if (!a) goto fail;
        for (uint32_t i = 0; i < a->count; i++)
            if (sluice_value_copy(arena, &v->u.a->values[i], &a->values[i]) != 0) goto fail;
        *out = sluice_value_array(a);
    }
    return 0;
fail:
    *out = sluice_value_null();
    return -1;
}
