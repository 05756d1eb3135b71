/*
 * sluice runtime — the option tables of the sections the pipeline itself
 * reads ([pipeline], and the keys every source or sink section takes
 * besides its connector's), and the option reference of every connector
 * built in (`sluice connectors`, the generated part of docs/connectors.md).
 * Private.
 */
#ifndef SLUICE_RUNTIME_OPTIONS_REFERENCE_H
#define SLUICE_RUNTIME_OPTIONS_REFERENCE_H

#include <stdio.h>

#include "sluice/module.h"

/** [pipeline] (ended by a NULL name). */
extern const sluice_option_spec sluice_pipeline_specs[];
/** Keys of every [source NAME] section, read by the engine. */
extern const sluice_option_spec sluice_every_source_specs[];
/** Keys of every [sink NAME] section, read by the pipeline. */
extern const sluice_option_spec sluice_every_sink_specs[];

/** Print the option reference as Markdown: [pipeline], the keys of every
 *  source and sink, then per connector built into this binary its
 *  capabilities and its table, then the shared sections.  Deterministic
 *  (registry order), so docs/connectors.md can hold it verbatim. */
void sluice_connectors_reference(FILE *out);

#endif
