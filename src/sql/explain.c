/*
 * sluice_plan_explain(): the plan as text, for `sluice explain`, `sluice
 * check`, the start-up log and the checkpoint's fingerprint (so the text
 * must stay stable: a change here makes earlier checkpoints refuse to
 * load).  Expressions are printed back as SQL from their parsed form.
 */
#include <inttypes.h>
#include <stdio.h>

#include "plan/plan.h"
#include "plan/rel.h"
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
    case SLUICE_AST_COLUMN:
        if (a->qualifier) fprintf(out, "%s.", a->qualifier);
        fputs(a->name, out);
        break;
    case SLUICE_AST_OVER:
        fprintf(out, "%s(", a->name);
        if (a->star) fputc('*', out);
        for (size_t i = 0; i < a->ncall_args; i++) {
            if (i) fputs(", ", out);
            ast_print(a->call_args[i], out);
        }
        fputs(") OVER (", out);
        for (size_t i = 0; i < a->nargs; i++) {
            if (i == 0 && a->npartition) fputs("PARTITION BY ", out);
            if (i == a->npartition) fputs(i ? " ORDER BY " : "ORDER BY ", out);
            else if (i) fputs(", ", out);
            ast_print(a->args[i], out);
            if (i >= a->npartition && a->order_desc[i - a->npartition]) fputs(" DESC", out);
        }
        fputc(')', out);
        break;
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

static void explain_query(const sluice_plan *plan, const sluice_query_plan *q, const char *what, FILE *out);
static void explain_rel(const sluice_plan *plan, const sluice_rel *r, FILE *out);

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
    for (size_t i = 0; i < plan->nrels; i++) explain_rel(plan, &plan->rels[i], out);
    for (size_t i = 0; i < plan->nqueries; i++) explain_query(plan, &plan->queries[i], "sink", out);
}

/* The name of what an input is: a source's or a relation's. */
static const char *input_name(const sluice_plan *plan, sluice_input in) {
    return in.derived ? plan->rels[in.index].name : plan->sources[in.index].name;
}

static void explain_query(const sluice_plan *plan, const sluice_query_plan *q, const char *what, FILE *out) {
    {
        const sluice_source_plan *s = q->input.derived ? &plan->rels[q->input.index].row : &plan->sources[q->input.index];
        fprintf(out, "%s %s\n  from:       %s%s\n", what, q->name, input_name(plan, q->input),
                q->input_updating ? " (updating)" : "");
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
        } else if (q->window == SLUICE_WINDOW_HOP || q->window == SLUICE_WINDOW_CUMULATE) {
            fprintf(out, "  window:     %s(%s, ", q->window == SLUICE_WINDOW_HOP ? "HOP" : "CUMULATE", time);
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

static const char *const join_names[] = {"INNER", "LEFT OUTER", "RIGHT OUTER", "FULL OUTER"};
static const char *const rank_names[] = {"ROW_NUMBER", "RANK", "DENSE_RANK"};

static void explain_rel(const sluice_plan *plan, const sluice_rel *r, FILE *out) {
    switch (r->kind) {
    case SLUICE_REL_QUERY: explain_query(plan, r->query, "relation", out); return;
    case SLUICE_REL_JOIN: {
        const sluice_join_plan *j = r->join;
        fprintf(out, "relation %s\n  join:       %s JOIN of %s and %s on %zu key%s%s\n", r->name,
                join_names[j->type], input_name(plan, r->inputs[0]), input_name(plan, r->inputs[1]), j->nkeys,
                j->nkeys == 1 ? "" : "s", j->residual ? " and a condition" : "");
        if (j->strategy == SLUICE_JOIN_INTERVAL)
            fprintf(out,
                    "  state:      rows until the watermark passes their last partner: %s - %s in [%" PRId64
                    ", %" PRId64 "] ms (interval join)\n",
                    r->row.columns[j->left_width + j->right_time].name, r->row.columns[j->left_time].name, j->lower_ms,
                    j->upper_ms);
        else
            fprintf(out, "  state:      every row of both inputs%s\n",
                    j->state_ttl_ms ? ", until unused for state_ttl" : " (no TTL: see [pipeline] state_ttl)");
        break;
    }
    case SLUICE_REL_RANK: {
        const sluice_rank_plan *k = r->rank;
        fprintf(out, "relation %s\n  rank:       %s() over %s, %zu partition key%s, %zu order key%s, rank <= %" PRId64 "\n",
                r->name, rank_names[k->fn], input_name(plan, r->inputs[0]), k->npartition,
                k->npartition == 1 ? "" : "s", k->norder, k->norder == 1 ? "" : "s", k->limit);
        break;
    }
    case SLUICE_REL_TEMPORAL: {
        const sluice_temporal_join_plan *t = r->temporal;
        fprintf(out,
                "relation %s\n  join:       %s temporal join of %s with the version of %s valid at %s (%zu key%s%s)\n",
                r->name, t->left_outer ? "LEFT" : "INNER", input_name(plan, r->inputs[0]),
                input_name(plan, r->inputs[1]), r->row.columns[t->left_time].name, t->nkeys, t->nkeys == 1 ? "" : "s",
                t->residual ? " and a condition" : "");
        fputs("  state:      rows waiting for the watermark; per key the versions it may still choose\n", out);
        break;
    }
    case SLUICE_REL_OVER: {
        const sluice_over_plan *o = r->over;
        fprintf(out, "relation %s\n  over:       %zu aggregate%s over %s, %zu partition key%s, ordered by %s, ", r->name,
                o->naggs, o->naggs == 1 ? "" : "s", input_name(plan, r->inputs[0]), o->npartition,
                o->npartition == 1 ? "" : "s", o->proctime ? "processing time" : r->row.columns[o->time_column].name);
        if (o->preceding < 0) fprintf(out, "%s UNBOUNDED PRECEDING\n", o->rows ? "ROWS" : "RANGE");
        else fprintf(out, "%s %" PRId64 "%s PRECEDING\n", o->rows ? "ROWS" : "RANGE", o->preceding, o->rows ? "" : " ms");
        break;
    }
    case SLUICE_REL_LOOKUP: {
        const sluice_lookup_plan *lk = r->lookup;
        fprintf(out, "relation %s\n  lookup:     %s JOIN of %s with lookup table %s on %zu key%s (", r->name,
                lk->left_outer ? "LEFT" : "INNER", input_name(plan, r->inputs[0]), lk->table_name, lk->nkeys,
                lk->nkeys == 1 ? "" : "s");
        for (size_t k = 0; k < lk->nkeys; k++)
            fprintf(out, "%s%s", k ? ", " : "", lk->table->columns[lk->table_key_cols[k]].name);
        fprintf(out, ")%s\n  state:      none (one batched lookup per input batch)\n",
                lk->residual ? " and a condition" : "");
        break;
    }
    case SLUICE_REL_UNION:
        fprintf(out, "relation %s\n  union all:  ", r->name);
        for (size_t i = 0; i < r->ninputs; i++) fprintf(out, "%s%s", i ? ", " : "", input_name(plan, r->inputs[i]));
        fputc('\n', out);
        break;
    }
    fputs("  output:     ", out);
    size_t shown = 0;
    for (size_t j = 0; j < r->row.schema.ncolumns; j++) {
        if (r->row.hidden && r->row.hidden[j]) continue;
        fprintf(out, "%s%s %s", shown++ ? ", " : "", r->row.columns[j].name, sluice_type_name(r->row.columns[j].type));
    }
    fprintf(out, "\n  changes:    %s\n", r->updating ? "updating (insert, update, delete)" : "insert only");
}

