/*
 * The "file" sink: every emitted row is appended to a local file, as CSV
 * (with a header line) or as JSON lines.  The file is created or truncated
 * at open, so each run writes a new file; missing parent directories are
 * created first (base/fsutil.h), as the dead-letter file's are.  Rows are
 * rendered into one buffer (format/outbuf.h) and written with one write(2)
 * when it holds FILE_SINK_BUFFER bytes and at commit(), which then fsyncs;
 * the stream itself is unbuffered, so nothing is copied twice.
 *
 * With checkpointing (docs/connectors.md, "The file sink"), the file is kept
 * across runs and a sidecar PATH.epoch (file_epoch.h: keyed by pipeline,
 * sink, path and format, checksummed) records, after each commit, the
 * committed epoch and the file's length then.  At open, what is found is
 * checked against that record, never trusted blindly:
 *
 *   record  output                  what happens
 *   none    missing or empty        a new file (record: epoch -1)
 *   none    non-empty               refused: output of unknown origin
 *   bad     any                     refused: torn, edited or another output's
 *   -1      any                     nothing was committed: a new file
 *   N >= 0  missing                 refused: committed rows are gone
 *   N >= 0  shorter than recorded   refused: truncated (e.g. copytruncate)
 *   N >= 0  as long as recorded     appended to
 *   N >= 0  longer than recorded    cut back to the recorded length: the
 *                                   tail is an epoch written but not
 *                                   committed before a crash, which the
 *                                   replay writes again
 *
 * Refusals are SLUICE_ERR_CONFIG (exit 2) naming the file and the way out.
 * The record of epoch -1 is written before anything is written to the file
 * (it may be created empty just before, to be locked), so a crash before the
 * first commit never leaves a non-empty output without a record.
 *
 * A regular output file is flock()ed (exclusive, non-blocking) from open to
 * close, before it is checked or truncated: a second writer of the same path
 * -- another run, with or without its own checkpoint, or a second sink of
 * the same pipeline -- would truncate or interleave the first one's rows, or
 * cut back what it committed, and is refused (exit 2) instead.
 *
 * When the query's output is not append-only (EMIT UPDATE or COMPLETE),
 * every row is written with a first column `op`: its change kind
 * ("+I", "-U", "+U", "-D"; op_column.h), and the epoch record's format is
 * "csv+op" or "json+op", so an output is never continued with other
 * columns than it began with.
 *
 * Options: `path` (required), `format` = json|csv (default csv when the
 * path ends in ".csv", else json), `csv.delimiter` (one character).
 * With `partition_by` (and optionally `rollover_rows`/`rollover_bytes`),
 * `path` is a directory of Hive-style partitions: file_sink_partitioned.c.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "connectors/connectors.h"
#include "connectors/connectors_int.h"
#include "connectors/file_epoch.h"
#include "connectors/file_partitioned.h"
#include "base/fsutil.h"
#include "base/log.h"
#include "connectors/op_column.h"
#include "format/format.h"

/* The option table (sluice/module.h) of the `file` sink, plain and
 * partitioned (file_sink_partitioned.c reads partition_by and the
 * rollover limits): checked before open(), printed by `sluice connectors`.
 * The combinations (a rollover limit only with partition_by, the
 * partition columns against the rows) are checked by the connector. */
static const sluice_option_spec file_sink_specs[] = {
    {"path", SLUICE_OPT_STRING, NULL,
     "the file the rows are appended to; with `partition_by`, the directory of the partitions (missing parent "
     "directories are created)", NULL, 0, 0, SLUICE_OPT_REQUIRED},
    {"format", SLUICE_OPT_ENUM, NULL,
     "JSON lines or CSV with a header line; default: csv when `path` ends in .csv, json otherwise", "json|csv", 0, 0,
     0},
    {"csv.delimiter", SLUICE_OPT_CHAR, ",", "the CSV field separator", NULL, 0, 0, 0},
    {"partition_by", SLUICE_OPT_LIST, NULL,
     "columns, comma-separated: `path` becomes a directory of Hive-style partitions `col=value/` (see "
     "\"Partitioned output\"); at least one column must stay out; unpartitioned by default", NULL, 0, 0, 0},
    {"rollover_rows", SLUICE_OPT_INT, NULL,
     "with `partition_by`: a new part file once one holds this many rows; default: one file per partition and "
     "epoch", NULL, 1, 0, 0},
    {"rollover_bytes", SLUICE_OPT_INT, NULL,
     "with `partition_by`: a new part file once one holds this many bytes; default: one file per partition and "
     "epoch", NULL, 1, 0, 0},
    {NULL, 0, NULL, NULL, NULL, 0, 0, 0},
};

