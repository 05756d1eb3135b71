/*
 * sluice — leveled, one-line-per-event logging to stderr (every diagnostic
 * of the programs goes through here), as `key=value`
 * text or as JSON objects.  Every event names the pipeline, the module and
 * the instance it is about.  Private.
 */
#ifndef SLUICE_BASE_LOG_H
#define SLUICE_BASE_LOG_H

#include <stdio.h>

typedef enum sluice_log_level {
    SLUICE_LOG_ERROR = 0,
    SLUICE_LOG_WARN = 1,
    SLUICE_LOG_INFO = 2,
    SLUICE_LOG_DEBUG = 3
} sluice_log_level;

typedef enum sluice_log_format {
    SLUICE_LOG_TEXT = 0,   /**< ts=... level=... pipeline=... module=... msg="..." */
    SLUICE_LOG_JSON = 1    /**< {"ts":...,"level":...,...} */
} sluice_log_format;

/** Set the process-wide threshold, format and destination (NULL = stderr).
 *  Defaults: info, text, stderr. */
void sluice_log_configure(sluice_log_level level, sluice_log_format format, FILE *out);

/** Parse "error", "warn", "info", "debug" (0 on success, -1 otherwise). */
int sluice_log_level_parse(const char *s, sluice_log_level *out);

/** Parse "text" or "json" (0 on success, -1 otherwise). */
int sluice_log_format_parse(const char *s, sluice_log_format *out);

/** 1 when events of `level` are written. */
int sluice_log_enabled(sluice_log_level level);

/** Write one event.  pipeline, module and instance may be NULL (left
 *  out).  The message is printf-formatted; it must not contain secrets
 *  (callers mask them). */
void sluice_log(sluice_log_level level, const char *pipeline, const char *module, const char *instance,
                const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/** A diagnostic of a command-line program that is about no pipeline (a
 *  usage error, a fatal error, sluice-gen's summary).  In the text format
 *  it is the line "PROGRAM: MESSAGE", as command-line tools conventionally
 *  print it for the person at the terminal; in the JSON format one event
 *  with module "cli" and instance PROGRAM.  Written to the configured destination when
 *  `level` is enabled (errors always are).  The message is
 *  printf-formatted, at most 2047 bytes (longer is cut). */
void sluice_log_tool(sluice_log_level level, const char *program, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
