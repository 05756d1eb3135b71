/*
 * The registry of connectors and the built-in profiles.  The only file that
 * knows which modules exist.
 */
#include <stdio.h>
#include <string.h>

#include "connectors/connectors.h"
#include "registry.h"

/* One connector of one kind: ops is a sluice_source_ops or sluice_sink_ops;
 * NULL when the connector is known but not built into this binary. */
typedef struct entry {
    const char *name;
    const void *ops;
    const char *enable;            /* how to get it when ops is NULL */
    const char *shared;            /* its shared section when ops is NULL, so
                                      that a profile naming it still parses */
} entry;

#define NOT_BUILT(what, option) \
    "the " what " connector is not part of this build yet (it comes with -D" option "=ON)"

static const entry sources[] = {
    {.name = "file", .ops = &sluice_file_source_ops},
    {.name = "memory", .ops = &sluice_memory_source_ops},
    {.name = "fault", .ops = &sluice_fault_source_ops},
    {.name = "socket", .ops = &sluice_socket_source_ops},
#ifdef SLUICE_WITH_KAFKA
    {.name = "kafka", .ops = &sluice_kafka_source_ops},
#else
    {.name = "kafka", .ops = NULL, .enable = NOT_BUILT("Kafka", "SLUICE_WITH_KAFKA"), .shared = "kafka"},
#endif
#ifdef SLUICE_WITH_MYSQL
    {.name = "mysql", .ops = &sluice_mysql_source_ops},
#else
    {.name = "mysql", .ops = NULL, .enable = NOT_BUILT("MySQL", "SLUICE_WITH_MYSQL"), .shared = "mysql"},
#endif
};

static const entry sinks[] = {
    {.name = "memory", .ops = &sluice_memory_sink_ops},
    {.name = "console", .ops = &sluice_console_sink_ops},
    {.name = "file", .ops = &sluice_file_sink_ops},
    {.name = "fault", .ops = &sluice_fault_sink_ops},
#ifdef SLUICE_WITH_KAFKA
    {.name = "kafka", .ops = &sluice_kafka_sink_ops},
#else
    {.name = "kafka", .ops = NULL, .enable = NOT_BUILT("Kafka", "SLUICE_WITH_KAFKA"), .shared = "kafka"},
#endif
#ifdef SLUICE_WITH_MYSQL
    {.name = "mysql", .ops = &sluice_mysql_sink_ops},
#else
    {.name = "mysql", .ops = NULL, .enable = NOT_BUILT("MySQL", "SLUICE_WITH_MYSQL"), .shared = "mysql"},
#endif
#ifdef SLUICE_WITH_REDIS
    {.name = "redis", .ops = &sluice_redis_sink_ops},
#else
    {.name = "redis", .ops = NULL, .enable = NOT_BUILT("Redis", "SLUICE_WITH_REDIS"), .shared = "redis"},
#endif
};

static const sluice_profile profiles[] = {
    {.name = "test", .default_source = "file", .default_sink = "memory"},
    {.name = "prod", .default_source = "kafka", .default_sink = "mysql"},
};

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

const sluice_profile *sluice_profile_find(const char *name) {
    for (size_t i = 0; i < COUNT(profiles); i++)
        if (strcmp(profiles[i].name, name) == 0) return &profiles[i];
    return NULL;
}

const char *sluice_profile_names(void) {
    return "test, prod";
}

static sluice_err_t lookup(const entry *table, size_t n, const char *kind, const char *name, const void **out,
                           char *errstr, size_t errstr_size) {
    char known[256] = "";
    for (size_t i = 0; i < n; i++) {
        if (strcmp(table[i].name, name) == 0) {
            if (!table[i].ops)
                return sluice_seterr(errstr, errstr_size, SLUICE_ERR_UNAVAILABLE, "%s connector '%s': %s", kind, name,
                                     table[i].enable);
            *out = table[i].ops;
            return SLUICE_OK;
        }
        if (table[i].ops) {
            if (known[0]) strncat(known, ", ", sizeof known - strlen(known) - 1);
            strncat(known, table[i].name, sizeof known - strlen(known) - 1);
        }
    }
    return sluice_seterr(errstr, errstr_size, SLUICE_ERR_CONFIG, "unknown %s connector '%s' (known: %s)", kind, name,
                         known);
}

sluice_err_t sluice_registry_source(const char *name, const sluice_source_ops **out, char *errstr,
                                    size_t errstr_size) {
    const void *ops = NULL;
    sluice_err_t err = lookup(sources, COUNT(sources), "source", name, &ops, errstr, errstr_size);
    if (!err) *out = ops;
    return err;
}

sluice_err_t sluice_registry_sink(const char *name, const sluice_sink_ops **out, char *errstr, size_t errstr_size) {
    const void *ops = NULL;
    sluice_err_t err = lookup(sinks, COUNT(sinks), "sink", name, &ops, errstr, errstr_size);
    if (!err) *out = ops;
    return err;
}

static const char *entry_shared(const entry *e, int source) {
    if (!e->ops) return e->shared;
    return source ? ((const sluice_source_ops *)e->ops)->shared_section
                  : ((const sluice_sink_ops *)e->ops)->shared_section;
}

const char *sluice_registry_shared_section(int source, const char *name) {
    const entry *t = source ? sources : sinks;
    size_t n = source ? COUNT(sources) : COUNT(sinks);
    for (size_t i = 0; name && i < n; i++)
        if (strcmp(t[i].name, name) == 0) return entry_shared(&t[i], source);
    return NULL;
}

size_t sluice_registry_shared_sections(const char **names, size_t max) {
    size_t n = 0;
    for (int source = 1; source >= 0; source--) {
        const entry *t = source ? sources : sinks;
        size_t count = source ? COUNT(sources) : COUNT(sinks);
        for (size_t i = 0; i < count; i++) {
            const char *sec = entry_shared(&t[i], source);
            if (!sec) continue;
            size_t j = 0;
            while (j < n && strcmp(names[j], sec) != 0) j++;
            if (j == n && n < max) names[n++] = sec;
        }
    }
    return n;
}

void sluice_registry_each(void (*fn)(void *ctx, int source, const char *name, const void *ops), void *ctx) {
    for (int source = 1; source >= 0; source--) {
        const entry *t = source ? sources : sinks;
        size_t n = source ? COUNT(sources) : COUNT(sinks);
        for (size_t i = 0; i < n; i++)
            if (t[i].ops && strcmp(t[i].name, "fault") != 0) fn(ctx, source, t[i].name, t[i].ops);
    }
}
