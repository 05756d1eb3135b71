/*
 * The table of lookup-table connectors (lookup.h).
 */
#include <stddef.h>
#include <string.h>

#include "connectors/lookup.h"

static const sluice_lookup_connector *const connectors[] = {
    &sluice_lookup_file,
#ifdef SLUICE_WITH_MYSQL
    &sluice_lookup_mysql,
#endif
};

const sluice_lookup_connector *sluice_lookup_connector_find(const char *name) {
    for (size_t i = 0; i < sizeof connectors / sizeof connectors[0]; i++)
        if (strcmp(connectors[i]->name, name) == 0) return connectors[i];
    return NULL;
}

void sluice_lookup_connector_each(void (*fn)(void *ctx, const sluice_lookup_connector *c), void *ctx) {
    for (size_t i = 0; i < sizeof connectors / sizeof connectors[0]; i++) fn(ctx, connectors[i]);
}

const char *sluice_lookup_connector_names(void) {
#ifdef SLUICE_WITH_MYSQL
    return "file, mysql";
#else
    return "file";
#endif
}

const sluice_option *sluice_lookup_option(const sluice_option *opts, size_t n, const char *key) {
    for (size_t i = 0; i < n; i++)
        if (strcmp(opts[i].key, key) == 0) return &opts[i];
    return NULL;
}
