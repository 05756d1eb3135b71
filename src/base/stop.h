/*
 * sluice — the process-wide stop request.  Private.
 *
 * A SIGINT/SIGTERM handler calls sluice_stop_request(); every wait in the
 * engine and the connectors waits in slices of at most SLUICE_STOP_SLICE_MS
 * and gives up as soon as sluice_stop_requested() is true, so that a run
 * ends within about two slices of the signal whatever it was waiting for
 * (a broker, a database, deliveries).  The flag is one sig_atomic_t: setting
 * and reading it is async-signal-safe (C11 7.14.1.1).
 */
#ifndef SLUICE_BASE_STOP_H
#define SLUICE_BASE_STOP_H

#include <stdint.h>

/** The longest a wait may block before it looks at the stop request, ms. */
#define SLUICE_STOP_SLICE_MS 100

/** Request a stop on behalf of signal `sig` (0: not from a signal).
 *  Async-signal-safe.  Returns how many stops were requested before this
 *  one (0 for the first), so a handler can tell a second signal. */
int sluice_stop_request(int sig);

/** Nonzero once a stop was requested. */
int sluice_stop_requested(void);

/** The signal of the first stop request, or 0. */
int sluice_stop_signal(void);

/** How long a wait that is making progress (deliveries to a slow but
 *  working broker) may go on after a stop request before it gives up, ms:
 *  half of the 2 s a stop may take, so that a healthy epoch is finished
 *  rather than abandoned. */
#define SLUICE_STOP_GRACE_MS 1000

/** Nonzero once a stop was requested at least SLUICE_STOP_GRACE_MS ago. */
int sluice_stop_overdue(void);

/** Install SIGINT and SIGTERM handlers for a program's whole life: the
 *  first signal requests a stop (sluice_stop_request); a second one writes
 *  `second_message` (a static string, may be NULL) to stderr and exits at
 *  once with 128 + the signal, as a shell reports a death by signal. */
void sluice_stop_on_signals(const char *second_message);

/** Forget any stop request (tests, embedding: before a new run). */
void sluice_stop_reset(void);

/** Sleep `ms` milliseconds in slices of SLUICE_STOP_SLICE_MS, returning
 *  early when a stop is requested.  Returns 1 when it returned because of a
 *  stop request, 0 when the whole time elapsed. */
int sluice_stop_sleep_ms(int64_t ms);

/** The next slice of a wait that ends at monotonic time `deadline_ms`:
 *  min(deadline_ms - now, SLUICE_STOP_SLICE_MS), never below 0. */
int sluice_stop_slice_ms(int64_t deadline_ms);

#endif
