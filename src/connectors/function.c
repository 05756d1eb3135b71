/*
 * The table of function connectors (function.h).
 */
#include <stdio.h>
#include <stdarg.h>
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

const sluice_option *sluice_function_option(const sluice_option *opts, size_t n, const char *key) {
    for (size_t i = 0; i < n; i++)
        if (strcmp(opts[i].key, key) == 0) return &opts[i];
    return NULL;
}

sluice_err_t sluice_function_option_error(char *errstr, size_t errstr_size, const sluice_option *o, const char *fmt,
                                          ...) {
    char msg[700];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (o && o->line > 0)
        return sluice_seterr(errstr, errstr_size, SLUICE_ERR_CONFIG, "%s:%d: %s", o->file, o->line, msg);
    return sluice_seterr(errstr, errstr_size, SLUICE_ERR_CONFIG, "%s", msg);
}
