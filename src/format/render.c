/*
 * Value rendering for text sinks (profiles.md "Value rendering in text
 * sinks").
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "format/format.h"
#include "format/number_format.h"

/* Copy n bytes of s as an snprintf would: at most size-1 bytes plus NUL;
 * returns n. */
static size_t put_bytes(const char *s, size_t n, char *buf, size_t size) {
    if (size > 0) {
        size_t k = n < size - 1 ? n : size - 1;
        if (k) memcpy(buf, s, k);
        buf[k] = '\0';
    }
    return n;
}

/* Text as put_bytes, but each maximal subpart of an ill-formed UTF-8
 * sequence becomes U+FFFD (as in sluice_json_write_string), so that text
 * outputs (console and memory tables) are UTF-8; returns the full length. */
static size_t put_text(const char *s, size_t n, char *buf, size_t size) {
    if (sluice_utf8_valid(s, n)) return put_bytes(s, n, buf, size);
    size_t total = 0;
    for (;;) {
        size_t bad = 0, at = sluice_utf8_find_invalid(s, n, &bad);
        const char *piece[2] = {s, "\xEF\xBF\xBD"};
        size_t plen[2] = {at, at == n ? 0 : 3};
        for (int k = 0; k < 2; k++) {
            if (total < size && plen[k]) {
                size_t room = size - 1 - (total < size - 1 ? total : size - 1);
                memcpy(buf + total, piece[k], plen[k] < room ? plen[k] : room);
            }
            total += plen[k];
        }
        if (at == n) break;
        s += at + bad;
        n -= at + bad;
    }
    if (size > 0) buf[total < size - 1 ? total : size - 1] = '\0';
    return total;
}

/* Output that keeps counting past the end of buf, as snprintf does. */
typedef struct sink_buf {
    char *buf;
    size_t size, total;
} sink_buf;

static void put(sink_buf *o, const char *s, size_t n) {
    if (o->total + 1 < o->size) {
        size_t room = o->size - 1 - o->total;
        memcpy(o->buf + o->total, s, n < room ? n : room);
    }
    o->total += n;
}

/* A JSON string (RFC 8259): quotes, backslashes and control characters
 * escaped as cJSON writes them; ill-formed UTF-8 becomes U+FFFD per
 * maximal subpart, as in sluice_json_write_string. */
static void put_json_string(sink_buf *o, const char *s, size_t n) {
    put(o, "\"", 1);
    for (;;) {
        size_t bad = 0, at = sluice_utf8_find_invalid(s, n, &bad);
        for (size_t i = 0; i < at; i++) {
            unsigned char c = (unsigned char)s[i];
            static const char short_esc[] = {['\b'] = 'b', ['\f'] = 'f', ['\n'] = 'n', ['\r'] = 'r', ['\t'] = 't'};
            char esc[8];
            if (c == '"' || c == '\\') {
                esc[0] = '\\';
                esc[1] = (char)c;
                put(o, esc, 2);
            } else if (c < 0x20) {
                if (c < sizeof short_esc && short_esc[c]) {
                    esc[0] = '\\';
                    esc[1] = short_esc[c];
                    put(o, esc, 2);
                } else {
                    put(o, esc, (size_t)snprintf(esc, sizeof esc, "\\u%04x", c));
                }
            } else {
                put(o, s + i, 1);
            }
        }
        if (at == n) break;
        put(o, "\xEF\xBF\xBD", 3);
        s += at + bad;
        n -= at + bad;
    }
    put(o, "\"", 1);
}

/* An ARRAY as JSON text: ["a",null,1,2.5,true,"2001-01-01 00:00:00"];
 * strings and timestamps quoted, non-finite doubles null (JSON has none). */
static void put_json_array(sink_buf *o, const sluice_array *a) {
    put(o, "[", 1);
    for (uint32_t i = 0; i < a->count; i++) {
        const sluice_value *e = &a->values[i];
        if (i) put(o, ",", 1);
        char tmp[64];
        size_t n;
        switch ((sluice_type_t)e->type) {
        case SLUICE_TYPE_VARCHAR: put_json_string(o, e->u.s, e->len); break;
        case SLUICE_TYPE_TIMESTAMP:
            n = sluice_ts_render(e->u.i, tmp, sizeof tmp);
            put_json_string(o, tmp, n < sizeof tmp ? n : sizeof tmp - 1);
            break;
        case SLUICE_TYPE_DOUBLE:
            if (!isfinite(e->u.d)) {
                put(o, "null", 4);
                break;
            }
            /* fall through */
        case SLUICE_TYPE_BIGINT:
        case SLUICE_TYPE_BOOLEAN:
        case SLUICE_TYPE_INTERVAL:
            n = sluice_value_render(e, tmp, sizeof tmp);
            put(o, tmp, n < sizeof tmp ? n : sizeof tmp - 1);
            break;
        default: put(o, "null", 4); break;
        }
    }
    put(o, "]", 1);
}

char *sluice_value_render_alloc(const sluice_value *v, size_t *len) {
    size_t need = sluice_value_render(v, NULL, 0);
    char *text = need < SIZE_MAX ? malloc(need + 1) : NULL;
    if (!text) return NULL;
    sluice_value_render(v, text, need + 1);
    *len = need;
    return text;
}

size_t sluice_value_render(const sluice_value *v, char *buf, size_t size) {
    char tmp[SLUICE_NUMBER_TEXT_MAX + 8];
    size_t n;
    switch ((sluice_type_t)v->type) {
    case SLUICE_TYPE_BIGINT:
    case SLUICE_TYPE_INTERVAL:
        n = sluice_fmt_int64(v->u.i, tmp);
        break;
    case SLUICE_TYPE_DOUBLE:
        n = sluice_fmt_double(v->u.d, tmp);
        break;
    case SLUICE_TYPE_VARCHAR:
        return put_text(v->u.s, v->len, buf, size);
    case SLUICE_TYPE_BOOLEAN:
        return put_bytes(v->u.i ? "true" : "false", v->u.i ? 4 : 5, buf, size);
    case SLUICE_TYPE_TIMESTAMP:
        n = sluice_ts_render(v->u.i, tmp, sizeof tmp);
        break;
    case SLUICE_TYPE_ARRAY: {
        sink_buf o = {buf, size, 0};
        put_json_array(&o, v->u.a);
        if (size > 0) buf[o.total < size - 1 ? o.total : size - 1] = '\0';
        return o.total;
    }
    case SLUICE_TYPE_NULL:
    default:
        n = 0;
        break;
    }
    return put_bytes(tmp, n, buf, size);
}
