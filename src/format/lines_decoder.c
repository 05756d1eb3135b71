/*
 * The `lines` format: the record's bytes are the value of one column (a
 * line of text, as Spark's socket and text sources hand it out: one
 * `value` column).  The text must be well-formed UTF-8: a line that is not
 * is malformed (a dead letter keeping the exact bytes as raw_base64).  A
 * column of another type than VARCHAR takes the line converted as a CSV
 * field would be (BIGINT, DOUBLE, BOOLEAN, TIMESTAMP per its FORMAT).
 */
#include <stdlib.h>

#include "format/format_int.h"

typedef struct lines_decoder {
    sluice_field_spec spec;   /* the one column, borrowed strings */
} lines_decoder;

sluice_err_t sluice_lines_decoder_new(const sluice_field_spec *specs, size_t nfields, void **impl,
                                      char *errstr, size_t errstr_size) {
    if (nfields != 1)
        return sluice_seterr(errstr, errstr_size, SLUICE_ERR_CONFIG,
                             "format lines: a record is one line, so the source has one column besides METADATA "
                             "columns (such as value VARCHAR), not %zu (column '%s' and '%s')",
                             nfields, specs[0].name, specs[1].name);
    if (specs[0].path)
        return sluice_seterr(errstr, errstr_size, SLUICE_ERR_CONFIG,
                             "format lines: column '%s' cannot have a PATH (a line has no fields)", specs[0].name);
    lines_decoder *d = calloc(1, sizeof *d);
    if (!d) return SLUICE_ERR_NOMEM;
    d->spec = specs[0];
    *impl = d;
    return SLUICE_OK;
}

sluice_err_t sluice_lines_decoder_decode(void *impl, const char *data, size_t len, sluice_value *out,
                                         sluice_arena *arena, char *reason, size_t reason_size) {
    lines_decoder *d = impl;
    if (!sluice_utf8_valid(data, len))
        return sluice_seterr(reason, reason_size, SLUICE_ERR_MALFORMED,
                             "invalid UTF-8 in column '%s' at byte %zu of the line", d->spec.name,
                             sluice_utf8_find_invalid(data, len, NULL) + 1);
    int rc = sluice_format_convert_text(&d->spec, data, len, out, arena);
    if (rc == SLUICE_ERR_NOMEM) return SLUICE_ERR_NOMEM;
    if (rc) return sluice_format_bad_value(reason, reason_size, &d->spec, data, len, 1);
    return SLUICE_OK;
}

void sluice_lines_decoder_free(void *impl) {
    free(impl);
}
