/*
 * sluice_plan_explain(): the plan as text, for `sluice explain`, `sluice
 * check`, the start-up log and the checkpoint's fingerprint (so the text
 * must stay stable: a change here makes earlier checkpoints refuse to
 * load).  Expressions are printed back as SQL from their parsed form.
 */
#include <inttypes.h>
#include <stdio.h>

#include "plan/plan.h"
#include "sql/ast.h"

const char *sluice_ast_op_text(sluice_ast_op op) {
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
    default: return "?";
    }
}

static void interval_text(int64_t ms, FILE *out) {
    static const struct { int64_t ms; const char *unit; } units[] = {
        {86400000, "DAY"}, {3600000, "HOUR"}, {60000, "MINUTE"}, {1000, "SECOND"}, {1, "MILLISECOND"}};
    for (size_t i = 0; i < 5; i++)
        if (ms % units[i].ms == 0) {
            fprintf(out, "INTERVAL '%" PRId64 "' %s", ms / units[i].ms, units[i].unit);
            return;
        }
}

/** Print an expression back as SQL (for explain). */
static void ast_print(const sluice_ast *a, FILE *out) {
    switch (a->kind) {
    case SLUICE_AST_LITERAL:
        if (a->lit.type == SLUICE_TYPE_VARCHAR) {
            fputc('\'', out);
            for (uint32_t i = 0; i < a->lit.len; i++) {
                if (a->lit.u.s[i] == '\'') fputc('\'', out);
                fputc(a->lit.u.s[i], out);
            }
            fputc('\'', out);
        } else if (a->lit.type == SLUICE_TYPE_NULL) {
            fputs("NULL", out);
        } else {
            char buf[64];
            sluice_value_render(&a->lit, buf, sizeof buf);
            fputs(buf, out);
        }
        break;
    case SLUICE_AST_INTERVAL: interval_text(a->lit.u.i, out); break;
    case SLUICE_AST_COLUMN: fputs(a->name, out); break;
    case SLUICE_AST_UNARY:
        fputs(a->op == SLUICE_OP_NOT ? "NOT " : sluice_ast_op_text(a->op), out);
        ast_print(a->args[0], out);
        break;
    case SLUICE_AST_BINARY:
        fputc('(', out);
        ast_print(a->args[0], out);
        fprintf(out, " %s ", sluice_ast_op_text(a->op));
        ast_print(a->args[1], out);
        fputc(')', out);
        break;
    case SLUICE_AST_IS_NULL:
        ast_print(a->args[0], out);
        fputs(a->negated ? " IS NOT NULL" : " IS NULL", out);
        break;
    case SLUICE_AST_IN:
        ast_print(a->args[0], out);
        fputs(a->negated ? " NOT IN (" : " IN (", out);
        for (size_t i = 1; i < a->nargs; i++) {
            if (i > 1) fputs(", ", out);
            ast_print(a->args[i], out);
        }
        fputc(')', out);
        break;
    case SLUICE_AST_BETWEEN:
        ast_print(a->args[0], out);
        fputs(a->negated ? " NOT BETWEEN " : " BETWEEN ", out);
        ast_print(a->args[1], out);
        fputs(" AND ", out);
        ast_print(a->args[2], out);
        break;
    case SLUICE_AST_LIKE:
        ast_print(a->args[0], out);
        fputs(a->negated ? " NOT LIKE " : " LIKE ", out);
        ast_print(a->args[1], out);
        break;
    case SLUICE_AST_CASE: {
        size_t i = 0;
        fputs("CASE", out);
        if (a->has_operand) {
            fputc(' ', out);
            ast_print(a->args[i++], out);
        }
        for (size_t w = 0; w < a->nwhen; w++, i += 2) {
            fputs(" WHEN ", out);
            ast_print(a->args[i], out);
            fputs(" THEN ", out);
            ast_print(a->args[i + 1], out);
        }
        if (a->has_else) {
            fputs(" ELSE ", out);
            ast_print(a->args[i], out);
        }
        fputs(" END", out);
        break;
    }
    case SLUICE_AST_CAST:
        fputs("CAST(", out);
        ast_print(a->args[0], out);
        fprintf(out, " AS %s)", sluice_type_name(a->cast_type));
        break;
    case SLUICE_AST_SUBSCRIPT:
        ast_print(a->args[0], out);
        fputc('[', out);
        ast_print(a->args[1], out);
        fputc(']', out);
        break;
    case SLUICE_AST_FUNC:
        fprintf(out, "%s(%s", a->name, a->distinct ? "DISTINCT " : "");
        if (a->star) fputc('*', out);
        for (size_t i = 0; i < a->nargs; i++) {
            if (i) fputs(", ", out);
            ast_print(a->args[i], out);
        }
        fputc(')', out);
        if (a->filter) {
            fputs(" FILTER (WHERE ", out);
            ast_print(a->filter, out);
            fputc(')', out);
        }
        break;
    }
}

