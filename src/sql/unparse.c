/*
 * sluice SQL — SQL text from a parsed pipeline; see unparse.h.
 *
 * Expressions are printed with the parser's precedence levels (parser.c:
 * OR < AND < NOT < comparisons, IS, IN, BETWEEN, LIKE < + - < * / % <
 * unary sign < primary), and an operand is put in parentheses only when its
 * level is below what the parser reads at that place.  Parentheses cost the
 * parser one level of nesting each, so printing no more than the tree needs
 * keeps the text within the parser's depth limit whenever the input was.
 */
#include "sql/unparse.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Precedence levels, as parser.c reads them (higher binds tighter). */
enum {
    PREC_OR = 1,
    PREC_AND,
    PREC_NOT,
    PREC_CMP,
    PREC_ADD,
    PREC_MUL,
    PREC_SIGN,
    PREC_PRIMARY
};

/* The binary operators: their text and level. */
static const struct {
    sluice_ast_op op;
    const char *text;
    int prec;
} binops[] = {
    {SLUICE_OP_OR, "OR", PREC_OR},   {SLUICE_OP_AND, "AND", PREC_AND}, {SLUICE_OP_EQ, "=", PREC_CMP},
    {SLUICE_OP_NE, "<>", PREC_CMP},  {SLUICE_OP_LT, "<", PREC_CMP},    {SLUICE_OP_LE, "<=", PREC_CMP},
    {SLUICE_OP_GT, ">", PREC_CMP},   {SLUICE_OP_GE, ">=", PREC_CMP},   {SLUICE_OP_ADD, "+", PREC_ADD},
    {SLUICE_OP_SUB, "-", PREC_ADD},  {SLUICE_OP_MUL, "*", PREC_MUL},   {SLUICE_OP_DIV, "/", PREC_MUL},
    {SLUICE_OP_MOD, "%", PREC_MUL},
};

/* The type names the parser reads (the first of each type's aliases). */
static const char *const type_names[] = {
    [SLUICE_TYPE_BIGINT] = "BIGINT",   [SLUICE_TYPE_DOUBLE] = "DOUBLE",       [SLUICE_TYPE_VARCHAR] = "VARCHAR",
    [SLUICE_TYPE_BOOLEAN] = "BOOLEAN", [SLUICE_TYPE_TIMESTAMP] = "TIMESTAMP",
};

/* The EMIT modes' words. */
static const char *const emit_names[] = {
    [SLUICE_EMIT_APPEND] = "APPEND",
    [SLUICE_EMIT_UPDATE] = "UPDATE",
    [SLUICE_EMIT_COMPLETE] = "COMPLETE",
};

static const char *type_name(sluice_type_t t) {
    return (unsigned)t < sizeof type_names / sizeof type_names[0] && type_names[t] ? type_names[t] : "VARCHAR";
}

/* `text` (n bytes) between `quote`s, the quote doubled inside (the lexer's
 * escape). */
static void put_quoted(FILE *out, char quote, const char *text, size_t n) {
    fputc(quote, out);
    for (size_t i = 0; i < n; i++) {
        if (text[i] == quote) fputc(quote, out);
        fputc(text[i], out);
    }
    fputc(quote, out);
}

static void put_name(FILE *out, const char *name) { put_quoted(out, '`', name, strlen(name)); }

static void put_string(FILE *out, const char *s) { put_quoted(out, '\'', s, strlen(s)); }

static int binop_prec(sluice_ast_op op) {
    for (size_t i = 0; i < sizeof binops / sizeof binops[0]; i++)
        if (binops[i].op == op) return binops[i].prec;
    return PREC_PRIMARY;
}

static const char *binop_text(sluice_ast_op op) {
    for (size_t i = 0; i < sizeof binops / sizeof binops[0]; i++)
        if (binops[i].op == op) return binops[i].text;
    return "?";
}

