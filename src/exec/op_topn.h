/*
 * sluice exec — top-N per window (ORDER BY an aggregate LIMIT n, with
 * rank): the ranking stage of the window aggregate operator.  It ranks the
 * groups of a window where they are held (exec/group_table.h), since the
 * rank emitted last is part of each group's state (and of its snapshot
 * bytes).  Private.
 */
#ifndef SLUICE_EXEC_OP_TOPN_H
#define SLUICE_EXEC_OP_TOPN_H

#include "exec/group_table.h"
#include "exec/operator.h"

/** Scratch of the ranking: entry indices and their ORDER BY values. */
typedef struct sluice_topn {
    uint32_t *idx;
    sluice_value *val;
    size_t cap;
} sluice_topn;

void sluice_topn_free(sluice_topn *t);

/** APPEND (a window that closed) and COMPLETE: push the window's top n
 *  groups that pass HAVING, in rank order, with their rank, as kind.
 *  0, or -1 out of memory. */
int sluice_topn_emit_window(sluice_topn *t, sluice_windows *ws, sluice_window *w, sluice_emitter *em,
                            sluice_row_kind kind);

/** UPDATE: when a group of w changed since the last emit, rank again and
 *  push the whole top n if the ranking differs from the one pushed last
 *  (a rank pushed before comes again as update-after, a new rank as
 *  insert); clears w's dirty list.  0, or -1. */
int sluice_topn_emit_update(sluice_topn *t, sluice_windows *ws, sluice_window *w, sluice_emitter *em);

#endif
