/*
 * Connector option tables: see base/option_spec.h.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "base/config.h"
#include "base/option_spec.h"

const sluice_option_spec *sluice_option_spec_find(const sluice_option_spec *t, const char *key) {
    for (; t && t->name; t++) {
        if (t->flags & SLUICE_OPT_PREFIX) {
            if (strncmp(key, t->name, strlen(t->name)) == 0 && key[strlen(t->name)]) return t;
        } else if (strcmp(key, t->name) == 0) {
            return t;
        }
    }
    return NULL;
}

/* 1 when v is one of the '|'-separated choices */
static int is_choice(const char *choices, const char *v) {
    size_t n = strlen(v);
    for (const char *p = choices; p && *p;) {
        const char *bar = strchr(p, '|');
        size_t len = bar ? (size_t)(bar - p) : strlen(p);
        if (len == n && strncmp(p, v, n) == 0) return 1;
        p = bar ? bar + 1 : NULL;
    }
    return 0;
}

/* choices as text: "json, csv, lines", or with or_last "json, csv or lines" */
static void choices_text(const char *choices, int or_last, char *buf, size_t size) {
    size_t k = 0;
    const char *last = choices && or_last ? strrchr(choices, '|') : NULL;
    for (const char *p = choices ? choices : ""; *p && k + 5 < size; p++) {
        if (*p == '|') {
            const char *sep = p == last ? " or " : ", ";
            for (; *sep && k + 1 < size; sep++) buf[k++] = *sep;
        } else {
            buf[k++] = *p;
        }
    }
    buf[k] = '\0';
}

const char *sluice_option_spec_type_text(const sluice_option_spec *spec, char *buf, size_t size) {
    char c[256];
    switch (spec->type) {
    case SLUICE_OPT_STRING: snprintf(buf, size, "text"); break;
    case SLUICE_OPT_BOOL: snprintf(buf, size, "true or false"); break;
    case SLUICE_OPT_INT:
        if (spec->max > 0)
            snprintf(buf, size, "integer from %lld to %lld", (long long)spec->min, (long long)spec->max);
        else
            snprintf(buf, size, "integer >= %lld", (long long)spec->min);
        break;
    case SLUICE_OPT_DURATION: snprintf(buf, size, "duration (500ms, 30s, 5m, 1h)"); break;
    case SLUICE_OPT_SIZE: snprintf(buf, size, "bytes (512, 64k, 1M, 2G)"); break;
    case SLUICE_OPT_ENUM:
        choices_text(spec->choices, 0, c, sizeof c);
        snprintf(buf, size, "one of %s", c);
        break;
    case SLUICE_OPT_CHAR: snprintf(buf, size, "one character (or \\t)"); break;
    case SLUICE_OPT_LIST: snprintf(buf, size, "comma-separated list"); break;
    default: snprintf(buf, size, "?"); break;
    }
    return buf;
}

int sluice_option_spec_check(const sluice_option_spec *spec, const char *value, char *why, size_t why_size) {
    char t[300];
    int64_t n = 0;
    int ok = 1;
    switch (spec->type) {
    case SLUICE_OPT_STRING: ok = 1; break;
    case SLUICE_OPT_BOOL: {
        int b;
        ok = sluice_parse_bool(value, &b) == 0;
        break;
    }
    case SLUICE_OPT_INT: {
        char *end;
        errno = 0;
        long long v = strtoll(value, &end, 10);
        ok = end != value && !*end && !errno && v >= spec->min && (spec->max <= 0 || v <= spec->max);
        break;
    }
    case SLUICE_OPT_DURATION: ok = sluice_parse_duration_ms(value, &n) == 0; break;
    case SLUICE_OPT_SIZE: ok = sluice_parse_bytes(value, &n) == 0; break;
    case SLUICE_OPT_ENUM: ok = is_choice(spec->choices, value); break;
    case SLUICE_OPT_CHAR: ok = strlen(value) == 1 || strcmp(value, "\\t") == 0; break;
    case SLUICE_OPT_LIST: ok = value[0] != '\0'; break;
    default: ok = 0; break;
    }
    if (ok) return 0;
    if (spec->type == SLUICE_OPT_ENUM) {
        /* "expected json, csv or lines", as the connectors always said */
        choices_text(spec->choices, 1, t, sizeof t);
        snprintf(why, why_size, "expected %s", t);
        return -1;
    }
    if (spec->type == SLUICE_OPT_DURATION) {
        snprintf(why, why_size, "expected a duration such as 30s or 500ms");
        return -1;
    }
    snprintf(why, why_size, "expected %s", sluice_option_spec_type_text(spec, t, sizeof t));
    return -1;
}

void sluice_option_spec_names(const sluice_option_spec *t, char *buf, size_t size) {
    size_t k = 0;
    if (size) buf[0] = '\0';
    for (; t && t->name && size; t++) {
        int w = snprintf(buf + k, size - k, "%s%s%s", k ? ", " : "", t->name,
                         (t->flags & SLUICE_OPT_PREFIX) ? "*" : "");
        if (w < 0 || (size_t)w >= size - k) break;
        k += (size_t)w;
    }
}

void sluice_option_specs_markdown(FILE *out, const sluice_option_spec *t) {
    fputs("| key | value | default | description |\n| --- | --- | --- | --- |\n", out);
    for (; t && t->name; t++) {
        char type[300];
        fprintf(out, "| `%s%s` | %s | %s%s%s | %s%s%s |\n", t->name, (t->flags & SLUICE_OPT_PREFIX) ? "*" : "",
                sluice_option_spec_type_text(t, type, sizeof type), t->default_value ? "`" : "",
                t->default_value ? t->default_value : ((t->flags & SLUICE_OPT_REQUIRED) ? "required" : ""),
                t->default_value ? "`" : "", t->description ? t->description : "",
                (t->flags & SLUICE_OPT_SECRET) ? " (secret: never shown)" : "",
                (t->flags & SLUICE_OPT_IDENTITY) ? " (names the input: a checkpoint records it and refuses a "
                                                   "restart reading another)"
                                                 : "");
    }
}
