/*
 * Option parsing shared by the connectors.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/option_spec.h"
#include "connectors/connectors_int.h"

static const char *inst_name(const sluice_module_config *cfg) {
    return cfg->instance ? cfg->instance : "?";
}

static void where(const sluice_option *o, char *buf, size_t size) {
    if (o && o->file && o->line > 0)
        snprintf(buf, size, " (%s:%d)", o->file, o->line);
    else if (o && o->file)
        snprintf(buf, size, " (%s)", o->file);
    else
        buf[0] = '\0';
}

sluice_err_t sluice_conn_check_options(const sluice_module_config *cfg,
                                       const char *const *accepted,
                                       const char *kind, const char *connector,
                                       char *errstr, size_t errstr_size) {
    for (size_t i = 0; i < cfg->noptions; i++) {
        const char *key = cfg->options[i].key;
        if (strcmp(key, "connector") == 0) continue;
        int ok = 0;
        for (size_t j = 0; accepted && accepted[j]; j++)
            if (strcmp(accepted[j], key) == 0) { ok = 1; break; }
        if (ok) continue;
        char list[512] = "";
        for (size_t j = 0; accepted && accepted[j]; j++) {
            if (j) strncat(list, ", ", sizeof list - strlen(list) - 1);
            strncat(list, accepted[j], sizeof list - strlen(list) - 1);
        }
        char loc[300];
        where(&cfg->options[i], loc, sizeof loc);
        return sluice_seterr(errstr, errstr_size, SLUICE_ERR_CONFIG,
                             "%s %s (%s): unknown option '%s'%s; accepted: %s", kind,
                             inst_name(cfg), connector, key, loc, list[0] ? list : "none");
    }
    return SLUICE_OK;
}

sluice_err_t sluice_conn_check_specs(const sluice_module_config *cfg, const sluice_option_spec *specs,
                                     const char *kind, const char *connector, char *errstr, size_t errstr_size) {
    for (size_t i = 0; i < cfg->noptions; i++) {
        const sluice_option *o = &cfg->options[i];
        /* the pipeline's own keys never reach a connector's check */
        if (strcmp(o->key, "connector") == 0 || strcmp(o->key, "on_error") == 0) continue;
        const sluice_option_spec *sp = sluice_option_spec_find(specs, o->key);
        char loc[300];
        where(o, loc, sizeof loc);
        if (!sp) {
            char list[1200];
            sluice_option_spec_names(specs, list, sizeof list);
            return sluice_seterr(errstr, errstr_size, SLUICE_ERR_CONFIG, "%s %s (%s): unknown option '%s'%s; accepted: %s",
                                 kind, inst_name(cfg), connector, o->key, loc, list[0] ? list : "none");
        }
        char why[400];
        if (sluice_option_spec_check(sp, o->value, why, sizeof why) != 0)
            return sluice_conn_bad_option(cfg, o->key, kind, connector, why, errstr, errstr_size);
    }
    for (const sluice_option_spec *sp = specs; sp && sp->name; sp++)
        if ((sp->flags & SLUICE_OPT_REQUIRED) && !sluice_module_config_get(cfg, sp->name))
            return sluice_seterr(errstr, errstr_size, SLUICE_ERR_CONFIG, "%s %s (%s): option '%s' is required (%s)",
                                 kind, inst_name(cfg), connector, sp->name, sp->description ? sp->description : "");
    return SLUICE_OK;
}

sluice_err_t sluice_conn_bad_option(const sluice_module_config *cfg, const char *key,
                                    const char *kind, const char *connector,
                                    const char *why, char *errstr, size_t errstr_size) {
    const sluice_option *o = sluice_module_config_find(cfg, key);
    char loc[300];
    where(o, loc, sizeof loc);
    return sluice_seterr(errstr, errstr_size, SLUICE_ERR_CONFIG,
                         "%s %s (%s): option '%s' = '%s'%s: %s", kind, inst_name(cfg),
                         connector, key, o ? o->value : "", loc, why);
}

sluice_err_t sluice_conn_opt_bool(const sluice_module_config *cfg, const char *key,
                                  const char *kind, const char *connector, int *out,
                                  char *errstr, size_t errstr_size) {
    const char *v = sluice_module_config_get(cfg, key);
    if (!v) return SLUICE_OK;
    static const char *const yes[] = {"true", "1", "yes", "on"};
    static const char *const no[] = {"false", "0", "no", "off"};
    for (size_t i = 0; i < 4; i++) {
        if (strcasecmp(v, yes[i]) == 0) { *out = 1; return SLUICE_OK; }
        if (strcasecmp(v, no[i]) == 0) { *out = 0; return SLUICE_OK; }
    }
    return sluice_conn_bad_option(cfg, key, kind, connector, "expected true or false",
                                  errstr, errstr_size);
}

sluice_err_t sluice_conn_opt_posint(const sluice_module_config *cfg, const char *key,
                                    const char *kind, const char *connector, int64_t *out,
                                    char *errstr, size_t errstr_size) {
    const char *v = sluice_module_config_get(cfg, key);
    if (!v) return SLUICE_OK;
    char *end = NULL;
    errno = 0;
    long long n = isdigit((unsigned char)v[0]) ? strtoll(v, &end, 10) : 0;
    if (!end || *end != '\0' || errno != 0 || n <= 0)
        return sluice_conn_bad_option(cfg, key, kind, connector,
                                      "expected a positive integer", errstr, errstr_size);
    *out = (int64_t)n;
    return SLUICE_OK;
}

sluice_err_t sluice_conn_opt_char(const sluice_module_config *cfg, const char *key,
                                  const char *kind, const char *connector, char *out,
                                  char *errstr, size_t errstr_size) {
    const char *v = sluice_module_config_get(cfg, key);
    if (!v) return SLUICE_OK;
    char c;
    if (strcmp(v, "\\t") == 0 || strcasecmp(v, "tab") == 0)
        c = '\t';
    else if (strlen(v) == 1)
        c = v[0];
    else
        return sluice_conn_bad_option(cfg, key, kind, connector,
                                      "expected exactly one character", errstr, errstr_size);
    if (c == '"' || c == '\n' || c == '\r')
        return sluice_conn_bad_option(cfg, key, kind, connector,
                                      "a quote or line break cannot be a delimiter", errstr,
                                      errstr_size);
    *out = c;
    return SLUICE_OK;
}
