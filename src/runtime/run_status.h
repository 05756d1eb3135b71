/*
 * sluice — how a run ended, for the command line's exit status and its
 * end-of-run summary.  Private (implemented in pipeline.c).
 */
#ifndef SLUICE_RUNTIME_RUN_STATUS_H
#define SLUICE_RUNTIME_RUN_STATUS_H

#include <stdint.h>

#include "sluice/sluice.h"

/** 1 when the pipeline has a checkpoint_dir: an epoch a stop abandoned is
 *  read again by the next run (recovery), so nothing is lost. */
int sluice_pipeline_replayable(const sluice_pipeline *p);

/** Records read in the epoch a stop abandoned (their results were not
 *  committed to every sink), or 0 when no epoch was abandoned. */
uint64_t sluice_pipeline_abandoned_rows(const sluice_pipeline *p);

/** Log the end-of-run summary event (info): `outcome` (completed, stopped,
 *  "stopped, epoch abandoned", failed), records read by this run, rows
 *  written per sink, dead letters, late and malformed rows, epochs
 *  committed.  sluice_pipeline_run() logs it on every return. */
void sluice_pipeline_log_summary(const sluice_pipeline *p, const char *outcome);

#endif
