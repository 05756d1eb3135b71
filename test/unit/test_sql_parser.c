/*
 * Unit tests for the SQL parser: AST shapes (as S-expressions), interval
 * conversion, and syntax error messages with their positions.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sluice_test.h"
#include "sql/parser.h"

/* ---- AST to S-expression ------------------------------------------------ */

typedef struct sbuf {
    char data[8192];
    size_t len;
} sbuf;

static void put(sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(sbuf *b, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(b->data + b->len, sizeof b->data - b->len, fmt, ap);
    va_end(ap);
    assert_true(n >= 0 && (size_t)n < sizeof b->data - b->len);
    b->len += (size_t)n;
}

static const char *op_text(sluice_ast_op op) {
    switch (op) {
    case SLUICE_OP_ADD: return "+";
    case SLUICE_OP_SUB: return "-";
    case SLUICE_OP_MUL: return "*";
    case SLUICE_OP_DIV: return "/";
    case SLUICE_OP_MOD: return "%";
    case SLUICE_OP_EQ: return "=";
    case SLUICE_OP_NE: return "<>";
    case SLUICE_OP_LT: return "<";
    case SLUICE_OP_LE: return "<=";
    case SLUICE_OP_GT: return ">";
    case SLUICE_OP_GE: return ">=";
    case SLUICE_OP_AND: return "AND";
    case SLUICE_OP_OR: return "OR";
    case SLUICE_OP_NOT: return "NOT";
    case SLUICE_OP_NEG: return "-";
    case SLUICE_OP_PLUS: return "+";
    case SLUICE_OP_NONE: break;
    }
    return "?op";
}

static void sexp(sbuf *b, const sluice_ast *e);

static void sexp_args(sbuf *b, const sluice_ast *e, size_t from) {
    for (size_t i = from; i < e->nargs; i++) {
        put(b, " ");
        sexp(b, e->args[i]);
    }
    put(b, ")");
}

static void sexp(sbuf *b, const sluice_ast *e) {
    switch (e->kind) {
    case SLUICE_AST_LITERAL:
        switch (e->lit.type) {
        case SLUICE_TYPE_NULL: put(b, "NULL"); return;
        case SLUICE_TYPE_BIGINT: put(b, "%lld", (long long)e->lit.u.i); return;
        case SLUICE_TYPE_DOUBLE: put(b, "%gd", e->lit.u.d); return;
        case SLUICE_TYPE_VARCHAR: put(b, "'%.*s'", (int)e->lit.len, e->lit.u.s); return;
        case SLUICE_TYPE_BOOLEAN: put(b, e->lit.u.i ? "TRUE" : "FALSE"); return;
        default: put(b, "?lit"); return;
        }
    case SLUICE_AST_INTERVAL:
        assert_int_equal(e->lit.type, SLUICE_TYPE_INTERVAL);
        put(b, "(INTERVAL %lld)", (long long)e->lit.u.i);
        return;
    case SLUICE_AST_COLUMN:
        if (e->qualifier) put(b, "%s.", e->qualifier);
        put(b, "%s", e->name);
        return;
    case SLUICE_AST_OVER:
        put(b, "(OVER %s %zu %d %lld", e->name, e->npartition, e->frame, (long long)e->preceding);
        for (size_t i = 0; i < e->ncall_args; i++) {
            put(b, " ");
            sexp(b, e->call_args[i]);
        }
        sexp_args(b, e, 0);
        return;
    case SLUICE_AST_UNARY:
        assert_int_equal(e->nargs, 1);
        put(b, "(%s", op_text(e->op));
        sexp_args(b, e, 0);
        return;
    case SLUICE_AST_BINARY:
        assert_int_equal(e->nargs, 2);
        put(b, "(%s", op_text(e->op));
        sexp_args(b, e, 0);
        return;
    case SLUICE_AST_IS_NULL:
        assert_int_equal(e->nargs, 1);
        put(b, e->negated ? "(IS-NOT-NULL" : "(IS-NULL");
        sexp_args(b, e, 0);
        return;
    case SLUICE_AST_IN:
        put(b, e->negated ? "(NOT-IN" : "(IN");
        sexp_args(b, e, 0);
        return;
    case SLUICE_AST_BETWEEN:
        assert_int_equal(e->nargs, 3);
        put(b, e->negated ? "(NOT-BETWEEN" : "(BETWEEN");
        sexp_args(b, e, 0);
        return;
    case SLUICE_AST_LIKE:
        assert_int_equal(e->nargs, 2);
        put(b, e->negated ? "(NOT-LIKE" : "(LIKE");
        sexp_args(b, e, 0);
        return;
    case SLUICE_AST_SUBSCRIPT:
        assert_int_equal(e->nargs, 2);
        put(b, "([]");
        sexp_args(b, e, 0);
        return;
    case SLUICE_AST_CASE: {
        size_t i = 0;
        assert_int_equal(e->nargs, (size_t)e->has_operand + 2 * e->nwhen + (size_t)e->has_else);
        put(b, "(CASE");
        if (e->has_operand) {
            put(b, " ");
            sexp(b, e->args[i++]);
        }
        for (size_t w = 0; w < e->nwhen; w++, i += 2) {
            put(b, " (WHEN ");
            sexp(b, e->args[i]);
            put(b, " ");
            sexp(b, e->args[i + 1]);
            put(b, ")");
        }
        if (e->has_else) {
            put(b, " (ELSE ");
            sexp(b, e->args[i]);
            put(b, ")");
        }
        put(b, ")");
        return;
    }
    case SLUICE_AST_CAST:
        assert_int_equal(e->nargs, 1);
        put(b, "(CAST ");
        sexp(b, e->args[0]);
        put(b, " %s)", sluice_type_name(e->cast_type));
        return;
    case SLUICE_AST_FUNC:
        put(b, "(%s", e->name);
        if (e->distinct) put(b, " DISTINCT");
        if (e->star) {
            assert_int_equal(e->nargs, 0);
            put(b, " *");
        }
        if (e->filter) {
            put(b, " FILTER ");
            sexp(b, e->filter);
        }
        sexp_args(b, e, 0);
        return;
    }
    put(b, "?kind");
}

static const char *to_sexp(const sluice_ast *e) {
    static sbuf b;
    b.len = 0;
    b.data[0] = '\0';
    sexp(&b, e);
    return b.data;
}

/* ---- helpers -------------------------------------------------------------- */

static sluice_arena *arena;
static char errbuf[512];

static int setup(void **state) {
    (void)state;
    arena = sluice_arena_new(0);
    return arena ? 0 : -1;
}

static int teardown(void **state) {
    (void)state;
    sluice_arena_destroy(arena);
    return 0;
}

static sluice_ast_pipeline *parse_ok(const char *src) {
    sluice_ast_pipeline *p = NULL;
    errbuf[0] = '\0';
    sluice_err_t err = sluice_sql_parse(src, strlen(src), "p.sql", arena, &p, errbuf, sizeof errbuf);
    if (err != SLUICE_OK) fail_msg("unexpected error: %s", errbuf);
    assert_non_null(p);
    assert_string_equal(p->filename, "p.sql");
    return p;
}

static const char *parse_errn(const char *src, size_t len) {
    sluice_ast_pipeline *p = NULL;
    errbuf[0] = '\0';
    assert_int_equal(sluice_sql_parse(src, len, "p.sql", arena, &p, errbuf, sizeof errbuf),
                     SLUICE_ERR_SQL);
    return errbuf;
}

static const char *parse_err(const char *src) { return parse_errn(src, strlen(src)); }

/* The S-expression of `expr` parsed as the single select item of a sink. */
static const char *expr(const char *text) {
    char src[4096];
    snprintf(src, sizeof src, "CREATE SINK s AS SELECT %s FROM t;", text);
    sluice_ast_pipeline *p = parse_ok(src);
    assert_int_equal(p->nsinks, 1);
    assert_int_equal(p->sinks[0].nitems, 1);
    assert_null(p->sinks[0].items[0].alias);
    return to_sexp(p->sinks[0].items[0].expr);
}

/* The error message for `text` as the select item (source starts at 1:1,
 * so the expression begins at column 25). */
static const char *expr_err(const char *text) {
    char src[4096];
    snprintf(src, sizeof src, "CREATE SINK s AS SELECT %s FROM t;", text);
    return parse_err(src);
}

/* ---- spec examples ---------------------------------------------------------- */

static const char *flights_sql =
    "CREATE SOURCE flights (\n"
    "    date        TIMESTAMP FORMAT '%Y/%m/%d %H:%M',\n"
    "    delay       BIGINT,\n"
    "    distance    BIGINT,\n"
    "    origin      VARCHAR,\n"
    "    destination VARCHAR,\n"
    "    WATERMARK FOR date AS date - INTERVAL '5' MINUTE\n"
    ");\n"
    "\n"
    "CREATE SINK delays_by_origin PRIMARY KEY (window_start, origin) AS\n"
    "SELECT window_start, window_end, origin,\n"
    "       COUNT(*)   AS flights,\n"
    "       AVG(delay) AS avg_delay,\n"
    "       MAX(delay) AS max_delay\n"
    "FROM flights\n"
    "WHERE delay IS NOT NULL\n"
    "GROUP BY TUMBLE(date, INTERVAL '1' HOUR), origin\n"
    "EMIT APPEND;\n";

static void test_spec_flights_source(void **state) {
    (void)state;
    sluice_ast_pipeline *p = parse_ok(flights_sql);
    assert_int_equal(p->nsources, 1);
    const sluice_ast_source *s = &p->sources[0];
    assert_string_equal(s->name, "flights");
    assert_int_equal(s->line, 1);
    assert_int_equal(s->col, 15);
    assert_int_equal(s->ncolumns, 5);
    static const char *names[] = {"date", "delay", "distance", "origin", "destination"};
    static const sluice_type_t types[] = {SLUICE_TYPE_TIMESTAMP, SLUICE_TYPE_BIGINT,
                                          SLUICE_TYPE_BIGINT, SLUICE_TYPE_VARCHAR,
                                          SLUICE_TYPE_VARCHAR};
    for (size_t i = 0; i < 5; i++) {
        assert_string_equal(s->columns[i].name, names[i]);
        assert_int_equal(s->columns[i].type, types[i]);
        assert_int_equal(s->columns[i].line, (int)i + 2);
        assert_int_equal(s->columns[i].col, 5);
        assert_null(s->columns[i].path);
        assert_null(s->columns[i].metadata);
        if (i > 0) assert_null(s->columns[i].format);
    }
    assert_string_equal(s->columns[0].format, "%Y/%m/%d %H:%M");
    assert_true(s->has_watermark);
    assert_string_equal(s->watermark_column, "date");
    assert_int_equal(s->watermark_line, 7);
    assert_int_equal(s->watermark_col, 19);
    assert_string_equal(to_sexp(s->watermark_expr), "(- date (INTERVAL 300000))");
    assert_int_equal(s->watermark_expr->line, 7);
    assert_int_equal(s->watermark_expr->col, 27);
    assert_int_equal(s->watermark_expr->args[1]->col, 34);
}

static void test_spec_delays_by_origin_sink(void **state) {
    (void)state;
    sluice_ast_pipeline *p = parse_ok(flights_sql);
    assert_int_equal(p->nsinks, 1);
    const sluice_ast_sink *k = &p->sinks[0];
    assert_string_equal(k->name, "delays_by_origin");
    assert_int_equal(k->line, 10);
    assert_int_equal(k->col, 13);
    assert_int_equal(k->nprimary_key, 2);
    assert_string_equal(k->primary_key[0], "window_start");
    assert_string_equal(k->primary_key[1], "origin");
    assert_int_equal(k->pk_line, 10);
    assert_int_equal(k->pk_col, 30);
    assert_int_equal(k->nitems, 6);
    static const char *items[] = {"window_start", "window_end", "origin",
                                  "(COUNT *)", "(AVG delay)", "(MAX delay)"};
    static const char *aliases[] = {NULL, NULL, NULL, "flights", "avg_delay", "max_delay"};
    for (size_t i = 0; i < 6; i++) {
        assert_string_equal(to_sexp(k->items[i].expr), items[i]);
        if (aliases[i]) assert_string_equal(k->items[i].alias, aliases[i]);
        else assert_null(k->items[i].alias);
    }
    assert_int_equal(k->items[1].line, 11);
    assert_int_equal(k->items[1].col, 22);
    assert_int_equal(k->items[4].line, 13);
    assert_int_equal(k->items[4].col, 8);
    assert_int_equal(k->items[4].expr->col, 8);
    assert_string_equal(k->from, "flights");
    assert_int_equal(k->from_line, 15);
    assert_int_equal(k->from_col, 6);
    assert_string_equal(to_sexp(k->where), "(IS-NOT-NULL delay)");
    assert_int_equal(k->ngroup_by, 2);
    assert_string_equal(to_sexp(k->group_by[0]), "(TUMBLE date (INTERVAL 3600000))");
    assert_string_equal(to_sexp(k->group_by[1]), "origin");
    assert_null(k->having);
    assert_null(k->order_by);
    assert_int_equal(k->limit, -1);
    assert_int_equal(k->emit, SLUICE_EMIT_APPEND);
    assert_int_equal(k->emit_line, 18);
    assert_int_equal(k->emit_col, 6);
}

static void test_hop_and_session(void **state) {
    (void)state;
    sluice_ast_pipeline *p = parse_ok(
        "CREATE SINK h AS SELECT window_start, COUNT(*) AS n FROM flights\n"
        "GROUP BY HOP(date, INTERVAL '5' MINUTE, INTERVAL '1' HOUR);\n"
        "CREATE SINK s AS SELECT window_end, origin, SUM(delay) AS total FROM flights\n"
        "GROUP BY origin, SESSION(PROCTIME(), INTERVAL '30' SECONDS)\n"
        "EMIT update");
    assert_int_equal(p->nsinks, 2);
    assert_int_equal(p->sinks[0].ngroup_by, 1);
    assert_string_equal(to_sexp(p->sinks[0].group_by[0]),
                        "(HOP date (INTERVAL 300000) (INTERVAL 3600000))");
    assert_int_equal(p->sinks[0].emit, SLUICE_EMIT_DEFAULT);
    assert_int_equal(p->sinks[1].ngroup_by, 2);
    assert_string_equal(to_sexp(p->sinks[1].group_by[1]),
                        "(SESSION (PROCTIME) (INTERVAL 30000))");
    assert_int_equal(p->sinks[1].group_by[1]->args[0]->nargs, 0);
    assert_int_equal(p->sinks[1].group_by[1]->args[0]->star, 0);
    assert_int_equal(p->sinks[1].emit, SLUICE_EMIT_UPDATE);
}

static void test_order_by_limit(void **state) {
    (void)state;
    sluice_ast_pipeline *p = parse_ok(
        "CREATE SINK top PRIMARY KEY (window_start, `rank`) AS\n"
        "SELECT window_start, rank, origin, COUNT(*) AS n FROM flights\n"
        "GROUP BY TUMBLE(date, INTERVAL '1' DAY), origin\n"
        "ORDER BY COUNT(*) DESC LIMIT 3\n"
        "EMIT COMPLETE;\n"
        "CREATE SINK a AS SELECT origin o FROM flights ORDER BY origin ASC;\n"
        "CREATE SINK b AS SELECT origin FROM flights ORDER BY origin LIMIT 10;\n"
        "CREATE SINK c AS SELECT origin FROM flights LIMIT 0");
    assert_int_equal(p->nsinks, 4);
    const sluice_ast_sink *k = &p->sinks[0];
    assert_string_equal(k->primary_key[1], "rank");
    assert_string_equal(to_sexp(k->items[1].expr), "rank");
    assert_string_equal(to_sexp(k->order_by), "(COUNT *)");
    assert_int_equal(k->order_desc, 1);
    assert_int_equal(k->limit, 3);
    assert_int_equal(k->limit_line, 4);
    assert_int_equal(k->limit_col, 24);
    assert_int_equal(k->emit, SLUICE_EMIT_COMPLETE);
    assert_string_equal(p->sinks[1].items[0].alias, "o");
    assert_string_equal(to_sexp(p->sinks[1].order_by), "origin");
    assert_int_equal(p->sinks[1].order_desc, 0);
    assert_int_equal(p->sinks[1].limit, -1);
    assert_int_equal(p->sinks[2].limit, 10);
    assert_null(p->sinks[3].order_by);
    assert_int_equal(p->sinks[3].limit, 0);
    assert_int_equal(p->sinks[3].limit_line, 8);
    assert_int_equal(p->sinks[3].limit_col, 45);
}

static void test_where_having_full_clause_order(void **state) {
    (void)state;
    sluice_ast_pipeline *p = parse_ok(
        "create sink s as select origin, avg(delay) as d from f where distance > 100 "
        "group by origin having count(*) >= 10 order by d desc limit 5 emit update");
    const sluice_ast_sink *k = &p->sinks[0];
    assert_string_equal(to_sexp(k->items[1].expr), "(AVG delay)");
    assert_string_equal(to_sexp(k->where), "(> distance 100)");
    assert_string_equal(to_sexp(k->having), "(>= (COUNT *) 10)");
    assert_string_equal(to_sexp(k->order_by), "d");
    assert_int_equal(k->order_desc, 1);
    assert_int_equal(k->limit, 5);
    assert_int_equal(k->emit, SLUICE_EMIT_UPDATE);
    assert_null(k->primary_key);
    assert_int_equal(k->nprimary_key, 0);
}

static void test_stateless_alerts(void **state) {
    (void)state;
    sluice_ast_pipeline *p = parse_ok(
        "CREATE SINK alerts AS SELECT date, origin, delay FROM flights WHERE delay > 60");
    const sluice_ast_sink *k = &p->sinks[0];
    assert_int_equal(k->nitems, 3);
    assert_int_equal(k->ngroup_by, 0);
    assert_null(k->group_by);
    assert_int_equal(k->emit, SLUICE_EMIT_DEFAULT);
    assert_int_equal(k->limit, -1);
}

/* ---- CREATE SOURCE ----------------------------------------------------------- */

static void test_source_column_options_and_types(void **state) {
    (void)state;
    sluice_ast_pipeline *p = parse_ok(
        "CREATE SOURCE quakes (\n"
        "  mag DOUBLE PATH '$.properties.mag',\n"
        "  ts timestamp METADATA FROM 'timestamp' FORMAT 'epoch_ms',\n"
        "  WATERMARK FOR ts AS ts - INTERVAL '10' SECOND,\n"
        "  k varchar(255) metadata from 'key' path '$.a[0]',\n"
        "  `count` INT, b Bool, c Text, d String, e Integer, f Float, g REAL, h BOOLEAN\n"
        ")");
    const sluice_ast_source *s = &p->sources[0];
    assert_int_equal(s->ncolumns, 11);
    assert_string_equal(s->columns[0].name, "mag");
    assert_int_equal(s->columns[0].type, SLUICE_TYPE_DOUBLE);
    assert_string_equal(s->columns[0].path, "$.properties.mag");
    assert_int_equal(s->columns[1].type, SLUICE_TYPE_TIMESTAMP);
    assert_string_equal(s->columns[1].metadata, "timestamp");
    assert_string_equal(s->columns[1].format, "epoch_ms");
    assert_null(s->columns[1].path);
    assert_string_equal(s->columns[2].name, "k");
    assert_int_equal(s->columns[2].type, SLUICE_TYPE_VARCHAR);
    assert_string_equal(s->columns[2].metadata, "key");
    assert_string_equal(s->columns[2].path, "$.a[0]");
    assert_int_equal(s->columns[2].line, 5);
    assert_int_equal(s->columns[2].col, 3);
    static const char *names[] = {"count", "b", "c", "d", "e", "f", "g", "h"};
    static const sluice_type_t types[] = {SLUICE_TYPE_BIGINT, SLUICE_TYPE_BOOLEAN,
                                          SLUICE_TYPE_VARCHAR, SLUICE_TYPE_VARCHAR,
                                          SLUICE_TYPE_BIGINT, SLUICE_TYPE_DOUBLE,
                                          SLUICE_TYPE_DOUBLE, SLUICE_TYPE_BOOLEAN};
    for (size_t i = 0; i < 8; i++) {
        assert_string_equal(s->columns[3 + i].name, names[i]);
        assert_int_equal(s->columns[3 + i].type, types[i]);
    }
    assert_true(s->has_watermark);
    assert_string_equal(s->watermark_column, "ts");
    assert_string_equal(to_sexp(s->watermark_expr), "(- ts (INTERVAL 10000))");
}

static void test_source_without_watermark_and_several_statements(void **state) {
    (void)state;
    sluice_ast_pipeline *p = parse_ok(
        "-- two sources\n"
        "CREATE SOURCE a (x BIGINT);;\n"
        "create source b (y varchar);\n"
        "CREATE SINK c AS SELECT x FROM a;");
    assert_int_equal(p->nsources, 2);
    assert_int_equal(p->nsinks, 1);
    assert_false(p->sources[0].has_watermark);
    assert_null(p->sources[0].watermark_expr);
    assert_null(p->sources[0].watermark_column);
    assert_string_equal(p->sources[1].name, "b");
    assert_int_equal(p->sources[1].line, 3);
    assert_int_equal(p->sources[1].columns[0].type, SLUICE_TYPE_VARCHAR);
}

/* ---- expressions --------------------------------------------------------------- */

static void test_precedence(void **state) {
    (void)state;
    assert_string_equal(expr("a OR b AND NOT c = 1 + 2 * 3"),
                        "(OR a (AND b (NOT (= c (+ 1 (* 2 3))))))");
    assert_string_equal(expr("a - b - c"), "(- (- a b) c)");
    /* aggregate calls: DISTINCT and FILTER (WHERE ...), as Flink and PostgreSQL */
    assert_string_equal(expr("COUNT(DISTINCT a)"), "(COUNT DISTINCT a)");
    assert_string_equal(expr("SUM(DISTINCT (a + 1))"), "(SUM DISTINCT (+ a 1))");
    assert_string_equal(expr("COUNT(*) FILTER (WHERE a > 1)"), "(COUNT * FILTER (> a 1))");
    assert_string_equal(expr("COUNT(DISTINCT a) FILTER (WHERE b)"), "(COUNT DISTINCT FILTER b a)");
    /* a column called distinct or filter is still a column */
    assert_string_equal(expr("SUM(distinct)"), "(SUM distinct)");
    assert_string_equal(expr("SUM(distinct + 1)"), "(SUM (+ distinct 1))");
    assert_string_equal(expr("COUNT(*) + filter"), "(+ (COUNT *) filter)");
    assert_string_equal(expr("COUNT(distinct)"), "(COUNT distinct)");
    assert_string_equal(expr("a / b * c % d"), "(% (* (/ a b) c) d)");
    assert_string_equal(expr("a OR b OR c"), "(OR (OR a b) c)");
    assert_string_equal(expr("a AND b AND c"), "(AND (AND a b) c)");
    assert_string_equal(expr("(a + b) * c"), "(* (+ a b) c)");
    assert_string_equal(expr("-a * -b"), "(* (- a) (- b))");
    assert_string_equal(expr("- - +a"), "(- (- (+ a)))");
    assert_string_equal(expr("NOT a AND b"), "(AND (NOT a) b)");
    assert_string_equal(expr("NOT NOT a"), "(NOT (NOT a))");
    assert_string_equal(expr("a + 1 < b * 2"), "(< (+ a 1) (* b 2))");
    assert_string_equal(expr("a = b = c"), "(= (= a b) c)");
    assert_string_equal(expr("x BETWEEN 1 AND 2 AND y"), "(AND (BETWEEN x 1 2) y)");
    assert_string_equal(expr("x + 1 BETWEEN a - 1 AND b * 2"),
                        "(BETWEEN (+ x 1) (- a 1) (* b 2))");
    assert_string_equal(expr("NOT x IS NULL"), "(NOT (IS-NULL x))");
    assert_string_equal(expr("a + b IS NOT NULL OR c"), "(OR (IS-NOT-NULL (+ a b)) c)");
}

static void test_comparisons(void **state) {
    (void)state;
    assert_string_equal(expr("a = 1"), "(= a 1)");
    assert_string_equal(expr("a <> 1"), "(<> a 1)");
    assert_string_equal(expr("a != 1"), "(<> a 1)");
    assert_string_equal(expr("a < 1"), "(< a 1)");
    assert_string_equal(expr("a <= 1"), "(<= a 1)");
    assert_string_equal(expr("a > 1"), "(> a 1)");
    assert_string_equal(expr("a >= 1"), "(>= a 1)");
}

static void test_predicates(void **state) {
    (void)state;
    assert_string_equal(expr("a IS NULL"), "(IS-NULL a)");
    assert_string_equal(expr("a is not null"), "(IS-NOT-NULL a)");
    assert_string_equal(expr("a IN (1, 2, 3)"), "(IN a 1 2 3)");
    assert_string_equal(expr("a NOT IN ('x')"), "(NOT-IN a 'x')");
    assert_string_equal(expr("a BETWEEN 1 AND 10"), "(BETWEEN a 1 10)");
    assert_string_equal(expr("a NOT BETWEEN 1 AND 10"), "(NOT-BETWEEN a 1 10)");
    assert_string_equal(expr("a LIKE 'J%'"), "(LIKE a 'J%')");
    assert_string_equal(expr("a NOT LIKE '_x'"), "(NOT-LIKE a '_x')");
    assert_string_equal(expr("a IN (b + 1, LOWER(c))"), "(IN a (+ b 1) (LOWER c))");
}

static void test_literals(void **state) {
    (void)state;
    assert_string_equal(expr("42"), "42");
    assert_string_equal(expr("9223372036854775807"), "9223372036854775807");
    assert_string_equal(expr("4.2"), "4.2d");
    assert_string_equal(expr(".5"), "0.5d");
    assert_string_equal(expr("1e3"), "1000d");
    assert_string_equal(expr("'it''s'"), "'it's'");
    assert_string_equal(expr("''"), "''");
    assert_string_equal(expr("TRUE"), "TRUE");
    assert_string_equal(expr("false"), "FALSE");
    assert_string_equal(expr("NULL"), "NULL");
    assert_string_equal(expr("TIMESTAMP '2001-01-01 00:00:00'"),
                        "(CAST '2001-01-01 00:00:00' TIMESTAMP)");
    assert_string_equal(expr("timestamp '2001-01-01'"), "(CAST '2001-01-01' TIMESTAMP)");
    /* A column or a function may still be called timestamp. */
    assert_string_equal(expr("timestamp + 1"), "(+ timestamp 1)");
    assert_string_equal(expr("-9223372036854775807 - 1"), "(- (- 9223372036854775807) 1)");
}

static void test_literal_types(void **state) {
    (void)state;
    sluice_ast_pipeline *p = parse_ok("CREATE SINK s AS SELECT 1, 2.5, 'ab', TRUE, NULL, "
                                      "TIMESTAMP '2001-01-01', INTERVAL '2' SECOND FROM t");
    const sluice_ast_select_item *it = p->sinks[0].items;
    assert_int_equal(it[0].expr->kind, SLUICE_AST_LITERAL);
    assert_int_equal(it[0].expr->lit.type, SLUICE_TYPE_BIGINT);
    assert_int_equal(it[1].expr->lit.type, SLUICE_TYPE_DOUBLE);
    assert_int_equal(it[2].expr->lit.type, SLUICE_TYPE_VARCHAR);
    assert_int_equal(it[2].expr->lit.len, 2);
    assert_memory_equal(it[2].expr->lit.u.s, "ab", 2);
    assert_int_equal(it[3].expr->lit.type, SLUICE_TYPE_BOOLEAN);
    assert_int_equal(it[3].expr->lit.u.i, 1);
    assert_int_equal(it[4].expr->kind, SLUICE_AST_LITERAL);
    assert_int_equal(it[4].expr->lit.type, SLUICE_TYPE_NULL);
    assert_int_equal(it[5].expr->kind, SLUICE_AST_CAST);
    assert_int_equal(it[5].expr->cast_type, SLUICE_TYPE_TIMESTAMP);
    assert_int_equal(it[5].expr->args[0]->lit.type, SLUICE_TYPE_VARCHAR);
    assert_int_equal(it[6].expr->kind, SLUICE_AST_INTERVAL);
    assert_int_equal(it[6].expr->lit.u.i, 2000);
}

static void test_case_cast_functions(void **state) {
    (void)state;
    assert_string_equal(expr("CASE WHEN a > 1 THEN 'big' WHEN a > 0 THEN 'small' ELSE 'none' END"),
                        "(CASE (WHEN (> a 1) 'big') (WHEN (> a 0) 'small') (ELSE 'none'))");
    assert_string_equal(expr("CASE a WHEN 1 THEN 'one' END"), "(CASE a (WHEN 1 'one'))");
    assert_string_equal(expr("case a + 1 when 2 then x else y end"),
                        "(CASE (+ a 1) (WHEN 2 x) (ELSE y))");
    assert_string_equal(expr("CAST(delay AS DOUBLE)"), "(CAST delay DOUBLE)");
    assert_string_equal(expr("CAST('1' AS varchar(10))"), "(CAST '1' VARCHAR)");
    assert_string_equal(expr("cast(x as int) + cast(y as Timestamp)"),
                        "(+ (CAST x BIGINT) (CAST y TIMESTAMP))");
}

static void test_function_calls(void **state) {
    (void)state;
    assert_string_equal(expr("count(*)"), "(COUNT *)");
    assert_string_equal(expr("Count(delay)"), "(COUNT delay)");
    assert_string_equal(expr("coalesce(a, b, 0)"), "(COALESCE a b 0)");
    assert_string_equal(expr("substr(origin, 1, 2)"), "(SUBSTR origin 1 2)");
    assert_string_equal(expr("ROUND(AVG(delay) * 1.5)"), "(ROUND (* (AVG delay) 1.5d))");
    assert_string_equal(expr("proctime()"), "(PROCTIME)");
    assert_string_equal(expr("`count`"), "count");
    assert_string_equal(expr("`a``b` + `from`"), "(+ a`b from)");
    assert_string_equal(expr("date"), "date");
    assert_string_equal(expr("distinct"), "distinct");
}

static void test_aliases(void **state) {
    (void)state;
    sluice_ast_pipeline *p = parse_ok(
        "CREATE SINK s AS SELECT a AS x, b y, c AS `from`, COUNT(*) n FROM t");
    const sluice_ast_sink *k = &p->sinks[0];
    assert_int_equal(k->nitems, 4);
    assert_string_equal(k->items[0].alias, "x");
    assert_string_equal(k->items[1].alias, "y");
    assert_string_equal(k->items[2].alias, "from");
    assert_string_equal(k->items[3].alias, "n");
    assert_string_equal(to_sexp(k->items[3].expr), "(COUNT *)");
    assert_int_equal(k->items[3].col, 51);
}

static void test_expression_positions(void **state) {
    (void)state;
    sluice_ast_pipeline *p = parse_ok("CREATE SINK s AS SELECT\n  a + -b * 2 FROM t");
    const sluice_ast *e = p->sinks[0].items[0].expr;
    assert_int_equal(e->line, 2);
    assert_int_equal(e->col, 3);                     /* a + ... starts at a */
    assert_int_equal(e->args[1]->col, 7);            /* -b * 2 starts at - */
    assert_int_equal(e->args[1]->args[0]->col, 7);   /* -b */
    assert_int_equal(e->args[1]->args[0]->args[0]->col, 8);
    assert_int_equal(e->args[1]->args[1]->col, 12);
}

static void test_grammar_words_any_case(void **state) {
    (void)state;
    sluice_ast_pipeline *p = parse_ok(
        "Create Source s (t Timestamp Format 'epoch_s' Path '$.t' Metadata From 'offset',\n"
        "  Watermark For t As t - Interval '2' Seconds);\n"
        "create sink k primary key (a) as select a from s emit Complete");
    assert_string_equal(p->sources[0].columns[0].format, "epoch_s");
    assert_string_equal(p->sources[0].columns[0].path, "$.t");
    assert_string_equal(p->sources[0].columns[0].metadata, "offset");
    assert_string_equal(to_sexp(p->sources[0].watermark_expr), "(- t (INTERVAL 2000))");
    assert_int_equal(p->sinks[0].emit, SLUICE_EMIT_COMPLETE);
    assert_int_equal(p->sinks[0].nprimary_key, 1);
}

static void test_timestamp_literal_positions(void **state) {
    (void)state;
    sluice_ast_pipeline *p = parse_ok("CREATE SINK s AS SELECT x FROM t\n"
                                      "WHERE ts >= TIMESTAMP\n'2001-01-01T00:47:00Z'");
    const sluice_ast *cast = p->sinks[0].where->args[1];
    assert_int_equal(cast->kind, SLUICE_AST_CAST);
    assert_int_equal(cast->line, 2);
    assert_int_equal(cast->col, 13);
    assert_int_equal(cast->args[0]->line, 3);
    assert_int_equal(cast->args[0]->col, 1);
    assert_string_equal(cast->args[0]->lit.u.s, "2001-01-01T00:47:00Z");
}

/* ---- intervals ------------------------------------------------------------------ */

static void test_interval_ms(void **state) {
    (void)state;
    int64_t ms = 0;
    struct { const char *num, *unit; int64_t want; } ok[] = {
        {"5", "MINUTE", 300000}, {"5", "minutes", 300000}, {"1", "HOUR", 3600000},
        {"2", "Hours", 7200000}, {"1", "DAY", 86400000}, {"3", "days", 259200000},
        {"250", "MILLISECOND", 250}, {"1", "milliseconds", 1}, {"30", "SECOND", 30000},
        {"1.5", "SECOND", 1500}, {"0.001", "seconds", 1}, {"0.5", "MINUTE", 30000},
        {"0", "SECOND", 0}, {"1.000", "MILLISECOND", 1}, {"106751991167", "DAY", 9223372036828800000},
    };
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        ms = -1;
        assert_int_equal(sluice_sql_interval_ms(ok[i].num, ok[i].unit, &ms), 0);
        assert_int_equal(ms, ok[i].want);
    }
    const char *bad[][2] = {
        {"5", "WEEK"}, {"5", "MINS"}, {"5", ""}, {"", "SECOND"}, {"-5", "SECOND"},
        {"0.0005", "SECOND"}, {"1.5", "MILLISECOND"}, {"abc", "SECOND"}, {"1e3", "SECOND"},
        {"5 ", "SECOND"}, {".", "SECOND"}, {"106751991168", "DAY"},
        {"99999999999999999999999", "MILLISECOND"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(sluice_sql_interval_ms(bad[i][0], bad[i][1], &ms), -1);
}

static void test_interval_literals(void **state) {
    (void)state;
    assert_string_equal(expr("INTERVAL '5' MINUTE"), "(INTERVAL 300000)");
    assert_string_equal(expr("interval 5 minutes"), "(INTERVAL 300000)");
    assert_string_equal(expr("INTERVAL 1.5 Second"), "(INTERVAL 1500)");
    assert_string_equal(expr("INTERVAL '100' MILLISECONDS"), "(INTERVAL 100)");
    assert_string_equal(expr("ts - INTERVAL '1' DAY"), "(- ts (INTERVAL 86400000))");
}

/* ---- errors ---------------------------------------------------------------------- */

static void test_error_empty_file(void **state) {
    (void)state;
    assert_string_equal(parse_err(""), "p.sql:1:1: syntax error at end of input: expected CREATE or INSERT");
    assert_string_equal(parse_err("-- nothing\n\n"),
                        "p.sql:3:1: syntax error at end of input: expected CREATE or INSERT");
    assert_string_equal(parse_err(";"), "p.sql:1:2: syntax error at end of input: expected CREATE or INSERT");
}

static void test_error_statement_start(void **state) {
    (void)state;
    assert_string_equal(parse_err("SELECT 1"), "p.sql:1:1: syntax error at 'SELECT': expected CREATE or INSERT");
    assert_string_equal(parse_err("CREATE TABLES t (a BIGINT)"),
                        "p.sql:1:8: syntax error at 'TABLES': expected SOURCE, SINK, VIEW, TABLE or FUNCTION");
    assert_string_equal(parse_err("CREATE SOURCE (a BIGINT)"),
                        "p.sql:1:15: syntax error at '(': expected a source name");
    assert_string_equal(parse_err("CREATE SINK select AS SELECT a FROM t"),
                        "p.sql:1:13: syntax error at 'SELECT': expected a sink name");
}

static void test_error_missing_semicolon(void **state) {
    (void)state;
    assert_string_equal(parse_err("CREATE SOURCE a (x BIGINT)\nCREATE SOURCE b (y BIGINT)"),
                        "p.sql:2:1: syntax error at 'CREATE': expected ';'");
}

static void test_error_column_type(void **state) {
    (void)state;
    assert_string_equal(parse_err("CREATE SOURCE s (a BIGINT, b);"),
                        "p.sql:1:29: syntax error at ')': expected a column type "
                        "(BIGINT, DOUBLE, VARCHAR, BOOLEAN, TIMESTAMP)");
    assert_string_equal(parse_err("CREATE SOURCE s (\n  a BIGNUM\n);"),
                        "p.sql:2:5: syntax error at 'BIGNUM': expected a column type "
                        "(BIGINT, DOUBLE, VARCHAR, BOOLEAN, TIMESTAMP)");
    assert_string_equal(parse_err("CREATE SINK s AS SELECT CAST(a AS NUMBER) FROM t"),
                        "p.sql:1:35: syntax error at 'NUMBER': expected a column type "
                        "(BIGINT, DOUBLE, VARCHAR, BOOLEAN, TIMESTAMP)");
    assert_string_equal(parse_err("CREATE SOURCE s (a VARCHAR(x))"),
                        "p.sql:1:28: syntax error at 'x': expected a length");
}

static void test_error_column_list(void **state) {
    (void)state;
    assert_string_equal(parse_err("CREATE SOURCE s (a BIGINT b DOUBLE)"),
                        "p.sql:1:27: syntax error at 'b': expected ',' or ')'");
    assert_string_equal(parse_err("CREATE SOURCE s ()"),
                        "p.sql:1:18: syntax error at ')': expected a column name");
    assert_string_equal(parse_err("CREATE SOURCE s (a BIGINT,"),
                        "p.sql:1:27: syntax error at end of input: expected a column name");
    assert_string_equal(parse_err("CREATE SOURCE s a BIGINT"),
                        "p.sql:1:17: syntax error at 'a': expected '('");
}

static void test_error_duplicates_in_source(void **state) {
    (void)state;
    assert_string_equal(
        parse_err("CREATE SOURCE s (\n"
                  "  t TIMESTAMP,\n"
                  "  WATERMARK FOR t AS t - INTERVAL '1' SECOND,\n"
                  "  WATERMARK FOR t AS t\n"
                  ")"),
        "p.sql:4:3: syntax error at 'WATERMARK': expected at most one WATERMARK per source");
    assert_string_equal(parse_err("CREATE SOURCE s (t TIMESTAMP FORMAT 'a' PATH 'b' format 'c')"),
                        "p.sql:1:50: syntax error at 'format': expected at most one FORMAT per column");
    assert_string_equal(parse_err("CREATE SOURCE s (t BIGINT PATH 'a' PATH 'b')"),
                        "p.sql:1:36: syntax error at 'PATH': expected at most one PATH per column");
    assert_string_equal(
        parse_err("CREATE SOURCE s (t BIGINT METADATA FROM 'key' METADATA FROM 'key')"),
        "p.sql:1:47: syntax error at 'METADATA': expected at most one METADATA per column");
    assert_string_equal(parse_err("CREATE SOURCE s (t BIGINT METADATA 'key')"),
                        "p.sql:1:36: syntax error at ''key'': expected FROM");
    assert_string_equal(parse_err("CREATE SOURCE s (t BIGINT FORMAT epoch_ms)"),
                        "p.sql:1:34: syntax error at 'epoch_ms': expected a quoted string");
}

static void test_error_watermark(void **state) {
    (void)state;
    assert_string_equal(parse_err("CREATE SOURCE s (t TIMESTAMP, WATERMARK t AS t)"),
                        "p.sql:1:41: syntax error at 't': expected FOR");
    assert_string_equal(parse_err("CREATE SOURCE s (t TIMESTAMP, WATERMARK FOR t t)"),
                        "p.sql:1:47: syntax error at 't': expected AS");
}

static void test_error_bad_unit(void **state) {
    (void)state;
    assert_string_equal(
        parse_err("CREATE SOURCE s (\n  t TIMESTAMP,\n  WATERMARK FOR t AS t - INTERVAL '5' MINS\n)"),
        "p.sql:3:39: syntax error at 'MINS': expected a unit (MILLISECOND, SECOND, MINUTE, HOUR, DAY)");
    assert_string_equal(expr_err("INTERVAL '5'"),
                        "p.sql:1:38: syntax error at 'FROM': expected a unit "
                        "(MILLISECOND, SECOND, MINUTE, HOUR, DAY)");
    assert_string_equal(expr_err("INTERVAL '0.0001' SECOND"),
                        "p.sql:1:34: syntax error at ''0.0001'': expected a non-negative number "
                        "of whole milliseconds");
    assert_string_equal(expr_err("INTERVAL 'five' SECOND"),
                        "p.sql:1:34: syntax error at ''five'': expected a non-negative number "
                        "of whole milliseconds");
    assert_string_equal(expr_err("INTERVAL x SECOND"),
                        "p.sql:1:34: syntax error at 'x': expected a number of units");
}

static void test_error_select_list(void **state) {
    (void)state;
    assert_string_equal(parse_err("CREATE SINK s AS SELECT a\n"),
                        "p.sql:2:1: syntax error at end of input: expected ',' or FROM");
    assert_string_equal(parse_err("CREATE SINK s AS SELECT a b c FROM t"),
                        "p.sql:1:29: syntax error at 'c': expected ',' or FROM");
    assert_string_equal(parse_err("CREATE SINK s AS SELECT a, FROM t"),
                        "p.sql:1:28: syntax error at 'FROM': expected an expression");
    assert_string_equal(parse_err("CREATE SINK s SELECT a FROM t"),
                        "p.sql:1:15: syntax error at 'SELECT': expected AS");
    assert_string_equal(parse_err("CREATE SINK s AS a FROM t"),
                        "p.sql:1:18: syntax error at 'a': expected SELECT");
    assert_string_equal(parse_err("CREATE SINK s AS SELECT a FROM"),
                        "p.sql:1:31: syntax error at end of input: expected a source, table or view name");
    assert_string_equal(parse_err("CREATE SINK s AS SELECT a AS FROM t"),
                        "p.sql:1:30: syntax error at 'FROM': expected an alias");
}

static void test_error_clauses(void **state) {
    (void)state;
    /* GRUP is t's alias (FROM t [AS] alias) */
    assert_string_equal(parse_err("CREATE SINK s AS SELECT a FROM t GRUP BY a"),
                        "p.sql:1:39: syntax error at 'BY': expected WHERE, GROUP BY, HAVING, "
                        "ORDER BY, LIMIT, EMIT or ';'");
    assert_string_equal(parse_err("CREATE SINK s AS SELECT a FROM t GROUP a"),
                        "p.sql:1:40: syntax error at 'a': expected BY");
    assert_string_equal(parse_err("CREATE SINK s AS SELECT a FROM t HAVING a > 1 WHERE a > 1"),
                        "p.sql:1:47: syntax error at 'WHERE': expected ORDER BY, LIMIT, EMIT or ';'");
    assert_string_equal(parse_err("CREATE SINK s AS SELECT a FROM t EMIT APPEND LIMIT 1"),
                        "p.sql:1:46: syntax error at 'LIMIT': expected ';'");
    assert_string_equal(parse_err("CREATE SINK s AS SELECT a FROM t ORDER BY a LIMIT 1 LIMIT 2"),
                        "p.sql:1:53: syntax error at 'LIMIT': expected EMIT or ';'");
    assert_string_equal(parse_err("CREATE SINK s AS SELECT a FROM t EMIT FINAL"),
                        "p.sql:1:39: syntax error at 'FINAL': expected APPEND, UPDATE or COMPLETE");
    assert_string_equal(parse_err("CREATE SINK s AS SELECT a FROM t LIMIT ten"),
                        "p.sql:1:40: syntax error at 'ten': expected a non-negative integer");
    assert_string_equal(parse_err("CREATE SINK s AS SELECT a FROM t LIMIT -1"),
                        "p.sql:1:40: syntax error at '-': expected a non-negative integer");
    assert_string_equal(parse_err("CREATE SINK s PRIMARY (a) AS SELECT a FROM t"),
                        "p.sql:1:23: syntax error at '(': expected KEY");
    assert_string_equal(parse_err("CREATE SINK s PRIMARY KEY (a b) AS SELECT a FROM t"),
                        "p.sql:1:30: syntax error at 'b': expected ')' or ','");
    assert_string_equal(parse_err("CREATE SINK s PRIMARY KEY () AS SELECT a FROM t"),
                        "p.sql:1:28: syntax error at ')': expected a column name");
}

static void test_error_expressions(void **state) {
    (void)state;
    assert_string_equal(parse_err("CREATE SINK s AS SELECT a FROM t WHERE a = ;"),
                        "p.sql:1:44: syntax error at ';': expected an expression");
    assert_string_equal(expr_err("COUNT(a"),
                        "p.sql:1:33: syntax error at 'FROM': expected ')' or ','");
    assert_string_equal(expr_err("(a + 1"), "p.sql:1:32: syntax error at 'FROM': expected ')'");
    assert_string_equal(expr_err("order"), "p.sql:1:25: syntax error at 'ORDER': expected an expression");
    assert_string_equal(expr_err("9223372036854775808"),
                        "p.sql:1:25: syntax error at '9223372036854775808': expected an integer "
                        "that fits in BIGINT");
    assert_string_equal(expr_err("1e999"),
                        "p.sql:1:25: syntax error at '1e999': expected a number that fits in DOUBLE");
    assert_string_equal(expr_err("t."), "p.sql:1:28: syntax error at 'FROM': expected a column name after the qualifier");
    assert_string_equal(expr_err("COUNT(*) FILTER (a > 1)"), "p.sql:1:42: syntax error at 'a': expected WHERE");
    assert_string_equal(expr_err("COUNT(*) FILTER (WHERE a > 1"),
                        "p.sql:1:54: syntax error at 'FROM': expected ')'");
    assert_string_equal(expr_err("SUM(*)"),
                        "p.sql:1:29: syntax error at '*': expected an expression (only COUNT takes *)");
    assert_string_equal(expr_err("a NOT NULL"),
                        "p.sql:1:31: syntax error at 'NULL': expected IN, BETWEEN or LIKE");
    assert_string_equal(expr_err("a IS 1"), "p.sql:1:30: syntax error at '1': expected NULL or NOT NULL");
    assert_string_equal(expr_err("a IN 1"), "p.sql:1:30: syntax error at '1': expected '('");
    assert_string_equal(expr_err("a IN (1 2)"), "p.sql:1:33: syntax error at '2': expected ')' or ','");
    assert_string_equal(expr_err("a IN ()"), "p.sql:1:31: syntax error at ')': expected an expression");
    assert_string_equal(expr_err("a BETWEEN 1 OR 2"), "p.sql:1:37: syntax error at 'OR': expected AND");
    assert_string_equal(expr_err("CASE END"), "p.sql:1:30: syntax error at 'END': expected WHEN");
    assert_string_equal(expr_err("CASE WHEN a 1 END"), "p.sql:1:37: syntax error at '1': expected THEN");
    assert_string_equal(expr_err("CASE WHEN a THEN 1"),
                        "p.sql:1:44: syntax error at 'FROM': expected WHEN, ELSE or END");
    assert_string_equal(expr_err("CAST(a DOUBLE)"), "p.sql:1:32: syntax error at 'DOUBLE': expected AS");
    assert_string_equal(expr_err("CAST a"), "p.sql:1:30: syntax error at 'a': expected '('");
}

static void test_error_lexical(void **state) {
    (void)state;
    assert_string_equal(parse_err("CREATE SINK s AS\nSELECT a FROM t WHERE b = 'x"),
                        "p.sql:2:27: syntax error: unterminated string");
    assert_string_equal(parse_err("CREATE SINK s AS SELECT `a FROM t"),
                        "p.sql:1:25: syntax error: unterminated back-quoted identifier");
    assert_string_equal(parse_err("CREATE SINK s AS SELECT a # b FROM t"),
                        "p.sql:1:27: syntax error: unexpected character '#'");
    assert_string_equal(parse_errn("CREATE SINK s AS SELECT a\0 FROM t", 33),
                        "p.sql:1:26: syntax error: unexpected byte 0x00");
}

static void test_error_token_rendering(void **state) {
    (void)state;
    /* Long tokens are cut; control bytes are escaped. */
    assert_string_equal(parse_err("CREATE SOURCE 'a\nvery long string that goes on and on and on'"),
                        "p.sql:1:15: syntax error at ''a\\nvery long string that goes on an...': "
                        "expected a source name");
    assert_string_equal(parse_err("CREATE SOURCE `x` `y`"),
                        "p.sql:1:19: syntax error at '`y`': expected '('");
}

static void test_error_deep_nesting(void **state) {
    (void)state;
    size_t depth = 100000;
    char *src = malloc(depth + 64);
    strcpy(src, "CREATE SINK s AS SELECT ");
    size_t n = strlen(src);
    memset(src + n, '(', depth);
    strcpy(src + n + depth, "1");
    /* The outermost expression is at depth 1: the 257th '(' (column 25 +
     * 256) is too deep; each '-' or NOT nests one more level. */
    assert_string_equal(parse_err(src),
                        "p.sql:1:281: syntax error at '(': expected an expression nested "
                        "at most 256 deep");
    for (size_t i = 0; i + 2 <= depth; i += 2) memcpy(src + n + i, "- ", 2);
    assert_string_equal(parse_err(src),
                        "p.sql:1:535: syntax error at '-': expected an expression nested "
                        "at most 256 deep");
    for (size_t i = 0; i + 4 <= depth; i += 4) memcpy(src + n + i, "NOT ", 4);
    assert_string_equal(parse_err(src),
                        "p.sql:1:1045: syntax error at 'NOT': expected an expression nested "
                        "at most 256 deep");
    free(src);
}

/* "CREATE SINK s AS SELECT " then `unit` n times then `last` and " FROM t"
 * (caller frees). */
static char *repeated(const char *unit, size_t n, const char *last) {
    size_t u = strlen(unit);
    char *src = malloc(64 + u * n + strlen(last));
    assert_non_null(src);
    strcpy(src, "CREATE SINK s AS SELECT ");
    char *p = src + strlen(src);
    for (size_t i = 0; i < n; i++, p += u) memcpy(p, unit, u);
    strcpy(p, last);
    strcat(p, " FROM t");
    return src;
}

static void test_error_long_operator_chains(void **state) {
    (void)state;
    /* A left-associative chain is a tree as tall as it is long: 1+1 is 2
     * levels, the k-th '+' makes k+1.  The 256th '+' would make 257: the
     * error is at its right operand, the 257th '1', at column 25 + 2 * 256. */
    static const struct {
        const char *unit, *last;
        int col;
    } shapes[] = {
        {"1+", "1", 25 + 2 * 256},       {"a*", "a", 25 + 2 * 256},
        {"a-", "a", 25 + 2 * 256},       {"a OR ", "a", 25 + 5 * 256},
        {"b AND ", "b", 25 + 6 * 256},   {"a = ", "a", 25 + 4 * 256},
        {"a LIKE ", "a", 25 + 7 * 256},
    };
    for (size_t i = 0; i < sizeof shapes / sizeof *shapes; i++) {
        if (!shapes[i].col) continue;
        /* 100,000 operators, and 1 MB of them */
        size_t counts[] = {100000, (1u << 20) / strlen(shapes[i].unit)};
        for (size_t c = 0; c < 2; c++) {
            char *src = repeated(shapes[i].unit, counts[c], shapes[i].last);
            char want[160];
            snprintf(want, sizeof want,
                     "p.sql:1:%d: syntax error at '%s': expected an expression nested at most 256 deep",
                     shapes[i].col, shapes[i].last);
            assert_string_equal(parse_err(src), want);
            free(src);
        }
    }
}

static void test_error_deep_calls_and_cases(void **state) {
    (void)state;
    /* Each call or CASE nests one level of the parser (its arguments are
     * expressions): the 257th ABS (column 25 + 4 * 256) is one level too deep. */
    char *src = repeated("ABS(", 100000, "1");
    assert_string_equal(parse_err(src),
                        "p.sql:1:1049: syntax error at 'ABS': expected an expression nested at most 256 deep");
    free(src);
    /* the WHEN condition of the 256th CASE, column 25 + 17 * 255 + 10 */
    src = repeated("CASE WHEN a THEN ", 100000, "1");
    assert_string_equal(parse_err(src),
                        "p.sql:1:4370: syntax error at 'a': expected an expression nested at most 256 deep");
    free(src);
    /* the first argument of the 256th COALESCE, column 25 + 12 * 255 + 9 */
    src = repeated("COALESCE(a, ", 100000, "1");
    assert_string_equal(parse_err(src),
                        "p.sql:1:3094: syntax error at 'a': expected an expression nested at most 256 deep");
    free(src);
}

static void test_longest_chain_within_limit(void **state) {
    (void)state;
    /* 255 '+': a tree of 256 levels, the most accepted */
    char *src = repeated("1+", 255, "1");
    sluice_ast_pipeline *p = parse_ok(src);
    assert_int_equal(p->sinks[0].items[0].expr->height, 256);
    free(src);
}

static void test_nesting_within_limit(void **state) {
    (void)state;
    char src[1024];
    strcpy(src, "CREATE SINK s AS SELECT ");
    size_t n = strlen(src);
    memset(src + n, '(', 200);
    src[n + 200] = '1';
    memset(src + n + 201, ')', 200);
    strcpy(src + n + 401, " FROM t");
    sluice_ast_pipeline *p = parse_ok(src);
    assert_string_equal(to_sexp(p->sinks[0].items[0].expr), "1");
}

static void test_garbage_never_crashes(void **state) {
    (void)state;
    /* Every prefix of a valid pipeline is either valid or a syntax error. */
    size_t len = strlen(flights_sql);
    for (size_t i = 0; i < len; i++) {
        sluice_ast_pipeline *p = NULL;
        sluice_err_t err = sluice_sql_parse(flights_sql, i, "p.sql", arena, &p, errbuf, sizeof errbuf);
        assert_true(err == SLUICE_OK || err == SLUICE_ERR_SQL);
        if (err == SLUICE_ERR_SQL) assert_non_null(strstr(errbuf, "p.sql:"));
    }
    /* Pseudo-random bytes, including NULs and invalid UTF-8. */
    unsigned x = 12345;
    char buf[64];
    for (int round = 0; round < 2000; round++) {
        for (size_t i = 0; i < sizeof buf; i++) {
            x = x * 1103515245u + 12345u;
            buf[i] = (char)(x >> 16);
        }
        sluice_ast_pipeline *p = NULL;
        assert_int_equal(sluice_sql_parse(buf, sizeof buf, "p.sql", arena, &p, errbuf, sizeof errbuf),
                         SLUICE_ERR_SQL);
    }
    /* A tiny error buffer is filled and NUL-terminated. */
    char small[8];
    sluice_ast_pipeline *p = NULL;
    assert_int_equal(sluice_sql_parse("x", 1, "p.sql", arena, &p, small, sizeof small), SLUICE_ERR_SQL);
    assert_string_equal(small, "p.sql:1");
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_spec_flights_source, setup, teardown),
        cmocka_unit_test_setup_teardown(test_spec_delays_by_origin_sink, setup, teardown),
        cmocka_unit_test_setup_teardown(test_hop_and_session, setup, teardown),
        cmocka_unit_test_setup_teardown(test_order_by_limit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_where_having_full_clause_order, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stateless_alerts, setup, teardown),
        cmocka_unit_test_setup_teardown(test_source_column_options_and_types, setup, teardown),
        cmocka_unit_test_setup_teardown(test_source_without_watermark_and_several_statements, setup, teardown),
        cmocka_unit_test_setup_teardown(test_precedence, setup, teardown),
        cmocka_unit_test_setup_teardown(test_comparisons, setup, teardown),
        cmocka_unit_test_setup_teardown(test_predicates, setup, teardown),
        cmocka_unit_test_setup_teardown(test_literals, setup, teardown),
        cmocka_unit_test_setup_teardown(test_literal_types, setup, teardown),
        cmocka_unit_test_setup_teardown(test_case_cast_functions, setup, teardown),
        cmocka_unit_test_setup_teardown(test_function_calls, setup, teardown),
        cmocka_unit_test_setup_teardown(test_aliases, setup, teardown),
        cmocka_unit_test_setup_teardown(test_expression_positions, setup, teardown),
        cmocka_unit_test_setup_teardown(test_grammar_words_any_case, setup, teardown),
        cmocka_unit_test_setup_teardown(test_timestamp_literal_positions, setup, teardown),
        cmocka_unit_test_setup_teardown(test_interval_ms, setup, teardown),
        cmocka_unit_test_setup_teardown(test_interval_literals, setup, teardown),
        cmocka_unit_test_setup_teardown(test_error_empty_file, setup, teardown),
        cmocka_unit_test_setup_teardown(test_error_statement_start, setup, teardown),
        cmocka_unit_test_setup_teardown(test_error_missing_semicolon, setup, teardown),
        cmocka_unit_test_setup_teardown(test_error_column_type, setup, teardown),
        cmocka_unit_test_setup_teardown(test_error_column_list, setup, teardown),
        cmocka_unit_test_setup_teardown(test_error_duplicates_in_source, setup, teardown),
        cmocka_unit_test_setup_teardown(test_error_watermark, setup, teardown),
        cmocka_unit_test_setup_teardown(test_error_bad_unit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_error_select_list, setup, teardown),
        cmocka_unit_test_setup_teardown(test_error_clauses, setup, teardown),
        cmocka_unit_test_setup_teardown(test_error_expressions, setup, teardown),
        cmocka_unit_test_setup_teardown(test_error_lexical, setup, teardown),
        cmocka_unit_test_setup_teardown(test_error_token_rendering, setup, teardown),
        cmocka_unit_test_setup_teardown(test_error_deep_nesting, setup, teardown),
        cmocka_unit_test_setup_teardown(test_error_long_operator_chains, setup, teardown),
        cmocka_unit_test_setup_teardown(test_error_deep_calls_and_cases, setup, teardown),
        cmocka_unit_test_setup_teardown(test_longest_chain_within_limit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_nesting_within_limit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_garbage_never_crashes, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
