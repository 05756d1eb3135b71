/*
 * The window table-valued functions of a query's FROM (Flink's TUMBLE,
 * HOP, CUMULATE and SESSION TVFs): their time column and intervals become
 * the query's window (plan.h), aggregated by GROUP BY window_start,
 * window_end.  Called by the query planner (planner.c) once the FROM is
 * resolved (plan_rel.c).
 */
#include <string.h>

#include "plan/plan.h"
#include "sql/ast.h"
#include "sql/planner_int.h"

sluice_err_t sluice_planner_window_tvf(bind_ctx *c, const sluice_ast_from *f, sluice_query_plan *q) {
    int cumulate = strcmp(f->window, "CUMULATE") == 0;
    int hop = strcmp(f->window, "HOP") == 0 || cumulate, session = strcmp(f->window, "SESSION") == 0;
    size_t want = hop ? 2 : 1;
    int has_offset = !session && f->nwindow_args == want + 1;
    if (f->nwindow_args != want && !has_offset)
        return sluice_planner_err(c, f->line, f->col, "%s takes (TABLE t, DESCRIPTOR(time_column), %s)", f->window,
                                  cumulate ? "INTERVAL step, INTERVAL size [, INTERVAL offset]"
                                  : hop    ? "INTERVAL slide, INTERVAL size [, INTERVAL offset]"
                                      : session ? "INTERVAL gap" : "INTERVAL size [, INTERVAL offset]"),
               SLUICE_ERR_SQL;
    int amb;
    long ci = sluice_planner_resolve(c->src, c->alias, NULL, f->descriptor, &amb);
    if (ci < 0)
        return sluice_planner_err(c, f->descriptor_line, f->descriptor_col, "unknown time column '%s' in DESCRIPTOR",
                                  f->descriptor),
               SLUICE_ERR_SQL;
    /* a PROCTIME() column of a view or subquery: processing-time windows */
    int proctime = 0;
    if (c->src->derived) {
        const sluice_rel *r = &c->plan->rels[c->src->rel];
        proctime = r->kind == SLUICE_REL_QUERY && !r->query->aggregate && r->query->outputs[ci]->proctime;
    }
    if (!proctime && (!c->src->has_watermark || c->src->watermark_column != (size_t)ci))
        return sluice_planner_err(c, f->descriptor_line, f->descriptor_col,
                                  "window on column '%s' needs 'WATERMARK FOR %s AS ...' in its CREATE SOURCE, or "
                                  "a PROCTIME() column",
                                  f->descriptor, f->descriptor),
               SLUICE_ERR_SQL;
    q->proctime = proctime;
    int64_t iv[2];
    for (size_t i = 0; i < want; i++) {
        const sluice_ast *x = f->window_args[i];
        if (x->kind != SLUICE_AST_INTERVAL || x->lit.u.i <= 0 || x->lit.u.i > MAX_TIME_INTERVAL_MS)
            return sluice_planner_err(c, x->line, x->col,
                                      "expected a positive INTERVAL of at most 10,000 years, e.g. INTERVAL '10' SECOND"),
                   SLUICE_ERR_SQL;
        iv[i] = x->lit.u.i;
    }
    q->window = cumulate ? SLUICE_WINDOW_CUMULATE
                : hop    ? SLUICE_WINDOW_HOP
                : session ? SLUICE_WINDOW_SESSION
                          : SLUICE_WINDOW_TUMBLE;
    q->ts_column = (size_t)ci;
    c->src->used[ci] = 1;
    if (hop) {
        q->slide_ms = iv[0];
        q->size_ms = iv[1];
        if (q->size_ms % q->slide_ms != 0 || q->size_ms / q->slide_ms > 1024)
            return sluice_planner_err(c, f->window_args[1]->line, f->window_args[1]->col,
                                      cumulate ? "CUMULATE size must be a multiple of its step, at most 1024 times it"
                                               : "HOP size must be a multiple of its slide, at most 1024 times it"),
                   SLUICE_ERR_SQL;
    } else if (session) {
        q->gap_ms = iv[0];
    } else {
        q->size_ms = q->slide_ms = iv[0];
    }
    if (has_offset) {
        /* the offset shifts the windows' alignment: only its remainder by
         * the slide matters (a negative one too) */
        const sluice_ast *x = f->window_args[want];
        int neg = x->kind == SLUICE_AST_UNARY && x->op == SLUICE_OP_NEG;
        if (neg) x = x->args[0];
        if (x->kind != SLUICE_AST_INTERVAL || x->lit.u.i > MAX_TIME_INTERVAL_MS)
            return sluice_planner_err(c, x->line, x->col, "the offset of a window is an INTERVAL, e.g. INTERVAL '1' MINUTE"),
                   SLUICE_ERR_SQL;
        /* CUMULATE: its windows repeat every size, not every step */
        int64_t period = cumulate ? q->size_ms : q->slide_ms;
        int64_t off = (neg ? -x->lit.u.i : x->lit.u.i) % period;
        q->offset_ms = off < 0 ? off + period : off;
    }
    return SLUICE_OK;
}

