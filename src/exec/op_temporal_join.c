/* Placeholder until the temporal join operator lands. */
#include "exec/operator.h"

sluice_op *sluice_op_temporal_join_new(const struct sluice_temporal_join_plan *tp, sluice_op_ctx *ctx,
                                       sluice_op *down) {
    (void)tp, (void)ctx, (void)down;
    return NULL;
}

sluice_op *sluice_op_temporal_join_input(sluice_op *join, int side) {
    (void)join, (void)side;
    return NULL;
}
