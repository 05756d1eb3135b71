/*
 * The "memory" source: a queue of records fed through the C API
 * (sluice_memory_source_push / _end), for unit tests and embedding.  Its
 * only options are the ones the engine reads to decode records (`format`
 * json|csv, `csv.delimiter`); they are validated here.  Not thread-safe:
 * push from the thread that polls.
 *
 * Queued bytes are kept in one growing buffer; poll() copies the records it
 * hands out into the batch arena, each followed by SLUICE_RECORD_PADDING
 * zero bytes.  Offsets are the 0-based push sequence number.
 */
#include <stdlib.h>
#include <string.h>

#include "connectors/connectors.h"
#include "connectors/connectors_int.h"

/* The option table (sluice/module.h): checked before open(), printed by
 * `sluice connectors`.  Only the decoding keys: `format` without `lines`,
 * which this source does not take. */
static const sluice_option_spec memory_source_specs[] = {
    {"format", SLUICE_OPT_ENUM, "json", "how a pushed record decodes: a JSON object or CSV fields", "json|csv", 0, 0,
     0},
    {"csv.delimiter", SLUICE_OPT_CHAR, ",", "the CSV field separator", NULL, 0, 0, 0},
    {NULL, 0, NULL, NULL, NULL, 0, 0, 0},
};

typedef struct memory_entry {
    size_t value_off, value_len;   /* into bytes */
    size_t key_off, key_len;
    int has_key;
    int32_t partition;
    int64_t offset;
    int64_t timestamp_ms;
} memory_entry;

typedef struct memory_source {
    sluice_source base;
    memory_entry *queue;
    size_t head, count, cap;       /* queue[head, count) are pending */
    char *bytes;
    size_t nbytes, bytes_cap;
    int64_t next_offset;
    int ended;
} memory_source;

static sluice_err_t memory_source_open(const sluice_module_config *cfg, sluice_source **out,
                                       char *errstr, size_t errstr_size) {
    sluice_err_t err = sluice_conn_check_specs(cfg, memory_source_specs, "source", "memory", errstr, errstr_size);
    if (err) return err;
    const char *format = sluice_module_config_get(cfg, "format");
    if (format && strcmp(format, "json") != 0 && strcmp(format, "csv") != 0)
        return sluice_conn_bad_option(cfg, "format", "source", "memory", "expected json or csv",
                                      errstr, errstr_size);
    char delim = ',';
    if ((err = sluice_conn_opt_char(cfg, "csv.delimiter", "source", "memory", &delim, errstr,
                                    errstr_size)))
        return err;
    memory_source *ms = calloc(1, sizeof *ms);
    if (!ms) return SLUICE_ERR_NOMEM;
    ms->base.ops = &sluice_memory_source_ops;
    *out = &ms->base;
    return SLUICE_OK;
}

static int append_bytes(memory_source *ms, const char *p, size_t n, size_t *off) {
    if (ms->nbytes + n > ms->bytes_cap) {
        size_t nc = ms->bytes_cap ? ms->bytes_cap : 4096;
        while (nc < ms->nbytes + n) nc *= 2;
        char *nb = realloc(ms->bytes, nc);
        if (!nb) return -1;
        ms->bytes = nb;
        ms->bytes_cap = nc;
    }
    if (n) memcpy(ms->bytes + ms->nbytes, p, n);
    *off = ms->nbytes;
    ms->nbytes += n;
    return 0;
}

sluice_err_t sluice_memory_source_push(sluice_source *src, const char *value, size_t value_len,
                                       const char *key, size_t key_len,
                                       int32_t partition, int64_t timestamp_ms) {
    src = sluice_fault_source_unwrap(src);
    if (!src || src->ops != &sluice_memory_source_ops) return SLUICE_ERR_INVALID;
    memory_source *ms = (memory_source *)src;
    if (ms->ended) return SLUICE_ERR_INVALID;
    if (ms->count == ms->cap) {
        size_t nc = ms->cap ? ms->cap * 2 : 64;
        memory_entry *q = realloc(ms->queue, nc * sizeof *q);
        if (!q) return SLUICE_ERR_NOMEM;
        ms->queue = q;
        ms->cap = nc;
    }
    memory_entry e = {.value_len = value_len, .key_len = key_len, .has_key = key != NULL,
                      .partition = partition, .offset = ms->next_offset,
                      .timestamp_ms = timestamp_ms};
    if (append_bytes(ms, value, value_len, &e.value_off) != 0) return SLUICE_ERR_NOMEM;
    if (key && append_bytes(ms, key, key_len, &e.key_off) != 0) return SLUICE_ERR_NOMEM;
    ms->queue[ms->count++] = e;
    ms->next_offset++;
    return SLUICE_OK;
}

sluice_err_t sluice_memory_source_end(sluice_source *src) {
    src = sluice_fault_source_unwrap(src);
    if (!src || src->ops != &sluice_memory_source_ops) return SLUICE_ERR_INVALID;
    ((memory_source *)src)->ended = 1;
    return SLUICE_OK;
}

static char *copy_padded(sluice_arena *a, const char *p, size_t n) {
    char *c = sluice_arena_alloc(a, n + SLUICE_RECORD_PADDING);
    if (!c) return NULL;
    if (n) memcpy(c, p, n);
    memset(c + n, 0, SLUICE_RECORD_PADDING);
    return c;
}

static sluice_err_t memory_source_poll(sluice_source *src, sluice_record_batch *out,
                                       size_t max_records, int timeout_ms,
                                       char *errstr, size_t errstr_size) {
    (void)timeout_ms;  /* nothing can arrive while we wait: never waits */
    memory_source *ms = (memory_source *)src;
    size_t handed = 0;
    while (ms->head < ms->count && handed < max_records) {
        const memory_entry *e = &ms->queue[ms->head];
        sluice_record *rec = sluice_record_batch_push(out);
        char *v = rec ? copy_padded(out->arena, ms->bytes + e->value_off, e->value_len) : NULL;
        char *k = NULL;
        if (v && e->has_key) k = copy_padded(out->arena, ms->bytes + e->key_off, e->key_len);
        if (!v || (e->has_key && !k)) {
            if (rec) out->count--;
            return sluice_seterr(errstr, errstr_size, SLUICE_ERR_NOMEM,
                                 "source (memory): out of memory");
        }
        rec->value = v;
        rec->value_len = e->value_len;
        rec->key = k;
        rec->key_len = e->has_key ? e->key_len : 0;
        rec->partition = e->partition;
        rec->offset = e->offset;
        rec->timestamp_ms = e->timestamp_ms;
        ms->head++;
        handed++;
    }
    if (ms->head == ms->count) {
        ms->head = ms->count = 0;
        ms->nbytes = 0;
        if (ms->ended) out->end_of_input = 1;
    }
    return SLUICE_OK;
}

static void memory_source_close(sluice_source *src) {
    if (!src) return;
    memory_source *ms = (memory_source *)src;
    free(ms->queue);
    free(ms->bytes);
    free(ms);
}

/** The "memory" source connector (see the top of this file). */
const sluice_source_ops sluice_memory_source_ops = {
    .version = SLUICE_MODULE_VERSION,
    .name = "memory",
    .option_specs = memory_source_specs,
    .open = memory_source_open,
    .poll = memory_source_poll,
    .close = memory_source_close,
};
