/*
 * sluice — the connectors a profile can bind a lookup table to
 * (`[lookup NAME]`, for a CREATE TABLE read by FOR SYSTEM_TIME AS OF in a
 * lookup join; exec/lookup.h).  Private.
 *
 * The pipeline checks a section's keys against the connector's option
 * table (typed, as the sources' and sinks'), then opens the table before
 * the engine runs; `sluice connectors` prints the tables.
 */
#ifndef SLUICE_CONNECTORS_LOOKUP_H
#define SLUICE_CONNECTORS_LOOKUP_H

#include <stddef.h>

#include "base/dead_letter.h"
#include "exec/lookup.h"
#include "plan/rel.h"
#include "sluice/error.h"
#include "sluice/module.h"

typedef struct sluice_lookup_connector {
    const char *name;
    const char *description;              /**< one sentence for the reference */
    const sluice_option_spec *option_specs; /**< checked by the pipeline before open */
    const char *shared_section;           /**< its shared section ("mysql"), or NULL */
    /** Open the table of lp (its columns: lp->table) with the section's
     *  options (checked against option_specs; `connector` among them).
     *  Rows that do not decode go to dlq (may be NULL) with their
     *  position.  shared: the NULL-terminated key,value pairs of its
     *  shared section (NULL when it has none).  Everything is borrowed
     *  until the table is closed.  SLUICE_OK with *out, or an error
     *  (SLUICE_ERR_CONFIG, SLUICE_ERR_IO, ...) with errstr saying why. */
    sluice_err_t (*open)(const sluice_lookup_plan *lp, const sluice_option *opts, size_t n,
                         const char *const *shared, const char *pipeline, sluice_dead_letter *dlq,
                         sluice_lookup_table **out, char *errstr, size_t errstr_size);
} sluice_lookup_connector;

/** The connector called name, or NULL. */
const sluice_lookup_connector *sluice_lookup_connector_find(const char *name);

/** Call fn for each lookup connector, in the reference's order. */
void sluice_lookup_connector_each(void (*fn)(void *ctx, const sluice_lookup_connector *c), void *ctx);

/** "file" — for messages. */
const char *sluice_lookup_connector_names(void);

/** The option `key` of a section (n options), or NULL. */
const sluice_option *sluice_lookup_option(const sluice_option *opts, size_t n, const char *key);

/** A whole CSV or JSON-lines file in memory (lookup_file.c). */
extern const sluice_lookup_connector sluice_lookup_file;

#ifdef SLUICE_WITH_MYSQL
/** Per-batch key queries to a MySQL/MariaDB table with a cache
 *  (mysql_lookup.c). */
extern const sluice_lookup_connector sluice_lookup_mysql;
#endif

#endif
