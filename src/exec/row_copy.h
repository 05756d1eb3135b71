/*
 * sluice exec — copying a row's values with their strings (and ARRAY
 * elements) into memory of the operator's own, so that a row kept in state
 * outlives the batch it arrived in (rows between operators are borrowed:
 * exec/operator.h).  One layout for the join, temporal join and OVER
 * states: the values first, then each string or array 8-byte aligned.
 * Private.
 */
#ifndef SLUICE_EXEC_ROW_COPY_H
#define SLUICE_EXEC_ROW_COPY_H

#include <stddef.h>

#include "sluice/value.h"

/** Bytes the strings and array of v take once copied (8-aligned; 0 for
 *  other types). */
size_t sluice_row_deep_bytes(const sluice_value *v);

/** Copy v into *out, its strings and array at *cur, which is advanced;
 *  *cur must have sluice_row_deep_bytes(v) bytes of room. */
void sluice_row_deep_copy(const sluice_value *v, sluice_value *out, char **cur);

#endif
