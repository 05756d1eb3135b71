/*
 * The decoder front: dispatch to the JSON adapter, the CSV or the lines decoder, and
 * the text conversions both share.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "format/format_int.h"

struct sluice_decoder {
    sluice_format_kind format;
    void *impl;
};

int sluice_format_parse_int64(const char *s, size_t len, int64_t *out) {
    const char *p = s, *end = s + len;
    int neg = 0;
    if (p < end && (*p == '-' || *p == '+')) neg = *p++ == '-';
    if (p == end) return -1;
    uint64_t v = 0, limit = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
    for (; p < end; p++) {
        unsigned c = (unsigned char)*p - '0';
        if (c > 9) return -1;
        if (v > (limit - c) / 10) return -1;
        v = v * 10 + c;
    }
    *out = neg ? (int64_t)(0 - v) : (int64_t)v;
    return 0;
}

static int parse_double(const char *s, size_t len, double *out) {
    char stack[128];
    if (len == 0 || s[0] == ' ' || (s[0] >= '\t' && s[0] <= '\r')) return -1;
    char *buf = len < sizeof stack ? stack : malloc(len + 1);
    if (!buf) return -1;
    memcpy(buf, s, len);
    buf[len] = '\0';
    char *endp;
    *out = strtod(buf, &endp);
    int ok = endp == buf + len;
    if (buf != stack) free(buf);
    return ok ? 0 : -1;
}

static int parse_bool(const char *s, size_t len, int64_t *out) {
    if ((len == 4 && strncasecmp(s, "true", 4) == 0) || (len == 1 && s[0] == '1')) {
        *out = 1;
        return 0;
    }
    if ((len == 5 && strncasecmp(s, "false", 5) == 0) || (len == 1 && s[0] == '0')) {
        *out = 0;
        return 0;
    }
    return -1;
}

int sluice_format_convert_text(const sluice_field_spec *spec, const char *s, size_t len,
                               sluice_value *out, sluice_arena *arena) {
    int64_t i;
    double d;
    switch (spec->type) {
    case SLUICE_TYPE_BIGINT:
        if (sluice_format_parse_int64(s, len, &i)) return 1;
        *out = sluice_value_bigint(i);
        return 0;
    case SLUICE_TYPE_DOUBLE:
        if (parse_double(s, len, &d)) return 1;
        *out = sluice_value_double(d);
        return 0;
    case SLUICE_TYPE_BOOLEAN:
        if (parse_bool(s, len, &i)) return 1;
        *out = sluice_value_bool((int)i);
        return 0;
    case SLUICE_TYPE_TIMESTAMP:
        if (sluice_ts_parse(spec->ts_format, s, len, &i)) return 1;
        *out = sluice_value_timestamp(i);
        return 0;
    case SLUICE_TYPE_VARCHAR: {
        if (len > UINT32_MAX) return 1;
        char *copy = sluice_arena_strndup(arena, s, len);
        if (!copy) return SLUICE_ERR_NOMEM;
        *out = sluice_value_varchar(copy, len);
        return 0;
    }
    default:
        return 1;
    }
}

sluice_err_t sluice_format_bad_value(char *reason, size_t reason_size,
                                     const sluice_field_spec *spec, const char *text,
                                     size_t len, int quote) {
    int shown = (int)(len > SLUICE_FORMAT_QUOTE_MAX ? SLUICE_FORMAT_QUOTE_MAX : len);
    const char *q = quote ? "\"" : "";
    return sluice_seterr(reason, reason_size, SLUICE_ERR_MALFORMED,
                         "column '%s': expected %s, got %s%.*s%s%s", spec->name,
                         sluice_type_name(spec->type), q, shown, text,
                         len > SLUICE_FORMAT_QUOTE_MAX ? "..." : "", q);
}

sluice_err_t sluice_decoder_new(const sluice_decoder_options *opts,
                                const sluice_field_spec *specs, size_t nfields,
                                sluice_decoder **out, char *errstr, size_t errstr_size) {
    *out = NULL;
    for (size_t i = 0; i < nfields; i++) {
        switch (specs[i].type) {
        case SLUICE_TYPE_BIGINT:
        case SLUICE_TYPE_DOUBLE:
        case SLUICE_TYPE_VARCHAR:
        case SLUICE_TYPE_BOOLEAN:
        case SLUICE_TYPE_TIMESTAMP:
            break;
        case SLUICE_TYPE_ARRAY:
            if (opts->format == SLUICE_FORMAT_JSON) break;
            return sluice_seterr(errstr, errstr_size, SLUICE_ERR_CONFIG,
                                 "column '%s': an ARRAY column needs format = json (a CSV field or a line "
                                 "holds no array)",
                                 specs[i].name);
        default:
            return sluice_seterr(errstr, errstr_size, SLUICE_ERR_INVALID,
                                 "column '%s': type %s cannot be decoded", specs[i].name,
                                 sluice_type_name(specs[i].type));
        }
    }
    sluice_decoder *d = calloc(1, sizeof *d);
    if (!d) return SLUICE_ERR_NOMEM;
    d->format = opts->format;
    sluice_err_t rc;
    switch (opts->format) {
    case SLUICE_FORMAT_JSON:
        rc = sluice_json_decoder_new(specs, nfields, &d->impl, errstr, errstr_size);
        break;
    case SLUICE_FORMAT_CSV:
        rc = sluice_csv_decoder_new(opts, specs, nfields, &d->impl, errstr, errstr_size);
        break;
    case SLUICE_FORMAT_LINES:
        rc = sluice_lines_decoder_new(specs, nfields, &d->impl, errstr, errstr_size);
        break;
    default:
        rc = sluice_seterr(errstr, errstr_size, SLUICE_ERR_INVALID, "unknown format %d",
                           (int)opts->format);
        break;
    }
    if (rc != SLUICE_OK) {
        free(d);
        return rc;
    }
    *out = d;
    return SLUICE_OK;
}

sluice_err_t sluice_decoder_decode(sluice_decoder *d, const char *data, size_t len,
                                   sluice_value *out, sluice_arena *arena, char *reason,
                                   size_t reason_size) {
    if (d->format == SLUICE_FORMAT_JSON)
        return sluice_json_decoder_decode(d->impl, data, len, out, arena, reason, reason_size);
    if (d->format == SLUICE_FORMAT_LINES)
        return sluice_lines_decoder_decode(d->impl, data, len, out, arena, reason, reason_size);
    return sluice_csv_decoder_decode(d->impl, data, len, out, arena, reason, reason_size);
}

void sluice_decoder_free(sluice_decoder *d) {
    if (!d) return;
    if (d->format == SLUICE_FORMAT_JSON)
        sluice_json_decoder_free(d->impl);
    else if (d->format == SLUICE_FORMAT_LINES)
        sluice_lines_decoder_free(d->impl);
    else
        sluice_csv_decoder_free(d->impl);
    free(d);
}
