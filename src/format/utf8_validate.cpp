/*
 * Whole-buffer UTF-8 validation by simdjson's SIMD validator (the one its
 * parser runs on every JSON document), for C callers.
 */
#include <simdjson.h>

#include "format/format.h"

extern "C" int sluice_utf8_valid(const char *s, size_t len) {
    return len == 0 || simdjson::validate_utf8(s, len);
}
