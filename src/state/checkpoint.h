/*
 * sluice state — the checkpoint directory (docs/checkpoints.md), on-disk
 * format version 1:
 *
 *   DIR/lock            flock()ed by the process that has it open (its pid)
 *   DIR/meta            the pipeline's fingerprint (kind 3, epoch 0): its
 *                       name ("pipeline NAME" line) and plan
 *   DIR/offsets/EPOCH   the input range of epoch EPOCH (kind 1), written
 *                       and fsynced before the epoch is processed
 *   DIR/state/EPOCH     a snapshot of the state after EPOCH (kind 2)
 *
 * Every file is one record:
 *
 *   offset  size  field
 *   0       4     magic "SLCK"
 *   4       4     format version (1), little-endian
 *   8       4     kind (1 offsets, 2 state, 3 meta)
 *   12      8     epoch (signed)
 *   20      8     payload length N
 *   28      N     payload (state/codec.h encoding)
 *   28+N    4     CRC-32 (zlib) of bytes [0, 28+N)
 *
 * A file is written to a temporary name, fsynced, renamed into place, and
 * the directory fsynced, so a crash leaves either the old or the new file
 * (and maybe a leftover *.tmp, which is ignored).  A record under its final
 * name that fails its length or CRC check was therefore damaged after it
 * was written: the newest snapshot, a logged offsets record or the meta
 * record that does not verify is refused (SLUICE_ERR_CONFIG), never
 * skipped in favour of an older one.
 * EPOCH in file names is zero-padded to 20 digits so names sort by epoch.
 *
 * The payloads of offsets and state records are state/epoch_log.h's: a
 * state record holds the source positions around the transform's
 * snapshot, which the operator DAG frames (src/exec/dag.c, "snapshots";
 * the bytes are listed in docs/architecture.md "Snapshot bytes": version
 * 2, which adds
 * per-window string sizes so that restore allocates at once; version 1 is
 * still read).  Recovery maps the newest snapshot (sluice_ckpt_map_latest())
 * instead of reading it into a buffer.
 * Private.
 */
#ifndef SLUICE_STATE_CHECKPOINT_H
#define SLUICE_STATE_CHECKPOINT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "sluice/error.h"

#define SLUICE_CKPT_VERSION 1

typedef enum sluice_ckpt_kind {
    SLUICE_CKPT_OFFSETS = 1,
    SLUICE_CKPT_STATE = 2,
    SLUICE_CKPT_META = 3
} sluice_ckpt_kind;

typedef struct sluice_ckpt sluice_ckpt;

/** Open (creating when missing) the checkpoint directory `dir` and lock it
 *  (flock LOCK_EX|LOCK_NB on DIR/lock and on DIR itself, so that deleting
 *  DIR/lock does not unlock it; held until sluice_ckpt_close()):
 *  held by another process, SLUICE_ERR_CONFIG "checkpoint directory DIR is
 *  in use by another process (pid N)".  The first open records
 *  `fingerprint` ("pipeline NAME\n" then the plan); a later open with
 *  another fingerprint fails with SLUICE_ERR_CONFIG (another pipeline name,
 *  or "its sources or queries changed since the checkpoint was written")
 *  instead of mixing states, and so does a torn meta record or a missing
 *  one next to offsets or snapshots.  Free with sluice_ckpt_close(). */
sluice_err_t sluice_ckpt_open(const char *dir, const char *fingerprint, sluice_ckpt **out, char *errstr,
                              size_t errstr_size);

/** Durably write one record (write, fsync, rename, fsync dir).
 *  Returns SLUICE_ERR_IO with the path on failure. */
sluice_err_t sluice_ckpt_write(sluice_ckpt *c, sluice_ckpt_kind kind, int64_t epoch, const void *payload,
                               size_t len, char *errstr, size_t errstr_size);

/** Read and verify one record.  *payload is malloc'd (caller frees).
 *  SLUICE_ERR_MALFORMED for a torn or corrupt file, SLUICE_ERR_IO when it
 *  cannot be read (ENOENT included). */
sluice_err_t sluice_ckpt_read(sluice_ckpt *c, sluice_ckpt_kind kind, int64_t epoch, void **payload, size_t *len,
                              char *errstr, size_t errstr_size);

/** Verify a record held in memory (the whole file's bytes): on success
 *  sets *kind, *epoch and points *payload and *len into buf.  Returns 0, or -1
 *  for anything but a complete, intact record. */
int sluice_ckpt_parse(const void *buf, size_t size, sluice_ckpt_kind *kind, int64_t *epoch, const void **payload,
                      size_t *len);

