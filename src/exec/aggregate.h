/*
 * Aggregate functions as a table of descriptors (docs/architecture.md
 * "Adding an aggregate function").  The planner looks a function up by
 * name to type it; the engine keeps one fixed-size slot per aggregate and
 * group (or session) and calls the descriptor's operations on it.  Adding
 * a function is one entry in the table of aggregate.c.
 */
#ifndef SLUICE_EXEC_AGGREGATE_H
#define SLUICE_EXEC_AGGREGATE_H

#include <stddef.h>
#include <stdint.h>

#include "sluice/arena.h"
#include "plan/plan.h"
#include "sluice/value.h"
#include "state/codec.h"

/** The state of one aggregate for one group: 24 bytes whatever the
 *  function, so that the memory per group does not depend on it.  What the
 *  fields mean is the function's business (see its entry in aggregate.c);
 *  a function whose state does not fit needs a wider slot for all. */
typedef struct sluice_agg_slot {
    union {
        sluice_value v;          /**< COUNT: unused; SUM/AVG: the accumulator
                                      (u.i or u.d, type NULL); MIN/MAX: the value */
        struct {
            double mean, m2;     /**< VAR/STDDEV: Welford's running mean and
                                      sum of squared deviations from it */
        } w;
        void *ext;               /**< DISTINCT, retractable MIN/MAX,
                                      APPROX_COUNT_DISTINCT: the state the slot
                                      owns outside itself (NULL until a value
                                      comes; freed by the function's destroy) */
    };
    int64_t n;                   /**< values added (non-NULL arguments; rows for COUNT(*)) */
} sluice_agg_slot;

/** An integer SUM that overflowed keeps v.len = SLUICE_AGG_SUM_OVERFLOWED
 *  (README "Integer overflow"): its result is NULL from then on. */
#define SLUICE_AGG_SUM_OVERFLOWED 1u

/** One aggregate function.  Every operation gets the plan of the call (its
 *  argument and result type).  Operations that may fail return 0 on
 *  success, 1 when an integer SUM overflowed (the slot is NULL from then
 *  on; the caller counts and logs it), -1 when out of memory. */
typedef struct sluice_agg_fn {
    const char *name;            /**< upper case, as written in SQL */
    int star;                    /**< 1: the entry for NAME(*), no argument */
    int holds_string;            /**< the slot's v may be a VARCHAR whose bytes
                                      live in the state's arena (MIN/MAX) */
    /** The result type for an argument of type arg (SLUICE_TYPE_NULL for
     *  a NULL literal; ignored for NAME(*)), or -1 when the function does
     *  not accept it, with the message (naming the function) in why. */
    int (*type)(sluice_type_t arg, char *why, size_t why_size);
    /** A fresh slot for no values (the slot is zeroed before). */
    void (*init)(const sluice_agg_plan *ag, sluice_agg_slot *s);
    /** Fold one argument value (NULL included: most functions skip it);
     *  VARCHAR bytes kept in the slot are copied into arena. */
    int (*add)(const sluice_agg_plan *ag, sluice_agg_slot *s, const sluice_value *a, sluice_arena *arena);
    /** Remove one value added before (the inverse of add), or NULL when the
     *  function cannot with a fixed slot (MIN/MAX: the next extreme is not
     *  kept). */
    int (*retract)(const sluice_agg_plan *ag, sluice_agg_slot *s, const sluice_value *a);
    /** Fold slot `from` into `into` (two session windows becoming one);
     *  strings stay where they are. */
    int (*merge)(const sluice_agg_plan *ag, sluice_agg_slot *into, const sluice_agg_slot *from);
    /** The SQL result of the slot (borrows its strings). */
    sluice_value (*result)(const sluice_agg_plan *ag, const sluice_agg_slot *s);
    /** Append the slot to a snapshot (docs/architecture.md "Snapshot bytes"). */
    void (*encode)(const sluice_agg_plan *ag, sluice_enc *e, const sluice_agg_slot *s);
    /** Read a slot written by encode (VARCHAR bytes into arena) and check
     *  it against the plan; sets d->bad and returns -1 when it does not
     *  fit. */
    int (*decode)(const sluice_agg_plan *ag, sluice_dec *d, sluice_agg_slot *s, sluice_arena *arena);
    /** Free what the slot owns outside it (a value map, HyperLogLog
     *  registers), or NULL when a slot owns nothing (every function of
     *  fixed state).  The slot is left as init made it. */
    void (*destroy)(const sluice_agg_plan *ag, sluice_agg_slot *s);
    /** Bytes of memory the slot owns outside itself (counted in the
     *  state's size, which max_state_bytes caps); NULL with destroy. */
    size_t (*owned_bytes)(const sluice_agg_plan *ag, const sluice_agg_slot *s);
} sluice_agg_fn;

/** The state of `ag->inner` over a multiset of the argument's values
 *  (exec/agg_multiset.c): a value -> count map per slot, so that every
 *  value can be retracted.  DISTINCT: inner sees each distinct value once
 *  (COUNT/SUM/AVG(DISTINCT x), SQL:2016 and Flink); the retractable
 *  MIN/MAX: inner is MIN or MAX over every value, and the next extreme is
 *  found in the map when the extreme's last copy is retracted (Flink's
 *  MinWithRetractAggFunction).  NULL arguments are not kept. */
extern const sluice_agg_fn sluice_agg_distinct;
extern const sluice_agg_fn sluice_agg_retractable_extreme;

/** 1 when a slot of ag's function owns memory outside itself (destroy). */
static inline int sluice_agg_owns(const sluice_agg_plan *ag) {
    return ag->fn->destroy != NULL;
}

/** Bytes the naggs slots of one group own outside themselves. */
static inline size_t sluice_agg_slots_owned_bytes(const sluice_query_plan *q, const sluice_agg_slot *s) {
    size_t bytes = 0;
    for (size_t m = 0; m < q->naggs; m++)
        if (sluice_agg_owns(&q->aggs[m])) bytes += q->aggs[m].fn->owned_bytes(&q->aggs[m], &s[m]);
    return bytes;
}

/** The function NAME (upper case) or NAME(*) when star, or NULL. */
const sluice_agg_fn *sluice_agg_find(const char *name, int star);

/** 1 when name is the name of an aggregate function, else 0. */
int sluice_agg_is_name(const char *name);

/** Write the names of the functions, space separated, in table order and
 *  each once, to buf (truncated to size, NUL-terminated). */
void sluice_agg_names(char *buf, size_t size);

#endif