/* The level of the construct at the root of e. */
static int prec_of(const sluice_ast *e) {
    switch (e->kind) {
    case SLUICE_AST_UNARY: return e->op == SLUICE_OP_NOT ? PREC_NOT : PREC_SIGN;
    case SLUICE_AST_BINARY: return binop_prec(e->op);
    case SLUICE_AST_IS_NULL:
    case SLUICE_AST_IN:
    case SLUICE_AST_BETWEEN:
    case SLUICE_AST_LIKE: return PREC_CMP;
    default: return PREC_PRIMARY;
    }
}

static void put_expr(FILE *out, const sluice_ast *e, int min_prec);

/* A literal, written so that it lexes back to the same value: a DOUBLE
 * always with a '.' or an exponent (else it would read as BIGINT), with 17
 * significant digits (enough for any binary64 to read back exactly). */
static void put_literal(FILE *out, const sluice_value *v) {
    switch ((sluice_type_t)v->type) {
    case SLUICE_TYPE_BIGINT: fprintf(out, "%" PRId64, v->u.i); break;
    case SLUICE_TYPE_DOUBLE: {
        char buf[64];
        snprintf(buf, sizeof buf, "%.17g", v->u.d);
        fputs(buf, out);
        if (!strpbrk(buf, ".e")) fputs(".0", out);
        break;
    }
    case SLUICE_TYPE_VARCHAR: put_quoted(out, '\'', v->u.s, v->len); break;
    case SLUICE_TYPE_BOOLEAN: fputs(v->u.i ? "TRUE" : "FALSE", out); break;
    case SLUICE_TYPE_INTERVAL: fprintf(out, "INTERVAL '%" PRId64 "' MILLISECOND", v->u.i); break;
    case SLUICE_TYPE_TIMESTAMP: fprintf(out, "CAST(%" PRId64 " AS TIMESTAMP)", v->u.i); break;
    default: fputs("NULL", out); break;
    }
}

/* args[from..to) separated by ", ", each a whole expression. */
static void put_list(FILE *out, sluice_ast *const *args, size_t from, size_t to) {
    for (size_t i = from; i < to; i++) {
        if (i > from) fputs(", ", out);
        put_expr(out, args[i], PREC_OR);
    }
}

static void put_case(FILE *out, const sluice_ast *e) {
    fputs("CASE", out);
    size_t i = 0;
    if (e->has_operand) {
        fputc(' ', out);
        put_expr(out, e->args[i++], PREC_OR);
    }
    for (size_t w = 0; w < e->nwhen; w++, i += 2) {
        fputs(" WHEN ", out);
        put_expr(out, e->args[i], PREC_OR);
        fputs(" THEN ", out);
        put_expr(out, e->args[i + 1], PREC_OR);
    }
    if (e->has_else) {
        fputs(" ELSE ", out);
        put_expr(out, e->args[i], PREC_OR);
    }
    fputs(" END", out);
}

