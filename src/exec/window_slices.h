/*
 * sluice exec — window slicing for HOP and CUMULATE windows (Flink's
 * window slicing, after Traub et al., "Scotty: Efficient Window
 * Aggregation for Out-of-Order Stream Processing", ICDE 2018).  Private.
 *
 * Every row is aggregated into one slice of gcd(size, slide) (CUMULATE:
 * the step), a group table of exec/group_table.h whose start is the
 * slice's and whose `end` is the end of the last window that needs it (so
 * that sluice_windows_finalize() frees it when no open window does).  A
 * window, when it closes, is the merge (sluice_agg_fn.merge) of the slices
 * it covers.  Each row thus costs one group update whatever the number of
 * overlapping windows; the windows pay one merge per (slice, group) when
 * they are emitted.
 *
 * Windows (aligned to the epoch shifted by q->offset_ms):
 *   HOP(slide, size):      [e - size, e) for every e = offset + k * slide;
 *   CUMULATE(step, size):  [s, s + j * step) for s = offset + k * size and
 *                          j = 1 .. size / step (Flink's CUMULATE TVF): the
 *                          windows of one s share their start, so a window
 *                          is named by its end.
 * In both, window ends are the multiples of the slide (step) shifted by the
 * offset, and the end names the window.
 */
#ifndef SLUICE_EXEC_WINDOW_SLICES_H
#define SLUICE_EXEC_WINDOW_SLICES_H

#include <stdint.h>

#include "exec/group_table.h"
#include "plan/plan.h"

/** The slicing of q's windows (HOP or CUMULATE): all times in ms. */
typedef struct sluice_slicing {
    int64_t slice;                 /**< gcd(size, slide) for HOP, the step for CUMULATE */
    int64_t slide;                 /**< distance between window ends (HOP slide, CUMULATE step) */
    int64_t size;                  /**< HOP size; CUMULATE: the largest window's */
    int64_t offset;                /**< alignment of the windows (Flink's offset) */
    int cumulate;                  /**< 1: CUMULATE windows, 0: HOP */
} sluice_slicing;

/** The slicing of a HOP or CUMULATE plan (sizes positive, size a multiple
 *  of the slide). */
void sluice_slicing_init(sluice_slicing *sl, const sluice_query_plan *q);

/** Start of the slice holding time t. */
int64_t sluice_slice_start(const sluice_slicing *sl, int64_t t);

/** End of the last window containing time t: a row at t is late when it
 *  is at or before the watermark, and a slice holding t is freed then. */
int64_t sluice_slice_last_end(const sluice_slicing *sl, int64_t t);

/** The first window end strictly after t. */
int64_t sluice_slice_next_end(const sluice_slicing *sl, int64_t t);

/** Start of the window that ends at end (an end of sl's windows). */
int64_t sluice_slice_window_start(const sluice_slicing *sl, int64_t end);

/** Merge the groups of the slices of `slices` lying in [start, end) into
 *  a fresh window of `into` (which must be empty; ws and into share the
 *  query), whose start and end are set to the window's; its table is sized
 *  for at least `hint` groups (the previous window's count: consecutive
 *  windows share most slices).  The window's
 *  groups borrow MIN/MAX strings of the slices: push its rows before a
 *  slice is freed.  *overflows counts the SUMs that overflowed in the
 *  merge.  Returns the window, or NULL out of memory. */
sluice_window *sluice_slices_combine(sluice_windows *slices, sluice_windows *into, int64_t start, int64_t end,
                                     size_t hint, uint64_t *overflows);

#endif
