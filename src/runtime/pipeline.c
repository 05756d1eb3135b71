/*
 * The embedding API: a pipeline is the SQL's plan, the profile's bindings
 * (connector and options per source and sink), the opened modules, the
 * query engine and execute()'s state.
 */
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <libgen.h>
#include <stdio.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "base/config.h"
#include "base/dead_letter.h"
#include "base/fsutil.h"
#include "runtime/execute.h"
#include "base/log.h"
#include "base/option_spec.h"
#include "runtime/options_reference.h"
#include "runtime/metrics.h"
#include "runtime/run_status.h"
#include "runtime/sink_reject.h"
#include "base/stop.h"
#include "state/checkpoint.h"
#include "connectors/function.h"
#include "connectors/lookup.h"
#include "exec/engine.h"
#include "exec/udf.h"
#include "plan/plan.h"
#include "plan/rel.h"
#include "registry.h"
#include "sluice/sluice.h"
#include "sql/parser.h"

const char *sluice_version(void) {
    return SLUICE_VERSION;
}

typedef struct binding {
    const char *name;              /* source or sink name in the SQL */
    const char *connector;
    const sluice_option *where;    /* the `connector` line, for messages */
    sluice_option *options;        /* the section's entries */
    size_t noptions;
    sluice_module_config mc;
    const sluice_option *on_error; /* sinks: the on_error line, kept out of mc */
    sluice_sink_reject reject;     /* sinks: the on_error policy */
} binding;

/* At most this many distinct shared sections among the known connectors. */
#define SHARED_MAX 8

struct sluice_pipeline {
    char *sql_path;
    char *pipeline_name;
    char *profile;
    char *sql_text;
    sluice_arena *ast_arena;
    sluice_ast_pipeline *ast;
    sluice_plan *plan;
    sluice_config *cfg;
    binding *src_bind, *sink_bind;
    const sluice_source_ops **src_ops;
    const sluice_sink_ops **sink_ops;
    sluice_source **sources;
    sluice_sink **sinks;
    const char **source_names, **sink_names;
    sluice_engine_source_options *src_opts;
    sluice_transform *transform;
    sluice_dead_letter *dlq;
    /* the shared sections connectors declare ([kafka], [mysql], ...):
     * names[i] and its key,value pairs kv[i] */
    const char *shared_names[SHARED_MAX];
    char **shared_kv[SHARED_MAX];
    size_t nshared;
    char **default_groups;         /* per source, when several read Kafka */
    sluice_exec exec;
    int exec_ready;
    sluice_metrics *metrics;
    sluice_ckpt *ckpt;
    /* per CREATE FUNCTION: its [function NAME] section, connector, key,value
     * pairs for init and the binding the engine calls */
    binding *fn_bind;
    const sluice_function_connector **fn_conn;
    char ***fn_kv;
    sluice_udf_binding *fn_udf;
    /* per lookup table (a CREATE TABLE of FOR SYSTEM_TIME AS OF): its
     * [lookup NAME] section, connector and opened table */
    size_t nlookups;
    const char **lk_names;
    binding *lk_bind;
    const sluice_lookup_connector **lk_conn;
    sluice_lookup_table **lk_tables;
    char ***lk_shared;             /* per table: its shared section's key,value pairs, or NULL */
};

static char *xstrdup(const char *s) {
    return s ? strdup(s) : NULL;
}

/* The largest .sql file read: a pipeline is text a person writes; more
 * is a mistake (a data file, /dev/zero), refused rather than read forever. */
#define MAX_SQL_BYTES (16u << 20)

/* The whole file (NUL-terminated, malloc'd), or NULL with errno set
 * (EFBIG beyond MAX_SQL_BYTES). */
static char *read_file(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    size_t cap = 8192, n = 0, r;
    char *buf = malloc(cap);
    while (buf && (r = fread(buf + n, 1, cap - n - 1, f)) > 0) {
        n += r;
        if (n > MAX_SQL_BYTES) {
            free(buf);
            fclose(f);
            errno = EFBIG;
            return NULL;
        }
        if (cap - n - 1 == 0) {
            char *nb = realloc(buf, cap *= 2);
            if (!nb) {
                free(buf);
                buf = NULL;
            }
            buf = nb;
        }
    }
    int bad = ferror(f);
    fclose(f);
    if (!buf || bad) {
        free(buf);
        return NULL;
    }
    buf[n] = '\0';
    *len = n;
    return buf;
}

/* pipeline name and default profile file from the .sql path */
static char *sql_stem(const char *sql_path) {
    const char *base = strrchr(sql_path, '/');
    base = base ? base + 1 : sql_path;
    char *stem = strdup(base);
    if (!stem) return NULL;
    size_t n = strlen(stem);
    if (n > 4 && strcmp(stem + n - 4, ".sql") == 0) stem[n - 4] = '\0';
    return stem;
}

static char *default_config_path(const char *sql_path, const char *stem, const char *profile) {
    char *copy = strdup(sql_path);
    if (!copy) return NULL;
    const char *dir = dirname(copy);
    size_t n = strlen(dir) + strlen(stem) + strlen(profile) + 8;
    char *p = malloc(n);
    if (p) snprintf(p, n, "%s/%s.%s.ini", dir, stem, profile);
    free(copy);
    return p;
}

static sluice_err_t parse_and_plan(sluice_pipeline *p, const char *sql_path, char *errstr, size_t errstr_size) {
    size_t len = 0;
    errno = 0;
    p->sql_text = read_file(sql_path, &len);
    if (!p->sql_text && errno == EFBIG)
        return sluice_seterr(errstr, errstr_size, SLUICE_ERR_CONFIG,
                             "cannot read pipeline '%s': more than %u MiB, which no pipeline is (is it the right file?)",
                             sql_path, MAX_SQL_BYTES >> 20);
    if (!p->sql_text)
        return sluice_seterr(errstr, errstr_size, SLUICE_ERR_CONFIG, "cannot read pipeline '%s': %s", sql_path,
                             strerror(errno ? errno : EIO));
    p->ast_arena = sluice_arena_new(0);
    if (!p->ast_arena) return SLUICE_ERR_NOMEM;
    sluice_err_t err = sluice_sql_parse(p->sql_text, len, sql_path, p->ast_arena, &p->ast, errstr, errstr_size);
    if (err) return err;
    return sluice_plan_build(p->ast, &p->plan, errstr, errstr_size);
}

sluice_err_t sluice_explain_file(const char *sql_path, FILE *out, char *errstr, size_t errstr_size) {
    sluice_pipeline *p = calloc(1, sizeof *p);
    if (!p) return SLUICE_ERR_NOMEM;
    sluice_err_t err = parse_and_plan(p, sql_path, errstr, errstr_size);
    if (!err) sluice_plan_explain(p->plan, out);
    sluice_pipeline_close(p);
    return err;
}

/* ---------------- binding ---------------- */

/* the tables of [pipeline] and of the keys every source or sink section
 * takes: runtime/options_reference.c */
#define engine_source_keys sluice_every_source_specs
#define engine_sink_keys sluice_every_sink_specs

static int in_list(const char *const *list, const char *key) {
    for (; list && *list; list++)
        if (strcmp(*list, key) == 0) return 1;
    return 0;
}

/* "a, b, c": the names of table a then of table b, each once */
static void join_specs(char *buf, size_t size, const sluice_option_spec *a, const sluice_option_spec *b) {
    sluice_option_spec_names(a, buf, size);
    for (; b && b->name; b++) {
        if (sluice_option_spec_find(a, b->name)) continue;
        if (buf[0]) strncat(buf, ", ", size - strlen(buf) - 1);
        strncat(buf, b->name, size - strlen(buf) - 1);
        if (b->flags & SLUICE_OPT_PREFIX) strncat(buf, "*", size - strlen(buf) - 1);
    }
}

/* "a, b, c": the names of table a then of list b (its "connector" left
 * out: a has it) */
static void join_list(char *buf, size_t size, const sluice_option_spec *a, const char *const *b) {
    sluice_option_spec_names(a, buf, size);
    for (const char *const *k = b; k && *k; k++) {
        if (strcmp(*k, "connector") == 0) continue;
        if (buf[0]) strncat(buf, ", ", size - strlen(buf) - 1);
        strncat(buf, *k, size - strlen(buf) - 1);
    }
}

static sluice_err_t where_err(char *errstr, size_t errstr_size, const sluice_config_entry *e, const char *fmt,
                              const char *a, const char *b, const char *c) {
    char msg[700];
    snprintf(msg, sizeof msg, fmt, a, b, c);
    if (e->line > 0)
        return sluice_seterr(errstr, errstr_size, SLUICE_ERR_CONFIG, "%s:%d:%d: %s", e->file, e->line, e->col, msg);
    return sluice_seterr(errstr, errstr_size, SLUICE_ERR_CONFIG, "%s: %s", e->file, msg);
}

