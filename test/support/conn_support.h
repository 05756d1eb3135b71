/*
 * Helpers for connector tests: building a module configuration from
 * key/value options, and capturing stdout into a file.
 */
#ifndef SLUICE_CONN_SUPPORT_H
#define SLUICE_CONN_SUPPORT_H

#include <stddef.h>

#include "sluice/module.h"

#define SLUICE_TEST_MAX_OPTIONS 16

/** A module configuration with its option storage (keys and values are
 *  borrowed: pass literals or strings that outlive the instance). */
typedef struct sluice_test_cfg {
    sluice_option options[SLUICE_TEST_MAX_OPTIONS];
    sluice_module_config cfg;
} sluice_test_cfg;

/** Start an empty configuration for instance `instance` of pipeline "test"
 *  with rows of `schema` (may be NULL for sources). */
void sluice_test_cfg_init(sluice_test_cfg *c, const char *instance, const sluice_schema *schema);

/** Add `key = value` (file "test.ini", line = option number). */
void sluice_test_cfg_set(sluice_test_cfg *c, const char *key, const char *value);

/** Redirect stdout (fd 1 and the stdout stream) into `path`, truncating
 *  it.  Returns a handle for sluice_test_capture_end(), or -1. */
int sluice_test_capture_begin(const char *path);

/** Flush and restore stdout saved by sluice_test_capture_begin(). */
void sluice_test_capture_end(int saved);

#endif
