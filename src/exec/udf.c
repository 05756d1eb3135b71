/*
 * Bound functions: batched calls before a batch is evaluated (udf.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "exec/udf.h"

static const struct {
    const char *name;
    sluice_udf_on_error mode;
} on_error_names[] = {
    {"dead_letter", SLUICE_UDF_DEAD_LETTER},
    {"null", SLUICE_UDF_NULL},
    {"fail", SLUICE_UDF_FAIL},
};

int sluice_udf_on_error_parse(const char *s, sluice_udf_on_error *out) {
    for (size_t i = 0; i < sizeof on_error_names / sizeof on_error_names[0]; i++)
        if (strcmp(on_error_names[i].name, s) == 0) {
            *out = on_error_names[i].mode;
            return 0;
        }
    return -1;
}

/* Grow the per-row buffers of q's calls to hold n rows. */
static int reserve(const sluice_query_plan *q, size_t n) {
    sluice_udf_state *st = q->udf;
    if (n <= st->cap) return 0;
    unsigned char *f = realloc(st->failed, n);
    if (!f) return -1;
    st->failed = f;
    for (size_t s = 0; s < q->nudf_sites; s++) {
        sluice_value *v = realloc(q->udf_sites[s]->values, n * sizeof *v);
        if (!v) return -1;
        q->udf_sites[s]->values = v;
    }
    st->cap = n;
    return 0;
}

/* A result of the declared type, its string copied; anything else is NULL
 * (a function must not hand the engine a value of another type). */
static sluice_value accept(sluice_value v, sluice_type_t want, sluice_arena *arena, int *nomem) {
    if (v.type == SLUICE_TYPE_NULL) return v;
    if (want == SLUICE_TYPE_DOUBLE && v.type == SLUICE_TYPE_BIGINT) return sluice_value_double((double)v.u.i);
    if (v.type != want) return sluice_value_null();
    if (v.type == SLUICE_TYPE_VARCHAR) {
        char *p = sluice_arena_alloc(arena, v.len ? v.len : 1);
        if (!p) {
            *nomem = 1;
            return sluice_value_null();
        }
        if (v.len) memcpy(p, v.u.s, v.len);
        v.u.s = p;
    }
    return v;
}

sluice_err_t sluice_udf_prefetch(const sluice_plan *plan, const sluice_query_plan *q, const sluice_value *rows,
                                 size_t nrows, size_t ncols, sluice_arena *arena, char *errstr,
                                 size_t errstr_size) {
    if (!q->nudf_sites || !nrows) return SLUICE_OK;
    if (reserve(q, nrows) != 0) return SLUICE_ERR_NOMEM;
    sluice_udf_state *st = q->udf;
    memset(st->failed, 0, nrows);
    for (size_t s = 0; s < q->nudf_sites; s++) {
        sluice_udf_site *site = q->udf_sites[s];
        const sluice_function_plan *f = &plan->functions[site->function];
        const sluice_udf_binding *b = f->binding;
        if (!b)
            return sluice_seterr(errstr, errstr_size, SLUICE_ERR_INVALID,
                                 "function %s is not bound: add a [function %s] section to the profile", f->name,
                                 f->name);
        size_t chunk = b->call_rows ? b->call_rows : nrows;
        if (chunk > nrows) chunk = nrows;
        size_t na = site->nargs;
        sluice_value *args = malloc((chunk * na + 1) * sizeof *args);
        unsigned char *bad = malloc(chunk);
        if (!args || !bad) {
            free(args);
            free(bad);
            return SLUICE_ERR_NOMEM;
        }
        for (size_t r0 = 0; r0 < nrows; r0 += chunk) {
            size_t n = nrows - r0 < chunk ? nrows - r0 : chunk;
            for (size_t r = 0; r < n; r++)
                for (size_t i = 0; i < na; i++)
                    args[r * na + i] = sluice_expr_eval(site->args[i], rows + (r0 + r) * ncols, arena);
            sluice_value *out = site->values + r0;
            for (size_t r = 0; r < n; r++) out[r] = sluice_value_null();
            char err[256] = "";
            memset(bad, 0, n);
            int rc = b->call(b->ctx, n, na, args, out, bad, err, sizeof err);
            if (rc == SLUICE_ERR_STOPPED) {
                free(args);
                free(bad);
                return sluice_seterr(errstr, errstr_size, SLUICE_ERR_STOPPED, "function %s: stopped while waiting",
                                     f->name);
            }
            if (rc != 0) {
                if (!memchr(bad, 1, n)) memset(bad, 1, n);
                if (b->on_error == SLUICE_UDF_FAIL) {
                    free(args);
                    free(bad);
                    return sluice_seterr(errstr, errstr_size, SLUICE_ERR_RUNTIME, "function %s failed: %s",
                                         f->name, err[0] ? err : "no reason given");
                }
                for (size_t r = 0; r < n; r++) {
                    if (!bad[r]) continue;
                    out[r] = sluice_value_null();
                    if (b->on_error == SLUICE_UDF_DEAD_LETTER) st->failed[r0 + r] = 1;
                }
                if (b->on_error == SLUICE_UDF_DEAD_LETTER)
                    /* bounded: the reason field is 256 bytes (-Wformat-truncation at -O0) */
                    snprintf(st->reason, sizeof st->reason, "function %.64s failed: %.160s", f->name,
                             err[0] ? err : "no reason given");
            }
            int nomem = 0;
            for (size_t r = 0; r < n; r++) out[r] = accept(out[r], f->returns, arena, &nomem);
            if (nomem) {
                free(args);
                free(bad);
                return SLUICE_ERR_NOMEM;
            }
        }
        free(args);
        free(bad);
    }
    return SLUICE_OK;
}

void sluice_udf_release(sluice_query_plan *q) {
    if (!q->udf) return;
    free(q->udf->failed);
    q->udf->failed = NULL;
    for (size_t s = 0; s < q->nudf_sites; s++) {
        free(q->udf_sites[s]->values);
        q->udf_sites[s]->values = NULL;
    }
    q->udf->cap = 0;
}
