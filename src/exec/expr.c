/*
 * Expression evaluation over one row, with SQL three-valued logic: NULL
 * propagates through arithmetic, comparisons and functions; AND/OR follow
 * Kleene logic (FALSE AND NULL = FALSE, TRUE OR NULL = TRUE).
 */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "plan/plan.h"
#include "format/format.h"

static sluice_value null_v(void) { return sluice_value_null(); }

static double as_double(const sluice_value *v) {
    return v->type == SLUICE_TYPE_DOUBLE ? v->u.d : (double)v->u.i;
}

static sluice_value arith(sluice_ast_op op, sluice_type_t type, const sluice_value *a, const sluice_value *b) {
    if (a->type == SLUICE_TYPE_NULL || b->type == SLUICE_TYPE_NULL) return null_v();
    if (type == SLUICE_TYPE_DOUBLE) {
        double x = as_double(a), y = as_double(b);
        switch (op) {
        case SLUICE_OP_ADD: return sluice_value_double(x + y);
        case SLUICE_OP_SUB: return sluice_value_double(x - y);
        case SLUICE_OP_MUL: return sluice_value_double(x * y);
        case SLUICE_OP_DIV: return y == 0.0 ? null_v() : sluice_value_double(x / y);
        case SLUICE_OP_MOD: return y == 0.0 ? null_v() : sluice_value_double(fmod(x, y));
        default: return null_v();
        }
    }
    /* integer-valued: BIGINT, TIMESTAMP, INTERVAL (all ms or plain int64) */
    int64_t x = a->u.i, y = b->u.i, r;
    switch (op) {
    case SLUICE_OP_ADD: if (__builtin_add_overflow(x, y, &r)) return null_v(); break;
    case SLUICE_OP_SUB: if (__builtin_sub_overflow(x, y, &r)) return null_v(); break;
    case SLUICE_OP_MUL: if (__builtin_mul_overflow(x, y, &r)) return null_v(); break;
    case SLUICE_OP_DIV:
        if (y == 0 || (x == INT64_MIN && y == -1)) return null_v();
        r = x / y;
        break;
    case SLUICE_OP_MOD:
        if (y == 0) return null_v();
        r = (y == -1) ? 0 : x % y;
        break;
    default: return null_v();
    }
    sluice_value v;
    v.type = (uint8_t)type;
    v.len = 0;
    v.u.i = r;
    return v;
}

static int cmp_holds(sluice_ast_op op, int c) {
    switch (op) {
    case SLUICE_OP_EQ: return c == 0;
    case SLUICE_OP_NE: return c != 0;
    case SLUICE_OP_LT: return c < 0;
    case SLUICE_OP_LE: return c <= 0;
    case SLUICE_OP_GT: return c > 0;
    case SLUICE_OP_GE: return c >= 0;
    default: return 0;
    }
}

static sluice_value compare(sluice_ast_op op, const sluice_value *a, const sluice_value *b) {
    if (a->type == SLUICE_TYPE_NULL || b->type == SLUICE_TYPE_NULL) return null_v();
    return sluice_value_bool(cmp_holds(op, sluice_value_compare(a, b)));
}

/* UTF-8: byte offset of the n-th code point (0-based) in s, clamped. */
static size_t utf8_offset(const char *s, size_t len, int64_t n) {
    size_t i = 0;
    while (i < len && n > 0) {
        i++;
        while (i < len && ((unsigned char)s[i] & 0xC0) == 0x80) i++;
        n--;
    }
    return i;
}

static int64_t utf8_length(const char *s, size_t len) {
    int64_t n = 0;
    for (size_t i = 0; i < len; i++)
        if (((unsigned char)s[i] & 0xC0) != 0x80) n++;
    return n;
}

static sluice_value copy_varchar(sluice_arena *arena, const char *s, size_t len) {
    char *p = sluice_arena_alloc(arena, len ? len : 1);
    if (!p) return null_v();
    if (len) memcpy(p, s, len);
    return sluice_value_varchar(p, len);
}

static int parse_int64(const char *s, size_t len, int64_t *out) {
    char buf[64];
    while (len && isspace((unsigned char)*s)) s++, len--;
    while (len && isspace((unsigned char)s[len - 1])) len--;
    if (len == 0 || len >= sizeof buf) return -1;
    memcpy(buf, s, len);
    buf[len] = '\0';
    errno = 0;
    char *end;
    long long v = strtoll(buf, &end, 10);
    if (*end || errno) return -1;
    *out = v;
    return 0;
}

