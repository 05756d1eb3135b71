/*
 * The table of function connectors (function.h).
 */
#include <string.h>

#include "connectors/function.h"

static const sluice_function_connector *const connectors[] = {
    &sluice_function_c,
    &sluice_function_http,
};

const sluice_function_connector *sluice_function_connector_find(const char *name) {
    for (size_t i = 0; i < sizeof connectors / sizeof connectors[0]; i++)
        if (strcmp(connectors[i]->name, name) == 0) return connectors[i];
    return NULL;
}

const char *sluice_function_connector_names(void) {
    return "c, http";
}
