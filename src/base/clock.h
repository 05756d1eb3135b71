/*
 * sluice — clocks, in milliseconds.  Private.
 */
#ifndef SLUICE_BASE_CLOCK_H
#define SLUICE_BASE_CLOCK_H

#include <stdint.h>
#include <time.h>

/** Processing time for intervals and timeouts (CLOCK_MONOTONIC), ms. */
static inline int64_t sluice_clock_monotonic_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/** Wall-clock time (CLOCK_REALTIME), ms since the Unix epoch. */
static inline int64_t sluice_clock_realtime_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

#endif