/* Is `section` the shared section of some known connector ([kafka])? */
static int is_shared(const sluice_pipeline *p, const char *section) {
    for (size_t i = 0; i < p->nshared; i++)
        if (strcmp(p->shared_names[i], section) == 0) return 1;
    return 0;
}

/* The first lookup join of the plan that looks up table `name`, or -1. */
static long lookup_index(const sluice_plan *plan, const char *name) {
    for (size_t i = 0; i < plan->nrels; i++)
        if (plan->rels[i].kind == SLUICE_REL_LOOKUP && strcmp(plan->rels[i].lookup->table_name, name) == 0)
            return (long)i;
    return -1;
}

/* 1 when [lookup name] may be bound: the SQL looks name up, or declares
 * it as a CREATE TABLE without a watermark that no query reads (a
 * profile shared by several pipelines, as a declared function). */
static int lookup_declared(const sluice_pipeline *p, const char *name) {
    if (lookup_index(p->plan, name) >= 0) return 1;
    if (sluice_plan_source_index(p->plan, name) >= 0) return 0;
    for (size_t i = 0; p->ast && i < p->ast->nsources; i++)
        if (p->ast->sources[i].is_table && !p->ast->sources[i].has_watermark && strcmp(p->ast->sources[i].name, name) == 0)
            return 1;
    return 0;
}

/* Check every section and [pipeline] key before anything else. */
static sluice_err_t check_sections(sluice_pipeline *p, char *errstr, size_t errstr_size) {
    const sluice_config *cfg = p->cfg;
    /* "[kafka], [mysql], ": the shared sections for the messages */
    char expected[200] = "";
    for (size_t i = 0; i < p->nshared; i++) {
        size_t n = strlen(expected);
        snprintf(expected + n, sizeof expected - n, "[%s], ", p->shared_names[i]);
    }
    /* headers first, so that an unknown section is reported at its [header]
     * line (an empty one has no entries at all) */
    for (size_t i = 0; i < cfg->nsections; i++) {
        const char *s = cfg->sections[i].name;
        int ok = strcmp(s, "pipeline") == 0 || is_shared(p, s) ||
                 (strncmp(s, "source ", 7) == 0 && sluice_plan_source_index(p->plan, s + 7) >= 0) ||
                 (strncmp(s, "sink ", 5) == 0 && sluice_plan_query_index(p->plan, s + 5) >= 0) ||
                 (strncmp(s, "function ", 9) == 0 && sluice_plan_function_index(p->plan, s + 9) >= 0) ||
                 (strncmp(s, "lookup ", 7) == 0 && lookup_declared(p, s + 7));
        if (!ok)
            return sluice_seterr(errstr, errstr_size, SLUICE_ERR_CONFIG,
                                 "%s:%d:1: unknown section [%s] (expected [pipeline], %s[source NAME] with a source of the "
                                 "SQL, [lookup NAME] with a lookup table of it, or [sink NAME] with a sink of the SQL)",
                                 cfg->path, cfg->sections[i].line, s, expected);
    }
    for (size_t i = 0; i < cfg->nentries; i++) {
        const sluice_config_entry *e = &cfg->entries[i];
        const char *s = e->section;
        if (strcmp(s, "pipeline") == 0) {
            if (!sluice_option_spec_find(sluice_pipeline_specs, e->key)) {
                char known[1200];
                sluice_option_spec_names(sluice_pipeline_specs, known, sizeof known);
                return where_err(errstr, errstr_size, e, "unknown key '%s' in [pipeline] (expected one of: %s%s)",
                                 e->key, known, "");
            }
            continue;
        }
        if (is_shared(p, s)) continue;
        if (strncmp(s, "source ", 7) == 0) {
            if (sluice_plan_source_index(p->plan, s + 7) < 0)
                return where_err(errstr, errstr_size, e, "section [%s]: the SQL has no source '%s'%s", s, s + 7, "");
            continue;
        }
        if (strncmp(s, "function ", 9) == 0) {
            if (sluice_plan_function_index(p->plan, s + 9) < 0)
                return where_err(errstr, errstr_size, e, "section [%s]: the SQL has no CREATE FUNCTION %s%s", s, s + 9,
                                 "");
            continue;
        }
        if (strncmp(s, "lookup ", 7) == 0) {
            if (!lookup_declared(p, s + 7))
                return where_err(errstr, errstr_size, e,
                                 "section [%s]: the SQL declares no lookup table '%s' (a CREATE TABLE without a "
                                 "watermark)%s",
                                 s, s + 7, "");
            continue;
        }
        if (strncmp(s, "sink ", 5) == 0) {
            if (sluice_plan_query_index(p->plan, s + 5) < 0)
                return where_err(errstr, errstr_size, e, "section [%s]: the SQL has no sink '%s'%s", s, s + 5, "");
            continue;
        }
        return where_err(errstr, errstr_size, e,
                         "unknown section [%s] (expected [pipeline], %s[source NAME] or [sink NAME])", s,
                         expected, "");
    }
    return SLUICE_OK;
}

static int section_present(const sluice_config *cfg, const char *section) {
    for (size_t i = 0; i < cfg->nsections; i++)
        if (strcmp(cfg->sections[i].name, section) == 0) return 1;
    for (size_t i = 0; i < cfg->nentries; i++)
        if (strcmp(cfg->entries[i].section, section) == 0) return 1;
    return 0;
}

static sluice_err_t collect(const sluice_config *cfg, const char *section, binding *b) {
    size_t n = 0;
    for (size_t i = 0; i < cfg->nentries; i++)
        if (strcmp(cfg->entries[i].section, section) == 0) n++;
    b->options = calloc(n + 1, sizeof *b->options);
    if (!b->options) return SLUICE_ERR_NOMEM;
    for (size_t i = 0; i < cfg->nentries; i++) {
        const sluice_config_entry *e = &cfg->entries[i];
        if (strcmp(e->section, section) != 0) continue;
        sluice_option *o = &b->options[b->noptions++];
        o->key = e->key;
        o->value = e->value;
        o->file = e->file;
        o->line = e->line;
    }
    return SLUICE_OK;
}

static char **shared_section(const sluice_config *cfg, const char *section) {
    size_t n = 0;
    for (size_t i = 0; i < cfg->nentries; i++)
        if (strcmp(cfg->entries[i].section, section) == 0) n++;
    char **kv = calloc(2 * n + 1, sizeof *kv);
    if (!kv) return NULL;
    size_t j = 0;
    for (size_t i = 0; i < cfg->nentries; i++) {
        if (strcmp(cfg->entries[i].section, section) != 0) continue;
        kv[j++] = cfg->entries[i].key;
        kv[j++] = cfg->entries[i].value;
    }
    return kv;
}

