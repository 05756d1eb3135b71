/*
 * JSON_VALUE(json, path), as Flink's with its defaults (lax mode, NULL ON
 * EMPTY, NULL ON ERROR): the scalar at `path` of the JSON text, as
 * VARCHAR.  NULL when the text is not JSON, the path is absent, or it
 * leads to null, an object or an array.  A string is returned unquoted,
 * true/false as such, a number as its shortest text that reads back the
 * same ("1", "1.5", "2.0" for a JSON 2.0).  Over simdjson's DOM API, with
 * one parser per thread (it keeps its buffers between rows).
 *
 * The path language: `$`, then `.name`, `['name']` (or "name") and `[n]`
 * steps (no wildcards, filters or recursive descent).
 */
#define SIMDJSON_EXCEPTIONS 0
#include <simdjson.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <new>

extern "C" {
#include "exec/func.h"
}

namespace {

struct step {
    const char *key;  // member name (not NUL-terminated), or NULL for an index
    size_t len;
    uint64_t index;
};

}  // namespace

struct sluice_json_path {
    step *steps;
    size_t n;
};

extern "C" sluice_json_path *sluice_json_path_compile(const char *p, size_t len, sluice_arena *arena) {
    // at most one step per two bytes of text
    auto *path = static_cast<sluice_json_path *>(sluice_arena_alloc(arena, sizeof(sluice_json_path)));
    auto *steps = static_cast<step *>(sluice_arena_alloc(arena, (len / 2 + 1) * sizeof(step)));
    if (!path || !steps) return nullptr;
    size_t i = 0, n = 0;
    while (i < len && p[i] == ' ') i++;
    if (len - i >= 4 && std::strncmp(p + i, "lax ", 4) == 0) i += 4;
    while (i < len && p[i] == ' ') i++;
    if (i >= len || p[i++] != '$') return nullptr;
    while (i < len) {
        if (p[i] == '.') {
            size_t s = ++i;
            while (i < len && p[i] != '.' && p[i] != '[') i++;
            if (i == s) return nullptr;
            steps[n++] = step{p + s, i - s, 0};
        } else if (p[i] == '[' && i + 1 < len && (p[i + 1] == '\'' || p[i + 1] == '"')) {
            char q = p[i + 1];
            size_t s = i + 2, e = s;
            while (e < len && p[e] != q) e++;
            if (e + 1 >= len || p[e + 1] != ']') return nullptr;
            steps[n++] = step{p + s, e - s, 0};
            i = e + 2;
        } else if (p[i] == '[') {
            size_t s = ++i;
            uint64_t v = 0;
            while (i < len && p[i] >= '0' && p[i] <= '9' && i - s < 18) v = v * 10 + (uint64_t)(p[i++] - '0');
            if (i == s || i >= len || p[i] != ']') return nullptr;
            steps[n++] = step{nullptr, 0, v};
            i++;
        } else {
            return nullptr;
        }
    }
    path->steps = steps;
    path->n = n;
    return path;
}

namespace {

sluice_value copy_text(sluice_arena *arena, const char *s, size_t n) {
    if (n > UINT32_MAX) return sluice_value_null();
    char *p = static_cast<char *>(sluice_arena_alloc(arena, n ? n : 1));
    if (!p) return sluice_value_null();
    if (n) std::memcpy(p, s, n);
    return sluice_value_varchar(p, n);
}

/* The shortest %.*g text of d that reads back as d, with ".0" when it
 * would otherwise read as an integer (Java's Double.toString does). */
sluice_value double_text(sluice_arena *arena, double d) {
    char buf[40];
    for (int prec = 1; prec <= 17; prec++) {
        std::snprintf(buf, sizeof buf, "%.*g", prec, d);
        if (std::strtod(buf, nullptr) == d) break;
    }
    if (!std::strpbrk(buf, ".eEn")) std::strncat(buf, ".0", sizeof buf - std::strlen(buf) - 1);
    return copy_text(arena, buf, std::strlen(buf));
}

sluice_value json_value(const char *text, size_t len, const sluice_json_path *path, sluice_arena *arena) {
    static thread_local simdjson::dom::parser parser;
    simdjson::dom::element el;
    if (parser.parse(text, len).get(el) != simdjson::SUCCESS) return sluice_value_null();
    for (size_t i = 0; i < path->n; i++) {
        const step &s = path->steps[i];
        simdjson::dom::element next;
        if (s.key) {
            simdjson::dom::object obj;
            if (el.get_object().get(obj) != simdjson::SUCCESS) return sluice_value_null();
            if (obj.at_key(std::string_view(s.key, s.len)).get(next) != simdjson::SUCCESS) return sluice_value_null();
        } else {
            simdjson::dom::array arr;
            if (el.get_array().get(arr) != simdjson::SUCCESS) return sluice_value_null();
            if (arr.at(s.index).get(next) != simdjson::SUCCESS) return sluice_value_null();
        }
        el = next;
    }
    char buf[32];
    switch (el.type()) {
    case simdjson::dom::element_type::STRING: {
        std::string_view sv;
        if (el.get_string().get(sv) != simdjson::SUCCESS) return sluice_value_null();
        return copy_text(arena, sv.data(), sv.size());
    }
    case simdjson::dom::element_type::INT64:
        std::snprintf(buf, sizeof buf, "%lld", (long long)int64_t(el.get_int64().value_unsafe()));
        return copy_text(arena, buf, std::strlen(buf));
    case simdjson::dom::element_type::UINT64:
        std::snprintf(buf, sizeof buf, "%llu", (unsigned long long)uint64_t(el.get_uint64().value_unsafe()));
        return copy_text(arena, buf, std::strlen(buf));
    case simdjson::dom::element_type::DOUBLE: return double_text(arena, el.get_double().value_unsafe());
    case simdjson::dom::element_type::BOOL:
        return el.get_bool().value_unsafe() ? copy_text(arena, "true", 4) : copy_text(arena, "false", 5);
    default: return sluice_value_null();  // null, object, array
    }
}

}  // namespace

extern "C" sluice_value sluice_fn_json_value(const sluice_expr *e, const sluice_value *row, sluice_arena *arena) {
    try {
        sluice_value j = sluice_expr_eval(e->args[0], row, arena);
        if (j.type != SLUICE_TYPE_VARCHAR) return sluice_value_null();
        const sluice_json_path *path = static_cast<const sluice_json_path *>(e->aux);
        if (!path) {
            sluice_value p = sluice_expr_eval(e->args[1], row, arena);
            if (p.type != SLUICE_TYPE_VARCHAR || !(path = sluice_json_path_compile(p.u.s, p.len, arena)))
                return sluice_value_null();
        }
        return json_value(j.u.s, j.len, path, arena);
    } catch (...) {
        return sluice_value_null();  // no memory for the parser's buffers
    }
}
