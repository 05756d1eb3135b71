/*
 * psql-style aligned tables (see table_print.h).
 */
#include <stdlib.h>
#include <string.h>

#include "connectors/table_print.h"
#include "format/format.h"

/* Display width of s: UTF-8 characters (continuation bytes not counted). */
static size_t text_width(const char *s, size_t n) {
    size_t w = 0;
    for (size_t i = 0; i < n; i++)
        if (((unsigned char)s[i] & 0xC0) != 0x80) w++;
    return w;
}

/* Render v into *buf (grown as needed); returns the length. */
static size_t render(const sluice_value *v, char **buf, size_t *cap) {
    size_t n = sluice_value_render(v, *buf, *cap);
    if (n + 1 > *cap) {
        size_t nc = n + 1 > *cap * 2 ? n + 1 : *cap * 2;
        char *nb = realloc(*buf, nc);
        if (!nb) return (size_t)-1;
        *buf = nb;
        *cap = nc;
        n = sluice_value_render(v, *buf, *cap);
    }
    return n;
}

static void pad(FILE *out, size_t n) {
    for (size_t i = 0; i < n; i++) fputc(' ', out);
}

static int right_aligned(sluice_type_t t) {
    return t == SLUICE_TYPE_BIGINT || t == SLUICE_TYPE_DOUBLE;
}

/* One cell: leading space, text aligned in width w, trailing space unless
 * it is the last column (an empty last cell prints nothing at all). */
static void cell(FILE *out, const char *s, size_t n, size_t w, int right, int last) {
    if (last && n == 0) return;
    size_t tw = text_width(s, n);
    size_t fill = w > tw ? w - tw : 0;
    fputc(' ', out);
    if (right) pad(out, fill);
    fwrite(s, 1, n, out);
    if (!last) {
        if (!right) pad(out, fill);
        fputc(' ', out);
    }
}

sluice_err_t sluice_table_print(FILE *out, const sluice_column *cols, size_t ncols,
                                const sluice_value *const *rows, size_t nrows,
                                size_t footer_rows) {
    size_t *width = calloc(ncols ? ncols : 1, sizeof *width);
    size_t cap = 64;
    char *buf = malloc(cap);
    if (!width || !buf) {
        free(width);
        free(buf);
        return SLUICE_ERR_NOMEM;
    }
    sluice_err_t err = SLUICE_OK;
    for (size_t j = 0; j < ncols; j++) width[j] = text_width(cols[j].name, strlen(cols[j].name));
    for (size_t i = 0; i < nrows && !err; i++) {
        for (size_t j = 0; j < ncols; j++) {
            size_t n = render(&rows[i][j], &buf, &cap);
            if (n == (size_t)-1) { err = SLUICE_ERR_NOMEM; break; }
            size_t w = text_width(buf, n);
            if (w > width[j]) width[j] = w;
        }
    }
    if (!err) {
        for (size_t j = 0; j < ncols; j++) {
            if (j) fputc('|', out);
            cell(out, cols[j].name, strlen(cols[j].name), width[j], 0, j + 1 == ncols);
        }
        fputc('\n', out);
        for (size_t j = 0; j < ncols; j++) {
            if (j) fputc('+', out);
            for (size_t k = 0; k < width[j] + 2; k++) fputc('-', out);
        }
        fputc('\n', out);
        for (size_t i = 0; i < nrows && !err; i++) {
            for (size_t j = 0; j < ncols; j++) {
                size_t n = render(&rows[i][j], &buf, &cap);
                if (n == (size_t)-1) { err = SLUICE_ERR_NOMEM; break; }
                if (j) fputc('|', out);
                cell(out, buf, n, width[j], right_aligned(cols[j].type), j + 1 == ncols);
            }
            fputc('\n', out);
        }
        if (footer_rows == 1) fputs("(1 row)\n", out);
        else fprintf(out, "(%zu rows)\n", footer_rows);
        if (!err && ferror(out)) err = SLUICE_ERR_IO;
    }
    free(width);
    free(buf);
    return err;
}
