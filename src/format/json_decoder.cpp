/*
 * The JSON decoder: a thin C++ adapter over simdjson's On-Demand API
 * (https://github.com/simdjson/simdjson/blob/master/doc/basics.md), exposed
 * to the C engine through format_int.h.
 *
 * Only simdjson's error-code API is used (SIMDJSON_EXCEPTIONS is 0 here);
 * every entry point also catches any C++ exception (std::bad_alloc from the
 * standard containers) so none crosses into C.
 *
 * One record:  iterate the padded bytes; walk the top-level object's fields
 * ONCE, matching each key (unescaped only when it contains a backslash)
 * against the wanted top-level names and converting matching values on the
 * spot; check that nothing follows the object; then resolve PATH columns
 * with at_pointer() (which rewinds the document), using JSON pointers built
 * once when the decoder is created.  The first occurrence of a duplicated
 * key wins, as with at_pointer().
 *
 * On-Demand validates what it reads: the object's structure, every key, and
 * every value it converts.  Values of fields nobody asked for are skipped
 * by bracket counting, so a malformed scalar inside an unused field is not
 * reported.
 */
#define SIMDJSON_EXCEPTIONS 0
#include <simdjson.h>

#include <cmath>
#include <cstring>
#include <new>
#include <string>
#include <string_view>
#include <vector>

#include "format/format_int.h"
#include "sluice/batch.h"

static_assert(SLUICE_RECORD_PADDING >= simdjson::SIMDJSON_PADDING,
              "records must carry the padding simdjson reads past their end");