/* The root of e, its operands at the levels the parser reads them at. */
static void put_node(FILE *out, const sluice_ast *e) {
    const char *not = e->negated ? " NOT" : "";
    switch (e->kind) {
    case SLUICE_AST_LITERAL:
    case SLUICE_AST_INTERVAL: put_literal(out, &e->lit); break;
    case SLUICE_AST_COLUMN:
        if (e->qualifier) put_name(out, e->qualifier), fputc('.', out);
        put_name(out, e->name);
        break;
    case SLUICE_AST_OVER:
        fprintf(out, "%s(", e->name);
        if (e->star) fputc('*', out);
        else put_list(out, e->call_args, 0, e->ncall_args);
        fputs(") OVER (", out);
        if (e->npartition) fputs("PARTITION BY ", out), put_list(out, e->args, 0, e->npartition), fputc(' ', out);
        fputs("ORDER BY ", out);
        for (size_t i = e->npartition; i < e->nargs; i++) {
            if (i > e->npartition) fputs(", ", out);
            put_expr(out, e->args[i], PREC_OR);
            if (e->order_desc[i - e->npartition]) fputs(" DESC", out);
        }
        if (e->frame) {
            fputs(e->frame == 1 ? " ROWS BETWEEN " : " RANGE BETWEEN ", out);
            if (e->preceding < 0) fputs("UNBOUNDED", out);
            else if (e->frame == 1) fprintf(out, "%" PRId64, e->preceding);
            else fprintf(out, "INTERVAL '%" PRId64 "' MILLISECOND", e->preceding);
            fputs(" PRECEDING AND CURRENT ROW", out);
        }
        fputc(')', out);
        break;
    case SLUICE_AST_UNARY:
        /* a space after a sign: "- -1" is not the comment "--1" */
        fputs(e->op == SLUICE_OP_NOT ? "NOT " : e->op == SLUICE_OP_NEG ? "- " : "+ ", out);
        put_expr(out, e->args[0], e->op == SLUICE_OP_NOT ? PREC_NOT : PREC_SIGN);
        break;
    case SLUICE_AST_BINARY: {
        /* left-associative: the right operand one level up */
        int prec = binop_prec(e->op);
        put_expr(out, e->args[0], prec);
        fprintf(out, " %s ", binop_text(e->op));
        put_expr(out, e->args[1], prec + 1);
        break;
    }
    case SLUICE_AST_IS_NULL:
        put_expr(out, e->args[0], PREC_CMP);
        fprintf(out, " IS%s NULL", not);
        break;
    case SLUICE_AST_IN:
        put_expr(out, e->args[0], PREC_CMP);
        fprintf(out, "%s IN (", not);
        put_list(out, e->args, 1, e->nargs);
        fputc(')', out);
        break;
    case SLUICE_AST_BETWEEN:
        put_expr(out, e->args[0], PREC_CMP);
        fprintf(out, "%s BETWEEN ", not);
        put_expr(out, e->args[1], PREC_ADD);
        fputs(" AND ", out);
        put_expr(out, e->args[2], PREC_ADD);
        break;
    case SLUICE_AST_LIKE:
        put_expr(out, e->args[0], PREC_CMP);
        fprintf(out, "%s LIKE ", not);
        put_expr(out, e->args[1], PREC_ADD);
        break;
    case SLUICE_AST_CASE: put_case(out, e); break;
    case SLUICE_AST_CAST:
        fputs("CAST(", out);
        put_expr(out, e->args[0], PREC_OR);
        fprintf(out, " AS %s)", type_name(e->cast_type));
        break;
    case SLUICE_AST_SUBSCRIPT:
        put_expr(out, e->args[0], PREC_PRIMARY);
        fputc('[', out);
        put_expr(out, e->args[1], PREC_OR);
        fputc(']', out);
        break;
    case SLUICE_AST_FUNC:
        if (strcmp(e->name, "EXTRACT") == 0 && e->nargs == 2 && e->args[0]->kind == SLUICE_AST_COLUMN) {
            /* the standard's EXTRACT(unit FROM x) */
            fputs("EXTRACT(", out);
            put_name(out, e->args[0]->name);
            fputs(" FROM ", out);
            put_expr(out, e->args[1], PREC_OR);
            fputc(')', out);
            break;
        }
        if (e->nargs == 0 && !e->star &&
            (strcmp(e->name, "CURRENT_TIMESTAMP") == 0 || strcmp(e->name, "LOCALTIMESTAMP") == 0)) {
            fputs(e->name, out); /* the standard's form, without parentheses */
            break;
        }
        /* the name bare: a back-quoted name would read as a column */
        fprintf(out, "%s(%s", e->name, e->distinct ? "DISTINCT " : "");
        if (e->star) fputc('*', out);
        else put_list(out, e->args, 0, e->nargs);
        fputc(')', out);
        if (e->filter) {
            fputs(" FILTER (WHERE ", out);
            put_expr(out, e->filter, 0);
            fputc(')', out);
        }
        break;
    }
}

static void put_expr(FILE *out, const sluice_ast *e, int min_prec) {
    int paren = prec_of(e) < min_prec;
    if (paren) fputc('(', out);
    put_node(out, e);
    if (paren) fputc(')', out);
}

