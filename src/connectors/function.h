/*
 * sluice — the implementations a profile can bind a CREATE FUNCTION to
 * (`[function NAME]` with `connector = c` or `http`).  Private.
 *
 * The pipeline reads the keys common to every function (connector,
 * batch_size, on_error) and hands the section's other keys to the
 * connector, which validates them (sluice check: nothing is loaded or
 * called) or opens the binding.
 */
#ifndef SLUICE_CONNECTORS_FUNCTION_H
#define SLUICE_CONNECTORS_FUNCTION_H

#include <stddef.h>

#include "plan/plan.h"
#include "exec/udf.h"
#include "sluice/error.h"
#include "sluice/module.h"

typedef struct sluice_function_connector {
    const char *name;
    /** Check the options (key/value/file:line, n of them) of function f
     *  without loading or calling anything.  Errors are SLUICE_ERR_CONFIG
     *  naming FILE:LINE. */
    sluice_err_t (*validate)(const sluice_function_plan *f, const sluice_option *opts, size_t n, char *errstr,
                             size_t errstr_size);
    /** Load the implementation and fill b->call and b->ctx.  kv: the
     *  options as a NULL-terminated key,value array (borrowed until close). */
    sluice_err_t (*open)(const sluice_function_plan *f, const sluice_option *opts, size_t n,
                         const char *const *kv, sluice_udf_binding *b, char *errstr, size_t errstr_size);
    /** Free what open made (b->ctx); NULL ctx is a no-op. */
    void (*close)(sluice_udf_binding *b);
} sluice_function_connector;

/** The connector called name, or NULL. */
const sluice_function_connector *sluice_function_connector_find(const char *name);

/** "c, http" — for messages. */
const char *sluice_function_connector_names(void);

/** The C shared-object binding (function_c.c). */
extern const sluice_function_connector sluice_function_c;

/** The model-server binding over HTTP (function_http.c). */
extern const sluice_function_connector sluice_function_http;

/** The option `key` of a [function NAME] section (n options), or NULL. */
const sluice_option *sluice_function_option(const sluice_option *opts, size_t n, const char *key);

/** SLUICE_ERR_CONFIG with "FILE:LINE: message" (o: the option at fault,
 *  or NULL for a message without a position). */
sluice_err_t sluice_function_option_error(char *errstr, size_t errstr_size, const sluice_option *o, const char *fmt,
                                          ...) __attribute__((format(printf, 4, 5)));

#endif
