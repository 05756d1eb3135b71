/*
 * The `op` column of the text sinks (op_column.h).
 */
#include <stdlib.h>
#include <string.h>

#include "connectors/op_column.h"
#include "sluice/changelog.h"

int sluice_op_column_wanted(const sluice_module_config *cfg) {
    return cfg->output_mode == SLUICE_OUTPUT_UPDATE || cfg->output_mode == SLUICE_OUTPUT_COMPLETE;
}

sluice_column *sluice_op_columns(const sluice_schema *s) {
    sluice_column *c = malloc((s->ncolumns + 1) * sizeof *c);
    if (!c) return NULL;
    c[0] = (sluice_column){.name = "op", .type = SLUICE_TYPE_VARCHAR};
    if (s->ncolumns) memcpy(c + 1, s->columns, s->ncolumns * sizeof *c);
    return c;
}

sluice_value sluice_op_value(const sluice_row_batch *b, size_t i) {
    const char *name = sluice_row_kind_name(sluice_row_batch_kind(b, i));
    return sluice_value_varchar(name, strlen(name));
}
