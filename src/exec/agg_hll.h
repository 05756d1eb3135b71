/*
 * APPROX_COUNT_DISTINCT: a HyperLogLog sketch per slot (Flajolet, Fusy,
 * Gandouet, Meunier 2007, with the small-range correction by linear
 * counting of Heule, Nunkesser, Hall 2013).  Precision 14: 2^14 registers
 * of one byte (16 KiB per group, allocated at the group's first non-NULL
 * value, with the estimator's running sum so that a result costs O(1)), standard error 1.04 / sqrt(2^14) ~ 0.81 %.  Sketches merge
 * (register-wise maximum: session windows) but cannot retract, so the
 * planner refuses the function over an updating input.  The entry points
 * are the operations of its sluice_agg_fn entry (exec/aggregate.h), in the
 * table of aggregate.c.
 */
#ifndef SLUICE_EXEC_AGG_HLL_H
#define SLUICE_EXEC_AGG_HLL_H

#include "exec/aggregate.h"

/** log2 of the number of registers. */
#define SLUICE_HLL_P 14
#define SLUICE_HLL_M (1u << SLUICE_HLL_P)

int sluice_hll_type(sluice_type_t arg, char *why, size_t why_size);
void sluice_hll_init(const sluice_agg_plan *ag, sluice_agg_slot *s);
int sluice_hll_add(const sluice_agg_plan *ag, sluice_agg_slot *s, const sluice_value *a, sluice_arena *arena);
int sluice_hll_merge(const sluice_agg_plan *ag, sluice_agg_slot *into, const sluice_agg_slot *from);
sluice_value sluice_hll_result(const sluice_agg_plan *ag, const sluice_agg_slot *s);
void sluice_hll_encode(const sluice_agg_plan *ag, sluice_enc *e, const sluice_agg_slot *s);
int sluice_hll_decode(const sluice_agg_plan *ag, sluice_dec *d, sluice_agg_slot *s, sluice_arena *arena);
void sluice_hll_destroy(const sluice_agg_plan *ag, sluice_agg_slot *s);
size_t sluice_hll_owned_bytes(const sluice_agg_plan *ag, const sluice_agg_slot *s);

/** The SLUICE_HLL_M registers of an APPROX_COUNT_DISTINCT slot, or NULL
 *  before its first value (borrowed). */
const uint8_t *sluice_hll_registers(const sluice_agg_slot *s);

#endif
