/* Placeholder until the rank operator lands: no ranking can run yet. */
#include "exec/operator.h"

sluice_op *sluice_op_rank_new(const struct sluice_rank_plan *rp, sluice_op_ctx *ctx, sluice_op *down) {
    (void)rp, (void)ctx, (void)down;
    return NULL;
}