static sluice_err_t opt_err(char *errstr, size_t errstr_size, const sluice_option *o, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static sluice_err_t opt_err(char *errstr, size_t errstr_size, const sluice_option *o, const char *fmt, ...) {
    char msg[700];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (o && o->line > 0)
        return sluice_seterr(errstr, errstr_size, SLUICE_ERR_CONFIG, "%s:%d: %s", o->file, o->line, msg);
    if (o) return sluice_seterr(errstr, errstr_size, SLUICE_ERR_CONFIG, "%s: %s", o->file, msg);
    return sluice_seterr(errstr, errstr_size, SLUICE_ERR_CONFIG, "%s", msg);
}

/* Resolve the connector of one source or sink and check its option keys. */

/* Check a section against its connector's option table: an unknown key, a
 * value that is not of the option's type, a required option missing. */
static sluice_err_t check_specs(const binding *b, const char *section, int is_source,
                                const sluice_option_spec *specs, char *errstr, size_t errstr_size) {
    const sluice_option_spec *engine_keys = is_source ? engine_source_keys : engine_sink_keys;
    for (size_t i = 0; i < b->noptions; i++) {
        const sluice_option *o = &b->options[i];
        /* the connector's entry first (its `format` has its own choices) */
        const sluice_option_spec *sp = sluice_option_spec_find(specs, o->key);
        if (!sp) sp = sluice_option_spec_find(engine_keys, o->key);
        if (!sp) {
            char known[1200];
            join_specs(known, sizeof known, engine_keys, specs);
            return opt_err(errstr, errstr_size, o, "unknown key '%s' in [%s] for connector '%s' (expected one of: %s)",
                           o->key, section, b->connector, known);
        }
        char why[400];
        if (sluice_option_spec_check(sp, o->value, why, sizeof why) != 0)
            return opt_err(errstr, errstr_size, o, "[%s] %s = '%s': %s", section, o->key,
                           (sp->flags & SLUICE_OPT_SECRET) || sluice_config_secret_key(o->key) ? "****" : o->value, why);
    }
    for (const sluice_option_spec *sp = specs; sp->name; sp++) {
        if (!(sp->flags & SLUICE_OPT_REQUIRED)) continue;
        int set = 0;
        for (size_t i = 0; i < b->noptions && !set; i++) set = strcmp(b->options[i].key, sp->name) == 0;
        if (!set)
            return opt_err(errstr, errstr_size, b->where, "%s %s (%s): option '%s' is required (%s)",
                           is_source ? "source" : "sink", b->name, b->connector, sp->name,
                           sp->description ? sp->description : "");
    }
    return SLUICE_OK;
}

static sluice_err_t bind_one(sluice_pipeline *p, const sluice_profile *prof, int is_source, const char *name,
                             binding *b, char *errstr, size_t errstr_size) {
    char section[300];
    snprintf(section, sizeof section, "%s %s", is_source ? "source" : "sink", name);
    b->name = name;
    sluice_err_t err = collect(p->cfg, section, b);
    if (err) return err;
    if (!is_source) { /* the last on_error wins (--set overrides the file); none reaches the connector */
        size_t n = 0;
        for (size_t i = 0; i < b->noptions; i++) {
            if (strcmp(b->options[i].key, "on_error") == 0) b->on_error = &b->options[i];
            else b->options[n++] = b->options[i];
        }
        if (b->on_error) {
            b->options[n] = *b->on_error;
            b->on_error = &b->options[n];
        }
        b->noptions = n;
    }
    b->mc.pipeline = p->pipeline_name;
    b->mc.instance = name;
    b->mc.options = b->options;
    b->mc.noptions = b->noptions;
    b->where = sluice_module_config_find(&b->mc, "connector");
    b->connector = b->where ? b->where->value : prof ? (is_source ? prof->default_source : prof->default_sink) : NULL;
    if (is_source && !section_present(p->cfg, section))
        return sluice_seterr(errstr, errstr_size, SLUICE_ERR_CONFIG,
                             "%s: source %s is not bound: add a [source %s] section (e.g. path = ... for the file "
                             "connector, topic = ... for kafka)",
                             p->cfg->path ? p->cfg->path : "profile", name, name);
    if (!b->connector)
        return sluice_seterr(errstr, errstr_size, SLUICE_ERR_CONFIG,
                             "%s: %s %s has no connector: profile '%s' is not built in (%s), so set connector = ... in "
                             "[%s]",
                             p->cfg->path ? p->cfg->path : "profile", is_source ? "source" : "sink", name, p->profile,
                             sluice_profile_names(), section);
    char e[400];
    const char *const *module_keys;
    const sluice_option_spec *specs;
    if (is_source) {
        const sluice_source_ops **ops = &p->src_ops[sluice_plan_source_index(p->plan, name)];
        err = sluice_registry_source(b->connector, ops, e, sizeof e);
        module_keys = err ? NULL : (*ops)->options;
        specs = err ? NULL : (*ops)->option_specs;
    } else {
        const sluice_sink_ops **ops = &p->sink_ops[sluice_plan_query_index(p->plan, name)];
        err = sluice_registry_sink(b->connector, ops, e, sizeof e);
        module_keys = err ? NULL : (*ops)->options;
        specs = err ? NULL : (*ops)->option_specs;
    }
    if (err) {
        if (b->where) {
            opt_err(errstr, errstr_size, b->where, "[%s]: %s", section, e);
            return err; /* UNAVAILABLE or CONFIG, with the file:line message */
        }
        return sluice_seterr(errstr, errstr_size, err, "%s %s (profile %s): %s", is_source ? "source" : "sink", name,
                             p->profile, e);
    }
    /* the connector's option table: every key, every value's type, the
     * required ones (the same check for `sluice check` and `sluice run`) */
    if (specs) return check_specs(b, section, is_source, specs, errstr, errstr_size);
    /* a module whose option list is NULL validates its own options */
    if (module_keys) {
        const sluice_option_spec *engine_keys = is_source ? engine_source_keys : engine_sink_keys;
        for (size_t i = 0; i < b->noptions; i++) {
            const sluice_option *o = &b->options[i];
            if (sluice_option_spec_find(engine_keys, o->key) || in_list(module_keys, o->key)) continue;
            char known[600];
            join_list(known, sizeof known, engine_keys, module_keys);
            return opt_err(errstr, errstr_size, o, "unknown key '%s' in [%s] for connector '%s' (expected one of: %s)",
                           o->key, section, b->connector, known);
        }
    }
    return SLUICE_OK;
}

/* The connector whose shared section ([kafka], [mysql]) an instance gets:
 * its own, or for the fault wrapper the wrapped one. */
static const char *shared_connector(const binding *b) {
    if (strcmp(b->connector, "fault") == 0) {
        const char *inner = sluice_module_config_get(&b->mc, "fault.inner");
        if (inner) return inner;
    }
    return b->connector;
}

/* 1 when the source instance's connector joins consumer groups (its ops'
 * consumer_group). */
static int joins_group(const binding *b) {
    const sluice_source_ops *ops = NULL;
    char why[256];
    return sluice_registry_source(shared_connector(b), &ops, why, sizeof why) == SLUICE_OK && ops->consumer_group;
}

/* 1 when a and b name one existing file (same device and inode). */
static int same_file(const char *a, const char *b) {
    struct stat x, y;
    return a && b && stat(a, &x) == 0 && stat(b, &y) == 0 && x.st_dev == y.st_dev && x.st_ino == y.st_ino;
}

/* A sink's `path` or the dead-letter file that is the very file a source
 * reads (its `path`) would truncate (or grow) the input before it is read:
 * the input is destroyed and the run reads nothing, or its own output.
 * Refused (exit 2) before anything is opened; `sluice check` finds it
 * too.  By option name, so any connector with a `path` is covered. */
static sluice_err_t refuse_output_on_input(sluice_pipeline *p, char *errstr, size_t errstr_size) {
    const sluice_config_entry *dl = sluice_config_find(p->cfg, "pipeline", "dead_letter");
    for (size_t i = 0; i < p->plan->nsources; i++) {
        const char *in = sluice_module_config_get(&p->src_bind[i].mc, "path");
        if (!in) continue;
        for (size_t k = 0; k < p->plan->nqueries; k++) {
            const char *out = sluice_module_config_get(&p->sink_bind[k].mc, "path");
            if (same_file(in, out))
                return sluice_seterr(errstr, errstr_size, SLUICE_ERR_CONFIG,
                                     "sink %s (%s): path '%s' is the file that source %s reads ('%s'): writing "
                                     "it would destroy the input; give the sink another path",
                                     p->plan->queries[k].name, p->sink_bind[k].connector, out,
                                     p->plan->sources[i].name, in);
        }
        if (dl && same_file(in, dl->value))
            return sluice_seterr(errstr, errstr_size, SLUICE_ERR_CONFIG,
                                 "%s:%d: dead_letter = '%s' is the file that source %s reads ('%s'): writing it "
                                 "would destroy the input; give the dead letters another file",
                                 dl->file, dl->line, dl->value, p->plan->sources[i].name, in);
    }
    return SLUICE_OK;
}

/* The inputs part of the checkpoint's fingerprint: per source, the values
 * of its connector's options that name its input (SLUICE_OPT_IDENTITY: a
 * file's path, resolved; a topic), so that a restart reading other input is
 * refused (state/checkpoint.c).  Nothing when no source has such options
 * (the fingerprint of earlier versions). */
static void write_inputs(const sluice_pipeline *p, FILE *f) {
    int any = 0;
    for (size_t i = 0; i < p->plan->nsources; i++) {
        const sluice_option_spec *specs = p->src_ops[i] ? p->src_ops[i]->option_specs : NULL;
        for (const sluice_option_spec *sp = specs; sp && sp->name; sp++) {
            if (!(sp->flags & SLUICE_OPT_IDENTITY)) continue;
            const char *v = sluice_module_config_get(&p->src_bind[i].mc, sp->name);
            if (!v) continue;
            char resolved[PATH_MAX];
            if ((sp->flags & SLUICE_OPT_FILE) && realpath(v, resolved)) v = resolved;
            if (!any++) fputs("inputs:\n", f);
            fprintf(f, "source %s: %s %s = %s\n", p->plan->sources[i].name, p->src_bind[i].connector, sp->name, v);
        }
    }
}

/* Check the entries of shared section `section` ([mysql]) against its
 * connector's table: unknown keys and values of the wrong type. */
static sluice_err_t check_shared_specs(const sluice_pipeline *p, const char *section, const sluice_option_spec *specs,
                                       char *errstr, size_t errstr_size) {
    for (size_t i = 0; i < p->cfg->nentries; i++) {
        const sluice_config_entry *e = &p->cfg->entries[i];
        if (strcmp(e->section, section) != 0) continue;
        const sluice_option o = {e->key, e->value, e->file, e->line};
        const sluice_option_spec *sp = sluice_option_spec_find(specs, e->key);
        if (!sp) {
            char known[1200];
            sluice_option_spec_names(specs, known, sizeof known);
            return opt_err(errstr, errstr_size, &o, "unknown key '%s' in [%s] (expected one of: %s)", e->key, section,
                           known);
        }
        char why[400];
        if (sluice_option_spec_check(sp, e->value, why, sizeof why) != 0)
            return opt_err(errstr, errstr_size, &o, "[%s] %s = '%s': %s", section, e->key,
                           (sp->flags & SLUICE_OPT_SECRET) || sluice_config_secret_key(e->key) ? "****" : e->value,
                           why);
    }
    return SLUICE_OK;
}

/* The shared sections of the bound connectors, each against its table. */
static sluice_err_t check_shared(const sluice_pipeline *p, char *errstr, size_t errstr_size) {
    sluice_err_t err = SLUICE_OK;
    for (size_t i = 0; i < p->plan->nsources && !err; i++)
        if (p->src_ops[i] && p->src_ops[i]->shared_specs && p->src_ops[i]->shared_section)
            err = check_shared_specs(p, p->src_ops[i]->shared_section, p->src_ops[i]->shared_specs, errstr,
                                     errstr_size);
    for (size_t k = 0; k < p->plan->nqueries && !err; k++)
        if (p->sink_ops[k] && p->sink_ops[k]->shared_specs && p->sink_ops[k]->shared_section)
            err = check_shared_specs(p, p->sink_ops[k]->shared_section, p->sink_ops[k]->shared_specs, errstr,
                                     errstr_size);
    return err;
}

/* The key,value pairs of the shared section an instance gets (its
 * connector's ops declare it), or NULL. */
static char **shared_for(const sluice_pipeline *p, int source, const binding *b) {
    const char *sec = sluice_registry_shared_section(source, shared_connector(b));
    for (size_t i = 0; sec && i < p->nshared; i++)
        if (strcmp(p->shared_names[i], sec) == 0) return p->shared_kv[i];
    return NULL;
}

static sluice_err_t source_options(sluice_pipeline *p, size_t i, int64_t default_idle, char *errstr,
                                   size_t errstr_size) {
    binding *b = &p->src_bind[i];
    sluice_engine_source_options *o = &p->src_opts[i];
    o->format = SLUICE_FORMAT_JSON;
    o->idle_timeout_ms = default_idle;
    const sluice_option *f = sluice_module_config_find(&b->mc, "format");
    if (f) {
        if (strcmp(f->value, "json") == 0) o->format = SLUICE_FORMAT_JSON;
        else if (strcmp(f->value, "csv") == 0) o->format = SLUICE_FORMAT_CSV;
        else if (strcmp(f->value, "lines") == 0) o->format = SLUICE_FORMAT_LINES;
        else return opt_err(errstr, errstr_size, f, "format = '%s': expected json, csv or lines", f->value);
    }
    const sluice_option *d = sluice_module_config_find(&b->mc, "csv.delimiter");
    if (d) {
        if (strlen(d->value) != 1)
            return opt_err(errstr, errstr_size, d, "csv.delimiter = '%s': expected exactly one character", d->value);
        o->csv_delimiter = d->value[0];
    }
    const sluice_option *it = sluice_module_config_find(&b->mc, "idle_timeout");
    if (it && sluice_parse_duration_ms(it->value, &o->idle_timeout_ms) != 0)
        return opt_err(errstr, errstr_size, it, "idle_timeout = '%s': expected a duration such as 30s or 500ms",
                       it->value);
    return SLUICE_OK;
}

/* execute() observer: refresh the metrics after every loop iteration. */
static void on_step(void *ctx, const sluice_step_info *info) {
    sluice_pipeline *p = ctx;
    sluice_metrics *m = p->metrics;
    if (!m) return;
    for (size_t i = 0; i < p->plan->nsources; i++) {
        sluice_engine_source_stats ss;
        sluice_engine_source_stats_get(p->transform, i, &ss);
        sluice_metrics_set_source(m, i, ss.input_rows, ss.malformed_rows);
        sluice_source *src = p->sources[i];
        if (src->ops->lag) {
            size_t max = 1024;
            sluice_partition_ref *parts = calloc(max, sizeof *parts);
            int64_t *lags = calloc(max, sizeof *lags);
            const char **topics = calloc(max, sizeof *topics);
            int32_t *nums = calloc(max, sizeof *nums);
            if (parts && lags && topics && nums) {
                size_t n = src->ops->lag(src, parts, lags, max);
                for (size_t k = 0; k < n; k++) {
                    topics[k] = parts[k].topic;
                    nums[k] = parts[k].partition;
                }
                sluice_metrics_set_lag(m, i, topics, nums, lags, n);
            }
            free(parts);
            free(lags);
            free(topics);
            free(nums);
        }
    }
    for (size_t k = 0; k < p->plan->nqueries; k++) {
        sluice_engine_query_stats qs;
        sluice_engine_query_stats_get(p->transform, k, &qs);
        sluice_metrics_set_query(m, k, qs.late_rows, qs.state_rows, qs.state_bytes, qs.watermark);
    }
    if (info->epoch >= 0) {
        sluice_metrics_observe_batch(m, info->duration_s,
                                     info->duration_s > 0 ? (double)info->input_rows / info->duration_s : 0.0);
        for (size_t k = 0; k < p->plan->nqueries; k++)
            sluice_metrics_observe_sink(m, k, info->sink_rows[k], info->sink_commit_s[k]);
    }
    for (size_t k = 0; k < p->plan->nqueries; k++) sluice_metrics_set_sink_rejected(m, k, p->sink_bind[k].reject.rejected);
    sluice_metrics_set_backpressure(m, info->backpressure);
    sluice_metrics_heartbeat(m);
}

static void log_startup(const sluice_pipeline *p);

static const sluice_option *find_opt(const binding *b, const char *key) {
    for (size_t i = 0; i < b->noptions; i++)
        if (strcmp(b->options[i].key, key) == 0) return &b->options[i];
    return NULL;
}

/* Bind every CREATE FUNCTION to its [function NAME] section: the common
 * keys here, the rest by the connector — validated only (sluice check), or
 * opened (the library loaded) and handed to the plan for the engine. */
static sluice_err_t bind_functions(sluice_pipeline *p, int validate_only, char *errstr, size_t errstr_size) {
    sluice_plan *plan = p->plan;
    if (!plan->nfunctions) return SLUICE_OK;
    p->fn_bind = calloc(plan->nfunctions, sizeof *p->fn_bind);
    p->fn_conn = calloc(plan->nfunctions, sizeof *p->fn_conn);
    p->fn_kv = calloc(plan->nfunctions, sizeof *p->fn_kv);
    p->fn_udf = calloc(plan->nfunctions, sizeof *p->fn_udf);
    if (!p->fn_bind || !p->fn_conn || !p->fn_kv || !p->fn_udf) return SLUICE_ERR_NOMEM;
    for (size_t i = 0; i < plan->nfunctions; i++) {
        sluice_function_plan *f = &plan->functions[i];
        binding *b = &p->fn_bind[i];
        char section[300];
        snprintf(section, sizeof section, "function %s", f->name);
        sluice_err_t err = collect(p->cfg, section, b);
        if (err) return err;
        const sluice_option *conn = find_opt(b, "connector");
        if (!conn)
            return sluice_seterr(errstr, errstr_size, SLUICE_ERR_CONFIG,
                                 "%s: function %s (%s:%d:%d) is not bound: add a [function %s] section (connector: "
                                 "%s)",
                                 p->cfg->path, f->name, plan->filename, f->line, f->col, f->name,
                                 sluice_function_connector_names());
        b->name = f->name;
        b->connector = conn->value;
        if (!(p->fn_conn[i] = sluice_function_connector_find(conn->value)))
            return opt_err(errstr, errstr_size, conn, "[%s]: unknown connector '%s' (expected one of: %s)", section,
                           conn->value, sluice_function_connector_names());
        sluice_udf_binding *u = &p->fn_udf[i];
        u->name = f->name;
        u->batch_size = 512;
        u->on_error = SLUICE_UDF_DEAD_LETTER;
        const sluice_option *o;
        int64_t n;
        if ((o = find_opt(b, "batch_size"))) {
            if (sluice_parse_positive(o->value, &n) != 0 || n > 1000000)
                return opt_err(errstr, errstr_size, o, "batch_size = '%s' in [%s]: expected rows per call, 1 to 1000000",
                               o->value, section);
            u->batch_size = (size_t)n;
        }
        if ((o = find_opt(b, "on_error")) && sluice_udf_on_error_parse(o->value, &u->on_error) != 0)
            return opt_err(errstr, errstr_size, o,
                           "on_error = '%s' in [%s]: expected dead_letter (the row goes to the dead letter, the "
                           "default), null (the result is NULL) or fail (the pipeline stops)",
                           o->value, section);
        if ((err = p->fn_conn[i]->validate(f, b->options, b->noptions, errstr, errstr_size))) return err;
        if (validate_only) continue;
        char **kv = calloc(2 * b->noptions + 1, sizeof *kv);
        if (!kv) return SLUICE_ERR_NOMEM;
        p->fn_kv[i] = kv;
        for (size_t k = 0; k < b->noptions; k++) {
            kv[2 * k] = (char *)b->options[k].key;
            kv[2 * k + 1] = (char *)b->options[k].value;
        }
        if ((err = p->fn_conn[i]->open(f, b->options, b->noptions, (const char *const *)kv, u, errstr, errstr_size)))
            return err;
        f->binding = u;
    }
    return SLUICE_OK;
}

/* Bind every looked-up CREATE TABLE to its [lookup NAME] section: the
 * keys checked against the connector's option table (sluice check stops
 * there); open_lookups() opens them. */
static sluice_err_t bind_lookups(sluice_pipeline *p, char *errstr, size_t errstr_size) {
    const sluice_plan *plan = p->plan;
    size_t n = 0;
    for (size_t i = 0; i < plan->nrels; i++)
        if (plan->rels[i].kind == SLUICE_REL_LOOKUP && lookup_index(plan, plan->rels[i].lookup->table_name) == (long)i)
            n++;
    if (!n) return SLUICE_OK;
    p->lk_names = calloc(n, sizeof *p->lk_names);
    p->lk_bind = calloc(n, sizeof *p->lk_bind);
    p->lk_conn = calloc(n, sizeof *p->lk_conn);
    p->lk_tables = calloc(n, sizeof *p->lk_tables);
    p->lk_shared = calloc(n, sizeof *p->lk_shared);
    if (!p->lk_names || !p->lk_bind || !p->lk_conn || !p->lk_tables || !p->lk_shared) return SLUICE_ERR_NOMEM;
    for (size_t i = 0; i < plan->nrels; i++) {
        if (plan->rels[i].kind != SLUICE_REL_LOOKUP || lookup_index(plan, plan->rels[i].lookup->table_name) != (long)i)
            continue;
        size_t j = p->nlookups++;
        const char *name = plan->rels[i].lookup->table_name;
        p->lk_names[j] = name;
        binding *b = &p->lk_bind[j];
        char section[300];
        snprintf(section, sizeof section, "lookup %s", name);
        sluice_err_t err = collect(p->cfg, section, b);
        if (err) return err;
        b->name = name;
        const sluice_option *conn = find_opt(b, "connector");
        if (!conn)
            return sluice_seterr(errstr, errstr_size, SLUICE_ERR_CONFIG,
                                 "%s: lookup table %s (FOR SYSTEM_TIME AS OF in %s) is not bound: add a [lookup %s] "
                                 "section (connector: %s)",
                                 p->cfg->path, name, plan->filename, name, sluice_lookup_connector_names());
        b->connector = conn->value;
        if (!(p->lk_conn[j] = sluice_lookup_connector_find(conn->value)))
            return opt_err(errstr, errstr_size, conn, "[%s]: unknown connector '%s' (expected one of: %s)", section,
                           conn->value, sluice_lookup_connector_names());
        const sluice_option_spec *specs = p->lk_conn[j]->option_specs;
        for (size_t k = 0; k < b->noptions; k++) {
            const sluice_option *o = &b->options[k];
            const sluice_option_spec *sp = sluice_option_spec_find(specs, o->key);
            char why[300];
            if (!sp) {
                char known[600];
                sluice_option_spec_names(specs, known, sizeof known);
                return opt_err(errstr, errstr_size, o, "unknown key '%s' in [%s] (expected one of: %s)", o->key,
                               section, known);
            }
            if (sluice_option_spec_check(sp, o->value, why, sizeof why) != 0)
                return opt_err(errstr, errstr_size, o, "%s = '%s' in [%s]: %s", o->key, o->value, section, why);
        }
        for (const sluice_option_spec *sp = specs; sp->name; sp++)
            if ((sp->flags & SLUICE_OPT_REQUIRED) && !find_opt(b, sp->name))
                return opt_err(errstr, errstr_size, conn, "[%s]: missing required key '%s'", section, sp->name);
    }
    return SLUICE_OK;
}

/* Open the lookup tables bound by bind_lookups() and hand each to the
 * lookup joins that read it. */
static sluice_err_t open_lookups(sluice_pipeline *p, char *errstr, size_t errstr_size) {
    sluice_plan *plan = p->plan;
    for (size_t j = 0; j < p->nlookups; j++) {
        long first = lookup_index(plan, p->lk_names[j]);
        const char *shared = p->lk_conn[j]->shared_section;
        if (shared && !(p->lk_shared[j] = shared_section(p->cfg, shared))) return SLUICE_ERR_NOMEM;
        sluice_err_t err = p->lk_conn[j]->open(plan->rels[first].lookup, p->lk_bind[j].options, p->lk_bind[j].noptions,
                                               (const char *const *)p->lk_shared[j], p->pipeline_name, p->dlq,
                                               &p->lk_tables[j], errstr, errstr_size);
        if (err) return err;
        for (size_t i = 0; i < plan->nrels; i++)
            if (plan->rels[i].kind == SLUICE_REL_LOOKUP && strcmp(plan->rels[i].lookup->table_name, p->lk_names[j]) == 0)
                plan->rels[i].lookup->table_binding = p->lk_tables[j];
    }
    return SLUICE_OK;
}

static sluice_err_t bind_pipeline(sluice_pipeline *p, const sluice_pipeline_options *opts, char *errstr,
                                  size_t errstr_size) {
    const sluice_plan *plan = p->plan;
    sluice_err_t err = check_sections(p, errstr, errstr_size);
    if (err) return err;
    const sluice_config_entry *e;
    int64_t trigger_ms = 200, idle_ms = 30000, max_rows = 65536;
    int available_now = 0;
    if ((e = sluice_config_find(p->cfg, "pipeline", "trigger"))) {
        if (strcmp(e->value, "available_now") == 0) available_now = 1;
        else if (sluice_parse_duration_ms(e->value, &trigger_ms) != 0)
            return where_err(errstr, errstr_size, e,
                             "trigger = '%s': expected a processing-time interval such as 200ms or 1s, or "
                             "available_now%s%s",
                             e->value, "", "");
    }
    if ((e = sluice_config_find(p->cfg, "pipeline", "idle_timeout")) && sluice_parse_duration_ms(e->value, &idle_ms) != 0)
        return where_err(errstr, errstr_size, e, "idle_timeout = '%s': expected a duration such as 30s%s%s", e->value, "",
                         "");
    if ((e = sluice_config_find(p->cfg, "pipeline", "max_batch_rows")) && sluice_parse_positive(e->value, &max_rows) != 0)
        return where_err(errstr, errstr_size, e, "max_batch_rows = '%s': expected a positive number of rows%s%s",
                         e->value, "", "");
    int64_t healthz_ms = 60000, max_state = 0;
    if ((e = sluice_config_find(p->cfg, "pipeline", "healthz_timeout")) &&
        (sluice_parse_duration_ms(e->value, &healthz_ms) != 0 || healthz_ms <= 0))
        return where_err(errstr, errstr_size, e, "healthz_timeout = '%s': expected a duration such as 60s%s%s", e->value,
                         "", "");
    if ((e = sluice_config_find(p->cfg, "pipeline", "max_state_bytes")) && sluice_parse_bytes(e->value, &max_state) != 0)
        return where_err(errstr, errstr_size, e,
                         "max_state_bytes = '%s': expected a size in bytes, optionally with k, M or G (e.g. 512M)%s%s",
                         e->value, "", "");
    int64_t state_ttl = 0;
    if ((e = sluice_config_find(p->cfg, "pipeline", "state_ttl")) &&
        (sluice_parse_duration_ms(e->value, &state_ttl) != 0 || state_ttl <= 0))
        return where_err(errstr, errstr_size, e, "state_ttl = '%s': expected a positive duration such as 1h%s%s",
                         e->value, "", "");
    /* regular joins keep every row unless told otherwise (Flink's table.exec.state.ttl) */
    for (size_t i = 0; i < plan->nrels; i++)
        if (plan->rels[i].kind == SLUICE_REL_JOIN && plan->rels[i].join->strategy == SLUICE_JOIN_REGULAR)
            plan->rels[i].join->state_ttl_ms = state_ttl;
    /* the metrics endpoint's limits (metrics.h has the defaults) */
    sluice_metrics_limits mlimits = {0, 0, 0};
    static const char *const mkeys[2] = {"metrics.max_connections", "metrics.max_connections_per_client"};
    unsigned *mvals[2] = {&mlimits.max_connections, &mlimits.max_per_client};
    for (int i = 0; i < 2; i++) {
        int64_t v;
        if (!(e = sluice_config_find(p->cfg, "pipeline", mkeys[i]))) continue;
        if (sluice_parse_positive(e->value, &v) != 0 || v > 100000)
            return where_err(errstr, errstr_size, e, "%s = '%s': expected a number of connections from 1 to 100000%s",
                             mkeys[i], e->value, "");
        *mvals[i] = (unsigned)v;
    }
    if ((e = sluice_config_find(p->cfg, "pipeline", "metrics.idle_timeout"))) {
        int64_t ms;
        if (sluice_parse_duration_ms(e->value, &ms) != 0 || ms < 1000 || ms > 86400000)
            return where_err(errstr, errstr_size, e,
                             "metrics.idle_timeout = '%s': expected a duration from 1s to 1d, such as 10s%s%s",
                             e->value, "", "");
        mlimits.idle_timeout_s = (unsigned)(ms / 1000);
    }
    int64_t checkpoint_every = 1;
    if ((e = sluice_config_find(p->cfg, "pipeline", "checkpoint_every")) &&
        sluice_parse_positive(e->value, &checkpoint_every) != 0)
        return where_err(errstr, errstr_size, e, "checkpoint_every = '%s': expected a positive number of epochs%s%s",
                         e->value, "", "");
    const sluice_config_entry *ckpt_entry = sluice_config_find(p->cfg, "pipeline", "checkpoint_dir");
    /* an empty value (`checkpoint_dir = ${CKPT:-}` with CKPT unset) named
     * the root: the checkpoint's files went to /lock, /meta, /state/ */
    static const char *const path_keys[2] = {"checkpoint_dir", "dead_letter"};
    for (int i = 0; i < 2; i++)
        if ((e = sluice_config_find(p->cfg, "pipeline", path_keys[i])) && !e->value[0])
            return where_err(errstr, errstr_size, e, "%s is empty: name a %s, or remove the key%s", path_keys[i],
                             i ? "file" : "directory", "");
    /* crash tests: abort inside the Nth snapshot / offsets write */
    static const char *const ckpt_fault_keys[2] = {"fault.abort_in_snapshot", "fault.abort_in_offsets"};
    int64_t ckpt_fault[2] = {0, 0};
    for (int i = 0; i < 2; i++) {
        if (!(e = sluice_config_find(p->cfg, "pipeline", ckpt_fault_keys[i]))) continue;
        if (sluice_parse_positive(e->value, &ckpt_fault[i]) != 0)
            return where_err(errstr, errstr_size, e, "%s = '%s': expected a positive number (the Nth write)%s",
                             ckpt_fault_keys[i], e->value, "");
        if (!ckpt_entry)
            return where_err(errstr, errstr_size, e, "%s needs a checkpoint_dir%s%s", ckpt_fault_keys[i], "", "");
    }

    const sluice_profile *prof = sluice_profile_find(p->profile);
    p->src_bind = calloc(plan->nsources + 1, sizeof *p->src_bind);
    p->sink_bind = calloc(plan->nqueries + 1, sizeof *p->sink_bind);
    p->src_ops = calloc(plan->nsources + 1, sizeof *p->src_ops);
    p->sink_ops = calloc(plan->nqueries + 1, sizeof *p->sink_ops);
    p->sources = calloc(plan->nsources + 1, sizeof *p->sources);
    p->sinks = calloc(plan->nqueries + 1, sizeof *p->sinks);
    p->source_names = calloc(plan->nsources + 1, sizeof *p->source_names);
    p->sink_names = calloc(plan->nqueries + 1, sizeof *p->sink_names);
    p->src_opts = calloc(plan->nsources + 1, sizeof *p->src_opts);
    if (!p->src_bind || !p->sink_bind || !p->src_ops || !p->sink_ops || !p->sources || !p->sinks ||
        !p->source_names || !p->sink_names || !p->src_opts)
        return SLUICE_ERR_NOMEM;
    for (size_t i = 0; i < p->nshared; i++)
        if (!(p->shared_kv[i] = shared_section(p->cfg, p->shared_names[i]))) return SLUICE_ERR_NOMEM;

    for (size_t i = 0; i < plan->nsources; i++) {
        p->source_names[i] = plan->sources[i].name;
        if ((err = bind_one(p, prof, 1, plan->sources[i].name, &p->src_bind[i], errstr, errstr_size))) return err;
        p->src_bind[i].mc.schema = &plan->sources[i].schema;
        if ((err = source_options(p, i, idle_ms, errstr, errstr_size))) return err;
    }
    for (size_t k = 0; k < plan->nqueries; k++) {
        p->sink_names[k] = plan->queries[k].name;
        binding *b = &p->sink_bind[k];
        if ((err = bind_one(p, prof, 0, plan->queries[k].name, b, errstr, errstr_size))) return err;
        b->mc.schema = &plan->queries[k].schema;
        b->reject.sink = plan->queries[k].name;
        b->reject.source = plan->sources[plan->queries[k].source].name;
        b->reject.schema = &plan->queries[k].schema;
        b->reject.dlq = &p->dlq;
        if (b->on_error && sluice_on_error_parse(b->on_error->value, &b->reject.on_error) != 0)
            return opt_err(errstr, errstr_size, b->on_error,
                           "on_error = '%s' in [sink %s]: expected dead_letter (set the row aside in the dead "
                           "letter, the default) or fail",
                           b->on_error->value, b->name);
        b->mc.reject = sluice_sink_reject_row;
        b->mc.reject_ctx = &b->reject;
        p->sink_bind[k].mc.output_mode = plan->queries[k].emit == SLUICE_EMIT_COMPLETE ? SLUICE_OUTPUT_COMPLETE
                                         : plan->queries[k].emit == SLUICE_EMIT_UPDATE ? SLUICE_OUTPUT_UPDATE
                                                                                       : SLUICE_OUTPUT_APPEND;
    }
    /* Several sources in consumer groups: a group each
     * (sluice.<pipeline>.<source>), so that one source's rebalance never
     * waits for another's consumer, which is not polled meanwhile. */
    size_t ngroups = 0;
    for (size_t i = 0; i < plan->nsources; i++) ngroups += joins_group(&p->src_bind[i]);
    if (ngroups > 1) {
        p->default_groups = calloc(plan->nsources, sizeof *p->default_groups);
        if (!p->default_groups) return SLUICE_ERR_NOMEM;
        for (size_t i = 0; i < plan->nsources; i++) {
            if (!joins_group(&p->src_bind[i])) continue;
            if (asprintf(&p->default_groups[i], "sluice.%s.%s", p->pipeline_name, plan->sources[i].name) < 0)
                return SLUICE_ERR_NOMEM;
            p->src_bind[i].mc.default_group = p->default_groups[i];
        }
    }
    for (size_t i = 0; i < plan->nsources; i++) {
        p->src_bind[i].mc.shared = (const char *const *)shared_for(p, 1, &p->src_bind[i]);
    }
    for (size_t k = 0; k < plan->nqueries; k++) p->sink_bind[k].mc.checkpointing = ckpt_entry != NULL;
    for (size_t i = 0; i < plan->nsources; i++) {
        p->src_bind[i].mc.checkpointing = ckpt_entry != NULL;
        p->src_bind[i].mc.available_now = available_now;
    }
    if (ckpt_entry)
        for (size_t i = 0; i < plan->nsources; i++)
            if (!p->src_ops[i]->seek)
                return sluice_seterr(errstr, errstr_size, SLUICE_ERR_CONFIG,
                                     "%s:%d: checkpoint_dir: source %s uses connector '%s', which cannot resume from a "
                                     "checkpoint (it cannot seek to an offset)",
                                     ckpt_entry->file, ckpt_entry->line, plan->sources[i].name,
                                     p->src_bind[i].connector);
    for (size_t k = 0; k < plan->nqueries; k++) {
        p->sink_bind[k].mc.shared = (const char *const *)shared_for(p, 0, &p->sink_bind[k]);
    }
    if ((err = check_shared(p, errstr, errstr_size))) return err;
    if ((err = refuse_output_on_input(p, errstr, errstr_size))) return err;
    if ((err = bind_functions(p, opts->validate_only, errstr, errstr_size))) return err;
    if ((err = bind_lookups(p, errstr, errstr_size))) return err;
    if (opts->validate_only) {
        /* what open() would check, without connecting or opening anything */
        for (size_t i = 0; i < plan->nsources; i++)
            if (p->src_ops[i]->validate &&
                (err = p->src_ops[i]->validate(&p->src_bind[i].mc, errstr, errstr_size)))
                return err;
        for (size_t k = 0; k < plan->nqueries; k++)
            if (p->sink_ops[k]->validate &&
                (err = p->sink_ops[k]->validate(&p->sink_bind[k].mc, errstr, errstr_size)))
                return err;
        return SLUICE_OK;
    }

    /* the checkpoint (and its lock) first: a run refused because another
     * process holds it must not have opened a sink, which cuts a file
     * sink's output back to its committed length -- the holder's epoch in
     * flight -- or deletes a partitioned one's temporary files */
    if (ckpt_entry) {
        /* the fingerprint: the plan as explained, so that comments and
         * spacing may change but sources and queries may not */
        char *fp = NULL;
        size_t fplen = 0;
        FILE *f = open_memstream(&fp, &fplen);
        if (!f) return SLUICE_ERR_NOMEM;
        /* keyed by the pipeline's name too: its sinks' commit records are */
        fprintf(f, "pipeline %s\n", p->pipeline_name ? p->pipeline_name : "");
        sluice_plan_explain(plan, f);
        write_inputs(p, f);
        fclose(f);
        char sub[1024];
        err = sluice_ckpt_open(ckpt_entry->value, fp, &p->ckpt, sub, sizeof sub);
        free(fp);
        if (err) return where_err(errstr, errstr_size, ckpt_entry, "%s%s%s", sub, "", ""), err;
        sluice_ckpt_set_fault(p->ckpt, SLUICE_CKPT_STATE, (long)ckpt_fault[0]);
        sluice_ckpt_set_fault(p->ckpt, SLUICE_CKPT_OFFSETS, (long)ckpt_fault[1]);
    }
    /* open: sinks, then sources (a CSV source reads its header), then the
     * engine (decoders check the header), then the dead-letter file */
    for (size_t k = 0; k < plan->nqueries; k++)
        if ((err = p->sink_ops[k]->open(&p->sink_bind[k].mc, &p->sinks[k], errstr, errstr_size))) return err;
    for (size_t i = 0; i < plan->nsources; i++)
        if ((err = p->src_ops[i]->open(&p->src_bind[i].mc, &p->sources[i], errstr, errstr_size))) return err;
    if ((err = sluice_engine_new(plan, p->src_opts, p->sources, NULL, &p->transform, errstr, errstr_size))) return err;
    const char *dl = (e = sluice_config_find(p->cfg, "pipeline", "dead_letter")) ? e->value : NULL;
    if (dl && !sluice_dead_letter_is_uri(dl) && sluice_mkdir_parents(dl, 0777, NULL, 0) != SLUICE_OK)
        return where_err(errstr, errstr_size, e, "dead_letter = '%s': cannot create its directory: %s", dl,
                         strerror(errno), "");
    if ((err = sluice_dead_letter_open(dl, ckpt_entry != NULL, &p->dlq, errstr, errstr_size))) return err;
    sluice_engine_set_dead_letter(p->transform, p->dlq);
    if ((err = open_lookups(p, errstr, errstr_size))) return err;

    sluice_exec *x = &p->exec;
    x->sources = p->sources;
    x->source_names = p->source_names;
    x->nsources = plan->nsources;
    x->sinks = p->sinks;
    x->sink_names = p->sink_names;
    x->nsinks = plan->nqueries;
    x->transform = p->transform;
    x->dlq = p->dlq;
    x->trigger_ms = trigger_ms;
    x->available_now = available_now;
    x->max_records = (size_t)max_rows;
    x->progress = opts->quiet ? NULL : (opts->progress ? opts->progress : stderr);
    x->max_state_bytes = (uint64_t)max_state;
    x->pipeline = p->pipeline_name;
    x->on_step = on_step;
    x->on_step_ctx = p;
    if (p->ckpt) {
        x->ckpt = p->ckpt;
        x->checkpoint_every = checkpoint_every;
    }
    if ((err = sluice_exec_init(x))) return err;
    p->exec_ready = 1;
    if ((err = sluice_exec_recover(x, errstr, errstr_size))) return err;

    if ((e = sluice_config_find(p->cfg, "pipeline", "metrics"))) {
        if ((err = sluice_metrics_new(p->pipeline_name, p->source_names, plan->nsources, p->sink_names, plan->nqueries,
                                      &p->metrics)))
            return err;
        char sub[300];
        if ((err = sluice_metrics_serve(p->metrics, e->value, healthz_ms, &mlimits, sub, sizeof sub)))
            return where_err(errstr, errstr_size, e, "%s%s%s", sub, "", ""), err;
        sluice_log(SLUICE_LOG_INFO, p->pipeline_name, "metrics", NULL,
                   "serving /metrics and /healthz on %s (port %d)", e->value, sluice_metrics_port(p->metrics));
    }
    if (sluice_log_enabled(SLUICE_LOG_INFO)) log_startup(p);
    return SLUICE_OK;
}

sluice_err_t sluice_pipeline_open(const sluice_pipeline_options *opts, sluice_pipeline **out, char *errstr,
                                  size_t errstr_size) {
    if (!opts || !opts->sql_path)
        return sluice_seterr(errstr, errstr_size, SLUICE_ERR_INVALID, "no pipeline .sql file given");
    sluice_pipeline *p = calloc(1, sizeof *p);
    if (!p) return SLUICE_ERR_NOMEM;
    p->nshared = sluice_registry_shared_sections(p->shared_names, SHARED_MAX);
    sluice_err_t err = SLUICE_ERR_NOMEM;
    p->sql_path = xstrdup(opts->sql_path);
    p->profile = xstrdup(opts->profile ? opts->profile : "test");
    p->pipeline_name = sql_stem(opts->sql_path);
    if (!p->sql_path || !p->profile || !p->pipeline_name) goto fail;
    if ((err = parse_and_plan(p, opts->sql_path, errstr, errstr_size))) goto fail;
    char *cfg_path = opts->config_path ? xstrdup(opts->config_path)
                                       : default_config_path(opts->sql_path, p->pipeline_name, p->profile);
    if (!cfg_path) {
        err = SLUICE_ERR_NOMEM;
        goto fail;
    }
    err = sluice_config_load(cfg_path, &p->cfg, errstr, errstr_size);
    free(cfg_path);
    if (err) goto fail;
    for (size_t i = 0; i < opts->nsets; i++)
        if ((err = sluice_config_set(p->cfg, opts->sets[i], errstr, errstr_size))) goto fail;
    if ((err = bind_pipeline(p, opts, errstr, errstr_size))) goto fail;
    *out = p;
    return SLUICE_OK;
fail:
    if (err == SLUICE_ERR_NOMEM && errstr && errstr_size && !errstr[0])
        sluice_seterr(errstr, errstr_size, err, "out of memory");
    sluice_pipeline_close(p);
    return err;
}

sluice_err_t sluice_pipeline_step(sluice_pipeline *p, int *done, char *errstr, size_t errstr_size) {
    if (!p->exec_ready)
        return sluice_seterr(errstr, errstr_size, SLUICE_ERR_INVALID, "pipeline was opened for validation only");
    return sluice_exec_step(&p->exec, done, errstr, errstr_size);
}

sluice_err_t sluice_pipeline_run(sluice_pipeline *p, const volatile sig_atomic_t *stop, char *errstr,
                                 size_t errstr_size) {
    if (!p->exec_ready)
        return sluice_seterr(errstr, errstr_size, SLUICE_ERR_INVALID, "pipeline was opened for validation only");
    sluice_err_t err = sluice_execute(&p->exec, stop, errstr, errstr_size);
    if (sluice_stop_requested()) {
        int sig = sluice_stop_signal();
        const char *name = sig ? sigabbrev_np(sig) : NULL;
        sluice_log(SLUICE_LOG_INFO, p->pipeline_name, "execute", NULL, "stopping: %s%s, epoch %lld %s",
                   sig ? "signal SIG" : "stop requested", sig ? (name ? name : "?") : "", (long long)p->exec.epoch,
                   p->exec.abandoned ? "abandoned" : "not started");
    }
    /* a graceful stop or the end of input: snapshot, so a restart replays
     * nothing (not after an abandoned epoch: see sluice_exec.abandoned) */
    if (!err) err = sluice_exec_checkpoint(&p->exec, errstr, errstr_size);
    sluice_pipeline_log_summary(p, err == SLUICE_OK ? (sluice_stop_requested() ? "stopped" : "completed")
                                   : err == SLUICE_ERR_STOPPED ? "stopped, epoch abandoned"
                                                               : "failed");
    return err;
}

int sluice_pipeline_replayable(const sluice_pipeline *p) {
    return p->exec.ckpt != NULL;
}

uint64_t sluice_pipeline_abandoned_rows(const sluice_pipeline *p) {
    return p->exec.abandoned ? p->exec.abandoned_rows : 0;
}

void sluice_pipeline_log_summary(const sluice_pipeline *p, const char *outcome) {
    sluice_pipeline_stats st;
    sluice_pipeline_stats_get(p, &st);
    char *sinks = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&sinks, &len);
    if (!f) return;
    for (size_t k = 0; k < p->exec.nsinks; k++)
        fprintf(f, "%s%s=%" PRIu64, k ? "," : "", p->sink_names[k], p->exec.rows_emitted[k]);
    if (fclose(f) != 0) {
        free(sinks);
        return;
    }
    char lost[64] = ""; /* records a source could not replay after a crash */
    if (p->exec.lost_rows) snprintf(lost, sizeof lost, " lost_in_recovery=%" PRIu64, p->exec.lost_rows);
    sluice_log(SLUICE_LOG_INFO, p->pipeline_name, "execute", NULL,
               "summary: outcome=%s rows_in=%" PRIu64 " rows_out=%s dead_letters=%" PRIu64 " late_rows=%" PRIu64
               " malformed_rows=%" PRIu64 " epochs=%lld%s",
               outcome, p->exec.rows_in, sinks && sinks[0] ? sinks : "-", st.dead_letters, st.late_rows,
               st.malformed_rows, (long long)p->exec.epochs_run, lost);
    free(sinks);
}

