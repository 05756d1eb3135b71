/*
 * Whole-buffer UTF-8 validation by simdjson's SIMD validator (the one its
 * parser runs on every JSON document), for C callers.
 */
#include <simdjson.h>

#include "base/utf8.h"

extern "C" int sluice_utf8_valid(const char *s, size_t len) {
    // Short text (names, most values) is checked faster byte by byte than
    // through simdjson's dispatch and block setup.
    if (len < 16) return sluice_utf8_find_invalid(s, len, nullptr) == len;
    return simdjson::validate_utf8(s, len);
}
