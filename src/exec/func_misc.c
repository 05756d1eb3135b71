/*
 * MOD, GREATEST, LEAST, IF and NULLIF, as Flink's functions of the same
 * names.  The planner gave each call one result type (e->type); BIGINT
 * arguments of a DOUBLE call are widened here.
 */
#include <math.h>

#include "exec/func.h"

static sluice_value widen(sluice_value v, sluice_type_t type) {
    if (type == SLUICE_TYPE_DOUBLE && v.type == SLUICE_TYPE_BIGINT) return sluice_value_double((double)v.u.i);
    return v;
}

/* MOD(a, b): the remainder with the sign of a (Java's %, Flink's MOD);
 * NULL when b is 0, as sluice's a % 0. */
sluice_value sluice_fn_mod(const sluice_expr *e, const sluice_value *row, sluice_arena *arena) {
    sluice_value a = sluice_expr_eval(e->args[0], row, arena);
    sluice_value b = sluice_expr_eval(e->args[1], row, arena);
    if (a.type == SLUICE_TYPE_NULL || b.type == SLUICE_TYPE_NULL) return sluice_value_null();
    if (e->type == SLUICE_TYPE_DOUBLE) {
        double x = widen(a, e->type).u.d, y = widen(b, e->type).u.d;
        return y == 0.0 ? sluice_value_null() : sluice_value_double(fmod(x, y));
    }
    if (b.u.i == 0) return sluice_value_null();
    if (b.u.i == -1) return sluice_value_bigint(0); /* INT64_MIN % -1 traps in C */
    return sluice_value_bigint(a.u.i % b.u.i);
}

/* GREATEST / LEAST: NULL as soon as one argument is NULL (Flink's rule,
 * unlike PostgreSQL's, which skips NULLs). */
static sluice_value extreme(const sluice_expr *e, const sluice_value *row, sluice_arena *arena, int sign) {
    sluice_value best = sluice_value_null();
    for (size_t i = 0; i < e->nargs; i++) {
        sluice_value v = widen(sluice_expr_eval(e->args[i], row, arena), e->type);
        if (v.type == SLUICE_TYPE_NULL) return v;
        if (i == 0 || sign * sluice_value_compare(&v, &best) > 0) best = v;
    }
    return best;
}

sluice_value sluice_fn_greatest(const sluice_expr *e, const sluice_value *row, sluice_arena *arena) {
    return extreme(e, row, arena, 1);
}

sluice_value sluice_fn_least(const sluice_expr *e, const sluice_value *row, sluice_arena *arena) {
    return extreme(e, row, arena, -1);
}

/* IF(cond, a, b): a when cond is TRUE, else (FALSE or NULL) b; only the
 * branch taken is evaluated. */
sluice_value sluice_fn_if(const sluice_expr *e, const sluice_value *row, sluice_arena *arena) {
    sluice_value c = sluice_expr_eval(e->args[0], row, arena);
    return widen(sluice_expr_eval(e->args[sluice_value_is_true(&c) ? 1 : 2], row, arena), e->type);
}

/* NULLIF(a, b): NULL when a = b, else a. */
sluice_value sluice_fn_nullif(const sluice_expr *e, const sluice_value *row, sluice_arena *arena) {
    sluice_value a = widen(sluice_expr_eval(e->args[0], row, arena), e->type);
    sluice_value b = sluice_expr_eval(e->args[1], row, arena);
    /* numbers compare numerically across BIGINT and DOUBLE */
    if (a.type != SLUICE_TYPE_NULL && b.type != SLUICE_TYPE_NULL && sluice_value_compare(&a, &b) == 0)
        return sluice_value_null();
    return a;
}
