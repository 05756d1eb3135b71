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
 *  sluice_plan_explain() when it parses; aborts when the input plans but
 *  sluice_fuzz_sql_roundtrip() does not hold. */
int sluice_fuzz_sql(const uint8_t *data, size_t size);

/** The round-trip invariant of the SQL unparser (sql/unparse.h) on SQL text
 *  `src` (len bytes): when the text parses and plans, its unparsed text must
 *  parse and plan to the same explain output (sluice_plan_explain()), and
 *  unparsing that text's tree must give the same text again.  Returns 1 when
 *  it holds, 0 when the input does not parse or plan (nothing to check), -1
 *  when it does not hold (`why` then says how, with both texts). */
int sluice_fuzz_sql_roundtrip(const char *src, size_t len, char *why, size_t why_size);

/** A profile file: sluice_fuzz_ini_roundtrip() (aborts when it does not
 *  hold), then sluice_config_load_string(), the value parsers and
 *  sluice_config_set() on every entry. */
int sluice_fuzz_ini(const uint8_t *data, size_t size);

/** The round trip of a profile (INI text, len bytes): when it loads, its
 *  entries written out as INI (sections, keys, values with '$' as "$$")
 *  load back to the same entries, in order.  Returns 1 when it holds, 0 when
 *  the text does not load or an entry cannot be written so that libinih
 *  reads it back (white space around a value, which only ${VAR:-default}
 *  gives, an inline ';' comment, a line over libinih's 200 bytes, white
 *  space at the end of a key, which libinih gives a continuation line after
 *  a key longer than 49 bytes), -1 when
 *  it does not hold (`why` says how). */
int sluice_fuzz_ini_roundtrip(const char *text, size_t len, char *why, size_t why_size);

/** One JSON record through several decoders whose columns cover every
 *  type, ISO-8601, strptime and epoch timestamps, and PATH columns. */
int sluice_fuzz_json(const uint8_t *data, size_t size);

/** CSV: the first line is a header for the header-mapped decoders, and
 *  every line (the first one too) is decoded as a record by positional
 *  decoders and by any header-mapped decoder the header allows. */
int sluice_fuzz_csv(const uint8_t *data, size_t size);

/** A checkpoint file: sluice_ckpt_parse() on the input, and the input as
 *  the payload of an intact record read back with the state/codec.h
 *  reader (every decoded value must encode back to its bytes). */
int sluice_fuzz_checkpoint(const uint8_t *data, size_t size);

/** A state snapshot given to the restore op of the engine of a fixed
 *  pipeline (unwindowed, TUMBLE, HOP, SESSION and top-N queries over every
 *  aggregate).  Restore must succeed or return SLUICE_ERR_MALFORMED; an
 *  accepted snapshot must snapshot back to the same bytes, and then runs
 *  two micro-batches (the second ending the input) and a snapshot. */
int sluice_fuzz_restore(const uint8_t *data, size_t size);

/** The entry for a target name ("sql", "ini", "json", "csv", "checkpoint",
 *  "restore"), or NULL. */
typedef int (*sluice_fuzz_fn)(const uint8_t *data, size_t size);
sluice_fuzz_fn sluice_fuzz_entry(const char *target);

#endif
