/*
 * Kafka configuration and error handling shared by the Kafka source and
 * sink (see kafka_int.h).
 *
 * The shared [kafka] section has no option table (the ops leave
 * shared_specs NULL): it takes any librdkafka property, verbatim, and
 * librdkafka checks each name and value as the configuration is built
 * (rd_kafka_conf_set in set_one() below, for `sluice check` and `run`
 * alike), naming the section or option line it came from.  A table here
 * would copy librdkafka's own, and refuse the properties of a newer one.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "connectors/connectors_int.h"
#include "base/config.h"
#include "base/log.h"
#include "connectors/kafka_int.h"

int sluice_kafka_secret_property(const char *name) {
    return sluice_config_secret_key(name);
}

static const char *inst_name(const sluice_module_config *cfg) {
    return cfg->instance ? cfg->instance : "?";
}

/* librdkafka's error callback (rd_kafka_conf_set_error_cb): transient
 * errors are informational (librdkafka retries), fatal ones are recorded
 * for the connector to act on.  Connection failures are not repeated here:
 * librdkafka's own log already reports them.  Written as sluice log events
 * (module "kafka"), so that --log-format json stays JSON lines. */
static void error_cb(rd_kafka_t *rk, int err, const char *reason, void *opaque) {
    (void)rk;
    sluice_kafka_errors *e = opaque;
    if (err == RD_KAFKA_RESP_ERR__FATAL) e->fatal = 1;
    if (err == RD_KAFKA_RESP_ERR__TRANSPORT || err == RD_KAFKA_RESP_ERR__RESOLVE) return;
    if (!e->quiet || err == RD_KAFKA_RESP_ERR__FATAL)
        sluice_log(err == RD_KAFKA_RESP_ERR__FATAL ? SLUICE_LOG_ERROR : SLUICE_LOG_WARN, NULL, "kafka", e->instance,
                   "%s %s: %s", e->kind, rd_kafka_err2name((rd_kafka_resp_err_t)err), reason);
}

/* librdkafka's syslog(3) levels (0 emergency .. 7 debug) as sluice's. */
static const sluice_log_level rdkafka_levels[8] = {
    SLUICE_LOG_ERROR, SLUICE_LOG_ERROR, SLUICE_LOG_ERROR, SLUICE_LOG_ERROR,
    SLUICE_LOG_WARN,  SLUICE_LOG_INFO,  SLUICE_LOG_INFO,  SLUICE_LOG_DEBUG,
};

/* librdkafka's log callback (rd_kafka_conf_set_log_cb; called from its
 * threads): its messages become sluice log events instead of raw stderr
 * lines, at the mapped level, with the facility in front. */
static void log_cb(const rd_kafka_t *rk, int level, const char *fac, const char *buf) {
    const sluice_kafka_errors *e = rd_kafka_opaque(rk);
    sluice_log_level l = level >= 0 && level < 8 ? rdkafka_levels[level] : SLUICE_LOG_DEBUG;
    sluice_log(l, NULL, "kafka", e ? e->instance : rd_kafka_name(rk), "librdkafka %s: %s", fac, buf);
}

sluice_err_t sluice_kafka_check_fatal(rd_kafka_t *rk, const sluice_kafka_errors *errs,
                                      char *errstr, size_t errstr_size) {
    char why[512];
    rd_kafka_resp_err_t err = rd_kafka_fatal_error(rk, why, sizeof why);
    if (!err) return SLUICE_OK;
    return sluice_seterr(errstr, errstr_size, SLUICE_ERR_RUNTIME, "%s %s (kafka): fatal error: %s: %s",
                         errs->kind, errs->instance, rd_kafka_err2name(err), why);
}

/* Where a property came from, for messages. */
typedef struct origin {
    const char *what;          /* "[kafka]", "default", or NULL: an option */
    const sluice_option *opt;  /* the option line, when any */
} origin;

