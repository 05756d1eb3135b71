/* Placeholder until the join operator lands: no join can run yet. */
#include "exec/operator.h"

sluice_op *sluice_op_join_new(const struct sluice_join_plan *jp, sluice_op_ctx *ctx, sluice_op *down) {
    (void)jp, (void)ctx, (void)down;
    return NULL;
}

sluice_op *sluice_op_join_input(sluice_op *join, int side) {
    (void)join, (void)side;
    return NULL;
}
