/*
 * UTF-8 validity through simdjson::validate_utf8 (see utf8.h).
 */
#include <simdjson.h>

#include "base/utf8.h"

extern "C" int sluice_utf8_valid(const char *s, size_t len) {
    return len == 0 || simdjson::validate_utf8(s, len) ? 1 : 0;
}
