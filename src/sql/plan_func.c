/*
 * Binding of the everyday scalar functions, with Flink's names and
 * semantics (Flink's "System (Built-in) Functions"; docs/sql.md
 * "Functions"): one table row per function with its arity, the types its
 * arguments take, its result type and its evaluation (src/exec/func_*.c),
 * and for some a preparation run once at plan time (a constant regular
 * expression, date pattern or JSON path compiled once; the unit word of
 * EXTRACT, TIMESTAMPADD and TIMESTAMPDIFF).  A call whose arguments are
 * all constants is folded, except CURRENT_TIMESTAMP and NOW().
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "exec/func.h"
#include "sql/planner_int.h"

/* The most arguments of a variadic function (func_text.c's MAX_ARGS). */
#define MAX_VARIADIC 64

enum {
    F_VOLATILE = 1, /* a new value per evaluation: never folded */
    F_UNIT0 = 2     /* args[0] is a unit word (SECOND, DAY, ...), not an expression */
};

typedef int (*prepare_fn)(bind_ctx *c, const sluice_ast *a, sluice_expr *e);

struct sluice_func_def {
    const char *name;
    unsigned char min, max;  /* arity */
    /* per argument, the last letter repeating: S VARCHAR, I BIGINT,
     * N BIGINT or DOUBLE, T TIMESTAMP, t TIMESTAMP or VARCHAR, B BOOLEAN,
     * A any type but ARRAY, U a unit word; NULL fits every letter */
    const char *kinds;
    sluice_type_t result;    /* NULL: prepare sets e->type */
    sluice_expr_fn eval;
    prepare_fn prepare;      /* or NULL */
    unsigned flags;
};

static int numeric_result(bind_ctx *c, const sluice_ast *a, sluice_expr *e);
static int common_result(bind_ctx *c, const sluice_ast *a, sluice_expr *e);
static int regex_prepare(bind_ctx *c, const sluice_ast *a, sluice_expr *e);
static int json_prepare(bind_ctx *c, const sluice_ast *a, sluice_expr *e);
static int datefmt_prepare(bind_ctx *c, const sluice_ast *a, sluice_expr *e);
static int unit_prepare(bind_ctx *c, const sluice_ast *a, sluice_expr *e);
static int named_unit(bind_ctx *c, const sluice_ast *a, sluice_expr *e);

