/*
 * The option tables of [pipeline] and of every source or sink section,
 * and the Markdown option reference (runtime/options_reference.h).
 */
#include <string.h>

#include "base/option_spec.h"
#include "connectors/lookup.h"
#include "registry.h"
#include "runtime/options_reference.h"

const sluice_option_spec sluice_pipeline_specs[] = {
    {"trigger", SLUICE_OPT_STRING, "200ms",
     "when a micro-batch starts: a processing-time interval (`500ms`, `1s`), or `available_now` (read what the "
     "input holds, then end the run)", NULL, 0, 0, 0},
    {"checkpoint_dir", SLUICE_OPT_STRING, NULL,
     "directory of the checkpoint: exactly-once restarts (see [checkpoints.md](checkpoints.md)); none by default",
     NULL, 0, 0, 0},
    {"checkpoint_every", SLUICE_OPT_INT, "1", "micro-batches between snapshots of the state", NULL, 1, 0, 0},
    {"dead_letter", SLUICE_OPT_STRING, NULL,
     "file that receives malformed, late and rejected rows as JSON lines; none by default (they are counted and "
     "logged)", NULL, 0, 0, 0},
    {"idle_timeout", SLUICE_OPT_DURATION, "30s",
     "a partition without records for this long no longer holds the watermark back", NULL, 0, 0, 0},
    {"max_batch_rows", SLUICE_OPT_INT, "65536", "records read per source per micro-batch, at most", NULL, 1, 0, 0},
    {"metrics", SLUICE_OPT_STRING, NULL,
     "`HOST:PORT` of the metrics and health endpoint (see [operations.md](operations.md#metrics)); off by default",
     NULL, 0, 0, 0},
    {"metrics.max_connections", SLUICE_OPT_INT, "64", "open connections to the metrics endpoint, at most", NULL, 1,
     0, 0},
    {"metrics.max_connections_per_client", SLUICE_OPT_INT, "8",
     "open connections from one client address, at most", NULL, 1, 0, 0},
    {"metrics.idle_timeout", SLUICE_OPT_DURATION, "10s", "an idle metrics connection is closed after this long",
     NULL, 0, 0, 0},
    {"healthz_timeout", SLUICE_OPT_DURATION, "60s",
     "`/healthz` fails when no micro-batch has completed for this long", NULL, 0, 0, 0},
    {"max_state_bytes", SLUICE_OPT_SIZE, NULL,
     "memory the query state may hold; reading pauses above it (backpressure); no cap by default", NULL, 0, 0, 0},
    {"state_ttl", SLUICE_OPT_DURATION, NULL,
     "a regular join forgets a row not matched or updated for this long (processing time; Flink's "
     "`table.exec.state.ttl`); results may then miss matches; off by default (join state grows with its inputs)",
     NULL, 0, 0, 0},
    {"fault.abort_in_snapshot", SLUICE_OPT_INT, NULL, "failure tests: abort halfway through the Nth snapshot write",
     NULL, 1, 0, 0},
    {"fault.abort_in_offsets", SLUICE_OPT_INT, NULL,
     "failure tests: abort halfway through the Nth offsets-record write", NULL, 1, 0, 0},
    {NULL, 0, NULL, NULL, NULL, 0, 0, 0},
};

const sluice_option_spec sluice_every_source_specs[] = {
    {"connector", SLUICE_OPT_STRING, NULL, "the connector; default: the profile's (`test`: file, `prod`: kafka)",
     NULL, 0, 0, 0},
    {"format", SLUICE_OPT_ENUM, "json",
     "how a record's bytes decode into the columns: JSON objects, CSV fields, or each line whole (one VARCHAR "
     "column)", "json|csv|lines", 0, 0, 0},
    {"csv.delimiter", SLUICE_OPT_CHAR, ",", "the CSV field separator", NULL, 0, 0, 0},
    {"idle_timeout", SLUICE_OPT_DURATION, NULL, "this source's idle timeout; default: `[pipeline] idle_timeout`",
     NULL, 0, 0, 0},
    {NULL, 0, NULL, NULL, NULL, 0, 0, 0},
};

const sluice_option_spec sluice_every_sink_specs[] = {
    {"connector", SLUICE_OPT_STRING, NULL, "the connector; default: the profile's (`test`: memory, `prod`: mysql)",
     NULL, 0, 0, 0},
    {"on_error", SLUICE_OPT_ENUM, "dead_letter",
     "a row the destination refuses for its own content goes to the dead letter and the epoch commits the rest, "
     "or the run fails (see \"Rows a sink cannot store\")", "dead_letter|fail", 0, 0, 0},
    {NULL, 0, NULL, NULL, NULL, 0, 0, 0},
};

