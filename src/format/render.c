/*
 * Value rendering for text sinks (profiles.md "Value rendering in text
 * sinks").
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "format/format.h"

/* Copy n bytes of s as an snprintf would: at most size-1 bytes plus NUL;
 * returns n. */
static size_t put_bytes(const char *s, size_t n, char *buf, size_t size) {
    if (size > 0) {
        size_t k = n < size - 1 ? n : size - 1;
        if (k) memcpy(buf, s, k);
        buf[k] = '\0';
    }
    return n;
}

/* Shortest of %.15g, %.16g, %.17g that strtod() reads back to the same
 * bits (%.17g always does). */
static size_t render_double(double d, char *out) {
    if (isnan(d)) return (size_t)sprintf(out, "nan");
    if (isinf(d)) return (size_t)sprintf(out, d < 0 ? "-inf" : "inf");
    int n = 0;
    for (int prec = 15; prec <= 17; prec++) {
        n = sprintf(out, "%.*g", prec, d);
        double back = strtod(out, NULL);
        if (memcmp(&back, &d, sizeof d) == 0) break;
    }
    return (size_t)n;
}

size_t sluice_value_render(const sluice_value *v, char *buf, size_t size) {
    char tmp[40];
    size_t n;
    switch ((sluice_type_t)v->type) {
    case SLUICE_TYPE_BIGINT:
    case SLUICE_TYPE_INTERVAL:
        n = (size_t)sprintf(tmp, "%lld", (long long)v->u.i);
        break;
    case SLUICE_TYPE_DOUBLE:
        n = render_double(v->u.d, tmp);
        break;
    case SLUICE_TYPE_VARCHAR:
        return put_bytes(v->u.s, v->len, buf, size);
    case SLUICE_TYPE_BOOLEAN:
        return put_bytes(v->u.i ? "true" : "false", v->u.i ? 4 : 5, buf, size);
    case SLUICE_TYPE_TIMESTAMP:
        n = sluice_ts_render(v->u.i, tmp, sizeof tmp);
        break;
    case SLUICE_TYPE_NULL:
    default:
        n = 0;
        break;
    }
    return put_bytes(tmp, n, buf, size);
}