namespace {

using simdjson::error_code;
namespace ondemand = simdjson::ondemand;

struct top_column {
    std::string key;  // unescaped top-level key
    size_t spec;
};

struct path_column {
    std::string pointer;  // RFC 6901 JSON pointer
    size_t spec;
};

struct json_decoder {
    ondemand::parser parser;
    const sluice_field_spec *specs = nullptr;
    size_t nfields = 0;
    std::vector<top_column> tops;
    std::vector<path_column> paths;
    std::vector<unsigned char> seen;  // per top column, reset for each record
};

sluice_err_t invalid(char *reason, size_t reason_size, error_code e) {
    return sluice_seterr(reason, reason_size, SLUICE_ERR_MALFORMED, "invalid JSON: %s",
                         simdjson::error_message(e));
}

inline bool is_ws(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

inline std::string_view trim_right(std::string_view s) {
    while (!s.empty() && is_ws(s.back())) s.remove_suffix(1);
    return s;
}

inline sluice_err_t bad(const sluice_field_spec *spec, std::string_view raw, char *reason,
                        size_t reason_size) {
    return sluice_format_bad_value(reason, reason_size, spec, raw.data(), raw.size(), 0);
}

sluice_err_t copy_varchar(std::string_view s, sluice_value *out, sluice_arena *arena) {
    if (s.size() > UINT32_MAX) return SLUICE_ERR_MALFORMED;
    char *p = sluice_arena_strndup(arena, s.data(), s.size());
    if (!p) return SLUICE_ERR_NOMEM;
    *out = sluice_value_varchar(p, s.size());
    return SLUICE_OK;
}

/* A JSON number under a non-VARCHAR column. */
sluice_err_t convert_number(const sluice_field_spec *spec, ondemand::value &v, sluice_value *out,
                            char *reason, size_t reason_size) {
    std::string_view raw = trim_right(v.raw_json_token());
    int64_t i;
    double d;
    switch (spec->type) {
    case SLUICE_TYPE_DOUBLE: {
        error_code e = v.get_double().get(d);
        if (e) return invalid(reason, reason_size, e);
        *out = sluice_value_double(d);
        return SLUICE_OK;
    }
    case SLUICE_TYPE_BIGINT:
    case SLUICE_TYPE_BOOLEAN:
        if (!v.get_int64().get(i)) {  // does not advance on failure
            if (spec->type == SLUICE_TYPE_BIGINT) {
                *out = sluice_value_bigint(i);
                return SLUICE_OK;
            }
            if (i == 0 || i == 1) {
                *out = sluice_value_bool((int)i);
                return SLUICE_OK;
            }
            return bad(spec, raw, reason, reason_size);
        }
        {
            error_code e = v.get_double().get(d);
            if (e) return invalid(reason, reason_size, e);
        }
        /* 3.0, 1e3: integral doubles inside the int64 range are fine; an
         * integer literal that get_int64() refused is out of range (the
         * double of -9223372036854775809 is -2^63, so ask the text) */
        if (spec->type == SLUICE_TYPE_BIGINT && raw.find_first_of(".eE") != raw.npos &&
            d == std::floor(d) &&
            d >= -9223372036854775808.0 && d < 9223372036854775808.0) {
            *out = sluice_value_bigint((int64_t)d);
            return SLUICE_OK;
        }
        return bad(spec, raw, reason, reason_size);
    case SLUICE_TYPE_TIMESTAMP: {
        error_code e = v.get_double().get(d);  // validates the token
        if (e) return invalid(reason, reason_size, e);
        /* parse the text, not the double: epoch_ms stays exact */
        if (!sluice_ts_format_is_epoch(spec->ts_format) ||
            sluice_ts_parse(spec->ts_format, raw.data(), raw.size(), &i) != 0)
            return bad(spec, raw, reason, reason_size);
        *out = sluice_value_timestamp(i);
        return SLUICE_OK;
    }
    default:
        return bad(spec, raw, reason, reason_size);
    }
}

sluice_err_t convert(const sluice_field_spec *spec, ondemand::value &v, sluice_value *out,
                     sluice_arena *arena, char *reason, size_t reason_size);

/* A JSON array under an ARRAY<T> column: each element converted as a
 * column of type T would be (Flink's JSON format converts elements with
 * the element type's converter); the block is allocated from arena. */
sluice_err_t convert_array(const sluice_field_spec *spec, ondemand::array &a, sluice_value *out,
                           sluice_arena *arena, char *reason, size_t reason_size) {
    sluice_field_spec elem = *spec;
    elem.type = spec->elem_type;
    elem.elem_type = SLUICE_TYPE_NULL;
    std::vector<sluice_value> values;
    for (auto item : a) {
        ondemand::value v;
        error_code e = item.get(v);
        if (e) return invalid(reason, reason_size, e);
        sluice_value x;
        sluice_err_t rc = convert(&elem, v, &x, arena, reason, reason_size);
        if (rc != SLUICE_OK) return rc;
        values.push_back(x);
    }
    sluice_array *block = sluice_array_new(arena, spec->elem_type, values.size());
    if (!block) return values.size() > UINT32_MAX / sizeof(sluice_value) ? SLUICE_ERR_MALFORMED : SLUICE_ERR_NOMEM;
    if (!values.empty()) std::memcpy(block->values, values.data(), values.size() * sizeof(sluice_value));
    *out = sluice_value_array(block);
    return SLUICE_OK;
}

sluice_err_t convert(const sluice_field_spec *spec, ondemand::value &v, sluice_value *out,
                     sluice_arena *arena, char *reason, size_t reason_size) {
    ondemand::json_type t;
    error_code e = v.type().get(t);
    if (e) return invalid(reason, reason_size, e);
    switch (t) {
    case ondemand::json_type::null: {
        bool is_null;
        e = v.is_null().get(is_null);
        if (e || !is_null) return invalid(reason, reason_size, e ? e : simdjson::N_ATOM_ERROR);
        *out = sluice_value_null();
        return SLUICE_OK;
    }
    case ondemand::json_type::string: {
        std::string_view raw = trim_right(v.raw_json_token());
        std::string_view s;
        e = v.get_string().get(s);
        if (e) return invalid(reason, reason_size, e);
        if (spec->type == SLUICE_TYPE_VARCHAR) return copy_varchar(s, out, arena);
        int rc = sluice_format_convert_text(spec, s.data(), s.size(), out, arena);
        if (rc == 0) return SLUICE_OK;
        if (rc == SLUICE_ERR_NOMEM) return SLUICE_ERR_NOMEM;
        return bad(spec, raw, reason, reason_size);
    }
    case ondemand::json_type::number: {
        if (spec->type != SLUICE_TYPE_VARCHAR)
            return convert_number(spec, v, out, reason, reason_size);
        std::string_view raw = trim_right(v.raw_json_token());
        double d;
        e = v.get_double().get(d);
        if (e) return invalid(reason, reason_size, e);
        return copy_varchar(raw, out, arena);
    }
    case ondemand::json_type::boolean: {
        std::string_view raw = trim_right(v.raw_json_token());
        bool b;
        e = v.get_bool().get(b);
        if (e) return invalid(reason, reason_size, e);
        if (spec->type == SLUICE_TYPE_BOOLEAN) {
            *out = sluice_value_bool(b);
            return SLUICE_OK;
        }
        if (spec->type == SLUICE_TYPE_VARCHAR) return copy_varchar(raw, out, arena);
        return bad(spec, raw, reason, reason_size);
    }
    case ondemand::json_type::object:
    case ondemand::json_type::array: {
        std::string_view raw;
        if (t == ondemand::json_type::array && spec->type == SLUICE_TYPE_ARRAY) {
            ondemand::array a;
            e = v.get_array().get(a);
            if (e) return invalid(reason, reason_size, e);
            return convert_array(spec, a, out, arena, reason, reason_size);
        }
        if (t == ondemand::json_type::object) {
            ondemand::object o;
            e = v.get_object().get(o);
            if (!e) e = o.raw_json().get(raw);
        } else {
            ondemand::array a;
            e = v.get_array().get(a);
            if (!e) e = a.raw_json().get(raw);
        }
        if (e) return invalid(reason, reason_size, e);
        raw = trim_right(raw);
        if (spec->type == SLUICE_TYPE_VARCHAR) return copy_varchar(raw, out, arena);
        return bad(spec, raw, reason, reason_size);
    }
    }
    return invalid(reason, reason_size, simdjson::INCORRECT_TYPE);
}

/* '$.a.b[1]', "$['a.b'][0]" -> segments.  false when the path is not one. */
bool parse_path(const char *path, std::vector<std::string> &segs, bool &has_index) {
    const char *p = path;
    has_index = false;
    if (*p++ != '$') return false;
    while (*p) {
        if (*p == '.') {
            const char *s = ++p;
            while (*p && *p != '.' && *p != '[') p++;
            if (p == s) return false;
            segs.emplace_back(s, (size_t)(p - s));
        } else if (*p == '[' && (p[1] == '\'' || p[1] == '"')) {
            char q = p[1];
            const char *s = p + 2;
            const char *e = std::strchr(s, q);
            if (!e || e[1] != ']') return false;
            segs.emplace_back(s, (size_t)(e - s));
            p = e + 2;
        } else if (*p == '[') {
            const char *s = ++p;
            while (*p >= '0' && *p <= '9') p++;
            if (p == s || *p != ']') return false;
            segs.emplace_back(s, (size_t)(p - s));
            has_index = true;
            p++;
        } else {
            return false;
        }
    }
    return !segs.empty();
}

std::string to_pointer(const std::vector<std::string> &segs) {
    std::string ptr;
    for (const std::string &s : segs) {
        ptr += '/';
        for (char c : s) {
            if (c == '~')
                ptr += "~0";
            else if (c == '/')
                ptr += "~1";
            else
                ptr += c;
        }
    }
    return ptr;
}

sluice_err_t decoder_new(const sluice_field_spec *specs, size_t nfields, void **impl,
                         char *errstr, size_t errstr_size) {
    json_decoder *d = new json_decoder();
    d->specs = specs;
    d->nfields = nfields;
    for (size_t i = 0; i < nfields; i++) {
        std::vector<std::string> segs;
        bool has_index = false;
        if (specs[i].path && !parse_path(specs[i].path, segs, has_index)) {
            delete d;
            return sluice_seterr(errstr, errstr_size, SLUICE_ERR_CONFIG,
                                 "column '%s': invalid PATH '%s' (expected $.name, "
                                 "$.a.b, $.a[0] or $['key'])",
                                 specs[i].name, specs[i].path);
        }
        if (!specs[i].path) segs.emplace_back(specs[i].name);
        bool top = segs.size() == 1 && !has_index;
        if (top)
            for (const top_column &c : d->tops)
                if (c.key == segs[0]) top = false;  // one pass converts a value once
        if (top)
            d->tops.push_back(top_column{segs[0], i});
        else
            d->paths.push_back(path_column{to_pointer(segs), i});
    }
    d->seen.assign(d->tops.size(), 0);
    *impl = d;
    return SLUICE_OK;
}

sluice_err_t decode(json_decoder *d, const char *data, size_t len, sluice_value *out,
                    sluice_arena *arena, char *reason, size_t reason_size) {
    for (size_t i = 0; i < d->nfields; i++) out[i] = sluice_value_null();

    // A file source skips the byte-order mark that starts a file; one
    // here is inside the input (RFC 8259 8.1: JSON text has none).
    if (len >= 3 && std::memcmp(data, "\xEF\xBB\xBF", 3) == 0)
        return sluice_seterr(reason, reason_size, SLUICE_ERR_MALFORMED,
                             "invalid JSON: a byte-order mark (U+FEFF) starts the record");
    ondemand::document doc;
    error_code e = d->parser.iterate(data, len, len + SLUICE_RECORD_PADDING).get(doc);
    // simdjson validates the whole record as UTF-8 first (RFC 8259 8.1),
    // so ill-formed bytes never reach the engine; say where they are.
    if (e == simdjson::UTF8_ERROR)
        return sluice_seterr(reason, reason_size, SLUICE_ERR_MALFORMED,
                             "invalid JSON: invalid UTF-8 at byte %zu",
                             sluice_utf8_find_invalid(data, len, nullptr) + 1);
    if (e) return invalid(reason, reason_size, e);
    ondemand::object obj;
    e = doc.get_object().get(obj);
    if (e) return invalid(reason, reason_size, e);

    const size_t ntops = d->tops.size();
    unsigned char *seen = d->seen.data();
    if (ntops) std::memset(seen, 0, ntops);
    const char *end = data + len;
    for (auto field_result : obj) {
        ondemand::field field;
        e = std::move(field_result).get(field);
        if (e) return invalid(reason, reason_size, e);
        if (!ntops) continue;

        const char *k = field.key().raw(), *q = k;
        bool escaped = false;
        while (q < end && *q != '"') escaped |= *q++ == '\\';
        if (q == end) return invalid(reason, reason_size, simdjson::STRING_ERROR);
        std::string_view key(k, (size_t)(q - k));
        if (escaped) {
            e = field.unescaped_key().get(key);
            if (e) return invalid(reason, reason_size, e);
        }
        for (size_t j = 0; j < ntops; j++) {
            const top_column &c = d->tops[j];
            if (seen[j] || c.key.size() != key.size() ||
                std::memcmp(c.key.data(), key.data(), key.size()) != 0)
                continue;
            seen[j] = 1;
            sluice_err_t rc = convert(&d->specs[c.spec], field.value(), &out[c.spec], arena,
                                      reason, reason_size);
            if (rc != SLUICE_OK) return rc;
            break;
        }
    }
    /* Nothing may follow the object. */
    const char *loc;
    e = doc.current_location().get(loc);
    if (!e) return invalid(reason, reason_size, simdjson::TRAILING_CONTENT);
    if (e != simdjson::OUT_OF_BOUNDS) return invalid(reason, reason_size, e);

    for (const path_column &c : d->paths) {
        ondemand::value v;
        e = doc.at_pointer(c.pointer).get(v);
        if (e == simdjson::NO_SUCH_FIELD || e == simdjson::INDEX_OUT_OF_BOUNDS ||
            e == simdjson::INCORRECT_TYPE || e == simdjson::INVALID_JSON_POINTER) {
            /* A malformed array or object on the way ends the search with
             * one of these too, but leaves the document unusable: the next
             * at_pointer() would rewind a dead iterator. */
            if (!doc.is_alive()) return invalid(reason, reason_size, simdjson::TAPE_ERROR);
            continue;  // absent, or the parent has another shape: NULL
        }
        if (e) return invalid(reason, reason_size, e);
        sluice_err_t rc = convert(&d->specs[c.spec], v, &out[c.spec], arena, reason, reason_size);
        if (rc != SLUICE_OK) return rc;
    }
    return SLUICE_OK;
}

}  // namespace

extern "C" sluice_err_t sluice_json_decoder_new(const sluice_field_spec *specs, size_t nfields,
                                                void **impl, char *errstr, size_t errstr_size) {
    *impl = nullptr;
    try {
        return decoder_new(specs, nfields, impl, errstr, errstr_size);
    } catch (const std::bad_alloc &) {
        return SLUICE_ERR_NOMEM;
    } catch (...) {
        return sluice_seterr(errstr, errstr_size, SLUICE_ERR_RUNTIME,
                             "JSON decoder: unexpected C++ exception");
    }
}

extern "C" sluice_err_t sluice_json_decoder_decode(void *impl, const char *data, size_t len,
                                                   sluice_value *out, sluice_arena *arena,
                                                   char *reason, size_t reason_size) {
    try {
        return decode(static_cast<json_decoder *>(impl), data, len, out, arena, reason,
                      reason_size);
    } catch (const std::bad_alloc &) {
        return SLUICE_ERR_NOMEM;
    } catch (...) {
        return sluice_seterr(reason, reason_size, SLUICE_ERR_RUNTIME,
                             "JSON decoder: unexpected C++ exception");
    }
}

extern "C" void sluice_json_decoder_free(void *impl) {
    try {
        delete static_cast<json_decoder *>(impl);
    } catch (...) {
    }
}
