/*
 * A sink's on_error policy: see sink_reject.h.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/sink_reject.h"
#include "format/format.h"

static const struct {
    const char *name;
    sluice_on_error value;
} on_error_names[] = {{"dead_letter", SLUICE_ON_ERROR_DEAD_LETTER}, {"fail", SLUICE_ON_ERROR_FAIL}};

int sluice_on_error_parse(const char *value, sluice_on_error *out) {
    for (size_t i = 0; i < sizeof on_error_names / sizeof on_error_names[0]; i++)
        if (value && strcmp(value, on_error_names[i].name) == 0) {
            *out = on_error_names[i].value;
            return 0;
        }
    return -1;
}

/* The row as one JSON object (malloc'd, no newline), or a copy of raw. */
static char *render_row(const sluice_schema *schema, const sluice_value *row, const char *raw, size_t raw_len,
                        size_t *len) {
    if (!row) {
        char *copy = malloc(raw_len + 1);
        if (!copy) return NULL;
        if (raw_len) memcpy(copy, raw, raw_len);
        copy[raw_len] = '\0';
        *len = raw_len;
        return copy;
    }
    char *text = NULL;
    size_t n = 0;
    FILE *f = open_memstream(&text, &n);
    if (!f) return NULL;
    sluice_err_t err = sluice_json_write_row(f, schema->columns, row, schema->ncolumns);
    if (fclose(f) != 0 || err) {
        free(text);
        return NULL;
    }
    while (n && text[n - 1] == '\n') text[--n] = '\0';
    *len = n;
    return text;
}

sluice_err_t sluice_sink_reject_row(void *ctx, int64_t epoch, const sluice_value *row, const char *raw,
                                    size_t raw_len, const char *reason, char *errstr, size_t errstr_size) {
    sluice_sink_reject *r = ctx;
    size_t len = 0;
    char *text = render_row(r->schema, row, raw, raw_len, &len);
    if (!text) return sluice_seterr(errstr, errstr_size, SLUICE_ERR_NOMEM, "sink %s: out of memory", r->sink);
    sluice_err_t err = SLUICE_OK;
    if (r->on_error == SLUICE_ON_ERROR_FAIL) {
        err = sluice_seterr(errstr, errstr_size, SLUICE_ERR_RUNTIME,
                            "sink %s: epoch %" PRId64 ": %s; row: %.300s%s (on_error = fail; on_error = dead_letter "
                            "sets such rows aside)",
                            r->sink, epoch, reason, text, len > 300 ? "..." : "");
    } else {
        char position[48];
        snprintf(position, sizeof position, "epoch %" PRId64, epoch);
        r->rejected++;
        if (r->dlq && *r->dlq)
            err = sluice_dead_letter_write(*r->dlq, r->source ? r->source : "", r->sink, position, reason, text, len);
    }
    free(text);
    return err;
}

sluice_err_t sluice_module_reject(const sluice_module_config *cfg, int64_t epoch, const sluice_value *row,
                                  const char *raw, size_t raw_len, const char *reason, char *errstr,
                                  size_t errstr_size) {
    if (cfg->reject) return cfg->reject(cfg->reject_ctx, epoch, row, raw, raw_len, reason, errstr, errstr_size);
    return sluice_seterr(errstr, errstr_size, SLUICE_ERR_RUNTIME, "sink %s: epoch %" PRId64 ": %s",
                         cfg->instance ? cfg->instance : "?", epoch, reason);
}
