/*
 * sluice — the dead-letter output: one JSON object per line for every
 * record the pipeline could not use (malformed, late), so that bad input is
 * kept, never silently lost (docs/sql.md "Errors").  Private.
 */
#ifndef SLUICE_BASE_DEAD_LETTER_H
#define SLUICE_BASE_DEAD_LETTER_H

#include <stddef.h>
#include <stdint.h>

#include "sluice/error.h"

typedef struct sluice_dead_letter sluice_dead_letter;

/** 1 when path has the form SCHEME:... (letters, then a colon): a target
 *  other than a file, which no build writes yet. */
int sluice_dead_letter_is_uri(const char *path);

/** Open the dead-letter file at `path` (created; truncated unless `append`
 *  -- a checkpointed pipeline keeps it across runs, and a replayed epoch
 *  may then write its dead letters again -- and unless another process
 *  writes it: processes sharing a file append whole entries, each holding
 *  a shared flock).  path NULL: records are only
 *  counted.  A `SCHEME:...` target (a topic) is SLUICE_ERR_UNAVAILABLE:
 *  only files are written yet.  Free with
 *  sluice_dead_letter_close(). */
sluice_err_t sluice_dead_letter_open(const char *path, int append, sluice_dead_letter **out,
                                     char *errstr, size_t errstr_size);

/** Append one entry:
 *  {"source":S,"sink":K,"position":P,"reason":R,"raw":RAW}
 *  ("sink" only when not NULL: a late row is late for one query).  raw is
 *  raw_len bytes (NULL: none), escaped as a JSON string when they are
 *  well-formed UTF-8; otherwise the entry carries "raw_base64" (the exact
 *  bytes in base64, RFC 4648) in place of "raw", so that a dead letter
 *  always holds the record losslessly.  The other fields are text: any
 *  ill-formed UTF-8 in them becomes U+FFFD (sluice_json_write_string). */
sluice_err_t sluice_dead_letter_write(sluice_dead_letter *dl, const char *source, const char *sink,
                                      const char *position, const char *reason,
                                      const char *raw, size_t raw_len);

/** Flush to the OS (called at the end of each micro-batch). */
sluice_err_t sluice_dead_letter_flush(sluice_dead_letter *dl, char *errstr, size_t errstr_size);

/** Entries written so far. */
uint64_t sluice_dead_letter_count(const sluice_dead_letter *dl);

/** 1 when entries are kept (a file), 0 when only counted (no path) or
 *  dl is NULL. */
int sluice_dead_letter_keeps(const sluice_dead_letter *dl);

/** Flush and close.  NULL-safe. */
void sluice_dead_letter_close(sluice_dead_letter *dl);

#endif