sluice_err_t sluice_pipeline_report(sluice_pipeline *p, FILE *out, char *errstr, size_t errstr_size) {
    if (!p->exec_ready) return SLUICE_OK;
    for (size_t k = 0; k < p->plan->nqueries; k++) {
        sluice_sink *s = p->sinks[k];
        if (s && s->ops->report) {
            sluice_err_t err = s->ops->report(s, out, errstr, errstr_size);
            if (err) return err;
        }
    }
    return SLUICE_OK;
}

static int secret_key(const char *k) {
    return sluice_config_secret_key(k);
}

static void describe_binding(const binding *b, const char *kind, FILE *out) {
    fprintf(out, "%s %s: connector %s\n", kind, b->name, b->connector);
    for (size_t i = 0; i < b->noptions; i++)
        fprintf(out, "  %s = %s\n", b->options[i].key, secret_key(b->options[i].key) ? "****" : b->options[i].value);
    if (b->on_error) fprintf(out, "  on_error = %s\n", b->on_error->value);
}

void sluice_pipeline_describe(const sluice_pipeline *p, FILE *out) {
    fprintf(out, "pipeline %s (profile %s, config %s)\n", p->pipeline_name, p->profile,
            p->cfg && p->cfg->path ? p->cfg->path : "none");
    sluice_plan_explain(p->plan, out);
    fputs("bindings\n", out);
    const char *const *shared = p->shared_names;
    for (size_t i = 0; i < p->nshared; i++) {
        int head = 0;
        for (size_t j = 0; p->cfg && j < p->cfg->nentries; j++) {
            const sluice_config_entry *e = &p->cfg->entries[j];
            if (strcmp(e->section, shared[i]) != 0) continue;
            if (!head) fprintf(out, "[%s]\n", shared[i]);
            head = 1;
            fprintf(out, "  %s = %s\n", e->key, secret_key(e->key) ? "****" : e->value);
        }
    }
    for (size_t i = 0; i < p->plan->nsources; i++) describe_binding(&p->src_bind[i], "source", out);
    for (size_t k = 0; k < p->plan->nqueries; k++) describe_binding(&p->sink_bind[k], "sink", out);
    for (size_t i = 0; p->fn_bind && i < p->plan->nfunctions; i++)
        if (p->fn_bind[i].connector) describe_binding(&p->fn_bind[i], "function", out);
    for (size_t j = 0; j < p->nlookups; j++)
        if (p->lk_bind[j].connector) describe_binding(&p->lk_bind[j], "lookup", out);
}

