/*
 * Window assignment for group windows aligned to the Unix epoch (Apache
 * Calcite / Flink TUMBLE and HOP): windows are half-open [start, end).
 */
#include "plan/plan.h"

static int64_t floor_div(int64_t a, int64_t b) {
    int64_t q = a / b;
    if ((a % b != 0) && ((a < 0) != (b < 0))) q--;
    return q;
}

int64_t sluice_window_tumble_start(int64_t ts, int64_t size_ms) {
    return floor_div(ts, size_ms) * size_ms;
}

size_t sluice_window_hop_starts(int64_t ts, int64_t slide_ms, int64_t size_ms,
                                int64_t *starts, size_t max) {
    /* the last window containing ts starts at floor(ts/slide)*slide; the
     * first one starts size - slide earlier */
    int64_t last = floor_div(ts, slide_ms) * slide_ms;
    int64_t first = last - size_ms + slide_ms;
    size_t n = 0;
    for (int64_t s = first; s <= last && n < max; s += slide_ms) starts[n++] = s;
    return n;
}
