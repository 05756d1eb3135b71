/*
 * The "fault" connector: wraps any other source or sink and makes chosen
 * calls fail, for failure tests of the engine (SQLite's test_vfs pattern).
 * Options are documented in connectors.h; every option not starting with
 * "fault." is passed to the inner connector's open().  Every method is
 * forwarded; optional ones only when the inner connector has them (a
 * missing commit/report succeeds doing nothing; a missing position gives
 * the engine's default "partition P offset O").  With fault.when = before
 * (the default) a failing call does not reach the inner connector; with
 * fault.when = after the inner call runs first and the fault (error or
 * abort) comes when it has succeeded — for a sink's commit, a crash after
 * the epoch is durable in the sink but before the engine learns it.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "connectors/connectors.h"
#include "connectors/connectors_int.h"
#include "registry.h"

static const char *const fault_options[] = {
    "fault.inner", "fault.method", "fault.nth", "fault.after", "fault.action", "fault.when", NULL,
};

enum { M_OPEN, M_POLL, M_WRITE, M_COMMIT, M_POSITION, M_REPORT, M_CLOSE, M_COUNT };
static const char *const method_names[M_COUNT] = {
    "open", "poll", "write", "commit", "position", "report", "close",
};

typedef struct fault_common {
    const char *kind;              /* "source" or "sink" */
    const char *instance;
    sluice_fault_plan plan;
    int method;                    /* index of plan.method */
    long calls[M_COUNT];
    sluice_option *options;        /* the inner connector's options */
    sluice_module_config inner_cfg;
} fault_common;

typedef struct fault_source {
    sluice_source base;
    fault_common c;
    sluice_source *inner;
} fault_source;

typedef struct fault_sink {
    sluice_sink base;
    fault_common c;
    sluice_sink *inner;
} fault_sink;

static int method_index(const char *name) {
    for (int i = 0; i < M_COUNT; i++)
        if (strcmp(method_names[i], name) == 0) return i;
    return -1;
}

static sluice_err_t parse_count(const sluice_module_config *cfg, const char *key,
                                const char *kind, int allow_zero, int *out, int *set,
                                char *errstr, size_t errstr_size) {
    const char *v = sluice_module_config_get(cfg, key);
    if (!v) return SLUICE_OK;
    char *end = NULL;
    errno = 0;
    long n = (v[0] >= '0' && v[0] <= '9') ? strtol(v, &end, 10) : -1;
    if (!end || *end || errno || n < (allow_zero ? 0 : 1) || n > 1000000000L)
        return sluice_conn_bad_option(cfg, key, kind, "fault",
                                      allow_zero ? "expected a non-negative integer"
                                                 : "expected a positive integer",
                                      errstr, errstr_size);
    *out = (int)n;
    if (set) *set = 1;
    return SLUICE_OK;
}

