/* Placeholder until the OVER aggregate operator lands. */
#include "exec/operator.h"

sluice_op *sluice_op_over_new(const struct sluice_over_plan *op, sluice_op_ctx *ctx, sluice_op *down) {
    (void)op, (void)ctx, (void)down;
    return NULL;
}
