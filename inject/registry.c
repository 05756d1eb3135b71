/*
 * The registry of connectors and the built-in profiles.  The only file that
 * knows which modules exist.
 */
#include <stdio.h>
#include <string.h>

#include "connectors/connectors.h"
#include "registry.h"

typedef struct source_entry {
    const char *name;
    const sluice_source_ops *ops;  /* NULL: known but not built in */
    const char *enable;            /* how to get it when ops is NULL */
} source_entry;

typedef struct sink_entry {
    const char *name;
    const sluice_sink_ops *ops;
    const char *enable;
} sink_entry;

static const source_entry sources[] = {
    {.name = "file", .ops = &sluice_file_source_ops},
    {.name = "memory", .ops = &sluice_memory_source_ops},
    {.name = "fault", .ops = &sluice_fault_source_ops},
    {.name = "kafka", .ops = NULL,
     .enable = "the Kafka connector is not part of this build yet (it comes with -DSLUICE_WITH_KAFKA=ON)"},
};

static const sink_entry sinks[] = {
    {.name = "memory", .ops = &sluice_memory_sink_ops},
    {.name = "console", .ops = &sluice_console_sink_ops},
    {.name = "file", .ops = &sluice_file_sink_ops},
    {.name = "fault", .ops = &sluice_fault_sink_ops},
    {.name = "kafka", .ops = NULL,
     .enable = "the Kafka connector is not part of this build yet (it comes with -DSLUICE_WITH_KAFKA=ON)"},
    {.name = "mysql", .ops = NULL,
     .enable = "the MySQL connector is not part of this build yet (it comes with -DSLUICE_WITH_MYSQL=ON)"},
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

#define LOOKUP(table, kind)                                                             \
    do {                                                                                \
        char known[256] = "";                                                           \
        for (size_t i = 0; i < COUNT(table); i++) {                                     \
            if (strcmp(table[i].name, name) == 0) {                                     \
                if (!table[i].ops)                                                      \
                    return sluice_seterr(errstr, errstr_size, SLUICE_ERR_UNAVAILABLE,   \
                                         "%s connector '%s': %s", kind, name,          \
                                         table[i].enable);                              \
                *out = table[i].ops;                                                    \
                return SLUICE_OK;                                                       \
            }                                                                           \
            if (table[i].ops) {                                                         \
                if (known[0]) strncat(known, ", ", sizeof known - strlen(known) - 1);   \
                strncat(known, table[i].name, sizeof known - strlen(known) - 1);        \
            }                                                                           \
        }                                                                               \
        return sluice_seterr(errstr, errstr_size, SLUICE_ERR_CONFIG,                    \
                             "unknown %s connector '%s' (known: %s)", kind, name, known); \
    } while (0)

sluice_err_t sluice_registry_source(const char *name, const sluice_source_ops **out,
                                    char *errstr, size_t errstr_size) {
    LOOKUP(sources, "source");
}

sluice_err_t sluice_registry_sink(const char *name, const sluice_sink_ops **out,
                                  char *errstr, size_t errstr_size) {
    LOOKUP(sinks, "sink");
}