void sluice_sql_unparse_expr(const sluice_ast *e, FILE *out) { put_expr(out, e, PREC_OR); }

static void put_source(FILE *out, const sluice_ast_source *s) {
    fputs(s->is_table ? "CREATE TABLE " : "CREATE SOURCE ", out);
    put_name(out, s->name);
    fputs(" (", out);
    for (size_t i = 0; i < s->ncolumns; i++) {
        const sluice_ast_column_def *c = &s->columns[i];
        fputs(i ? ",\n    " : "\n    ", out);
        put_name(out, c->name);
        if (c->type == SLUICE_TYPE_ARRAY) fprintf(out, " ARRAY<%s>", type_name(c->elem_type));
        else fprintf(out, " %s", type_name(c->type));
        if (c->format) fputs(" FORMAT ", out), put_string(out, c->format);
        if (c->path) fputs(" PATH ", out), put_string(out, c->path);
        if (c->metadata) fputs(" METADATA FROM ", out), put_string(out, c->metadata);
    }
    if (s->has_watermark) {
        fputs(s->ncolumns ? ",\n    WATERMARK FOR " : "\n    WATERMARK FOR ", out);
        put_name(out, s->watermark_column);
        fputs(" AS ", out);
        put_expr(out, s->watermark_expr, PREC_OR);
    }
    if (s->nprimary_key) {
        fputs(s->ncolumns || s->has_watermark ? ",\n    PRIMARY KEY (" : "\n    PRIMARY KEY (", out);
        for (size_t i = 0; i < s->nprimary_key; i++) {
            if (i) fputs(", ", out);
            put_name(out, s->primary_key[i]);
        }
        fputs(") NOT ENFORCED", out);
    }
    fputs(");\n", out);
}

static void put_select(FILE *out, const sluice_ast_sink *k);

static void put_from(FILE *out, const sluice_ast_from *f) {
    static const char *const joins[] = {" JOIN ", " LEFT JOIN ", " RIGHT JOIN ", " FULL JOIN ", " CROSS JOIN "};
    switch (f->kind) {
    case SLUICE_FROM_TABLE:
        put_name(out, f->name);
        if (f->as_of) fputs(" FOR SYSTEM_TIME AS OF ", out), put_expr(out, f->as_of, PREC_OR);
        break;
    case SLUICE_FROM_SUBQUERY:
        fputc('(', out);
        put_select(out, f->query);
        fputc(')', out);
        break;
    case SLUICE_FROM_JOIN:
        put_from(out, f->left);
        fputs(joins[f->join], out);
        put_from(out, f->right);
        if (f->on) fputs(" ON ", out), put_expr(out, f->on, PREC_OR);
        return;
    case SLUICE_FROM_WINDOW:
        fprintf(out, "TABLE(%s(TABLE ", f->window);
        put_from(out, f->table);
        if (f->npartition_keys) {
            fputs(" PARTITION BY ", out);
            for (size_t i = 0; i < f->npartition_keys; i++) {
                if (i) fputs(", ", out);
                put_name(out, f->partition_keys[i]);
            }
        }
        fputs(", DESCRIPTOR(", out);
        put_name(out, f->descriptor);
        fputc(')', out);
        if (f->nwindow_args) fputs(", ", out), put_list(out, f->window_args, 0, f->nwindow_args);
        fputs("))", out);
        break;
    }
    if (f->alias) fputs(" AS ", out), put_name(out, f->alias);
}

