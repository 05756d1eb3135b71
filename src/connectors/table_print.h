/*
 * Aligned text tables in psql's style, shared by the memory sink's report
 * and the console sink (private to src/connectors/).
 */
#ifndef SLUICE_TABLE_PRINT_H
#define SLUICE_TABLE_PRINT_H

#include <stddef.h>
#include <stdio.h>

#include "sluice/error.h"
#include "sluice/value.h"

/** Print rows[0..nrows) (each ncols values) as an aligned table:
 *
 *      window_start        | origin | flights
 *     ---------------------+--------+---------
 *      2001-01-01 00:00:00 | DTW    |       1
 *     (1 row)
 *
 *  One space of padding each side of a cell, columns separated by '|',
 *  the separator line of '-' joined by '+'.  Header names and values are
 *  left-aligned, except BIGINT and DOUBLE columns whose values are
 *  right-aligned.  No trailing spaces: a left-aligned last cell is not
 *  padded, and an empty last cell prints nothing after its '|'.  Values are rendered with sluice_value_render (NULL: empty);
 *  widths count UTF-8 characters.  The footer says "(1 row)" or "(N rows)"
 *  with N = footer_rows (normally nrows).  Returns SLUICE_ERR_IO when
 *  writing fails, SLUICE_ERR_NOMEM when out of memory. */
sluice_err_t sluice_table_print(FILE *out, const sluice_column *cols, size_t ncols,
                                const sluice_value *const *rows, size_t nrows,
                                size_t footer_rows);

#endif
