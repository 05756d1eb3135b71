/*
 * sluice — the profile file: INI (libinih) with ${VAR} / ${VAR:-default}
 * expansion from the environment and `--set section.key=value` overrides
 * (docs/connectors.md).  Private to the engine.
 */
#ifndef SLUICE_BASE_CONFIG_H
#define SLUICE_BASE_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#include "sluice/error.h"

/** One `key = value` line (or --set) after expansion. */
typedef struct sluice_config_entry {
    char *section;      /**< "pipeline", "source flights", "sink x", "kafka" ... */
    char *key;
    char *value;        /**< expanded */
    const char *file;   /**< the INI path, or "--set" */
    int line;           /**< 1-based; 0 for --set */
    int col;            /**< 1-based column of the key */
} sluice_config_entry;

/** One [section] header as it appears in the file. */
typedef struct sluice_config_section {
    char *name;
    int line;
} sluice_config_section;

typedef struct sluice_config {
    char *path;
    sluice_config_entry *entries;   /**< in file order, then --set in order */
    size_t nentries, cap;
    sluice_config_section *sections;
    size_t nsections, scap;
} sluice_config;

/** Read and parse an INI file.  Section names keep their inner spacing
 *  normalised to one space ("source  x" -> "source x").  Values are
 *  expanded: `${VAR}` (an unset VAR is an error), `${VAR:-default}`, and
 *  `$$` for a literal `$`.  Errors (SLUICE_ERR_CONFIG) name `FILE:LINE`:
 *  unreadable file, INI syntax, a key outside any section, a bad
 *  expansion.  On success *out is owned by the caller
 *  (sluice_config_free). */
sluice_err_t sluice_config_load(const char *path, sluice_config **out,
                                char *errstr, size_t errstr_size);

/** As sluice_config_load(), on `len` bytes of INI text held in memory
 *  (need not be NUL-terminated; a NUL byte ends its line as it does in a
 *  file).  `name` stands for the file in messages and entries.  On
 *  success *out is owned by the caller (sluice_config_free). */
sluice_err_t sluice_config_load_string(const char *text, size_t len, const char *name,
                                       sluice_config **out, char *errstr, size_t errstr_size);

/** An empty configuration (no file), for a pipeline run without one. */
sluice_config *sluice_config_new_empty(void);

/** Apply one `--set` override: `SECTION.KEY=VALUE` where SECTION is
 *  `pipeline`, `kafka`, `mysql`, or `source NAME` / `sink NAME` (NAME
 *  without dots); KEY may contain dots (`sink x.csv.delimiter=;`).  The
 *  value is expanded like a file value.  It replaces every earlier entry
 *  of that section and key (any section, any key: connectors then see one
 *  value, whichever way they look it up).  Error messages quote the
 *  SECTION.KEY part, never the value. */
sluice_err_t sluice_config_set(sluice_config *cfg, const char *assignment,
                               char *errstr, size_t errstr_size);

/** 1 when `key`'s value is a secret (password, token, sasl.*, ... ):
 *  never printed, logged or quoted in a message; 0 otherwise.  The one
 *  list of secret-looking keys. */
int sluice_config_secret_key(const char *key);

/** Last entry for section/key (the one that wins), or NULL. */
const sluice_config_entry *sluice_config_find(const sluice_config *cfg, const char *section,
                                              const char *key);

/** Expand ${VAR}, ${VAR:-default} and $$ in `in`.  *out is malloc'd.
 *  Returns SLUICE_ERR_CONFIG with errstr "...: ${VAR} is not set" etc. */
sluice_err_t sluice_config_expand(const char *in, char **out, char *errstr, size_t errstr_size);

/** Parse a duration: an integer with unit ms, s, m, h or d ("200ms",
 *  "30s"; a bare number is milliseconds).  Returns 0 and sets *ms, or -1. */
int sluice_parse_duration_ms(const char *s, int64_t *ms);

/** Parse true/false/yes/no/on/off/1/0 (case-insensitive).  0 or -1. */
int sluice_parse_bool(const char *s, int *out);

/** Parse a size in bytes: a positive integer with an optional unit k, M or
 *  G (powers of 1024) and an optional B ("512M", "64kB").  0 or -1. */
int sluice_parse_bytes(const char *s, int64_t *out);

/** Parse a positive decimal integer that fits int64.  0 or -1. */
int sluice_parse_positive(const char *s, int64_t *out);

void sluice_config_free(sluice_config *cfg);

#endif