static int parse_double(const char *s, size_t len, double *out) {
    char buf[128];
    while (len && isspace((unsigned char)*s)) s++, len--;
    while (len && isspace((unsigned char)s[len - 1])) len--;
    if (len == 0 || len >= sizeof buf) return -1;
    memcpy(buf, s, len);
    buf[len] = '\0';
    char *end;
    double v = strtod(buf, &end);
    if (*end) return -1;
    *out = v;
    return 0;
}

sluice_value sluice_value_cast(const sluice_value *v, sluice_type_t to, sluice_arena *arena) {
    if (v->type == SLUICE_TYPE_NULL) return null_v();
    if (v->type == to) return *v;
    switch (to) {
    case SLUICE_TYPE_BIGINT:
        switch (v->type) {
        case SLUICE_TYPE_DOUBLE:
            if (!(v->u.d >= -9223372036854775808.0 && v->u.d < 9223372036854775808.0)) return null_v();
            return sluice_value_bigint((int64_t)v->u.d);
        case SLUICE_TYPE_BOOLEAN:
        case SLUICE_TYPE_TIMESTAMP:
        case SLUICE_TYPE_INTERVAL: return sluice_value_bigint(v->u.i);
        case SLUICE_TYPE_VARCHAR: {
            int64_t x;
            return parse_int64(v->u.s, v->len, &x) == 0 ? sluice_value_bigint(x) : null_v();
        }
        default: return null_v();
        }
    case SLUICE_TYPE_DOUBLE:
        switch (v->type) {
        case SLUICE_TYPE_BIGINT:
        case SLUICE_TYPE_BOOLEAN: return sluice_value_double((double)v->u.i);
        case SLUICE_TYPE_VARCHAR: {
            double d;
            return parse_double(v->u.s, v->len, &d) == 0 ? sluice_value_double(d) : null_v();
        }
        default: return null_v();
        }
    case SLUICE_TYPE_BOOLEAN:
        switch (v->type) {
        case SLUICE_TYPE_BIGINT: return sluice_value_bool(v->u.i != 0);
        case SLUICE_TYPE_DOUBLE: return sluice_value_bool(v->u.d != 0.0);
        case SLUICE_TYPE_VARCHAR:
            if (v->len == 4 && strncasecmp(v->u.s, "true", 4) == 0) return sluice_value_bool(1);
            if (v->len == 5 && strncasecmp(v->u.s, "false", 5) == 0) return sluice_value_bool(0);
            return null_v();
        default: return null_v();
        }
    case SLUICE_TYPE_TIMESTAMP:
        switch (v->type) {
        case SLUICE_TYPE_BIGINT: return sluice_value_timestamp(v->u.i);
        case SLUICE_TYPE_VARCHAR: {
            int64_t ms;
            return sluice_ts_parse(NULL, v->u.s, v->len, &ms) == 0 ? sluice_value_timestamp(ms) : null_v();
        }
        default: return null_v();
        }
    case SLUICE_TYPE_VARCHAR: {
        if (v->type == SLUICE_TYPE_ARRAY) {
            /* its JSON text, of any length */
            size_t need = sluice_value_render(v, NULL, 0);
            char *p = sluice_arena_alloc(arena, need + 1);
            if (!p || need > UINT32_MAX) return null_v();
            sluice_value_render(v, p, need + 1);
            return sluice_value_varchar(p, need);
        }
        char buf[64];
        size_t n = sluice_value_render(v, buf, sizeof buf);
        if (n >= sizeof buf) n = sizeof buf - 1;
        return copy_varchar(arena, buf, n);
    }
    default: return null_v();
    }
}

/* SPLIT(text, delimiter), as Flink's SPLIT: the pieces between occurrences
 * of the delimiter (matched bytewise, so a multi-byte UTF-8 delimiter only
 * matches whole characters of UTF-8 text); a delimiter at either end or
 * two in a row give empty pieces; no occurrence gives the text as the one
 * piece (so '' gives ['']); an empty delimiter splits every character
 * (UTF-8 code point).  The pieces borrow the text's bytes; the block is
 * allocated from arena (NULL when exhausted). */