/** A record mapped into memory (sluice_ckpt_map()): the payload points into
 *  the read-only mapping of the whole file. */
typedef struct sluice_ckpt_view {
    const void *payload;  /**< the verified payload, len bytes */
    size_t len;
    void *map;            /**< the mapping (NULL when none) */
    size_t map_len;
} sluice_ckpt_view;

/** Map and verify one record without copying it (recovery reads large
 *  snapshots this way: no read buffer to fill and zero).  Same errors as
 *  sluice_ckpt_read(); on success release the view with sluice_ckpt_unmap().
 *  Checkpoint files are only ever replaced by rename, never rewritten in
 *  place, so the mapping stays valid while it is used. */
sluice_err_t sluice_ckpt_map(sluice_ckpt *c, sluice_ckpt_kind kind, int64_t epoch, sluice_ckpt_view *view,
                             char *errstr, size_t errstr_size);

/** Unmap a view of sluice_ckpt_map() or sluice_ckpt_map_latest() and clear
 *  it; a cleared view is a no-op. */
void sluice_ckpt_unmap(sluice_ckpt_view *view);

/** Epochs that have a file of `kind` (sorted ascending, malloc'd; *n set).
 *  Intact or not: sluice_ckpt_read() tells. */
sluice_err_t sluice_ckpt_list(sluice_ckpt *c, sluice_ckpt_kind kind, int64_t **epochs, size_t *n, char *errstr,
                              size_t errstr_size);

/** The newest epoch with a file of `kind` when that file is intact; -1
 *  when there is none or it is damaged (sluice_ckpt_read_latest() says). */
int64_t sluice_ckpt_latest(sluice_ckpt *c, sluice_ckpt_kind kind);

/** The newest record of `kind`, read once: sets *epoch (-1 when there is
 *  none: then *payload is NULL) and *payload (malloc'd), *len.  When the
 *  newest file does not verify: SLUICE_ERR_CONFIG naming it and the way
 *  out (no fall-back to an older one). */
sluice_err_t sluice_ckpt_read_latest(sluice_ckpt *c, sluice_ckpt_kind kind, int64_t *epoch, void **payload,
                                     size_t *len, char *errstr, size_t errstr_size);

/** The newest record of `kind`, mapped: sets *epoch (-1 when there is
 *  none: then the view is cleared) and *view (sluice_ckpt_unmap()).  Same
 *  errors as sluice_ckpt_read_latest(). */
sluice_err_t sluice_ckpt_map_latest(sluice_ckpt *c, sluice_ckpt_kind kind, int64_t *epoch, sluice_ckpt_view *view,
                                    char *errstr, size_t errstr_size);

/** Delete what recovery no longer needs once the snapshot of `epoch` is
 *  durable: older snapshots and offset files of epochs <= epoch. */
sluice_err_t sluice_ckpt_prune(sluice_ckpt *c, int64_t epoch, char *errstr, size_t errstr_size);

/** The directory path (borrowed). */
const char *sluice_ckpt_dir(const sluice_ckpt *c);

/** Crash tests ([pipeline] fault.abort_in_snapshot / fault.abort_in_offsets):
 *  make the `nth` (1-based, counted from this open) sluice_ckpt_write() of
 *  `kind` abort() the process halfway through writing its temporary file
 *  (the header and half the payload written, nothing fsynced or renamed) —
 *  a crash inside a checkpoint write.  nth <= 0 turns it off. */
void sluice_ckpt_set_fault(sluice_ckpt *c, sluice_ckpt_kind kind, long nth);

/** Print what the checkpoint directory `dir` holds (sluice checkpoint
 *  show): whether a process holds its lock, the pipeline it belongs to,
 *  every offsets record with its input ranges, every snapshot with its
 *  size, and whether each file is intact ("BAD: ..." otherwise).
 *  SLUICE_ERR_CONFIG when `dir` is not a checkpoint directory. */
sluice_err_t sluice_ckpt_show(const char *dir, FILE *out, char *errstr, size_t errstr_size);

/** Delete the checkpoint (meta, offsets, snapshots) so that the next run
 *  starts from the beginning of its input (sluice checkpoint reset).
 *  Sinks keep what they hold.  SLUICE_ERR_CONFIG when `dir` is not a
 *  checkpoint directory (no meta and no records) or another process holds
 *  its lock. */
sluice_err_t sluice_ckpt_reset(const char *dir, char *errstr, size_t errstr_size);

void sluice_ckpt_close(sluice_ckpt *c);

#endif