static const char *emit_name(sluice_emit_mode m) {
    switch (m) {
    case SLUICE_EMIT_APPEND: return "APPEND";
    case SLUICE_EMIT_UPDATE: return "UPDATE";
    case SLUICE_EMIT_COMPLETE: return "COMPLETE";
    default: return "DEFAULT";
    }
}

void sluice_plan_explain(const sluice_plan *plan, FILE *out) {
    for (size_t i = 0; i < plan->nsources; i++) {
        const sluice_source_plan *s = &plan->sources[i];
        fprintf(out, "source %s\n  columns:    ", s->name);
        for (size_t j = 0; j < s->schema.ncolumns; j++) {
            fprintf(out, "%s%s %s", j ? ", " : "", s->columns[j].name, sluice_type_name(s->columns[j].type));
            if (s->columns[j].type == SLUICE_TYPE_ARRAY)
                fprintf(out, "<%s>", sluice_type_name(s->defs[j].elem_type));
            fputs(s->used[j] ? "" : " (unused)", out);
        }
        fputc('\n', out);
        if (s->has_watermark) {
            fprintf(out, "  watermark:  %s - ", s->columns[s->watermark_column].name);
            interval_text(s->watermark_delay_ms, out);
            fputc('\n', out);
        } else {
            fputs("  watermark:  none (no event time)\n", out);
        }
    }
    for (size_t i = 0; i < plan->nqueries; i++) {
        const sluice_query_plan *q = &plan->queries[i];
        const sluice_source_plan *s = &plan->sources[q->source];
        fprintf(out, "sink %s\n  from:       %s\n", q->name, s->name);
        if (q->unnest) {
            const sluice_unnest_plan *u = q->unnest;
            fputs("  unnest:     UNNEST(", out);
            ast_print(u->array_ast, out);
            fprintf(out, ")%s: one row per element, appending %s %s", u->ordinality ? " WITH ORDINALITY" : "",
                    u->column, sluice_type_name(u->elem_type));
            if (u->ordinality) fprintf(out, ", %s BIGINT (1-based position)", u->ordinality_column);
            fputc('\n', out);
        }
        fprintf(out, "  kind:       %s\n",
                !q->aggregate ? "stateless (filter and projection)"
                              : q->window != SLUICE_WINDOW_NONE ? "windowed aggregate" : "aggregate (no window)");
        const char *time = q->proctime ? "PROCTIME()" : s->columns[q->ts_column].name;
        const char *clock = q->proctime ? " (processing time: closed by the wall clock)\n"
                                        : " (event time: closed by the watermark)\n";
        if (q->window == SLUICE_WINDOW_TUMBLE) {
            fprintf(out, "  window:     TUMBLE(%s, ", time);
            interval_text(q->size_ms, out);
            fprintf(out, ")%s", clock);
        } else if (q->window == SLUICE_WINDOW_SESSION) {
            fprintf(out, "  window:     SESSION(%s, ", time);
            interval_text(q->gap_ms, out);
            fprintf(out, ") per key, merged as rows arrive%s", clock);
        } else if (q->window == SLUICE_WINDOW_HOP) {
            fprintf(out, "  window:     HOP(%s, ", time);
            interval_text(q->slide_ms, out);
            fputs(", ", out);
            interval_text(q->size_ms, out);
            fprintf(out, ")%s", clock);
        }
        if (q->where_ast) {
            fputs("  filter:     ", out);
            ast_print(q->where_ast, out);
            fputc('\n', out);
        }
        if (q->ngroup) {
            fputs("  group by:   ", out);
            for (size_t j = 0; j < q->ngroup; j++) {
                if (j) fputs(", ", out);
                ast_print(q->group_asts[j], out);
            }
            fputc('\n', out);
        }
        if (q->naggs) {
            fputs("  aggregates: ", out);
            for (size_t j = 0; j < q->naggs; j++) {
                if (j) fputs(", ", out);
                ast_print(q->agg_asts[j], out);
            }
            fputc('\n', out);
        }
        if (q->having_ast) {
            fputs("  having:     ", out);
            ast_print(q->having_ast, out);
            fputc('\n', out);
        }
        if (q->topn) {
            fprintf(out, "  top-N:      %" PRId64 " per window by ", q->limit);
            ast_print(q->order_ast, out);
            fputs(q->order_desc ? " DESC" : " ASC", out);
            fputs(" (rank 1..n, ties by group key)\n", out);
        }
        fprintf(out, "  emit:       %s\n  output:     ", emit_name(q->emit));
        for (size_t j = 0; j < q->schema.ncolumns; j++)
            fprintf(out, "%s%s %s", j ? ", " : "", q->schema.columns[j].name,
                    sluice_type_name(q->schema.columns[j].type));
        fputs("\n  primary key: ", out);
        if (!q->schema.npk) fputs("none (every row is kept)", out);
        for (size_t j = 0; j < q->schema.npk; j++)
            fprintf(out, "%s%s", j ? ", " : "", q->schema.columns[q->schema.pk[j]].name);
        fputc('\n', out);
    }
}