static sluice_value split(const sluice_value *text, const sluice_value *delim, sluice_arena *arena) {
    const char *s = text->u.s, *d = delim->u.s;
    size_t n = text->len, dn = delim->len, count = 0;
    if (dn == 0) {
        count = (size_t)utf8_length(s, n);
    } else {
        count = 1;
        for (size_t i = 0; i + dn <= n;) {
            if (memcmp(s + i, d, dn) == 0) count++, i += dn;
            else i++;
        }
    }
    sluice_array *a = sluice_array_new(arena, SLUICE_TYPE_VARCHAR, count);
    if (!a) return null_v();
    size_t k = 0, start = 0;
    if (dn == 0) {
        for (size_t i = 0; i < n && k < count; k++) {
            size_t next = i + utf8_offset(s + i, n - i, 1);
            a->values[k] = sluice_value_varchar(s + i, next - i);
            i = next;
        }
    } else {
        for (size_t i = 0; i + dn <= n;) {
            if (memcmp(s + i, d, dn) == 0) {
                a->values[k++] = sluice_value_varchar(s + start, i - start);
                i += dn;
                start = i;
            } else {
                i++;
            }
        }
        a->values[k] = sluice_value_varchar(s + start, n - start);
    }
    return sluice_value_array(a);
}

static sluice_value eval_func(const sluice_expr *e, const sluice_value *row, sluice_arena *arena) {
    if (e->func == SLUICE_FN_COALESCE) {
        for (size_t i = 0; i < e->nargs; i++) {
            sluice_value v = sluice_expr_eval(e->args[i], row, arena);
            if (v.type != SLUICE_TYPE_NULL) {
                if (e->type == SLUICE_TYPE_DOUBLE && v.type == SLUICE_TYPE_BIGINT)
                    return sluice_value_double((double)v.u.i);
                return v;
            }
        }
        return null_v();
    }
    sluice_value a = sluice_expr_eval(e->args[0], row, arena);
    if (a.type == SLUICE_TYPE_NULL) return null_v();
    switch (e->func) {
    case SLUICE_FN_LOWER:
    case SLUICE_FN_UPPER:
        return sluice_text_case(a.u.s, a.len, e->func == SLUICE_FN_UPPER, arena);
    case SLUICE_FN_LENGTH: return sluice_value_bigint(utf8_length(a.u.s, a.len));
    case SLUICE_FN_TRIM: {
        size_t b = 0, n = a.len;
        while (b < n && a.u.s[b] == ' ') b++;
        while (n > b && a.u.s[n - 1] == ' ') n--;
        return sluice_value_varchar(a.u.s + b, n - b);
    }
    case SLUICE_FN_SUBSTR: {
        sluice_value st = sluice_expr_eval(e->args[1], row, arena);
        if (st.type == SLUICE_TYPE_NULL) return null_v();
        int64_t start = st.u.i, count = INT64_MAX;
        if (e->nargs > 2) {
            sluice_value ln = sluice_expr_eval(e->args[2], row, arena);
            if (ln.type == SLUICE_TYPE_NULL) return null_v();
            count = ln.u.i < 0 ? 0 : ln.u.i;
        }
        /* SQL: 1-based; start <= 0 eats into the count (PostgreSQL rule) */
        if (start < 1) {
            if (count != INT64_MAX) count = count - (1 - start) > 0 ? count - (1 - start) : 0;
            start = 1;
        }
        size_t from = utf8_offset(a.u.s, a.len, start - 1);
        size_t to = count == INT64_MAX ? a.len : from + utf8_offset(a.u.s + from, a.len - from, count);
        return sluice_value_varchar(a.u.s + from, to - from);
    }
    case SLUICE_FN_ABS:
        if (a.type == SLUICE_TYPE_DOUBLE) return sluice_value_double(fabs(a.u.d));
        if (a.u.i == INT64_MIN) return null_v();
        return sluice_value_bigint(a.u.i < 0 ? -a.u.i : a.u.i);
    case SLUICE_FN_ROUND: {
        int64_t digits = 0;
        if (e->nargs > 1) {
            sluice_value d = sluice_expr_eval(e->args[1], row, arena);
            if (d.type == SLUICE_TYPE_NULL) return null_v();
            digits = d.u.i;
        }
        if (a.type == SLUICE_TYPE_BIGINT) {
            if (digits >= 0) return a;
            if (digits < -18) return sluice_value_bigint(0);
            int64_t p = 1;
            for (int64_t i = 0; i < -digits; i++) p *= 10;
            int64_t q = a.u.i / p, r = a.u.i % p;
            if (r * 2 >= p) q++;
            else if (r * 2 <= -p) q--;
            return sluice_value_bigint(q * p);
        }
        if (digits > 300 || digits < -300) return a;
        double p = pow(10.0, (double)digits);
        return sluice_value_double(round(a.u.d * p) / p);
    }
    case SLUICE_FN_FLOOR:
        return a.type == SLUICE_TYPE_DOUBLE ? sluice_value_double(floor(a.u.d)) : a;
    case SLUICE_FN_CEIL:
        return a.type == SLUICE_TYPE_DOUBLE ? sluice_value_double(ceil(a.u.d)) : a;
    case SLUICE_FN_SPLIT: {
        sluice_value d = sluice_expr_eval(e->args[1], row, arena);
        if (d.type == SLUICE_TYPE_NULL) return null_v();
        return split(&a, &d, arena);
    }
    case SLUICE_FN_CARDINALITY: return sluice_value_bigint(a.u.a->count);
    default: return null_v();
    }
}