/* One log event per line of the plan and bindings (secrets masked). */
static void log_startup(const sluice_pipeline *p) {
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    if (!f) return;
    sluice_pipeline_describe(p, f);
    fclose(f);
    for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n"))
        sluice_log(SLUICE_LOG_INFO, p->pipeline_name, "pipeline", NULL, "%s", line);
    free(text);
}

int sluice_pipeline_metrics_port(const sluice_pipeline *p) {
    return sluice_metrics_port(p->metrics);
}

sluice_source *sluice_pipeline_source(sluice_pipeline *p, const char *name) {
    long i = sluice_plan_source_index(p->plan, name);
    return i < 0 || !p->sources ? NULL : p->sources[i];
}

sluice_sink *sluice_pipeline_sink(sluice_pipeline *p, const char *name) {
    long i = sluice_plan_query_index(p->plan, name);
    return i < 0 || !p->sinks ? NULL : p->sinks[i];
}

sluice_transform *sluice_pipeline_transform(sluice_pipeline *p) {
    return p->transform;
}

void sluice_pipeline_stats_get(const sluice_pipeline *p, sluice_pipeline_stats *out) {
    memset(out, 0, sizeof *out);
    out->watermark = SLUICE_TS_MIN;
    if (!p->transform) return;
    sluice_transform_stats st;
    p->transform->ops->stats(p->transform, &st);
    out->epochs = p->exec.epoch;
    out->input_rows = st.input_rows;
    out->late_rows = st.late_rows;
    out->malformed_rows = st.malformed_rows;
    out->state_rows = st.state_rows;
    out->watermark = st.watermark;
    out->dead_letters = sluice_dead_letter_count(p->dlq);
}