/* Parse the fault.* options and build the inner configuration. */
static sluice_err_t common_init(fault_common *c, const sluice_module_config *cfg,
                                const char *kind, const char *const *methods,
                                const char **inner_name, char *errstr, size_t errstr_size) {
    c->kind = kind;
    c->instance = cfg->instance ? cfg->instance : "?";
    for (size_t i = 0; i < cfg->noptions; i++) {
        const char *key = cfg->options[i].key;
        if (strncmp(key, "fault.", 6) != 0) continue;
        int ok = 0;
        for (size_t j = 0; fault_options[j]; j++) ok |= strcmp(fault_options[j], key) == 0;
        if (!ok)
            return sluice_seterr(errstr, errstr_size, SLUICE_ERR_CONFIG,
                                 "%s %s (fault): unknown option '%s' (accepted: fault.inner, "
                                 "fault.method, fault.nth, fault.after, fault.action, fault.when)",
                                 kind, c->instance, key);
    }
    *inner_name = sluice_module_config_get(cfg, "fault.inner");
    if (!*inner_name || !**inner_name)
        return sluice_seterr(errstr, errstr_size, SLUICE_ERR_CONFIG,
                             "%s %s (fault): option 'fault.inner' is required", kind,
                             c->instance);
    const char *method = sluice_module_config_get(cfg, "fault.method");
    c->plan.method = method ? method : methods[1];
    c->method = -1;
    for (size_t j = 0; methods[j]; j++)
        if (strcmp(methods[j], c->plan.method) == 0) c->method = method_index(methods[j]);
    if (c->method < 0) {
        char why[128];
        snprintf(why, sizeof why, "expected %s, %s or %s", methods[0], methods[1], methods[2]);
        return sluice_conn_bad_option(cfg, "fault.method", kind, "fault", why, errstr,
                                      errstr_size);
    }
    sluice_err_t err;
    if ((err = parse_count(cfg, "fault.nth", kind, 0, &c->plan.nth, NULL, errstr,
                           errstr_size)) ||
        (err = parse_count(cfg, "fault.after", kind, 1, &c->plan.after, &c->plan.after_set,
                           errstr, errstr_size)))
        return err;
    const char *action = sluice_module_config_get(cfg, "fault.action");
    if (action && strcmp(action, "abort") == 0) c->plan.abort_process = 1;
    else if (action && strcmp(action, "error") != 0)
        return sluice_conn_bad_option(cfg, "fault.action", kind, "fault",
                                      "expected error or abort", errstr, errstr_size);
    const char *when = sluice_module_config_get(cfg, "fault.when");
    if (when && strcmp(when, "after") == 0) c->plan.after_call = 1;
    else if (when && strcmp(when, "before") != 0)
        return sluice_conn_bad_option(cfg, "fault.when", kind, "fault",
                                      "expected before or after", errstr, errstr_size);

    c->options = calloc(cfg->noptions ? cfg->noptions : 1, sizeof *c->options);
    if (!c->options) return SLUICE_ERR_NOMEM;
    size_t n = 0;
    for (size_t i = 0; i < cfg->noptions; i++) {
        const char *key = cfg->options[i].key;
        if (strncmp(key, "fault.", 6) == 0 || strcmp(key, "connector") == 0) continue;
        c->options[n++] = cfg->options[i];
    }
    c->inner_cfg = *cfg;
    c->inner_cfg.options = c->options;
    c->inner_cfg.noptions = n;
    return SLUICE_OK;
}

/* Prefix a registry error with the wrapper's instance and option. */
static sluice_err_t inner_error(const fault_common *c, sluice_err_t err, char *errstr,
                                size_t errstr_size) {
    if (errstr && errstr_size) {
        char inner[512];
        snprintf(inner, sizeof inner, "%s", errstr);
        sluice_seterr(errstr, errstr_size, err, "%s %s (fault): option 'fault.inner': %s",
                      c->kind, c->instance, inner);
    }
    return err;
}

/* Count a call of method m; 1 when it must fail (or abort here). */
static int fault_hit(fault_common *c, int m) {
    long n = ++c->calls[m];
    if (m != c->method) return 0;
    int hit = (c->plan.nth > 0 && n == c->plan.nth) ||
              (c->plan.after_set && n > c->plan.after);
    if (hit && c->plan.abort_process) abort();
    return hit;
}

/* fault.when = before (the default): 1 when this call must fail instead of
 * reaching the inner connector. */
static int fault_before(fault_common *c, int m) {
    return !c->plan.after_call && fault_hit(c, m);
}

/* fault.when = after: count a call that has reached the inner connector
 * (with result inner_err); 1 when it must fail now (only a call that
 * succeeded there can). */
static int fault_after(fault_common *c, int m, sluice_err_t inner_err) {
    if (!c->plan.after_call) return 0;
    if (inner_err) {
        c->calls[m]++;
        return 0;
    }
    return fault_hit(c, m);
}

static sluice_err_t fault_error(const fault_common *c, int m, char *errstr,
                                size_t errstr_size) {
    return sluice_seterr(errstr, errstr_size, SLUICE_ERR_FAULT,
                         "%s %s (fault): injected fault in %s call %ld", c->kind, c->instance,
                         method_names[m], c->calls[m]);
}

/* ---------------- sources ---------------- */

static const char *const source_methods[] = {"open", "poll", "commit", NULL};

static void fault_source_close(sluice_source *src) {
    if (!src) return;
    fault_source *fs = (fault_source *)src;
    fs->c.calls[M_CLOSE]++;
    if (fs->inner) fs->inner->ops->close(fs->inner);
    free(fs->c.options);
    free(fs);
}

