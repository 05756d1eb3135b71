#include <stdarg.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "base/clock.h"
#include "base/log.h"
#include "base/json_string.h"

static sluice_log_level log_level = SLUICE_LOG_INFO;
static sluice_log_format log_format = SLUICE_LOG_TEXT;
static FILE *log_out = NULL;

static const char *const level_names[] = {"error", "warn", "info", "debug"};

void sluice_log_configure(sluice_log_level level, sluice_log_format format, FILE *out) {
    log_level = level;
    log_format = format;
    log_out = out;
}

int sluice_log_level_parse(const char *s, sluice_log_level *out) {
    for (int i = 0; i < 4; i++)
        if (strcasecmp(s, level_names[i]) == 0 || (i == 1 && strcasecmp(s, "warning") == 0)) {
            *out = (sluice_log_level)i;
            return 0;
        }
    return -1;
}

int sluice_log_format_parse(const char *s, sluice_log_format *out) {
    if (strcasecmp(s, "text") == 0) *out = SLUICE_LOG_TEXT;
    else if (strcasecmp(s, "json") == 0) *out = SLUICE_LOG_JSON;
    else return -1;
    return 0;
}

int sluice_log_enabled(sluice_log_level level) {
    return level <= log_level;
}

/* text format: a value is quoted when it is empty or holds a space, quote,
 * '=' or a control character */
static void text_value(FILE *f, const char *v) {
    int quote = !*v;
    for (const char *p = v; *p && !quote; p++)
        quote = *p == ' ' || *p == '"' || *p == '=' || (unsigned char)*p < 0x20;
    if (!quote) {
        fputs(v, f);
        return;
    }
    sluice_json_write_string(f, v, strlen(v));
}

static void field(FILE *f, const char *key, const char *value, int *first) {
    if (!value) return;
    if (log_format == SLUICE_LOG_JSON) {
        fprintf(f, "%s\"%s\":", *first ? "" : ",", key);
        sluice_json_write_string(f, value, strlen(value));
    } else {
        fprintf(f, "%s%s=", *first ? "" : " ", key);
        text_value(f, value);
    }
    *first = 0;
}

/* One event, whole: librdkafka and libmicrohttpd log from their own
 * threads, so it is never interleaved with another. */
static void emit(sluice_log_level level, const char *pipeline, const char *module, const char *instance,
                 const char *msg) {
    FILE *f = log_out ? log_out : stderr;
    char ts[80];
    int64_t now = sluice_clock_realtime_ms();
    time_t secs = (time_t)(now / 1000);
    struct tm tm;
    gmtime_r(&secs, &tm);
    snprintf(ts, sizeof ts, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
             tm.tm_hour, tm.tm_min, tm.tm_sec, (int)(now % 1000));
    int first = 1;
    flockfile(f);
    if (log_format == SLUICE_LOG_JSON) fputc('{', f);
    field(f, "ts", ts, &first);
    field(f, "level", level_names[level], &first);
    field(f, "pipeline", pipeline, &first);
    field(f, "module", module, &first);
    field(f, "instance", instance, &first);
    field(f, "msg", msg, &first);
    fputs(log_format == SLUICE_LOG_JSON ? "}\n" : "\n", f);
    fflush(f);
    funlockfile(f);
}

void sluice_log(sluice_log_level level, const char *pipeline, const char *module, const char *instance,
                const char *fmt, ...) {
    if (!sluice_log_enabled(level)) return;
    char msg[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    emit(level, pipeline, module, instance, msg);
}

void sluice_log_tool(sluice_log_level level, const char *program, const char *fmt, ...) {
    if (!sluice_log_enabled(level)) return;
    char msg[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (log_format == SLUICE_LOG_JSON) {
        emit(level, NULL, "cli", program, msg);
        return;
    }
    FILE *f = log_out ? log_out : stderr;
    flockfile(f);
    fprintf(f, "%s: %s\n", program, msg);
    fflush(f);
    funlockfile(f);
}
