/*
 * The "file" sink: every emitted row is appended to a local file, as CSV
 * (with a header line) or as JSON lines.  The file is created or truncated
 * at open, so each run writes a new file.  commit() flushes and fsyncs.
 *
 * With checkpointing (spec/checkpointing.md, "File"), the file is kept
 * across runs and a sidecar PATH.epoch records, after each commit, the
 * committed epoch and the file's length then (written to a temporary name,
 * fsynced, renamed).  At open the file is cut back to that length — rows of
 * an epoch that was written but not committed before a crash are dropped —
 * so a replayed epoch replaces, never duplicates.
 *
 * Options: `path` (required), `format` = json|csv (default csv when the
 * path ends in ".csv", else json), `csv.delimiter` (one character).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "connectors/connectors.h"
#include "connectors/connectors_int.h"
#include "format/format.h"

static const char *const file_sink_options[] = {"path", "format", "csv.delimiter", NULL};

#define FILE_SINK_BUFFER (1u << 20)

typedef struct file_sink {
    sluice_sink base;
    const char *instance;
    const char *path;
    const sluice_schema *schema;
    FILE *f;
    int csv;
    char delim;
    int checkpointing;
    int64_t committed;           /* epoch in the sidecar, or -1 */
    char *sidecar;               /* PATH.epoch */
} file_sink;

static void file_sink_close(sluice_sink *sink) {
    if (!sink) return;
    file_sink *fs = (file_sink *)sink;
    if (fs->f) fclose(fs->f);
    free(fs->sidecar);
    free(fs);
}

static int ends_with(const char *s, const char *suffix) {
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcmp(s + n - m, suffix) == 0;
}

static sluice_err_t io_error(file_sink *fs, const char *what, int e, char *errstr,
                             size_t errstr_size) {
    return sluice_seterr(errstr, errstr_size, SLUICE_ERR_IO, "sink %s (file): %s '%s': %s",
                         fs->instance, what, fs->path, strerror(e));
}

/* Check the options (no file is opened): path, format, delimiter. */
static sluice_err_t file_sink_check(const sluice_module_config *cfg, const char **path_out, int *csv_out,
                                    char *delim_out, char *errstr, size_t errstr_size) {
    const char *inst = cfg->instance ? cfg->instance : "?";
    sluice_err_t err = sluice_conn_check_options(cfg, file_sink_options, "sink", "file", errstr,
                                                 errstr_size);
    if (err) return err;
    const char *path = sluice_module_config_get(cfg, "path");
    if (!path || !path[0])
        return sluice_seterr(errstr, errstr_size, SLUICE_ERR_CONFIG,
                             "sink %s (file): option 'path' is required", inst);
    const char *format = sluice_module_config_get(cfg, "format");
    int csv = ends_with(path, ".csv");
    if (format && strcmp(format, "csv") == 0) csv = 1;
    else if (format && strcmp(format, "json") == 0) csv = 0;
    else if (format)
        return sluice_conn_bad_option(cfg, "format", "sink", "file", "expected json or csv",
                                      errstr, errstr_size);
    char delim = ',';
    if ((err = sluice_conn_opt_char(cfg, "csv.delimiter", "sink", "file", &delim, errstr,
                                    errstr_size)))
        return err;
    *path_out = path;
    *csv_out = csv;
    *delim_out = delim;
    return SLUICE_OK;
}

/* sluice check: the options, without creating or truncating the file. */
static sluice_err_t file_sink_validate(const sluice_module_config *cfg, char *errstr, size_t errstr_size) {
    const char *path;
    int csv;
    char delim;
    return file_sink_check(cfg, &path, &csv, &delim, errstr, errstr_size);
}