static sluice_err_t fault_source_open(const sluice_module_config *cfg, sluice_source **out,
                                      char *errstr, size_t errstr_size) {
    fault_source *fs = calloc(1, sizeof *fs);
    if (!fs) return SLUICE_ERR_NOMEM;
    fs->base.ops = &sluice_fault_source_ops;
    const char *inner_name = NULL;
    const sluice_source_ops *ops = NULL;
    sluice_err_t err = common_init(&fs->c, cfg, "source", source_methods, &inner_name, errstr,
                                   errstr_size);
    if (!err && (err = sluice_registry_source(inner_name, &ops, errstr, errstr_size)))
        err = inner_error(&fs->c, err, errstr, errstr_size);
    if (!err && fault_before(&fs->c, M_OPEN))
        err = fault_error(&fs->c, M_OPEN, errstr, errstr_size);
    if (!err && (err = ops->open(&fs->c.inner_cfg, &fs->inner, errstr, errstr_size)) == SLUICE_OK &&
        fault_after(&fs->c, M_OPEN, err))
        err = fault_error(&fs->c, M_OPEN, errstr, errstr_size);
    if (err) {
        fault_source_close(&fs->base);
        return err;
    }
    fs->base.csv_header = fs->inner->csv_header;
    fs->base.csv_header_len = fs->inner->csv_header_len;
    *out = &fs->base;
    return SLUICE_OK;
}

static sluice_err_t fault_source_poll(sluice_source *src, sluice_record_batch *out,
                                      size_t max_records, int timeout_ms,
                                      char *errstr, size_t errstr_size) {
    fault_source *fs = (fault_source *)src;
    if (fault_before(&fs->c, M_POLL))
        return fault_error(&fs->c, M_POLL, errstr, errstr_size);
    sluice_err_t err = fs->inner->ops->poll(fs->inner, out, max_records, timeout_ms, errstr, errstr_size);
    if (fault_after(&fs->c, M_POLL, err))
        return fault_error(&fs->c, M_POLL, errstr, errstr_size);
    return err;
}

static sluice_err_t fault_source_commit(sluice_source *src, int64_t epoch,
                                        char *errstr, size_t errstr_size) {
    fault_source *fs = (fault_source *)src;
    if (fault_before(&fs->c, M_COMMIT))
        return fault_error(&fs->c, M_COMMIT, errstr, errstr_size);
    sluice_err_t err = fs->inner->ops->commit ? fs->inner->ops->commit(fs->inner, epoch, errstr, errstr_size)
                                              : SLUICE_OK;
    if (fault_after(&fs->c, M_COMMIT, err))
        return fault_error(&fs->c, M_COMMIT, errstr, errstr_size);
    return err;
}

static void fault_source_position(sluice_source *src, const sluice_record *rec, char *buf,
                                  size_t size) {
    fault_source *fs = (fault_source *)src;
    fs->c.calls[M_POSITION]++;
    if (fs->inner->ops->position)
        fs->inner->ops->position(fs->inner, rec, buf, size);
    else
        snprintf(buf, size, "partition %d offset %lld", (int)rec->partition,
                 (long long)rec->offset);
}

static sluice_err_t fault_source_seek(sluice_source *src, const char *topic, int32_t partition, int64_t offset,
                                      char *errstr, size_t errstr_size) {
    fault_source *fs = (fault_source *)src;
    if (!fs->inner->ops->seek)
        return sluice_seterr(errstr, errstr_size, SLUICE_ERR_RUNTIME, "source (fault): connector '%s' cannot seek",
                             fs->inner->ops->name);
    return fs->inner->ops->seek(fs->inner, topic, partition, offset, errstr, errstr_size);
}

/** The "fault" source connector (see the top of this file). */
const sluice_source_ops sluice_fault_source_ops = {
    .version = SLUICE_MODULE_VERSION,
    .name = "fault",
    .options = NULL, /* fault.* keys are checked here; the rest by the inner connector */
    .open = fault_source_open,
    .poll = fault_source_poll,
    .commit = fault_source_commit,
    .position = fault_source_position,
    .close = fault_source_close,
    .seek = fault_source_seek,
};

/* ---------------- sinks ---------------- */

static const char *const sink_methods[] = {"open", "write", "commit", NULL};

static void fault_sink_close(sluice_sink *sink) {
    if (!sink) return;
    fault_sink *fs = (fault_sink *)sink;
    fs->c.calls[M_CLOSE]++;
    if (fs->inner) fs->inner->ops->close(fs->inner);
    free(fs->c.options);
    free(fs);
}