static sluice_value promote(sluice_value v, sluice_type_t type) {
    if (type == SLUICE_TYPE_DOUBLE && v.type == SLUICE_TYPE_BIGINT) return sluice_value_double((double)v.u.i);
    return v;
}

sluice_value sluice_expr_eval(const sluice_expr *e, const sluice_value *row, sluice_arena *arena) {
    switch (e->kind) {
    case SLUICE_EXPR_CONST: return e->constant;
    case SLUICE_EXPR_COLUMN: return row[e->column];
    case SLUICE_EXPR_NEG: {
        sluice_value a = sluice_expr_eval(e->args[0], row, arena);
        if (a.type == SLUICE_TYPE_NULL) return a;
        if (a.type == SLUICE_TYPE_DOUBLE) return sluice_value_double(-a.u.d);
        if (a.u.i == INT64_MIN) return null_v();
        a.u.i = -a.u.i;
        return a;
    }
    case SLUICE_EXPR_NOT: {
        sluice_value a = sluice_expr_eval(e->args[0], row, arena);
        return a.type == SLUICE_TYPE_NULL ? a : sluice_value_bool(!a.u.i);
    }
    case SLUICE_EXPR_ARITH: {
        sluice_value a = sluice_expr_eval(e->args[0], row, arena);
        sluice_value b = sluice_expr_eval(e->args[1], row, arena);
        return arith(e->op, e->type, &a, &b);
    }
    case SLUICE_EXPR_CMP: {
        sluice_value a = sluice_expr_eval(e->args[0], row, arena);
        sluice_value b = sluice_expr_eval(e->args[1], row, arena);
        return compare(e->op, &a, &b);
    }
    case SLUICE_EXPR_AND: {
        sluice_value a = sluice_expr_eval(e->args[0], row, arena);
        if (a.type != SLUICE_TYPE_NULL && !a.u.i) return sluice_value_bool(0);
        sluice_value b = sluice_expr_eval(e->args[1], row, arena);
        if (b.type != SLUICE_TYPE_NULL && !b.u.i) return sluice_value_bool(0);
        if (a.type == SLUICE_TYPE_NULL || b.type == SLUICE_TYPE_NULL) return null_v();
        return sluice_value_bool(1);
    }
    case SLUICE_EXPR_OR: {
        sluice_value a = sluice_expr_eval(e->args[0], row, arena);
        if (a.type != SLUICE_TYPE_NULL && a.u.i) return sluice_value_bool(1);
        sluice_value b = sluice_expr_eval(e->args[1], row, arena);
        if (b.type != SLUICE_TYPE_NULL && b.u.i) return sluice_value_bool(1);
        if (a.type == SLUICE_TYPE_NULL || b.type == SLUICE_TYPE_NULL) return null_v();
        return sluice_value_bool(0);
    }
    case SLUICE_EXPR_IS_NULL: {
        sluice_value a = sluice_expr_eval(e->args[0], row, arena);
        int isnull = a.type == SLUICE_TYPE_NULL;
        return sluice_value_bool(e->negated ? !isnull : isnull);
    }
    case SLUICE_EXPR_IN: {
        sluice_value a = sluice_expr_eval(e->args[0], row, arena);
        if (a.type == SLUICE_TYPE_NULL) return null_v();
        int saw_null = 0;
        for (size_t i = 1; i < e->nargs; i++) {
            sluice_value b = sluice_expr_eval(e->args[i], row, arena);
            if (b.type == SLUICE_TYPE_NULL) {
                saw_null = 1;
                continue;
            }
            if (sluice_value_compare(&a, &b) == 0) return sluice_value_bool(!e->negated);
        }
        /* x IN (.., NULL) with no match is NULL, and so is its negation */
        return saw_null ? null_v() : sluice_value_bool(e->negated);
    }
    case SLUICE_EXPR_BETWEEN: {
        sluice_value a = sluice_expr_eval(e->args[0], row, arena);
        sluice_value lo = sluice_expr_eval(e->args[1], row, arena);
        sluice_value hi = sluice_expr_eval(e->args[2], row, arena);
        sluice_value ge = compare(SLUICE_OP_GE, &a, &lo);
        sluice_value le = compare(SLUICE_OP_LE, &a, &hi);
        /* a >= lo AND a <= hi, in three-valued logic */
        sluice_value r;
        if ((ge.type != SLUICE_TYPE_NULL && !ge.u.i) || (le.type != SLUICE_TYPE_NULL && !le.u.i))
            r = sluice_value_bool(0);
        else if (ge.type == SLUICE_TYPE_NULL || le.type == SLUICE_TYPE_NULL)
            return null_v();
        else
            r = sluice_value_bool(1);
        if (e->negated) r.u.i = !r.u.i;
        return r;
    }
    case SLUICE_EXPR_LIKE: {
        sluice_value a = sluice_expr_eval(e->args[0], row, arena);
        sluice_value p = sluice_expr_eval(e->args[1], row, arena);
        if (a.type == SLUICE_TYPE_NULL || p.type == SLUICE_TYPE_NULL) return null_v();
        int m = sluice_like_match(a.u.s, a.len, p.u.s, p.len);
        return sluice_value_bool(e->negated ? !m : m);
    }
    case SLUICE_EXPR_CASE: {
        size_t i = 0;
        sluice_value operand = null_v();
        if (e->has_operand) operand = sluice_expr_eval(e->args[i++], row, arena);
        for (size_t w = 0; w < e->nwhen; w++, i += 2) {
            sluice_value c = sluice_expr_eval(e->args[i], row, arena);
            int hit;
            if (e->has_operand)
                hit = operand.type != SLUICE_TYPE_NULL && c.type != SLUICE_TYPE_NULL &&
                      sluice_value_compare(&operand, &c) == 0;
            else
                hit = sluice_value_is_true(&c);
            if (hit) return promote(sluice_expr_eval(e->args[i + 1], row, arena), e->type);
        }
        if (e->has_else) return promote(sluice_expr_eval(e->args[i], row, arena), e->type);
        return null_v();
    }
    case SLUICE_EXPR_CAST: {
        sluice_value a = sluice_expr_eval(e->args[0], row, arena);
        return sluice_value_cast(&a, e->type, arena);
    }
    case SLUICE_EXPR_FUNC: return e->fn ? e->fn(e, row, arena) : eval_func(e, row, arena);
    /* computed for the whole batch before rows are evaluated (exec/udf.c) */
    case SLUICE_EXPR_UDF: return e->site->values ? e->site->values[e->site->state->row] : null_v();
    case SLUICE_EXPR_SUBSCRIPT: {
        /* 1-based; out of range is NULL (PostgreSQL's rule) */
        sluice_value a = sluice_expr_eval(e->args[0], row, arena);
        sluice_value i = sluice_expr_eval(e->args[1], row, arena);
        if (a.type != SLUICE_TYPE_ARRAY || i.type == SLUICE_TYPE_NULL) return null_v();
        if (i.u.i < 1 || i.u.i > (int64_t)a.u.a->count) return null_v();
        return a.u.a->values[i.u.i - 1];
    }
    }
    return null_v();
}
