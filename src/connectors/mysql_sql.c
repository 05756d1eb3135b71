/*
 * MySQL statement text: see connectors/mysql_sql.h.
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>

#include "connectors/mysql_sql.h"
#include "format/format.h"

int sluice_sb_printf(sbuf *b, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0 || sb_reserve(b, (size_t)n)) return -1;
    va_start(ap, fmt);
    vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
    return 0;
}

void sluice_sb_free(sbuf *b) {
    free(b->p);
    memset(b, 0, sizeof *b);
}

/* An identifier in backticks, embedded backticks doubled. */
int sluice_sb_ident(sbuf *b, const char *name) {
    if (sb_reserve(b, 2 * strlen(name) + 2)) return -1;
    b->p[b->len++] = '`';
    for (const char *c = name; *c; c++) {
        if (*c == '`') b->p[b->len++] = '`';
        b->p[b->len++] = *c;
    }
    b->p[b->len++] = '`';
    b->p[b->len] = '\0';
    return 0;
}

/* A string literal in single quotes, escaped for the connection's charset. */
int sluice_sb_literal(sbuf *b, MYSQL *db, const char *s, size_t n) {
    if (sb_reserve(b, 2 * n + 2)) return -1;
    b->p[b->len++] = '\'';
    b->len += mysql_real_escape_string(db, b->p + b->len, s, (unsigned long)n);
    b->p[b->len++] = '\'';
    b->p[b->len] = '\0';
    return 0;
}

int sluice_sb_value(sbuf *b, MYSQL *db, const sluice_value *v) {
    char tmp[48];
    switch (v->type) {
    case SLUICE_TYPE_BIGINT:
    case SLUICE_TYPE_INTERVAL: {
        /* hand-rolled: this is the hot loop of large epochs */
        uint64_t u = v->u.i < 0 ? (uint64_t)0 - (uint64_t)v->u.i : (uint64_t)v->u.i;
        char *e = tmp + sizeof tmp, *p = e;
        do { *--p = (char)('0' + u % 10); u /= 10; } while (u);
        if (v->u.i < 0) *--p = '-';
        return sb_add(b, p, (size_t)(e - p));
    }
    case SLUICE_TYPE_BOOLEAN: return sb_add(b, v->u.i ? "1" : "0", 1);
    case SLUICE_TYPE_DOUBLE:
        /* MySQL's DOUBLE has no NaN or infinity: they are stored as NULL */
        if (!isfinite(v->u.d)) return sb_add(b, "NULL", 4);
        return sb_add(b, tmp, (size_t)snprintf(tmp, sizeof tmp, "%.17g", v->u.d));
    case SLUICE_TYPE_VARCHAR: return sluice_sb_literal(b, db, v->u.s, v->len);
    case SLUICE_TYPE_ARRAY: { /* its JSON text, in the LONGTEXT column */
        size_t n;
        char *text = sluice_value_render_alloc(v, &n);
        int r = text ? sluice_sb_literal(b, db, text, n) : -1;
        free(text);
        return r;
    }
    case SLUICE_TYPE_TIMESTAMP: {
        tmp[0] = '\'';
        size_t n = sluice_ts_render(v->u.i, tmp + 1, sizeof tmp - 2);
        tmp[1 + n] = '\'';
        return sb_add(b, tmp, n + 2);
    }
    default: return sb_add(b, "NULL", 4);
    }
}