#define V SLUICE_TYPE_VARCHAR
#define NUL SLUICE_TYPE_NULL
static const struct sluice_func_def defs[] = {
    {"MOD", 2, 2, "N", NUL, sluice_fn_mod, numeric_result, 0},
    {"GREATEST", 1, MAX_VARIADIC, "A", NUL, sluice_fn_greatest, common_result, 0},
    {"LEAST", 1, MAX_VARIADIC, "A", NUL, sluice_fn_least, common_result, 0},
    {"IF", 3, 3, "BA", NUL, sluice_fn_if, common_result, 0},
    {"NULLIF", 2, 2, "A", NUL, sluice_fn_nullif, common_result, 0},
    {"CONCAT", 1, MAX_VARIADIC, "A", V, sluice_fn_concat, NULL, 0},
    {"CONCAT_WS", 2, MAX_VARIADIC, "A", V, sluice_fn_concat_ws, NULL, 0},
    {"REPLACE", 3, 3, "S", V, sluice_fn_replace, NULL, 0},
    {"SPLIT_INDEX", 3, 3, "SSI", V, sluice_fn_split_index, NULL, 0},
    {"REGEXP", 2, 2, "S", SLUICE_TYPE_BOOLEAN, sluice_fn_regexp, regex_prepare, 0},
    {"REGEXP_EXTRACT", 2, 3, "SSI", V, sluice_fn_regexp_extract, regex_prepare, 0},
    {"REGEXP_REPLACE", 3, 3, "S", V, sluice_fn_regexp_replace, regex_prepare, 0},
    {"JSON_VALUE", 2, 2, "S", V, sluice_fn_json_value, json_prepare, 0},
    {"DATE_FORMAT", 2, 2, "tS", V, sluice_fn_date_format, datefmt_prepare, 0},
    {"TO_TIMESTAMP", 1, 2, "S", SLUICE_TYPE_TIMESTAMP, sluice_fn_to_timestamp, datefmt_prepare, 0},
    {"EXTRACT", 2, 2, "UT", SLUICE_TYPE_BIGINT, sluice_fn_extract, unit_prepare, F_UNIT0},
    {"YEAR", 1, 1, "T", SLUICE_TYPE_BIGINT, sluice_fn_extract, named_unit, 0},
    {"QUARTER", 1, 1, "T", SLUICE_TYPE_BIGINT, sluice_fn_extract, named_unit, 0},
    {"MONTH", 1, 1, "T", SLUICE_TYPE_BIGINT, sluice_fn_extract, named_unit, 0},
    {"WEEK", 1, 1, "T", SLUICE_TYPE_BIGINT, sluice_fn_extract, named_unit, 0},
    {"DAYOFYEAR", 1, 1, "T", SLUICE_TYPE_BIGINT, sluice_fn_extract, named_unit, 0},
    {"DAYOFMONTH", 1, 1, "T", SLUICE_TYPE_BIGINT, sluice_fn_extract, named_unit, 0},
    {"DAYOFWEEK", 1, 1, "T", SLUICE_TYPE_BIGINT, sluice_fn_extract, named_unit, 0},
    {"HOUR", 1, 1, "T", SLUICE_TYPE_BIGINT, sluice_fn_extract, named_unit, 0},
    {"MINUTE", 1, 1, "T", SLUICE_TYPE_BIGINT, sluice_fn_extract, named_unit, 0},
    {"SECOND", 1, 1, "T", SLUICE_TYPE_BIGINT, sluice_fn_extract, named_unit, 0},
    {"TIMESTAMPADD", 3, 3, "UIT", SLUICE_TYPE_TIMESTAMP, sluice_fn_timestampadd, unit_prepare, F_UNIT0},
    {"TIMESTAMPDIFF", 3, 3, "UT", SLUICE_TYPE_BIGINT, sluice_fn_timestampdiff, unit_prepare, F_UNIT0},
    {"CURRENT_TIMESTAMP", 0, 0, "", SLUICE_TYPE_TIMESTAMP, sluice_fn_now, NULL, F_VOLATILE},
    {"LOCALTIMESTAMP", 0, 0, "", SLUICE_TYPE_TIMESTAMP, sluice_fn_now, NULL, F_VOLATILE},
    {"NOW", 0, 0, "", SLUICE_TYPE_TIMESTAMP, sluice_fn_now, NULL, F_VOLATILE},
};
#undef V
#undef NUL

const sluice_func_def *sluice_func_find(const char *name) {
    for (size_t i = 0; i < sizeof defs / sizeof defs[0]; i++)
        if (strcasecmp(defs[i].name, name) == 0) return &defs[i];
    return NULL;
}

static char kind_of(const sluice_func_def *d, size_t i) {
    size_t n = strlen(d->kinds);
    return n == 0 ? 'A' : d->kinds[i < n ? i : n - 1];
}

static int kind_ok(char k, sluice_type_t t) {
    switch (k) {
    case 'S': return t == SLUICE_TYPE_VARCHAR;
    case 'I': return t == SLUICE_TYPE_BIGINT;
    case 'N': return t == SLUICE_TYPE_BIGINT || t == SLUICE_TYPE_DOUBLE;
    case 'T': return t == SLUICE_TYPE_TIMESTAMP;
    case 't': return t == SLUICE_TYPE_TIMESTAMP || t == SLUICE_TYPE_VARCHAR;
    case 'B': return t == SLUICE_TYPE_BOOLEAN;
    default: return t != SLUICE_TYPE_ARRAY;
    }
}

static const char *kind_name(char k) {
    switch (k) {
    case 'S': return "a VARCHAR";
    case 'I': return "a BIGINT";
    case 'N': return "a number";
    case 'T': return "a TIMESTAMP";
    case 't': return "a TIMESTAMP or VARCHAR";
    case 'B': return "a BOOLEAN";
    default: return "a value that is not an ARRAY";
    }
}

/* ---- preparations ---- */

