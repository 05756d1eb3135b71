/*
 * sluice state — the payloads of the checkpoint's offsets and state
 * records (docs/checkpoints.md), encoder beside decoder.  The record
 * framing (magic, kind, epoch, CRC) is state/checkpoint.c's; this file only
 * says what the payload holds, in state/codec.h encoding:
 *
 * Offsets record (written before an epoch is processed), version 2:
 *   u32 version, i64 processing time of the epoch (ms since the Unix epoch),
 *   per source: u8 ended, u32 nranges,
 *               per range: str topic, u32 partition, i64 start, i64 end,
 *               u32 nassigned, per assigned partition: str topic, u32 partition
 * A range is [start, end) of the offsets the epoch read from one partition;
 * `assigned` is the assignment the engine saw (a replay holds the watermark
 * for the same partitions); `ended`: the source reported its end.
 *
 * State record (a snapshot after an epoch), version 2 (the same number as
 * the offsets record; the layout has not changed since version 1):
 *   u32 version, per source: u8 ended, u32 npositions,
 *               per position: str topic, u32 partition, i64 next;
 *   bytes: the transform's snapshot (its own versioned layout)
 * `next` is the offset of the next record to read of the partition.
 *
 * Decoders never read past the payload; a payload that does not decode
 * returns SLUICE_ERR_MALFORMED.  Private.
 */
#ifndef SLUICE_STATE_EPOCH_LOG_H
#define SLUICE_STATE_EPOCH_LOG_H

#include <stddef.h>
#include <stdint.h>

#include "sluice/arena.h"
#include "sluice/batch.h"
#include "sluice/error.h"

/** The payload version of both records. */
#define SLUICE_EPOCH_LOG_VERSION 2

/** The offsets one epoch read from one partition: [start, end). */
typedef struct sluice_log_range {
    const char *topic;       /**< NULL for sources without topics */
    int32_t partition;
    int64_t start, end;
} sluice_log_range;

/** One source's part of an offsets record. */
typedef struct sluice_logged_input {
    int ended;                               /**< the source reported its end */
    uint32_t n;                              /**< ranges */
    const sluice_log_range *r;
    uint32_t na;                             /**< assigned partitions */
    const sluice_partition_ref *assigned;
} sluice_logged_input;

/** Where a source stands in one partition, in a state record. */
typedef struct sluice_logged_position {
    const char *topic;       /**< NULL for sources without topics */
    int32_t partition;
    int64_t next;            /**< offset of the next record to read */
} sluice_logged_position;

/** One source's part of a state record. */
typedef struct sluice_logged_positions {
    int ended;
    uint32_t n;
    const sluice_logged_position *p;
} sluice_logged_positions;

/** Encode an offsets record: processing time now_ms, one entry of `in` per
 *  source (nsources).  *out is malloc'd (the caller frees it), *len its
 *  size in bytes.  Returns SLUICE_OK or SLUICE_ERR_NOMEM. */
sluice_err_t sluice_epoch_log_encode(int64_t now_ms, const sluice_logged_input *in, size_t nsources, void **out,
                                     size_t *len);

/** Decode an offsets record of nsources sources (payload of len bytes,
 *  borrowed) into in[nsources]; strings and arrays are allocated in tmp
 *  (they live as long as it).  *now_ms gets the epoch's processing time.
 *  Returns SLUICE_OK, SLUICE_ERR_MALFORMED when the payload does not
 *  decode (wrong version, short, counts beyond its size, bytes left over),
 *  or SLUICE_ERR_NOMEM. */
sluice_err_t sluice_epoch_log_decode(const void *payload, size_t len, size_t nsources, sluice_arena *tmp,
                                     int64_t *now_ms, sluice_logged_input *in);

/** Encode a state record: pos[nsources] and the transform's snapshot
 *  (blob, blen bytes, copied).  *out malloc'd, *len its size.  Returns
 *  SLUICE_OK or SLUICE_ERR_NOMEM. */
sluice_err_t sluice_state_record_encode(const sluice_logged_positions *pos, size_t nsources, const void *blob,
                                        size_t blen, void **out, size_t *len);

/** Decode a state record of nsources sources into pos[nsources] (strings
 *  and arrays in tmp) and *blob / *blen (pointing into payload).  Returns
 *  SLUICE_OK, SLUICE_ERR_MALFORMED or SLUICE_ERR_NOMEM. */
sluice_err_t sluice_state_record_decode(const void *payload, size_t len, size_t nsources, sluice_arena *tmp,
                                        sluice_logged_positions *pos, const void **blob, size_t *blen);

/** For `sluice checkpoint show`: decode an offsets record without knowing
 *  how many sources the pipeline has (until the payload ends), calling
 *  each(ctx, source index, its input) per source.  Returns SLUICE_OK, or
 *  SLUICE_ERR_MALFORMED / SLUICE_ERR_NOMEM (sources decoded before the
 *  error were reported).  *now_ms and *version are set when readable. */
sluice_err_t sluice_epoch_log_walk(const void *payload, size_t len, sluice_arena *tmp, uint32_t *version,
                                   int64_t *now_ms,
                                   void (*each)(void *ctx, size_t source, const sluice_logged_input *in), void *ctx);

#endif
