/*
 * Lookup joins (Flink's FOR SYSTEM_TIME AS OF a processing-time
 * attribute): not supported yet.
 */
#include "sql/ast.h"
#include "sql/planner_int.h"

sluice_err_t sluice_planner_lookup_join(bind_ctx *c, const sluice_ast_from *f, const sluice_from_side *l,
                                        const sluice_ast_source *table, sluice_from_side *out, const char *base) {
    (void)l, (void)table, (void)out, (void)base;
    return sluice_planner_err(c, f->right->line, f->right->col, "lookup joins are not supported yet"), SLUICE_ERR_SQL;
}
