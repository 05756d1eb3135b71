/*
 * sluice — a sink's `on_error` policy for rows it cannot store (the
 * reject() callback of sluice_module_config): set them aside in the dead
 * letter and count them (`dead_letter`, the default, as Kafka Connect's
 * errors.tolerance = all with a dead-letter queue), or fail the run
 * (`fail`).  Private.
 */
#ifndef SLUICE_RUNTIME_SINK_REJECT_H
#define SLUICE_RUNTIME_SINK_REJECT_H

#include <stddef.h>
#include <stdint.h>

#include "base/dead_letter.h"
#include "sluice/error.h"
#include "sluice/module.h"

/** The on_error values, in the order of sluice_sink_on_error_names. */
typedef enum { SLUICE_ON_ERROR_DEAD_LETTER = 0, SLUICE_ON_ERROR_FAIL = 1 } sluice_on_error;

/** One sink's policy and counter.  Strings and the schema are borrowed;
 *  *dlq is read at each call (the dead letter is opened after the sinks). */
typedef struct sluice_sink_reject {
    const char *sink;              /**< the SINK name */
    const char *source;            /**< the query's source, for the dead letter */
    const sluice_schema *schema;   /**< the sink's rows */
    sluice_on_error on_error;
    sluice_dead_letter *const *dlq;
    uint64_t rejected;             /**< rows set aside since start */
} sluice_sink_reject;

/** Parse an `on_error` value; 0, or -1 when it is neither dead_letter nor
 *  fail. */
int sluice_on_error_parse(const char *value, sluice_on_error *out);

/** The reject() callback; ctx is a sluice_sink_reject.  dead_letter: one
 *  entry {"source":SRC,"sink":SINK,"position":"epoch E","reason":R,
 *  "raw":ROW as a JSON object}, counted, SLUICE_OK.  fail:
 *  SLUICE_ERR_RUNTIME with "sink SINK: epoch E: REASON; row: ROW (on_error =
 *  fail)". */
sluice_err_t sluice_sink_reject_row(void *ctx, int64_t epoch, const sluice_value *row, const char *raw,
                                    size_t raw_len, const char *reason, char *errstr, size_t errstr_size);

#endif
