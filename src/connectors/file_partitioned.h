/*
 * The file sink's partitioned mode (`partition_by`): Hive-style directory
 * layout, the per-epoch manifest that publishes an epoch's files, and the
 * writer.  Private to the file sink; see docs/connectors.md, "The file sink".
 *
 * Layout (as Hive and Spark's file sink write it):
 *
 *   PATH/col1=v1/col2=v2/part-<epoch>-<n>.<csv|json>
 *   PATH/_sluice_manifest/<epoch>
 *
 * Names starting with '.' or '_' are skipped by Hive and Spark readers, so
 * the temporary files (.part-<epoch>-<n>.<ext>.tmp) and the manifest
 * directory are never read as data by them.
 */
#ifndef SLUICE_CONNECTORS_FILE_PARTITIONED_H
#define SLUICE_CONNECTORS_FILE_PARTITIONED_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "sluice/error.h"
#include "sluice/module.h"

/** The directory under PATH holding one manifest record per epoch. */
#define SLUICE_MANIFEST_DIR "_sluice_manifest"

/** Hive's partition directory for a NULL or empty value
 *  (HiveConf hive.exec.default.partition.name). */
#define SLUICE_HIVE_DEFAULT_PARTITION "__HIVE_DEFAULT_PARTITION__"

/** Write s[0..len) to f escaped as Hive's FileUtils.escapePathName does:
 *  the bytes 0x01-0x1F, 0x7F and  " # % ' * / : = ? \ { [ ] ^  become %XX
 *  (upper-case hex); so does NUL (which no file name can hold).  Other
 *  bytes, UTF-8 included, are kept.  An empty string is written as
 *  SLUICE_HIVE_DEFAULT_PARTITION, as Hive does.  Returns 0, or -1 on a
 *  write error. */
int sluice_hive_escape(FILE *f, const char *s, size_t len);

/** Write the partition directory of one row, "c1=v1/c2=v2", to f: each
 *  name and value escaped by sluice_hive_escape, values rendered by
 *  sluice_value_render, NULL as SLUICE_HIVE_DEFAULT_PARTITION.  cols and
 *  row are the full schema and row; idx[0..n) the partition columns.
 *  Returns 0, or -1 on a write error. */
int sluice_hive_partition_dir(FILE *f, const sluice_column *cols, const sluice_value *row, const size_t *idx,
                              size_t n);

/** What a manifest is keyed by (all borrowed): a record whose key differs
 *  is another output's and is refused, as the plain sink's sidecar is. */
typedef struct sluice_manifest_key {
    const char *pipeline;
    const char *sink;
    const char *path;
    const char *format;       /* "csv" or "json" */
    const char *partition_by; /* the columns, comma-separated, as written */
} sluice_manifest_key;

/** Write PATH/_sluice_manifest/<epoch> atomically: the key, the epoch and
 *  the files (relative to PATH, one per line) followed by a zlib CRC-32
 *  line, written to .<epoch>.tmp, fsynced, renamed, and the directory
 *  fsynced.  Returns SLUICE_ERR_IO (errstr says which file) on failure. */
sluice_err_t sluice_manifest_write(const char *path, const sluice_manifest_key *key, int64_t epoch,
                                   char *const *files, size_t nfiles, char *errstr, size_t errstr_size);

/** Read and check PATH/_sluice_manifest/<epoch>.  On success *files is a
 *  malloc'd array of *nfiles malloc'd relative names (free with
 *  sluice_manifest_free).  SLUICE_ERR_CONFIG for a torn or edited record
 *  (checksum), another output's record (key) or a malformed one. */
sluice_err_t sluice_manifest_read(const char *path, const sluice_manifest_key *key, int64_t epoch, char ***files,
                                  size_t *nfiles, char *errstr, size_t errstr_size);

/** The epochs PATH/_sluice_manifest holds, ascending, malloc'd (*n of
 *  them; *epochs NULL when none).  Leftover temporary records
 *  (.<epoch>.tmp: a crash before their rename) are deleted.  A missing
 *  directory is no epochs.  SLUICE_ERR_IO when it cannot be read. */
sluice_err_t sluice_manifest_epochs(const char *path, int64_t **epochs, size_t *n, char *errstr,
                                    size_t errstr_size);

void sluice_manifest_free(char **files, size_t nfiles);

/** Open the partitioned file sink (called by the file sink's open when
 *  `partition_by` is set; options already checked).  csv/delim as the
 *  plain sink's. */
sluice_err_t sluice_file_partitioned_open(const sluice_module_config *cfg, const char *path, int csv, char delim,
                                          sluice_sink **out, char *errstr, size_t errstr_size);

/** Check `partition_by`, `rollover_rows` and `rollover_bytes` against
 *  cfg->schema (when set) without touching the file system. */
sluice_err_t sluice_file_partitioned_check(const sluice_module_config *cfg, char *errstr, size_t errstr_size);

#endif