/* Rendered rows are written once the buffer holds this many bytes (and at
 * each commit): large enough that a write(2) costs little per row. */
#define FILE_SINK_BUFFER (1u << 20)

typedef struct file_sink {
    sluice_sink base;
    const char *instance;
    const char *path;
    const sluice_schema *schema;
    FILE *f;                     /* unbuffered: out is the buffer */
    sluice_outbuf out;           /* rows rendered, not yet written */
    sluice_json_keys *keys;      /* JSON: the row keys, escaped once */
    int fd;                      /* the locked output until fs->f takes it; -1: none */
    int created;                 /* this open created the output file */
    int csv;
    char delim;
    sluice_column *op_columns;   /* `op` + the schema's columns, or NULL: no op column */
    sluice_value *op_row;        /* scratch: one row with its op value first */
    int checkpointing;
    int64_t committed;           /* epoch in the sidecar, or -1 */
    char *sidecar;               /* PATH.epoch */
    sluice_file_epoch_key key;   /* what the sidecar is keyed by */
} file_sink;

/* An instance opened with partition_by has the partitioned writer's ops
 * (file_sink_partitioned.c); a caller holding this table's entries is
 * passed on to them. */
#define DISPATCH(sink) ((sink)->ops != &sluice_file_sink_ops)

static void file_sink_close(sluice_sink *sink) {
    if (!sink) return;
    if (DISPATCH(sink)) {
        sink->ops->close(sink);
        return;
    }
    file_sink *fs = (file_sink *)sink;
    /* rows not committed are written as a buffered stream's fclose would
     * write them (a run without checkpointing ends so) */
    if (fs->f && fs->out.len) (void)sluice_outbuf_flush(&fs->out, fs->f);
    sluice_outbuf_free(&fs->out);
    sluice_json_keys_free(fs->keys);
    if (fs->f) fclose(fs->f); /* closes fs->fd too: the lock goes */
    else if (fs->fd >= 0) close(fs->fd);
    free(fs->op_columns);
    free(fs->op_row);
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

/* The table at the top of this file.  Sets *resumed when the existing
 * output is kept (fs->f opened for appending); otherwise the caller creates
 * the file, after the record of epoch -1 is written here. */
static sluice_err_t checkpointed_open(file_sink *fs, const sluice_module_config *cfg, int *resumed, char *errstr,
                                      size_t errstr_size) {
    const char *inst = fs->instance, *path = fs->path;
    if (strchr(path, '\n'))
        return sluice_seterr(errstr, errstr_size, SLUICE_ERR_CONFIG,
                             "sink %s (file): with checkpointing, 'path' must not contain a line break", inst);
    size_t n = strlen(path) + 8;
    if (!(fs->sidecar = malloc(n))) return SLUICE_ERR_NOMEM;
    snprintf(fs->sidecar, n, "%s.epoch", path);
    static const char *const formats[2][2] = {{"json", "json+op"}, {"csv", "csv+op"}};
    fs->key = (sluice_file_epoch_key){cfg->pipeline, inst, path, formats[fs->csv][fs->op_columns != NULL]};
    struct stat st;
    if (fstat(fs->fd, &st) != 0)
        return sluice_seterr(errstr, errstr_size, SLUICE_ERR_IO, "sink %s (file): cannot stat '%s': %s", inst, path,
                             strerror(errno));
    int exists = !fs->created; /* created empty by lock_output(): it was missing */
    int found = 0;
    int64_t epoch = -1, length = -1;
    char sub[1024];
    sluice_err_t err = sluice_file_epoch_read(fs->sidecar, &fs->key, &found, &epoch, &length, sub, sizeof sub);
    if (err) return sluice_seterr(errstr, errstr_size, err, "sink %s (file): %s", inst, sub);
    if (!found && exists && st.st_size > 0)
        return sluice_seterr(errstr, errstr_size, SLUICE_ERR_CONFIG,
                             "sink %s (file): '%s' exists (%lld bytes) but has no epoch record '%s', so what it "
                             "holds cannot be matched to the checkpoint; move it away (or delete it) to start a new "
                             "output",
                             inst, path, (long long)st.st_size, fs->sidecar);
    if (found && epoch >= 0) {
        if (!exists)
            return sluice_seterr(errstr, errstr_size, SLUICE_ERR_CONFIG,
                                 "sink %s (file): '%s' is missing, but '%s' records that epochs up to %lld "
                                 "(%lld bytes) were committed to it; restore the file, or delete '%s' and reset "
                                 "the checkpoint (sluice checkpoint reset DIR) to write it anew",
                                 inst, path, fs->sidecar, (long long)epoch, (long long)length, fs->sidecar);
        if (st.st_size < length)
            return sluice_seterr(errstr, errstr_size, SLUICE_ERR_CONFIG,
                                 "sink %s (file): '%s' is %lld bytes, shorter than the %lld bytes committed up to "
                                 "epoch %lld ('%s'): it was truncated or replaced (log rotation with copytruncate?) "
                                 "and committed rows are gone; restore it, or move it away, delete '%s' and reset "
                                 "the checkpoint (sluice checkpoint reset DIR) to write it anew",
                                 inst, path, (long long)st.st_size, (long long)length, (long long)epoch,
                                 fs->sidecar, fs->sidecar);
        if (st.st_size > length) {
            if (truncate(path, (off_t)length) != 0)
                return sluice_seterr(errstr, errstr_size, SLUICE_ERR_IO,
                                     "sink %s (file): cannot cut '%s' back to its committed length %lld: %s", inst,
                                     path, (long long)length, strerror(errno));
            sluice_log(SLUICE_LOG_INFO, cfg->pipeline, "file", inst,
                       "cut '%s' back from %lld to %lld bytes: the rows after epoch %lld were never committed and "
                       "are written again",
                       path, (long long)st.st_size, (long long)length, (long long)epoch);
        }
        fs->committed = epoch;
        /* commit() takes the length from ftell(): the stream starts at the end */
        if (lseek(fs->fd, 0, SEEK_END) < 0 || !(fs->f = fdopen(fs->fd, "a")))
            return sluice_seterr(errstr, errstr_size, SLUICE_ERR_CONFIG, "sink %s (file): cannot open '%s': %s",
                                 inst, path, strerror(errno));
        setvbuf(fs->f, NULL, _IONBF, 0);
        *resumed = 1;
        return SLUICE_OK;
    }
    /* nothing committed: a new file, recorded before it is created */
    if (found && exists && st.st_size > 0)
        sluice_log(SLUICE_LOG_INFO, cfg->pipeline, "file", inst,
                   "'%s' holds %lld bytes but no committed epoch ('%s' says none): writing it anew", path,
                   (long long)st.st_size, fs->sidecar);
    if ((err = sluice_file_epoch_write(fs->sidecar, &fs->key, -1, 0, sub, sizeof sub)))
        return sluice_seterr(errstr, errstr_size, err, "sink %s (file): %s", inst, sub);
    return SLUICE_OK;
}

/* Open (or create, without truncating) fs->path and flock() it when it is
 * a regular file; a second writer is refused.  Special files (/dev/stdout,
 * a FIFO) are not locked: several sinks may share them on purpose. */
static sluice_err_t lock_output(file_sink *fs, char *errstr, size_t errstr_size) {
    fs->fd = open(fs->path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
    fs->created = fs->fd >= 0;
    if (fs->fd < 0 && errno == EEXIST) fs->fd = open(fs->path, O_WRONLY | O_CLOEXEC);
    if (fs->fd < 0)
        return sluice_seterr(errstr, errstr_size, SLUICE_ERR_CONFIG, "sink %s (file): cannot create '%s': %s",
                             fs->instance, fs->path, strerror(errno));
    struct stat st;
    if (fstat(fs->fd, &st) == 0 && S_ISREG(st.st_mode) && flock(fs->fd, LOCK_EX | LOCK_NB) != 0) {
        fs->created = 0; /* the other writer has it now: never unlinked here */
        return sluice_seterr(errstr, errstr_size, SLUICE_ERR_CONFIG,
                             "sink %s (file): '%s' is being written by another process or sink (%s); two writers "
                             "of one file would truncate or interleave each other's rows: give each its own path",
                             fs->instance, fs->path, strerror(errno));
    }
    return SLUICE_OK;
}

/* Check the options (no file is opened): path, format, delimiter. */
static sluice_err_t file_sink_check(const sluice_module_config *cfg, const char **path_out, int *csv_out,
                                    char *delim_out, char *errstr, size_t errstr_size) {
    const char *inst = cfg->instance ? cfg->instance : "?";
    sluice_err_t err = sluice_conn_check_specs(cfg, file_sink_specs, "sink", "file", errstr, errstr_size);
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
    if ((err = sluice_file_partitioned_check(cfg, errstr, errstr_size))) return err;
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
    if (sluice_module_config_get(cfg, "partition_by"))
        return sluice_file_partitioned_open(cfg, path, csv, delim, out, errstr, errstr_size);

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
    fs->fd = -1;
    if (sluice_op_column_wanted(cfg) &&
        (!(fs->op_columns = sluice_op_columns(cfg->schema)) ||
         !(fs->op_row = malloc((cfg->schema->ncolumns + 1) * sizeof *fs->op_row)))) {
        err = SLUICE_ERR_NOMEM;
        goto fail;
    }
    /* missing parent directories are created, as the dead-letter file's */
    char why[512];
    if ((err = sluice_mkdir_parents(path, 0777, why, sizeof why))) {
        if (err == SLUICE_ERR_IO) err = SLUICE_ERR_CONFIG;
        sluice_seterr(errstr, errstr_size, err, "sink %s (file): %s", inst, why);
        goto fail;
    }
    if (!csv && sluice_json_keys_new(fs->op_columns ? fs->op_columns : cfg->schema->columns,
                                     cfg->schema->ncolumns + (fs->op_columns != NULL), &fs->keys)) {
        err = SLUICE_ERR_NOMEM;
        goto fail;
    }
    if ((err = lock_output(fs, errstr, errstr_size))) goto fail;
    if (cfg->checkpointing) {
        int resumed = 0;
        if ((err = checkpointed_open(fs, cfg, &resumed, errstr, errstr_size))) goto fail;
        if (resumed) {
            *out = &fs->base;
            return SLUICE_OK;
        }
    }
    struct stat st;
    if (fstat(fs->fd, &st) == 0 && S_ISREG(st.st_mode) && ftruncate(fs->fd, 0) != 0) {
        err = io_error(fs, "cannot truncate", errno, errstr, errstr_size);
        goto fail;
    }
    fs->f = fdopen(fs->fd, "w");
    if (!fs->f) {
        err = sluice_seterr(errstr, errstr_size, SLUICE_ERR_CONFIG,
                            "sink %s (file): cannot create '%s': %s", inst, path,
                            strerror(errno));
        goto fail;
    }
    setvbuf(fs->f, NULL, _IONBF, 0);
    if (csv &&
        sluice_csv_write_header(fs->f, fs->op_columns ? fs->op_columns : cfg->schema->columns,
                                cfg->schema->ncolumns + (fs->op_columns != NULL), delim) != SLUICE_OK) {
        err = io_error(fs, "cannot write the header to", errno, errstr, errstr_size);
        goto fail;
    }
    *out = &fs->base;
    return SLUICE_OK;
fail:
    if (fs->created) unlink(path); /* a refusal leaves no output it did not find */
    file_sink_close(&fs->base);
    return err;
}

/* A rendering or write error of the buffered rows: they are dropped (the
 * run fails, and a checkpointed run replays them from the last commit). */
static sluice_err_t flush_error(file_sink *fs, sluice_err_t err, char *errstr, size_t errstr_size) {
    int e = errno;
    fs->out.len = 0;
    fs->out.failed = 0;
    if (err == SLUICE_ERR_NOMEM)
        return sluice_seterr(errstr, errstr_size, err, "sink %s (file): out of memory rendering rows for '%s'",
                             fs->instance, fs->path);
    return io_error(fs, "cannot write to", e, errstr, errstr_size);
}

/* Write the rendered rows with one write(2). */
static sluice_err_t flush_out(file_sink *fs, char *errstr, size_t errstr_size) {
    sluice_err_t err = sluice_outbuf_flush(&fs->out, fs->f);
    return err ? flush_error(fs, err, errstr, errstr_size) : SLUICE_OK;
}

static sluice_err_t file_sink_write(sluice_sink *sink, int64_t epoch,
                                    const sluice_row_batch *batch,
                                    char *errstr, size_t errstr_size) {
    (void)epoch;
    if (DISPATCH(sink)) return sink->ops->write(sink, epoch, batch, errstr, errstr_size);
    file_sink *fs = (file_sink *)sink;
    size_t nc = fs->schema->ncolumns;
    for (size_t i = 0; i < batch->nrows; i++) {
        const sluice_value *row = sluice_row_batch_row(batch, i);
        if (fs->op_columns) {
            fs->op_row[0] = sluice_op_value(batch, i);
            if (nc) memcpy(fs->op_row + 1, row, nc * sizeof *row);
            row = fs->op_row;
        }
        size_t n = nc + (fs->op_columns != NULL);
        sluice_err_t err = fs->csv ? sluice_csv_render_row(&fs->out, row, n, fs->delim)
                                   : sluice_json_render_row_keys(&fs->out, fs->keys, row);
        if (err) return flush_error(fs, err, errstr, errstr_size);
    }
    if (fs->out.len >= FILE_SINK_BUFFER) return flush_out(fs, errstr, errstr_size);
    return SLUICE_OK;
}

static sluice_err_t file_sink_commit(sluice_sink *sink, int64_t epoch,
                                     char *errstr, size_t errstr_size) {
    if (DISPATCH(sink)) return sink->ops->commit(sink, epoch, errstr, errstr_size);
    file_sink *fs = (file_sink *)sink;
    sluice_err_t ferr = flush_out(fs, errstr, errstr_size);
    if (ferr) return ferr;
    if (fflush(fs->f) != 0) return io_error(fs, "cannot write to", errno, errstr, errstr_size);
    if (fsync(fileno(fs->f)) != 0 && errno != EINVAL && errno != EROFS)
        return io_error(fs, "cannot fsync", errno, errstr, errstr_size);
    if (!fs->checkpointing) return SLUICE_OK;
    long length = ftell(fs->f);
    char sub[512];
    sluice_err_t err = sluice_file_epoch_write(fs->sidecar, &fs->key, epoch, length, sub, sizeof sub);
    if (err) return sluice_seterr(errstr, errstr_size, err, "sink %s (file): %s", fs->instance, sub);
    fs->committed = epoch;
    return SLUICE_OK;
}

static int64_t file_sink_committed_epoch(sluice_sink *sink) {
    if (DISPATCH(sink)) return sink->ops->committed_epoch(sink);
    return ((file_sink *)sink)->committed;
}

/** The "file" sink connector (see the top of this file). */
const sluice_sink_ops sluice_file_sink_ops = {
    .version = SLUICE_MODULE_VERSION,
    .name = "file",
    .option_specs = file_sink_specs,
    .open = file_sink_open,
    .write = file_sink_write,
    .commit = file_sink_commit,
    .report = NULL,
    .close = file_sink_close,
    .committed_epoch = file_sink_committed_epoch,
    .validate = file_sink_validate,
};
