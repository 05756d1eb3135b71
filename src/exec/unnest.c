/*
 * The UNNEST operator: see unnest.h.  Output rows are written into one
 * growing buffer, so a batch costs one allocation at most once it reached
 * its largest size.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "exec/unnest.h"

/* Room for `need` output rows of `width` values. */
static int reserve(sluice_unnest_out *out, size_t need, size_t width) {
    if (need <= out->cap) return 0;
    size_t cap = out->cap ? out->cap : 64;
    while (cap < need) {
        if (cap > SIZE_MAX / 2) return -1;
        cap *= 2;
    }
    if (width && cap > SIZE_MAX / sizeof(sluice_value) / width) return -1;
    sluice_value *rows = realloc(out->rows, cap * width * sizeof *rows);
    if (!rows) return -1;
    out->rows = rows;
    size_t *origin = realloc(out->origin, cap * sizeof *origin);
    if (!origin) return -1;
    out->origin = origin;
    out->cap = cap;
    return 0;
}

sluice_err_t sluice_unnest_expand(const sluice_query_plan *q, const sluice_value *rows, size_t nrows,
                                  size_t ncols_in, sluice_arena *arena, sluice_unnest_out *out) {
    out->nrows = 0;
    const sluice_unnest_plan *u = q->unnest;
    if (!u || ncols_in != u->ncols_in) return SLUICE_ERR_INVALID;
    size_t width = ncols_in + 1 + (u->ordinality ? 1 : 0);
    for (size_t r = 0; r < nrows; r++) {
        const sluice_value *in = rows + r * ncols_in;
        sluice_value a = sluice_expr_eval(u->array, in, arena);
        if (a.type != SLUICE_TYPE_ARRAY || a.u.a->count == 0) continue; /* NULL or empty: no row */
        if (reserve(out, out->nrows + a.u.a->count, width) != 0) {
            out->nrows = 0;
            return SLUICE_ERR_NOMEM;
        }
        for (uint32_t i = 0; i < a.u.a->count; i++) {
            sluice_value *o = out->rows + out->nrows * width;
            memcpy(o, in, ncols_in * sizeof *o);
            o[ncols_in] = a.u.a->values[i];
            if (u->ordinality) o[ncols_in + 1] = sluice_value_bigint((int64_t)i + 1);
            out->origin[out->nrows++] = r;
        }
    }
    return SLUICE_OK;
}

void sluice_unnest_out_free(sluice_unnest_out *out) {
    free(out->rows);
    free(out->origin);
    memset(out, 0, sizeof *out);
}
