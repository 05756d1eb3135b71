/*
 * What a MySQL/MariaDB column can hold (mysql_columns.h).  Limits as the
 * server documents them: CHAR/VARCHAR(n) count characters, the TEXT types
 * bytes (TINYTEXT 255, TEXT 65,535, MEDIUMTEXT 16,777,215, LONGTEXT
 * 4,294,967,295), information_schema giving both as
 * CHARACTER_MAXIMUM_LENGTH and CHARACTER_OCTET_LENGTH; utf8mb4 holds any
 * Unicode scalar value, utf8mb3 (`utf8`) only those of up to 3 bytes;
 * DOUBLE has no NaN nor infinity.
 */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <mysqld_error.h>

#include "connectors/mysql_columns.h"
#include "base/utf8.h"

static int64_t num_or(const char *s, int64_t dflt) {
    return s && *s ? strtoll(s, NULL, 10) : dflt;
}

void sluice_mysql_column_read(sluice_mysql_column *col, const char *data_type, const char *column_type,
                              const char *max_chars, const char *max_bytes, const char *charset) {
    static const char *const texts[] = {"char", "varchar", "tinytext", "text", "mediumtext", "longtext", NULL};
    static const char *const floats[] = {"double", "float", "decimal", "real", NULL};
    memset(col, 0, sizeof *col);
    const char *dt = data_type ? data_type : "";
    for (const char *const *t = texts; *t; t++) col->text |= strcasecmp(*t, dt) == 0;
    for (const char *const *t = floats; *t; t++) col->floating |= strcasecmp(*t, dt) == 0;
    col->decimal = strcasecmp(dt, "decimal") == 0;
    col->is_unsigned = column_type && strcasestr(column_type, "unsigned") != NULL;
    /* CHAR and VARCHAR count characters; the TEXT types bytes only */
    size_t dl = strlen(dt);
    int bytes_only = dl >= 4 && strcasecmp(dt + dl - 4, "text") == 0;
    col->max_chars = col->text && !bytes_only ? num_or(max_chars, -1) : -1;
    col->max_bytes = col->text ? num_or(max_bytes, -1) : -1;
    col->charset = !charset                                 ? SLUICE_MYSQL_CS_OTHER
                   : strcasecmp(charset, "utf8mb4") == 0 ? SLUICE_MYSQL_CS_UTF8MB4
                   : (strcasecmp(charset, "utf8mb3") == 0 || strcasecmp(charset, "utf8") == 0)
                       ? SLUICE_MYSQL_CS_UTF8MB3
                       : SLUICE_MYSQL_CS_OTHER;
    snprintf(col->type, sizeof col->type, "%s", column_type ? column_type : dt);
}

/* Characters of valid UTF-8: the bytes that do not continue one. */
static int64_t utf8_chars(const char *s, size_t len, int *has4) {
    int64_t n = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        n += (c & 0xC0) != 0x80;
        *has4 |= c >= 0xF0;
    }
    return n;
}

int sluice_mysql_value_unfit(const sluice_mysql_column *col, const char *name, const sluice_value *v, char *buf,
                             size_t size) {
    switch (v->type) {
    case SLUICE_TYPE_VARCHAR: {
        if (!col->text) return 0;
        /* the connection's character set is utf8mb4: the server converts
         * character by character into the column's; for another character
         * set than utf8, what does not convert is left to the server (its
         * refusal is caught row by row) */
        int utf8 = col->charset != SLUICE_MYSQL_CS_OTHER;
        int valid = sluice_utf8_valid(v->u.s, v->len), has4 = 0;
        int64_t chars = valid ? utf8_chars(v->u.s, v->len, &has4) : (int64_t)v->len;
        if (utf8) {
            if (!valid) {
                snprintf(buf, size, "column '%s': the value is not valid UTF-8, which a %s column cannot hold", name,
                         col->charset == SLUICE_MYSQL_CS_UTF8MB4 ? "utf8mb4" : "utf8mb3");
                return 1;
            }
            if (has4 && col->charset == SLUICE_MYSQL_CS_UTF8MB3) {
                snprintf(buf, size, "column '%s': the value has a 4-byte UTF-8 character, which a utf8mb3 column "
                         "cannot hold", name);
                return 1;
            }
        }
        if (col->max_chars >= 0 && chars > col->max_chars) {
            snprintf(buf, size, "column '%s': %" PRId64 " characters, %s holds at most %" PRId64, name, chars,
                     col->type, col->max_chars);
            return 1;
        }
        if (utf8 && col->max_bytes >= 0 && (int64_t)v->len > col->max_bytes) {
            snprintf(buf, size, "column '%s': %zu bytes, %s holds at most %" PRId64, name, (size_t)v->len, col->type,
                     col->max_bytes);
            return 1;
        }
        return 0;
    }
    case SLUICE_TYPE_DOUBLE:
        if (!isfinite(v->u.d)) {
            snprintf(buf, size, "column '%s': %s, which a MySQL %s cannot store", name,
                     isnan(v->u.d) ? "NaN" : v->u.d > 0 ? "Infinity" : "-Infinity", col->type[0] ? col->type : "double");
            return 1;
        }
        if (col->is_unsigned && v->u.d < 0) break;
        return 0;
    case SLUICE_TYPE_BIGINT:
    case SLUICE_TYPE_INTERVAL:
        if (col->is_unsigned && v->u.i < 0) break;
        return 0;
    default: return 0;
    }
    snprintf(buf, size, "column '%s': a negative number, which %s cannot hold", name, col->type);
    return 1;
}

int sluice_mysql_column_holds_all(const sluice_mysql_column *col, sluice_type_t t) {
    switch (t) {
    case SLUICE_TYPE_VARCHAR:
        /* LONGTEXT's 4 GiB are more than any statement carries */
        return !col->text || (col->max_bytes < 0 || col->max_bytes >= 4294967295LL);
    case SLUICE_TYPE_DOUBLE: return !col->decimal && !col->is_unsigned;
    case SLUICE_TYPE_BIGINT:
    case SLUICE_TYPE_INTERVAL: return !col->is_unsigned;
    default: return 1;
    }
}

int sluice_mysql_err_is_row_data(unsigned e) {
    static const unsigned codes[] = {ER_DATA_TOO_LONG,          ER_TRUNCATED_WRONG_VALUE_FOR_FIELD,
                                     ER_WARN_DATA_OUT_OF_RANGE, WARN_DATA_TRUNCATED,
                                     ER_TRUNCATED_WRONG_VALUE,  ER_BAD_NULL_ERROR,
                                     ER_INVALID_CHARACTER_STRING, ER_ILLEGAL_VALUE_FOR_TYPE,
                                     ER_DATA_OUT_OF_RANGE,      ER_CANNOT_CONVERT_CHARACTER,
                                     ER_CONSTRAINT_FAILED};
    for (size_t i = 0; i < sizeof codes / sizeof codes[0]; i++)
        if (codes[i] == e) return 1;
    return 0;
}
