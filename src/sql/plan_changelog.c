/*
 * Aggregation over an updating input (plan.h sluice_plan_input_updating):
 * the choices the planner makes for a query whose rows carry retractions,
 * as Flink's planner makes them for GroupAggFunction with retraction.
 */
#include <string.h>

#include "exec/aggregate.h"
#include "plan/plan.h"
#include "sql/ast.h"

sluice_err_t sluice_plan_input_updating(const sluice_plan *plan, sluice_query_plan *q, int line, int col,
                                        char *errstr, size_t errstr_size) {
    const char *file = plan && plan->filename ? plan->filename : "";
    q->input_updating = 1;
    if (q->window != SLUICE_WINDOW_NONE)
        return sluice_seterr(errstr, errstr_size, SLUICE_ERR_SQL,
                             "%s:%d:%d: a window (TUMBLE, HOP, SESSION) over an updating input is not supported: a "
                             "closed window's rows could not be retracted (Flink plans group windows over "
                             "append-only input only); aggregate without a window",
                             file, line, col);
    for (size_t k = 0; k < q->naggs; k++) {
        sluice_agg_plan *ag = &q->aggs[k];
        if (ag->fn->retract) continue;
        const sluice_ast *at = q->agg_asts ? q->agg_asts[k] : NULL;
        if (!ag->fn->destroy && (strcmp(ag->fn->name, "MIN") == 0 || strcmp(ag->fn->name, "MAX") == 0)) {
            /* the next extreme must be known when the extreme is retracted */
            ag->inner = ag->fn;
            ag->fn = &sluice_agg_retractable_extreme;
            continue;
        }
        return sluice_seterr(errstr, errstr_size, SLUICE_ERR_SQL,
                             "%s:%d:%d: %s cannot take a value back, so it is not supported over an updating input "
                             "(rows are updated or deleted); use COUNT(DISTINCT ...)",
                             file, at ? at->line : line, at ? at->col : col, ag->fn->name);
    }
    return SLUICE_OK;
}
