/*
 * The file sink's epoch record: the sidecar PATH.epoch that says, after each
 * commit, which epoch the output file holds and how long it was then.
 *
 * It is a small text file, format 2:
 *
 *   sluice-file-epoch 2
 *   pipeline NAME
 *   sink NAME
 *   path PATH
 *   format csv|json
 *   epoch N            (-1: the file was created, nothing committed yet)
 *   length L           (bytes of the output file at that commit)
 *   crc32 XXXXXXXX     (zlib CRC-32 of every byte before this line, hex)
 *
 * The key (pipeline, sink, path, format) names everything that identifies
 * the target, so a record left by another pipeline or sink, or for another
 * format, is never taken as this one's; the checksum catches a torn or
 * edited record.  Written to PATH.epoch.tmp, fsynced, renamed.
 * Private to the file sink.
 */
#ifndef SLUICE_CONNECTORS_FILE_EPOCH_H
#define SLUICE_CONNECTORS_FILE_EPOCH_H

#include <stddef.h>
#include <stdint.h>

#include "sluice/error.h"

/** What identifies the output: all borrowed. */
typedef struct sluice_file_epoch_key {
    const char *pipeline;
    const char *sink;
    const char *path;
    const char *format;  /**< "csv" or "json" */
} sluice_file_epoch_key;

/** Durably write the record (tmp, fsync, rename).  SLUICE_ERR_IO naming
 *  the file on failure. */
sluice_err_t sluice_file_epoch_write(const char *sidecar, const sluice_file_epoch_key *key, int64_t epoch,
                                     int64_t length, char *errstr, size_t errstr_size);

/** Read and validate the record at `sidecar`.  Returns SLUICE_OK with
 *  *found = 0 when there is no such file; SLUICE_OK with *found = 1 and
 *  *epoch, *length set when it is intact and its key equals `key`;
 *  SLUICE_ERR_CONFIG with a message naming the file (what is wrong: not a
 *  record, checksum mismatch, or which key field differs) otherwise;
 *  SLUICE_ERR_IO when it exists but cannot be read. */
sluice_err_t sluice_file_epoch_read(const char *sidecar, const sluice_file_epoch_key *key, int *found,
                                    int64_t *epoch, int64_t *length, char *errstr, size_t errstr_size);

#endif