static sluice_err_t file_sink_open(const sluice_module_config *cfg, sluice_sink **out,
                                   char *errstr, size_t errstr_size) {
    const char *inst = cfg->instance ? cfg->instance : "?";
    const char *path;
    int csv;
    char delim;
    sluice_err_t err = file_sink_check(cfg, &path, &csv, &delim, errstr, errstr_size);
    if (err) return err;
    if (!cfg->schema)
        return sluice_seterr(errstr, errstr_size, SLUICE_ERR_INVALID,
                             "sink %s (file): no schema", inst);

    file_sink *fs = calloc(1, sizeof *fs);
    if (!fs) return SLUICE_ERR_NOMEM;
    fs->base.ops = &sluice_file_sink_ops;
    fs->instance = inst;
    fs->path = path;
    fs->schema = cfg->schema;
    fs->csv = csv;
    fs->delim = delim;
    fs->committed = -1;
    fs->checkpointing = cfg->checkpointing;
    if (cfg->checkpointing) {
        size_t n = strlen(path) + 8;
        if (!(fs->sidecar = malloc(n))) {
            err = SLUICE_ERR_NOMEM;
            goto fail;
        }
        snprintf(fs->sidecar, n, "%s.epoch", path);
        long long epoch = -1, length = -1;
        FILE *sc = fopen(fs->sidecar, "re");
        if (sc) {
            if (fscanf(sc, "epoch %lld length %lld", &epoch, &length) != 2 || epoch < 0 || length < 0) {
                fclose(sc);
                err = sluice_seterr(errstr, errstr_size, SLUICE_ERR_RUNTIME,
                                    "sink %s (file): '%s' is not a valid epoch record; remove it and the output to start over",
                                    inst, fs->sidecar);
                goto fail;
            }
            fclose(sc);
        }
        if (epoch >= 0) {
            if (truncate(path, (off_t)length) != 0) {
                err = sluice_seterr(errstr, errstr_size, SLUICE_ERR_RUNTIME,
                                    "sink %s (file): cannot cut '%s' back to its committed length %lld: %s", inst,
                                    path, length, strerror(errno));
                goto fail;
            }
            fs->committed = epoch;
            fs->f = fopen(path, "ae");
            if (!fs->f) {
                err = sluice_seterr(errstr, errstr_size, SLUICE_ERR_CONFIG, "sink %s (file): cannot open '%s': %s",
                                    inst, path, strerror(errno));
                goto fail;
            }
            setvbuf(fs->f, NULL, _IOFBF, FILE_SINK_BUFFER);
            *out = &fs->base;
            return SLUICE_OK;
        }
    }
    fs->f = fopen(path, "we");
    if (!fs->f) {
        err = sluice_seterr(errstr, errstr_size, SLUICE_ERR_CONFIG,
                            "sink %s (file): cannot create '%s': %s", inst, path,
                            strerror(errno));
        goto fail;
    }
    setvbuf(fs->f, NULL, _IOFBF, FILE_SINK_BUFFER);
    if (csv &&
        sluice_csv_write_header(fs->f, cfg->schema->columns, cfg->schema->ncolumns, delim) !=
            SLUICE_OK) {
        err = io_error(fs, "cannot write the header to", errno, errstr, errstr_size);
        goto fail;
    }
    *out = &fs->base;
    return SLUICE_OK;
fail:
    file_sink_close(&fs->base);
    return err;
}

static sluice_err_t file_sink_write(sluice_sink *sink, int64_t epoch,
                                    const sluice_row_batch *batch,
                                    char *errstr, size_t errstr_size) {
    (void)epoch;
    file_sink *fs = (file_sink *)sink;
    size_t nc = fs->schema->ncolumns;
    for (size_t i = 0; i < batch->nrows; i++) {
        const sluice_value *row = sluice_row_batch_row(batch, i);
        sluice_err_t err = fs->csv ? sluice_csv_write_row(fs->f, row, nc, fs->delim)
                                   : sluice_json_write_row(fs->f, fs->schema->columns, row, nc);
        if (err) return io_error(fs, "cannot write to", errno, errstr, errstr_size);
    }
    return SLUICE_OK;
}

static sluice_err_t file_sink_commit(sluice_sink *sink, int64_t epoch,
                                     char *errstr, size_t errstr_size) {
    file_sink *fs = (file_sink *)sink;
    if (fflush(fs->f) != 0) return io_error(fs, "cannot write to", errno, errstr, errstr_size);
    if (fsync(fileno(fs->f)) != 0 && errno != EINVAL && errno != EROFS)
        return io_error(fs, "cannot fsync", errno, errstr, errstr_size);
    if (!fs->checkpointing) return SLUICE_OK;
    long length = ftell(fs->f);
    char tmp[4200];
    snprintf(tmp, sizeof tmp, "%s.tmp", fs->sidecar);
    FILE *sc = fopen(tmp, "we");
    if (!sc || fprintf(sc, "epoch %lld length %ld\n", (long long)epoch, length) < 0 || fflush(sc) != 0 ||
        fsync(fileno(sc)) != 0) {
        int e = errno;
        if (sc) fclose(sc);
        return sluice_seterr(errstr, errstr_size, SLUICE_ERR_IO, "sink %s (file): cannot write '%s': %s",
                             fs->instance, tmp, strerror(e));
    }
    fclose(sc);
    if (rename(tmp, fs->sidecar) != 0)
        return sluice_seterr(errstr, errstr_size, SLUICE_ERR_IO, "sink %s (file): cannot rename '%s': %s",
                             fs->instance, tmp, strerror(errno));
    fs->committed = epoch;
    return SLUICE_OK;
}

static int64_t file_sink_committed_epoch(sluice_sink *sink) {
    return ((file_sink *)sink)->committed;
}

/** The "file" sink connector (see the top of this file). */
const sluice_sink_ops sluice_file_sink_ops = {
    .version = SLUICE_MODULE_VERSION,
    .name = "file",
    .options = file_sink_options,
    .open = file_sink_open,
    .write = file_sink_write,
    .commit = file_sink_commit,
    .report = NULL,
    .close = file_sink_close,
    .committed_epoch = file_sink_committed_epoch,
    .validate = file_sink_validate,
};