static sluice_err_t fault_sink_open(const sluice_module_config *cfg, sluice_sink **out,
                                    char *errstr, size_t errstr_size) {
    fault_sink *fs = calloc(1, sizeof *fs);
    if (!fs) return SLUICE_ERR_NOMEM;
    fs->base.ops = &sluice_fault_sink_ops;
    const char *inner_name = NULL;
    const sluice_sink_ops *ops = NULL;
    sluice_err_t err = common_init(&fs->c, cfg, "sink", sink_methods, &inner_name, errstr,
                                   errstr_size);
    if (!err && (err = sluice_registry_sink(inner_name, &ops, errstr, errstr_size)))
        err = inner_error(&fs->c, err, errstr, errstr_size);
    if (!err && fault_before(&fs->c, M_OPEN))
        err = fault_error(&fs->c, M_OPEN, errstr, errstr_size);
    if (!err && (err = ops->open(&fs->c.inner_cfg, &fs->inner, errstr, errstr_size)) == SLUICE_OK &&
        fault_after(&fs->c, M_OPEN, err))
        err = fault_error(&fs->c, M_OPEN, errstr, errstr_size);
    if (err) {
        fault_sink_close(&fs->base);
        return err;
    }
    *out = &fs->base;
    return SLUICE_OK;
}

static sluice_err_t fault_sink_write(sluice_sink *sink, int64_t epoch,
                                     const sluice_row_batch *rows,
                                     char *errstr, size_t errstr_size) {
    fault_sink *fs = (fault_sink *)sink;
    if (fault_before(&fs->c, M_WRITE))
        return fault_error(&fs->c, M_WRITE, errstr, errstr_size);
    sluice_err_t err = fs->inner->ops->write(fs->inner, epoch, rows, errstr, errstr_size);
    if (fault_after(&fs->c, M_WRITE, err))
        return fault_error(&fs->c, M_WRITE, errstr, errstr_size);
    return err;
}

static sluice_err_t fault_sink_commit(sluice_sink *sink, int64_t epoch,
                                      char *errstr, size_t errstr_size) {
    fault_sink *fs = (fault_sink *)sink;
    if (fault_before(&fs->c, M_COMMIT))
        return fault_error(&fs->c, M_COMMIT, errstr, errstr_size);
    sluice_err_t err = fs->inner->ops->commit ? fs->inner->ops->commit(fs->inner, epoch, errstr, errstr_size)
                                              : SLUICE_OK;
    if (fault_after(&fs->c, M_COMMIT, err))
        return fault_error(&fs->c, M_COMMIT, errstr, errstr_size);
    return err;
}

static sluice_err_t fault_sink_report(sluice_sink *sink, FILE *out,
                                      char *errstr, size_t errstr_size) {
    fault_sink *fs = (fault_sink *)sink;
    fs->c.calls[M_REPORT]++;
    if (!fs->inner->ops->report) return SLUICE_OK;
    return fs->inner->ops->report(fs->inner, out, errstr, errstr_size);
}

static int64_t fault_sink_committed_epoch(sluice_sink *sink) {
    fault_sink *fs = (fault_sink *)sink;
    return fs->inner->ops->committed_epoch ? fs->inner->ops->committed_epoch(fs->inner) : -1;
}

/** The "fault" sink connector (see the top of this file). */
const sluice_sink_ops sluice_fault_sink_ops = {
    .version = SLUICE_MODULE_VERSION,
    .name = "fault",
    .options = NULL, /* fault.* keys are checked here; the rest by the inner connector */
    .open = fault_sink_open,
    .write = fault_sink_write,
    .commit = fault_sink_commit,
    .report = fault_sink_report,
    .close = fault_sink_close,
    .committed_epoch = fault_sink_committed_epoch,
};

/* ---------------- C API ---------------- */

long sluice_fault_calls(const void *inst, const char *method) {
    if (!inst || !method) return -1;
    const void *ops = *(const void *const *)inst;
    const fault_common *c;
    if (ops == (const void *)&sluice_fault_source_ops) c = &((const fault_source *)inst)->c;
    else if (ops == (const void *)&sluice_fault_sink_ops) c = &((const fault_sink *)inst)->c;
    else return -1;
    int m = method_index(method);
    return m < 0 ? -1 : c->calls[m];
}

const sluice_sink *sluice_fault_sink_unwrap(const sluice_sink *sink) {
    while (sink && sink->ops == &sluice_fault_sink_ops) sink = ((const fault_sink *)sink)->inner;
    return sink;
}

sluice_source *sluice_fault_source_unwrap(sluice_source *src) {
    while (src && src->ops == &sluice_fault_source_ops) src = ((fault_source *)src)->inner;
    return src;
}
