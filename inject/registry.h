/*
 * sluice inject — the one place that knows which modules exist: connector
 * name -> ops, and the built-in profiles.  Selecting a profile or a
 * connector is a table lookup at start-up.
 */
#ifndef SLUICE_INJECT_REGISTRY_H
#define SLUICE_INJECT_REGISTRY_H

#include <stddef.h>

#include "sluice/module.h"

/** A built-in profile: which connector a source or sink uses when its INI
 *  section names none. */
typedef struct sluice_profile {
    const char *name;            /**< "test", "prod" */
    const char *default_source;  /**< connector name, e.g. "file" */
    const char *default_sink;    /**< connector name, e.g. "memory" */
} sluice_profile;

/** The built-in profile called name, or NULL (any other profile name is
 *  allowed, but then every section must set `connector`). */
const sluice_profile *sluice_profile_find(const char *name);

/** Comma-separated names of the built-in profiles ("test, prod"). */
const char *sluice_profile_names(void);

/** Look up a connector.  Returns SLUICE_OK and sets *out; otherwise
 *  SLUICE_ERR_UNAVAILABLE for a known connector not built into this binary
 *  (errstr says which build option enables it) or SLUICE_ERR_CONFIG for an
 *  unknown name (errstr lists the known ones). */
sluice_err_t sluice_registry_source(const char *name, const sluice_source_ops **out,
                                    char *errstr, size_t errstr_size);
sluice_err_t sluice_registry_sink(const char *name, const sluice_sink_ops **out,
                                  char *errstr, size_t errstr_size);

/** Call fn(ctx, source, name, ops) for every connector built into this
 *  binary: the sources (source = 1, ops a sluice_source_ops) then the sinks
 *  (source = 0, ops a sluice_sink_ops), in the registry's order.  The
 *  fault wrapper, a test tool, is left out. */
void sluice_registry_each(void (*fn)(void *ctx, int source, const char *name, const void *ops), void *ctx);

/** The shared section ([kafka]) of connector `name` as a source (source
 *  = 1) or sink (0): its ops' shared_section, also for a known connector
 *  not built into this binary; NULL when it has none or is unknown. */
const char *sluice_registry_shared_section(int source, const char *name);

/** Fill names (at most max) with the distinct shared sections the known
 *  connectors declare, sources' first, in table order ("kafka", "mysql",
 *  "redis"); returns how many.  The strings are static. */
size_t sluice_registry_shared_sections(const char **names, size_t max);

#endif