static void free_binding(binding *b) {
    free(b->options);
}

void sluice_pipeline_close(sluice_pipeline *p) {
    if (!p) return;
    sluice_metrics_free(p->metrics);
    if (p->exec_ready) sluice_exec_free(&p->exec);
    if (p->transform) p->transform->ops->destroy(p->transform);
    if (p->plan) {
        for (size_t i = 0; p->sources && i < p->plan->nsources; i++)
            if (p->sources[i]) p->src_ops[i]->close(p->sources[i]);
        for (size_t k = 0; p->sinks && k < p->plan->nqueries; k++)
            if (p->sinks[k]) p->sink_ops[k]->close(p->sinks[k]);
        for (size_t i = 0; p->src_bind && i < p->plan->nsources; i++) free_binding(&p->src_bind[i]);
        for (size_t k = 0; p->sink_bind && k < p->plan->nqueries; k++) free_binding(&p->sink_bind[k]);
    }
    for (size_t i = 0; p->fn_udf && i < p->plan->nfunctions; i++) {
        if (p->fn_conn[i]) p->fn_conn[i]->close(&p->fn_udf[i]);
        p->plan->functions[i].binding = NULL;
        free(p->fn_kv[i]);
        free_binding(&p->fn_bind[i]);
    }
    free(p->fn_bind);
    free(p->fn_conn);
    free(p->fn_kv);
    free(p->fn_udf);
    for (size_t j = 0; j < p->nlookups; j++) {
        sluice_lookup_table_close(p->lk_tables[j]);
        free_binding(&p->lk_bind[j]);
        free(p->lk_shared[j]);
    }
    for (size_t i = 0; p->lk_tables && i < p->plan->nrels; i++)
        if (p->plan->rels[i].kind == SLUICE_REL_LOOKUP) p->plan->rels[i].lookup->table_binding = NULL;
    free(p->lk_names);
    free(p->lk_bind);
    free(p->lk_conn);
    free(p->lk_tables);
    free(p->lk_shared);
    sluice_dead_letter_close(p->dlq);
    sluice_ckpt_close(p->ckpt);
    free(p->src_bind);
    free(p->sink_bind);
    free(p->src_ops);
    free(p->sink_ops);
    free(p->sources);
    free(p->sinks);
    free(p->source_names);
    free(p->sink_names);
    free(p->src_opts);
    for (size_t i = 0; i < p->nshared; i++) free(p->shared_kv[i]);
    for (size_t i = 0; p->default_groups && i < p->plan->nsources; i++) free(p->default_groups[i]);
    free(p->default_groups);
    sluice_plan_free(p->plan);
    sluice_arena_destroy(p->ast_arena);
    sluice_config_free(p->cfg);
    free(p->sql_text);
    free(p->sql_path);
    free(p->profile);
    free(p->pipeline_name);
    free(p);
}