/* MOD: BIGINT when both are, else DOUBLE. */
static int numeric_result(bind_ctx *c, const sluice_ast *a, sluice_expr *e) {
    (void)c, (void)a;
    e->type = SLUICE_TYPE_BIGINT;
    for (size_t i = 0; i < e->nargs; i++)
        if (e->args[i]->type == SLUICE_TYPE_DOUBLE) e->type = SLUICE_TYPE_DOUBLE;
    return 0;
}

/* GREATEST, LEAST, NULLIF: the common type of all arguments; IF: of its
 * two branches.  Numbers mix (as DOUBLE); other types must be equal. */
static int common_result(bind_ctx *c, const sluice_ast *a, sluice_expr *e) {
    size_t first = strcmp(a->name, "IF") == 0 ? 1 : 0;
    sluice_type_t t = SLUICE_TYPE_NULL;
    for (size_t i = first; i < e->nargs; i++) {
        sluice_type_t u = e->args[i]->type;
        if (u == SLUICE_TYPE_NULL || u == t) continue;
        if (t == SLUICE_TYPE_NULL) t = u;
        else if ((t == SLUICE_TYPE_BIGINT || t == SLUICE_TYPE_DOUBLE) && (u == SLUICE_TYPE_BIGINT || u == SLUICE_TYPE_DOUBLE))
            t = SLUICE_TYPE_DOUBLE;
        else
            return sluice_planner_err(c, a->args[i]->line, a->args[i]->col, "%s arguments mix %s and %s", a->name,
                                      sluice_type_name(t), sluice_type_name(u)),
                   -1;
    }
    e->type = t;
    return 0;
}

/* Register f(arg) to run when the plan is freed. */
static int on_free(bind_ctx *c, void (*f)(void *), void *arg) {
    if (!c->plan) { /* every query is bound with its plan: not reached */
        f(arg);
        return sluice_planner_err(c, 0, 0, "a regular expression outside a query"), -1;
    }
    sluice_plan_cleanup *u = sluice_arena_alloc(c->arena, sizeof *u);
    if (!u) {
        f(arg);
        return sluice_planner_err(c, 0, 0, "out of memory"), -1;
    }
    *u = (sluice_plan_cleanup){f, arg, c->plan->cleanups};
    c->plan->cleanups = u;
    return 0;
}

/* The pattern (argument 1) compiled now when it is a constant: a bad one
 * is an error at its position. */
static int regex_prepare(bind_ctx *c, const sluice_ast *a, sluice_expr *e) {
    const sluice_expr *p = e->args[1];
    char err[256];
    sluice_regex_site *site = sluice_regex_site_new(c->arena, p->kind == SLUICE_EXPR_CONST ? &p->constant : NULL,
                                                    err, sizeof err);
    if (!site) return sluice_planner_err(c, a->args[1]->line, a->args[1]->col, "%s: %s", a->name, err), -1;
    e->aux = site;
    return on_free(c, sluice_regex_site_free, site);
}

static int json_prepare(bind_ctx *c, const sluice_ast *a, sluice_expr *e) {
    const sluice_expr *p = e->args[1];
    if (p->kind != SLUICE_EXPR_CONST || p->constant.type != SLUICE_TYPE_VARCHAR) return 0;
    if (!(e->aux = sluice_json_path_compile(p->constant.u.s, p->constant.len, c->arena)))
        return sluice_planner_err(c, a->args[1]->line, a->args[1]->col,
                                  "JSON_VALUE: '%.*s' is not a JSON path of $, .name, ['name'] and [n] steps",
                                  (int)(p->constant.len > 80 ? 80 : p->constant.len), p->constant.u.s),
               -1;
    return 0;
}

static int datefmt_prepare(bind_ctx *c, const sluice_ast *a, sluice_expr *e) {
    if (e->nargs < 2) return 0;
    const sluice_expr *p = e->args[1];
    if (p->kind != SLUICE_EXPR_CONST || p->constant.type != SLUICE_TYPE_VARCHAR) return 0;
    sluice_datefmt_site *site = sluice_arena_alloc(c->arena, sizeof *site);
    char err[256];
    if (!site) return sluice_planner_err(c, 0, 0, "out of memory"), -1;
    if (!(site->constant = sluice_datefmt_compile(p->constant.u.s, p->constant.len, c->arena, err, sizeof err)))
        return sluice_planner_err(c, a->args[1]->line, a->args[1]->col, "%s: %s", a->name, err), -1;
    e->aux = site;
    return 0;
}

