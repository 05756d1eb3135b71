/*
 * The result arrays a lookup table fills (exec/lookup.h).
 */
#include <stdlib.h>
#include <string.h>

#include "exec/lookup.h"

int sluice_lookup_result_reserve(sluice_lookup_result *out, size_t n, size_t rows) {
    if (n > out->key_cap) {
        size_t *f = realloc(out->first, n * sizeof *f);
        if (!f) return -1;
        out->first = f;
        size_t *c = realloc(out->count, n * sizeof *c);
        if (!c) return -1;
        out->count = c;
        out->key_cap = n;
    }
    if (out->nrows + rows > out->cap) {
        size_t cap = out->cap ? out->cap : 64;
        while (cap < out->nrows + rows) cap *= 2;
        const sluice_value **r = realloc(out->rows, cap * sizeof *r);
        if (!r) return -1;
        out->rows = r;
        out->cap = cap;
    }
    return 0;
}

void sluice_lookup_result_free(sluice_lookup_result *out) {
    free(out->rows);
    free(out->first);
    free(out->count);
    memset(out, 0, sizeof *out);
}