typedef struct shared_seen {
    const char *names[16];
    size_t n;
} shared_seen;

static void capabilities(FILE *out, int source, const void *ops) {
    fputs("Capabilities:", out);
    if (source) {
        const sluice_source_ops *o = ops;
        fputs(o->seek && !o->no_replay ? " replays from a checkpoint (seek)"
              : o->seek                ? " positions from a checkpoint, cannot replay (a lost epoch is logged)"
                                       : " no checkpoint (cannot seek)",
              out);
        if (o->commit) fputs("; acknowledges committed epochs upstream", out);
        if (o->consumer_group) fputs("; consumer groups", out);
        if (o->lag) fputs("; reports consumer lag", out);
    } else {
        const sluice_sink_ops *o = ops;
        fputs(o->committed_epoch ? " exactly once with a checkpoint (records committed epochs)"
                                 : " no record of committed epochs (output repeats after a restart)",
              out);
        fputs("; applies the changelog (see \"Changelog at the sinks\")", out);
    }
    fputs(".\n\n", out);
}

typedef struct walk_ctx {
    FILE *out;
    int source;
    shared_seen *shared;
} walk_ctx;

static void one(void *ctx, int source, const char *name, const void *ops) {
    walk_ctx *w = ctx;
    if (source != w->source) return;
    const sluice_option_spec *specs = source ? ((const sluice_source_ops *)ops)->option_specs
                                             : ((const sluice_sink_ops *)ops)->option_specs;
    const char *shared = source ? ((const sluice_source_ops *)ops)->shared_section
                                : ((const sluice_sink_ops *)ops)->shared_section;
    const sluice_option_spec *sspecs = source ? ((const sluice_source_ops *)ops)->shared_specs
                                              : ((const sluice_sink_ops *)ops)->shared_specs;
    fprintf(w->out, "### %s `%s`\n\n", source ? "Source" : "Sink", name);
    capabilities(w->out, source, ops);
    if (specs) sluice_option_specs_markdown(w->out, specs);
    else fputs("Its options are checked by the connector itself (see its section below).\n", w->out);
    if (shared) fprintf(w->out, "\nShared settings: the `[%s]` section.\n", shared);
    fputc('\n', w->out);
    if (shared && sspecs) {
        for (size_t i = 0; i < w->shared->n; i++)
            if (strcmp(w->shared->names[i], shared) == 0) return;
        if (w->shared->n < 16) w->shared->names[w->shared->n++] = shared;
    }
}

static void one_shared(void *ctx, int source, const char *name, const void *ops) {
    walk_ctx *w = ctx;
    (void)name;
    const char *shared = source ? ((const sluice_source_ops *)ops)->shared_section
                                : ((const sluice_sink_ops *)ops)->shared_section;
    const sluice_option_spec *sspecs = source ? ((const sluice_source_ops *)ops)->shared_specs
                                              : ((const sluice_sink_ops *)ops)->shared_specs;
    if (!shared || !sspecs) return;
    for (size_t i = 0; i < w->shared->n; i++)
        if (w->shared->names[i] && strcmp(w->shared->names[i], shared) == 0) {
            fprintf(w->out, "### `[%s]`\n\n", shared);
            sluice_option_specs_markdown(w->out, sspecs);
            fputc('\n', w->out);
            w->shared->names[i] = NULL; /* printed */
            return;
        }
}

static void one_lookup(void *ctx, const sluice_lookup_connector *c) {
    FILE *out = ctx;
    fprintf(out, "### Lookup table `%s`\n\nA `[lookup NAME]` section: %s.\n\n", c->name, c->description);
    sluice_option_specs_markdown(out, c->option_specs);
    fputc('\n', out);
}

void sluice_connectors_reference(FILE *out) {
    fputs("### `[pipeline]`\n\n", out);
    sluice_option_specs_markdown(out, sluice_pipeline_specs);
    fputs("\n### Every `[source NAME]`\n\nBesides its connector's options:\n\n", out);
    sluice_option_specs_markdown(out, sluice_every_source_specs);
    fputs("\n### Every `[sink NAME]`\n\nBesides its connector's options:\n\n", out);
    sluice_option_specs_markdown(out, sluice_every_sink_specs);
    fputc('\n', out);
    shared_seen seen = {{0}, 0};
    walk_ctx w = {out, 1, &seen};
    sluice_registry_each(one, &w);
    w.source = 0;
    sluice_registry_each(one, &w);
    sluice_registry_each(one_shared, &w);
    sluice_lookup_connector_each(one_lookup, out);
}
