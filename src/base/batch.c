#include <stdlib.h>
#include <string.h>

#include "sluice/batch.h"
#include "sluice/module.h"

sluice_err_t sluice_record_batch_init(sluice_record_batch *b) {
    memset(b, 0, sizeof(*b));
    b->arena = sluice_arena_new(0);
    return b->arena ? SLUICE_OK : SLUICE_ERR_NOMEM;
}

sluice_record *sluice_record_batch_push(sluice_record_batch *b) {
    if (b->count == b->capacity) {
        size_t nc = b->capacity ? b->capacity * 2 : 1024;
        sluice_record *r = realloc(b->records, nc * sizeof(*r));
        if (!r) return NULL;
        b->records = r;
        b->capacity = nc;
    }
    sluice_record *rec = &b->records[b->count++];
    memset(rec, 0, sizeof(*rec));
    return rec;
}

void sluice_record_batch_clear(sluice_record_batch *b) {
    b->count = 0;
    b->end_of_input = 0;
    b->assigned = NULL;
    b->nassigned = 0;
    if (b->arena) sluice_arena_reset(b->arena);
}

void sluice_record_batch_free(sluice_record_batch *b) {
    if (!b) return;
    free(b->records);
    sluice_arena_destroy(b->arena);
    memset(b, 0, sizeof(*b));
}

sluice_err_t sluice_row_batch_init(sluice_row_batch *b, const sluice_schema *schema) {
    memset(b, 0, sizeof(*b));
    b->schema = schema;
    b->arena = sluice_arena_new(0);
    return b->arena ? SLUICE_OK : SLUICE_ERR_NOMEM;
}

sluice_value *sluice_row_batch_append_kind(sluice_row_batch *b, sluice_row_kind k) {
    size_t nc = b->schema->ncolumns;
    if (b->nrows == b->capacity) {
        size_t cap = b->capacity ? b->capacity * 2 : 256;
        if (b->kinds) { /* grown first: a failure leaves the batch as it was */
            uint8_t *nk = realloc(b->kinds, cap);
            if (!nk) return NULL;
            b->kinds = nk;
        }
        sluice_value *v = realloc(b->values, cap * (nc ? nc : 1) * sizeof(*v));
        if (!v) return NULL;
        b->values = v;
        b->capacity = cap;
    }
    if (!b->kinds && k != SLUICE_ROW_INSERT) {
        /* the first row that is not an insert: the rows before it were */
        b->kinds = calloc(b->capacity, 1);
        if (!b->kinds) return NULL;
    }
    if (b->kinds) b->kinds[b->nrows] = (uint8_t)k;
    sluice_value *row = b->values + b->nrows * nc;
    for (size_t i = 0; i < nc; i++) row[i] = sluice_value_null();
    b->nrows++;
    return row;
}

sluice_value *sluice_row_batch_append(sluice_row_batch *b) {
    return sluice_row_batch_append_kind(b, SLUICE_ROW_INSERT);
}

sluice_row_kind sluice_row_batch_kind(const sluice_row_batch *b, size_t i) {
    return b->kinds ? (sluice_row_kind)b->kinds[i] : SLUICE_ROW_INSERT;
}

void sluice_row_batch_clear(sluice_row_batch *b) {
    b->nrows = 0;
    if (b->arena) sluice_arena_reset(b->arena);
}

void sluice_row_batch_free(sluice_row_batch *b) {
    if (!b) return;
    free(b->values);
    free(b->kinds);
    sluice_arena_destroy(b->arena);
    memset(b, 0, sizeof(*b));
}

const sluice_option *sluice_module_config_find(const sluice_module_config *cfg, const char *key) {
    /* last one wins, so --set overrides the file */
    for (size_t i = cfg->noptions; i-- > 0;)
        if (strcmp(cfg->options[i].key, key) == 0) return &cfg->options[i];
    return NULL;
}

const char *sluice_module_config_get(const sluice_module_config *cfg, const char *key) {
    const sluice_option *o = sluice_module_config_find(cfg, key);
    return o ? o->value : NULL;
}
