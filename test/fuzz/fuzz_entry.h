/*
 * The bodies of the fuzz targets, shared by the libFuzzer programs
 * (fuzz_*.c) and the regression test (test/unit/test_fuzz_regressions.c).
 * Each takes one input of any bytes, feeds it to one part of the engine
 * and frees everything it allocated.  They return 0; a bug shows as a
 * crash or a sanitizer report.
 */
#ifndef SLUICE_FUZZ_ENTRY_H
#define SLUICE_FUZZ_ENTRY_H

#include <stddef.h>
#include <stdint.h>

/** SQL text: sluice_sql_parse(), then sluice_plan_build() and
 *  sluice_plan_explain() when it parses. */
int sluice_fuzz_sql(const uint8_t *data, size_t size);

/** A profile file: sluice_config_load_string(), then the value parsers and
 *  sluice_config_set() on every entry. */
int sluice_fuzz_ini(const uint8_t *data, size_t size);

/** One JSON record through several decoders whose columns cover every
 *  type, ISO-8601, strptime and epoch timestamps, and PATH columns. */
int sluice_fuzz_json(const uint8_t *data, size_t size);

/** CSV: the first line is a header for the header-mapped decoders, and
 *  every line (the first one too) is decoded as a record by positional
 *  decoders and by any header-mapped decoder the header allows. */
int sluice_fuzz_csv(const uint8_t *data, size_t size);

/** The entry for a target name ("sql", "ini", "json", "csv"), or NULL. */
typedef int (*sluice_fuzz_fn)(const uint8_t *data, size_t size);
sluice_fuzz_fn sluice_fuzz_entry(const char *target);

#endif