/* SELECT ... up to (not including) the statement's end. */
static void put_select(FILE *out, const sluice_ast_sink *k) {
    fputs(k->select_distinct ? "SELECT DISTINCT " : "SELECT ", out);
    for (size_t i = 0; i < k->nitems; i++) {
        if (i) fputs(", ", out);
        const sluice_ast_select_item *it = &k->items[i];
        if (it->star) {
            if (it->star_qualifier) put_name(out, it->star_qualifier), fputc('.', out);
            fputc('*', out);
            continue;
        }
        put_expr(out, it->expr, PREC_OR);
        if (it->alias) fputs(" AS ", out), put_name(out, it->alias);
    }
    fputs("\n    FROM ", out);
    put_from(out, k->from_item);
    if (k->unnest) {
        fputs(" CROSS JOIN UNNEST(", out);
        put_expr(out, k->unnest, PREC_OR);
        fputs(k->with_ordinality ? ") WITH ORDINALITY AS " : ") AS ", out);
        put_name(out, k->unnest_alias);
        fputc('(', out);
        put_name(out, k->unnest_column);
        if (k->unnest_ordinality) fputs(", ", out), put_name(out, k->unnest_ordinality);
        fputc(')', out);
    }
    if (k->where) fputs("\n    WHERE ", out), put_expr(out, k->where, PREC_OR);
    if (k->ngroup_by) {
        fputs("\n    GROUP BY ", out);
        put_list(out, k->group_by, 0, k->ngroup_by);
    }
    if (k->having) fputs("\n    HAVING ", out), put_expr(out, k->having, PREC_OR);
    if (k->order_by) {
        fputs("\n    ORDER BY ", out);
        put_expr(out, k->order_by, PREC_OR);
        if (k->order_desc) fputs(" DESC", out);
    }
    if (k->limit >= 0) fprintf(out, "\n    LIMIT %" PRId64, k->limit);
    if ((unsigned)k->emit < sizeof emit_names / sizeof emit_names[0] && emit_names[k->emit])
        fprintf(out, "\n    EMIT %s", emit_names[k->emit]);
    if (k->union_all) fputs("\n    UNION ALL ", out), put_select(out, k->union_all);
}

static void put_sink(FILE *out, const sluice_ast_sink *k) {
    if (k->insert) {
        fputs("INSERT INTO ", out);
        put_name(out, k->name);
        fputc(' ', out);
        put_select(out, k);
        fputs(";\n", out);
        return;
    }
    fputs("CREATE SINK ", out);
    put_name(out, k->name);
    if (k->primary_key) {
        fputs(" PRIMARY KEY (", out);
        for (size_t i = 0; i < k->nprimary_key; i++) {
            if (i) fputs(", ", out);
            put_name(out, k->primary_key[i]);
        }
        fputc(')', out);
    }
    fputs(" AS ", out);
    put_select(out, k);
    fputs(";\n", out);
}

static void put_view(FILE *out, const sluice_ast_view *v) {
    fputs("CREATE VIEW ", out);
    put_name(out, v->name);
    fputs(" AS ", out);
    put_select(out, v->query);
    fputs(";\n", out);
}

static void put_function(FILE *out, const sluice_ast_function *f) {
    fputs("CREATE FUNCTION ", out);
    put_name(out, f->name);
    fputc('(', out);
    for (size_t i = 0; i < f->nargs; i++) {
        if (i) fputs(", ", out);
        put_name(out, f->arg_names[i]);
        fprintf(out, " %s", type_name(f->arg_types[i]));
    }
    fprintf(out, ") RETURNS %s%s;\n", type_name(f->returns), f->deterministic ? " DETERMINISTIC" : "");
}

char *sluice_sql_unparse(const sluice_ast_pipeline *pl, size_t *len) {
    char *buf = NULL;
    size_t n = 0;
    FILE *out = open_memstream(&buf, &n);
    if (!out) return NULL;
    for (size_t i = 0; i < pl->nfunctions; i++) put_function(out, &pl->functions[i]);
    for (size_t i = 0; i < pl->nsources; i++) put_source(out, &pl->sources[i]);
    for (size_t i = 0; i < pl->nviews; i++) put_view(out, &pl->views[i]);
    for (size_t i = 0; i < pl->nsinks; i++) put_sink(out, &pl->sinks[i]);
    if (fclose(out) != 0) {
        free(buf);
        return NULL;
    }
    if (len) *len = n;
    return buf;
}
