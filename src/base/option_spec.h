/*
 * sluice base — connector option tables (sluice_option_spec, sluice/module.h):
 * looking a key up, checking a value against its type, and printing a
 * table as the Markdown reference `sluice connectors` prints and
 * docs/connectors.md holds.  Private.
 */
#ifndef SLUICE_BASE_OPTION_SPEC_H
#define SLUICE_BASE_OPTION_SPEC_H

#include <stddef.h>
#include <stdio.h>

#include "sluice/module.h"

/** The entry of table t (ended by a NULL name; t may be NULL) for key: the
 *  entry named key, or a SLUICE_OPT_PREFIX entry key starts with.  NULL
 *  when there is none. */
const sluice_option_spec *sluice_option_spec_find(const sluice_option_spec *t, const char *key);

/** Check value against spec's type.  0, or -1 with why (a phrase such as
 *  "expected true or false") written into why. */
int sluice_option_spec_check(const sluice_option_spec *spec, const char *value, char *why, size_t why_size);

/** The names of table t, comma-separated, into buf (cut at size - 1). */
void sluice_option_spec_names(const sluice_option_spec *t, char *buf, size_t size);

/** The type of spec as the reference shows it ("duration", "one of
 *  json, csv", "integer >= 1").  Written into buf; returns buf. */
const char *sluice_option_spec_type_text(const sluice_option_spec *spec, char *buf, size_t size);

/** Print table t as Markdown: a header row, then one row per option
 *  (key, type, default, description; a required option says so, a prefix
 *  shows as `kafka.*`). */
void sluice_option_specs_markdown(FILE *out, const sluice_option_spec *t);

#endif
