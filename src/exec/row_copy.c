/*
 * Deep copies of values behind a row (exec/row_copy.h).
 */
#include <string.h>

#include "exec/row_copy.h"

#define ALIGN8(n) (((n) + 7u) & ~(size_t)7u)

size_t sluice_row_deep_bytes(const sluice_value *v) {
    if (v->type == SLUICE_TYPE_VARCHAR) return ALIGN8(v->len);
    if (v->type != SLUICE_TYPE_ARRAY) return 0;
    size_t n = sizeof(sluice_array) + (size_t)v->u.a->count * sizeof(sluice_value);
    for (uint32_t i = 0; i < v->u.a->count; i++) n += sluice_row_deep_bytes(&v->u.a->values[i]);
    return ALIGN8(n);
}

void sluice_row_deep_copy(const sluice_value *v, sluice_value *out, char **cur) {
    *out = *v;
    if (v->type == SLUICE_TYPE_VARCHAR) {
        if (v->len) memcpy(*cur, v->u.s, v->len);
        out->u.s = *cur;
        *cur += ALIGN8(v->len);
    } else if (v->type == SLUICE_TYPE_ARRAY) {
        char *start = *cur;
        sluice_array *a = (sluice_array *)(void *)*cur;
        a->elem_type = v->u.a->elem_type;
        a->count = v->u.a->count;
        a->values = (sluice_value *)(a + 1);
        *cur += sizeof(sluice_array) + (size_t)a->count * sizeof(sluice_value);
        for (uint32_t i = 0; i < a->count; i++) sluice_row_deep_copy(&v->u.a->values[i], &a->values[i], cur);
        *cur = start + ALIGN8((size_t)(*cur - start));
        out->u.a = a;
    }
}