static sluice_err_t set_one(rd_kafka_conf_t *conf, const sluice_module_config *cfg, const char *kind,
                            const char *name, const char *value, origin from, char *errstr,
                            size_t errstr_size) {
    char why[512] = "";
    if (rd_kafka_conf_set(conf, name, value, why, sizeof why) == RD_KAFKA_CONF_OK) return SLUICE_OK;
    if (sluice_kafka_secret_property(name) && value[0] && strstr(why, value))
        snprintf(why, sizeof why, "invalid value for property \"%s\" (value not shown)", name);
    char where[320] = "";
    if (from.opt && from.opt->file && from.opt->line > 0)
        snprintf(where, sizeof where, " (%s:%d)", from.opt->file, from.opt->line);
    else if (from.opt && from.opt->file)
        snprintf(where, sizeof where, " (%s)", from.opt->file);
    if (from.what)
        return sluice_seterr(errstr, errstr_size, SLUICE_ERR_CONFIG, "%s %s (kafka): %s '%s'%s: %s", kind,
                             inst_name(cfg), from.what, name, where, why);
    return sluice_seterr(errstr, errstr_size, SLUICE_ERR_CONFIG, "%s %s (kafka): option '%s'%s: %s", kind,
                         inst_name(cfg), from.opt ? from.opt->key : name, where, why);
}

/* The value the user gave property `name` in layers 2-4, or NULL. */
static const char *user_value(const sluice_module_config *cfg, const char *const *mapped, const char *name,
                              const char **where) {
    const char *v = NULL;
    for (const char *const *kv = cfg->shared; kv && kv[0]; kv += 2)
        if (strcmp(kv[0], name) == 0) {
            v = kv[1];
            *where = "[kafka]";
        }
    for (const char *const *kv = mapped; kv && kv[0]; kv += 2)
        if (strcmp(kv[0], name) == 0) {
            v = kv[1];
            *where = "option";
        }
    for (size_t i = 0; i < cfg->noptions; i++)
        if (strncmp(cfg->options[i].key, "kafka.", 6) == 0 && strcmp(cfg->options[i].key + 6, name) == 0) {
            v = cfg->options[i].value;
            *where = cfg->options[i].key;
        }
    return v;
}

sluice_err_t sluice_kafka_conf_build(const sluice_module_config *cfg, const char *kind,
                                     const char *const *defaults, const char *const *mapped,
                                     const char *const *pinned, sluice_kafka_errors *errs,
                                     rd_kafka_conf_t **out, char *errstr, size_t errstr_size) {
    *out = NULL;
    for (const char *const *kv = pinned; kv && kv[0]; kv += 2) {
        const char *where = NULL;
        const char *v = user_value(cfg, mapped, kv[0], &where);
        if (v && strcasecmp(v, kv[1]) != 0)
            return sluice_seterr(errstr, errstr_size, SLUICE_ERR_CONFIG,
                                 "%s %s (kafka): %s sets '%s' = '%s', but the %s connector needs '%s' = '%s' "
                                 "(it is set by sluice; remove the key)",
                                 kind, inst_name(cfg), where, kv[0], v, kind, kv[0], kv[1]);
    }
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    if (!conf) return SLUICE_ERR_NOMEM;
    sluice_err_t err = SLUICE_OK;
    for (const char *const *kv = defaults; !err && kv && kv[0]; kv += 2)
        err = set_one(conf, cfg, kind, kv[0], kv[1], (origin){.what = "default"}, errstr, errstr_size);
    for (const char *const *kv = cfg->shared; !err && kv && kv[0]; kv += 2)
        err = set_one(conf, cfg, kind, kv[0], kv[1], (origin){.what = "[kafka]"}, errstr, errstr_size);
    for (const char *const *kv = mapped; !err && kv && kv[0]; kv += 2)
        err = set_one(conf, cfg, kind, kv[0], kv[1], (origin){.what = "property"}, errstr, errstr_size);
    for (size_t i = 0; !err && i < cfg->noptions; i++) {
        const sluice_option *o = &cfg->options[i];
        if (strncmp(o->key, "kafka.", 6) != 0) continue;
        err = set_one(conf, cfg, kind, o->key + 6, o->value, (origin){.opt = o}, errstr, errstr_size);
    }
    for (const char *const *kv = pinned; !err && kv && kv[0]; kv += 2)
        err = set_one(conf, cfg, kind, kv[0], kv[1], (origin){.what = "property"}, errstr, errstr_size);
    if (err) {
        rd_kafka_conf_destroy(conf);
        return err;
    }
    rd_kafka_conf_set_error_cb(conf, error_cb);
    rd_kafka_conf_set_log_cb(conf, log_cb);
    rd_kafka_conf_set_opaque(conf, errs);
    *out = conf;
    return SLUICE_OK;
}
