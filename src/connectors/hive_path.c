/*
 * Hive-style partition directory names (file_partitioned.h): the escaping
 * of org.apache.hadoop.hive.common.FileUtils.escapePathName, so that a
 * Hive or Spark reader decodes the same values back from the path.
 */
#include <stdlib.h>
#include <string.h>

#include "connectors/file_partitioned.h"
#include "format/format.h"

/* FileUtils.charToEscape (the non-Windows set), plus NUL. */
static int needs_escape(unsigned char c) {
    static const char specials[] = "\"#%'*/:=?\\{[]^";
    if (c < 0x20 || c == 0x7f) return 1;
    return c != '\0' && memchr(specials, c, sizeof specials - 1) != NULL;
}

int sluice_hive_escape(FILE *f, const char *s, size_t len) {
    if (len == 0) return fputs(SLUICE_HIVE_DEFAULT_PARTITION, f) < 0 ? -1 : 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (needs_escape(c) ? fprintf(f, "%%%02X", c) < 0 : putc(c, f) == EOF) return -1;
    }
    return 0;
}

int sluice_hive_partition_dir(FILE *f, const sluice_column *cols, const sluice_value *row, const size_t *idx,
                              size_t n) {
    char small[128];
    for (size_t k = 0; k < n; k++) {
        const char *name = cols[idx[k]].name;
        if ((k && putc('/', f) == EOF) || sluice_hive_escape(f, name, strlen(name)) != 0 || putc('=', f) == EOF)
            return -1;
        const sluice_value *v = &row[idx[k]];
        if (v->type == SLUICE_TYPE_NULL) {
            if (fputs(SLUICE_HIVE_DEFAULT_PARTITION, f) < 0) return -1;
            continue;
        }
        if (v->type == SLUICE_TYPE_VARCHAR) {
            /* the bytes as sluice_value_render gives them (ill-formed
             * UTF-8 replaced), which for well-formed text is the value */
            size_t need = sluice_value_render(v, NULL, 0);
            char *buf = need < sizeof small ? small : malloc(need + 1);
            if (!buf) return -1;
            sluice_value_render(v, buf, need + 1);
            int rc = sluice_hive_escape(f, buf, need);
            if (buf != small) free(buf);
            if (rc) return -1;
            continue;
        }
        size_t len = sluice_value_render(v, small, sizeof small);
        if (sluice_hive_escape(f, small, len < sizeof small ? len : sizeof small - 1) != 0) return -1;
    }
    return 0;
}
