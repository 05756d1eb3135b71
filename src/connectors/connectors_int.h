/*
 * Helpers shared by the connector implementations (private to
 * src/connectors/): option validation and message prefixes.
 */
#ifndef SLUICE_CONNECTORS_INT_H
#define SLUICE_CONNECTORS_INT_H

#include <stddef.h>
#include <stdint.h>

#include "sluice/module.h"

/** Check that every option of cfg is in `accepted` (NULL-terminated) or is
 *  the generic key "connector".  kind is "source" or "sink", connector the
 *  connector name; they and cfg->instance prefix the message.  Returns
 *  SLUICE_ERR_CONFIG naming the unknown key, its file:line and the
 *  accepted keys. */
sluice_err_t sluice_conn_check_options(const sluice_module_config *cfg,
                                       const char *const *accepted,
                                       const char *kind, const char *connector,
                                       char *errstr, size_t errstr_size);

/** Parse option `key` as true/false (also 1/0, yes/no, on/off; case
 *  insensitive) into *out, which keeps its value when the option is unset.
 *  Returns SLUICE_ERR_CONFIG naming the key and quoting the value. */
sluice_err_t sluice_conn_opt_bool(const sluice_module_config *cfg, const char *key,
                                  const char *kind, const char *connector, int *out,
                                  char *errstr, size_t errstr_size);

/** Parse option `key` as a positive decimal integer (1..INT64_MAX) into
 *  *out, which keeps its value when the option is unset.  Returns
 *  SLUICE_ERR_CONFIG naming the key and quoting the value. */
sluice_err_t sluice_conn_opt_posint(const sluice_module_config *cfg, const char *key,
                                    const char *kind, const char *connector, int64_t *out,
                                    char *errstr, size_t errstr_size);

/** Parse option `key` as exactly one character (a CSV delimiter) into
 *  *out, which keeps its value when the option is unset.  "\t" (two
 *  characters) and "tab" mean a tab.  A quote or newline is rejected. */
sluice_err_t sluice_conn_opt_char(const sluice_module_config *cfg, const char *key,
                                  const char *kind, const char *connector, char *out,
                                  char *errstr, size_t errstr_size);

/** Check cfg's options against the connector's option table (an unknown
 * key, a value not of its type, a missing required one), as the pipeline
 * does before open(); for instances opened without a pipeline.  "connector"
 * and "on_error" are the pipeline's and skipped.  SLUICE_ERR_CONFIG naming
 * the key and its file:line. */
sluice_err_t sluice_conn_check_specs(const sluice_module_config *cfg, const sluice_option_spec *specs,
                                     const char *kind, const char *connector, char *errstr, size_t errstr_size);

/** Report a bad value of option `key`: SLUICE_ERR_CONFIG with
 *  "KIND INSTANCE (CONNECTOR): option 'KEY' = 'VALUE' (FILE:LINE): WHY". */
sluice_err_t sluice_conn_bad_option(const sluice_module_config *cfg, const char *key,
                                    const char *kind, const char *connector,
                                    const char *why, char *errstr, size_t errstr_size);

/** The instance a fault wrapper wraps (sink), or `sink` itself when it is
 *  not a fault wrapper; lets the memory sink's C API see through a
 *  wrapper. */
const sluice_sink *sluice_fault_sink_unwrap(const sluice_sink *sink);

/** Same for sources. */
sluice_source *sluice_fault_source_unwrap(sluice_source *src);

#endif