static int set_unit(bind_ctx *c, const sluice_ast *a, const sluice_ast *at, sluice_expr *e, const char *name,
                    int lo, int hi) {
    int u = sluice_time_unit_find(name);
    if (u < lo || u > hi)
        return sluice_planner_err(c, at->line, at->col, "%s needs a unit (%s), got '%s'", a->name,
                                  hi == SLUICE_UNIT_YEAR ? "MILLISECOND SECOND MINUTE HOUR DAY WEEK MONTH QUARTER YEAR"
                                                         : "MILLISECOND SECOND MINUTE HOUR DAY WEEK MONTH QUARTER "
                                                           "YEAR DOW DOY EPOCH",
                                  name),
               -1;
    int *p = sluice_arena_alloc(c->arena, sizeof *p);
    if (!p) return sluice_planner_err(c, 0, 0, "out of memory"), -1;
    *p = u;
    e->aux = p;
    return 0;
}

/* EXTRACT(unit FROM ts), TIMESTAMPADD(unit, ...), TIMESTAMPDIFF(unit, ...) */
static int unit_prepare(bind_ctx *c, const sluice_ast *a, sluice_expr *e) {
    int extract = strcmp(a->name, "EXTRACT") == 0;
    return set_unit(c, a, a->args[0], e, a->args[0]->name, 0, extract ? SLUICE_UNIT_EPOCH : SLUICE_UNIT_YEAR);
}

/* YEAR(ts) .. SECOND(ts): EXTRACT of the unit the name says. */
static int named_unit(bind_ctx *c, const sluice_ast *a, sluice_expr *e) {
    return set_unit(c, a, a, e, a->name, 0, SLUICE_UNIT_EPOCH);
}

/* ---- binding ---- */

sluice_expr *sluice_plan_func(bind_ctx *c, const sluice_ast *a, const sluice_func_def *d) {
    if (a->star || a->nargs < d->min || a->nargs > d->max) {
        if (d->min == d->max)
            return sluice_planner_err(c, a->line, a->col, "%s takes %u argument%s, got %zu", d->name, d->min,
                                      d->min == 1 ? "" : "s", a->nargs);
        return sluice_planner_err(c, a->line, a->col, "%s takes %u to %u arguments, got %zu", d->name, d->min,
                                  d->max, a->nargs);
    }
    sluice_expr *e = sluice_arena_alloc(c->arena, sizeof *e);
    sluice_expr **args = sluice_arena_alloc(c->arena, (a->nargs + 1) * sizeof *args);
    if (!e || !args) return sluice_planner_err(c, 0, 0, "out of memory");
    memset(e, 0, sizeof *e);
    e->kind = SLUICE_EXPR_FUNC;
    e->type = d->result;
    e->fn = d->eval;
    e->args = args;
    e->nargs = a->nargs;
    for (size_t i = 0; i < a->nargs; i++) {
        const sluice_ast *x = a->args[i];
        char k = kind_of(d, i);
        if (k == 'U') {
            /* a word such as DAY: read by the preparation, evaluated as nothing */
            if (x->kind != SLUICE_AST_COLUMN)
                return sluice_planner_err(c, x->line, x->col, "%s needs a unit word such as SECOND, DAY or MONTH",
                                          d->name);
            if (!(args[i] = sluice_arena_alloc(c->arena, sizeof *args[i])))
                return sluice_planner_err(c, 0, 0, "out of memory");
            memset(args[i], 0, sizeof *args[i]);
            args[i]->kind = SLUICE_EXPR_CONST;
            continue;
        }
        if (!(args[i] = sluice_planner_bind(c, x))) return NULL;
        if (args[i]->type != SLUICE_TYPE_NULL && !kind_ok(k, args[i]->type))
            return sluice_planner_err(c, x->line, x->col, "argument %zu of %s needs %s, got %s", i + 1, d->name,
                                      kind_name(k), sluice_type_name(args[i]->type));
    }
    if (d->prepare && d->prepare(c, a, e) != 0) return NULL;
    return d->flags & F_VOLATILE ? e : sluice_planner_fold(c, e);
}
