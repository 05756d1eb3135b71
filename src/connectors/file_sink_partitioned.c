/*
 * The file sink with `partition_by` (docs/connectors.md, "The file sink"):
 * rows go to Hive-style directories PATH/c1=v1/c2=v2/ (hive_path.c) as
 * part-<epoch>-<n>.<csv|json> files, the partition columns dropped from the
 * rows as Hive and Spark drop them (they are in the path).  A file is cut
 * (n+1) once it reaches `rollover_rows` rows or `rollover_bytes` bytes.
 *
 * Exactly once, as Spark's file sink does with _spark_metadata: an epoch's
 * files are written as hidden temporary files (.part-<epoch>-<n>.<ext>.tmp)
 * and fsynced; the epoch is then published by its manifest record
 * (file_manifest.c: PATH/_sluice_manifest/<epoch>, temp + fsync + rename);
 * only then are the files renamed into place.  At open with checkpointing:
 *
 *   found                                    what happens
 *   a manifest whose files are still .tmp    they are renamed (the commit
 *                                            was interrupted after its record)
 *   a manifest whose file is gone            refused: committed rows are gone
 *   .tmp files of no manifest                deleted (an epoch never
 *                                            published: the replay writes it)
 *   files but no manifest at all             refused: output of unknown origin
 *   a torn or another output's manifest      refused (file_manifest.c)
 *
 * When the query's output is not append-only, each file's first column is
 * `op`, the row's change kind (op_column.h), as in the single-file sink.
 *
 * committed_epoch() is the newest manifest's epoch.  Without checkpointing
 * a run writes a new output: PATH must be missing or an empty directory
 * (refused otherwise, rather than deleting files).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "connectors/connectors.h"
#include "connectors/connectors_int.h"
#include "connectors/file_partitioned.h"
#include "base/fsutil.h"
#include "base/log.h"
#include "connectors/op_column.h"
#include "format/format.h"

/* A partition's rows are buffered and appended to its temporary file in
 * pieces of about this size, so one open descriptor suffices however many
 * partitions an epoch touches. */
#define SPILL_BYTES (1u << 20)

/* dcols entry of the `op` column: not a column of the row */
#define OP_COLUMN SIZE_MAX

typedef struct part {
    char *dir;        /* "c1=v1/c2=v2", relative to PATH */
    int64_t n;        /* the part file being written: part-<epoch>-<n> */
    int64_t rows;     /* rows in it */
    int64_t spilled;  /* bytes of it already in its temporary file */
    FILE *mem;        /* its buffered bytes, or NULL: no file started */
    char *buf;
    size_t blen;
} part;

typedef struct psink {
    sluice_sink base;
    const char *instance;
    const char *pipeline;
    const char *path;
    const sluice_schema *schema;
    int csv;
    char delim;
    int checkpointing;
    char *partition_by;          /* normalised "c1,c2" (the manifest key) */
    size_t *pcols, npcols;       /* partition columns */
    size_t *dcols, ndcols;       /* the others: the file's columns (OP_COLUMN: the
                                    row's change kind, op_column.h) */
    sluice_column *dcolumns;     /* their names and types */
    sluice_value *scratch_row;   /* a row projected onto dcols */
    int64_t rollover_rows, rollover_bytes; /* 0: none */
    int64_t committed;
    int64_t epoch;               /* the epoch being written */
    part **parts;                /* this epoch's partitions (each allocated on its
                                    own: a memstream holds &buf and &blen) */
    size_t nparts, capparts;
    size_t *slots;               /* open addressing: index+1 into parts */
    size_t nslots;
    char **files;                /* this epoch's finished files (relative) */
    size_t nfiles, capfiles;
    FILE *key;                   /* scratch for a row's directory */
    char *keybuf;
    size_t keylen;
    int lock_fd;                 /* the output directory, flock()ed; -1: none */
} psink;

static const char *ext(const psink *ps) { return ps->csv ? "csv" : "json"; }

static sluice_manifest_key manifest_key(const psink *ps) {
    return (sluice_manifest_key){ps->pipeline, ps->instance, ps->path, ext(ps), ps->partition_by};
}

static char *fmt(const char *f, ...) __attribute__((format(printf, 1, 2)));
static char *fmt(const char *f, ...) {
    va_list ap;
    va_start(ap, f);
    char *s = NULL;
    if (vasprintf(&s, f, ap) < 0) s = NULL;
    va_end(ap);
    return s;
}

static void drop_parts(psink *ps) {
    for (size_t i = 0; i < ps->nparts; i++) {
        if (ps->parts[i]->mem) fclose(ps->parts[i]->mem);
        free(ps->parts[i]->buf);
        free(ps->parts[i]->dir);
        free(ps->parts[i]);
    }
    ps->nparts = 0;
    if (ps->slots) memset(ps->slots, 0, ps->nslots * sizeof *ps->slots);
    for (size_t i = 0; i < ps->nfiles; i++) free(ps->files[i]);
    ps->nfiles = 0;
}

static void psink_close(sluice_sink *sink) {
    if (!sink) return;
    psink *ps = (psink *)sink;
    drop_parts(ps);
    free(ps->parts);
    free(ps->slots);
    free(ps->files);
    if (ps->key) fclose(ps->key);
    free(ps->keybuf);
    free(ps->partition_by);
    free(ps->pcols);
    free(ps->dcols);
    free(ps->dcolumns);
    free(ps->scratch_row);
    if (ps->lock_fd >= 0) close(ps->lock_fd); /* the lock goes with it */
    free(ps);
}

static sluice_err_t io_err(const psink *ps, const char *what, const char *file, int e, char *errstr,
                           size_t errstr_size) {
    return sluice_seterr(errstr, errstr_size, SLUICE_ERR_IO, "sink %s (file): %s '%s': %s", ps->instance, what,
                         file, strerror(e));
}

/* ---------------- options ---------------- */

/* Parse `partition_by` against schema (NULL: names only).  Fills the
 * normalised list and, with a schema, the column indexes. */
static sluice_err_t parse_partition_by(const sluice_module_config *cfg, const sluice_schema *schema, char **norm,
                                       size_t **idx, size_t *n, char *errstr, size_t errstr_size) {
    const char *v = sluice_module_config_get(cfg, "partition_by");
    char *copy = strdup(v ? v : "");
    size_t cap = strlen(copy) + 1;
    char *out = calloc(1, cap);
    size_t *ix = calloc(cap, sizeof *ix);
    sluice_err_t err = SLUICE_OK;
    char why[512];
    *n = 0;
    if (!copy || !out || !ix) {
        err = SLUICE_ERR_NOMEM;
        goto done;
    }
    char *save = NULL;
    for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        while (*tok == ' ' || *tok == '\t') tok++;
        size_t tl = strlen(tok);
        while (tl && (tok[tl - 1] == ' ' || tok[tl - 1] == '\t')) tok[--tl] = '\0';
        if (!tl) continue;
        size_t at = SIZE_MAX;
        if (schema) {
            for (size_t c = 0; c < schema->ncolumns; c++)
                if (strcmp(schema->columns[c].name, tok) == 0) at = c;
            if (at == SIZE_MAX) {
                snprintf(why, sizeof why, "the rows have no column '%s'", tok);
                err = sluice_conn_bad_option(cfg, "partition_by", "sink", "file", why, errstr, errstr_size);
                goto done;
            }
            for (size_t k = 0; k < *n; k++)
                if (ix[k] == at) {
                    snprintf(why, sizeof why, "column '%s' is named twice", tok);
                    err = sluice_conn_bad_option(cfg, "partition_by", "sink", "file", why, errstr, errstr_size);
                    goto done;
                }
        }
        ix[(*n)++] = at;
        if (out[0]) strcat(out, ",");
        strcat(out, tok);
    }
    if (*n == 0)
        err = sluice_conn_bad_option(cfg, "partition_by", "sink", "file", "expected one or more column names",
                                     errstr, errstr_size);
    else if (schema && *n >= schema->ncolumns)
        /* Spark refuses this too: a data file would have no columns */
        err = sluice_conn_bad_option(cfg, "partition_by", "sink", "file",
                                     "every column is a partition column; at least one must stay in the files",
                                     errstr, errstr_size);
done:
    free(copy);
    if (err) {
        free(out);
        free(ix);
        return err;
    }
    *norm = out;
    *idx = ix;
    return SLUICE_OK;
}

sluice_err_t sluice_file_partitioned_check(const sluice_module_config *cfg, char *errstr, size_t errstr_size) {
    int64_t r = 0;
    sluice_err_t err;
    const char *limits[2] = {"rollover_rows", "rollover_bytes"};
    for (int i = 0; i < 2; i++) {
        if ((err = sluice_conn_opt_posint(cfg, limits[i], "sink", "file", &r, errstr, errstr_size))) return err;
        if (sluice_module_config_get(cfg, limits[i]) && !sluice_module_config_get(cfg, "partition_by"))
            return sluice_conn_bad_option(cfg, limits[i], "sink", "file", "only with partition_by", errstr,
                                          errstr_size);
    }
    if (!sluice_module_config_get(cfg, "partition_by")) return SLUICE_OK;
    char *norm = NULL;
    size_t *idx = NULL, n = 0;
    if ((err = parse_partition_by(cfg, cfg->schema, &norm, &idx, &n, errstr, errstr_size))) return err;
    free(norm);
    free(idx);
    return SLUICE_OK;
}

/* ---------------- recovery at open ---------------- */

static int is_temp_part(const char *name) {
    size_t n = strlen(name);
    return strncmp(name, ".part-", 6) == 0 && n > 10 && strcmp(name + n - 4, ".tmp") == 0;
}

/* Walk dir: delete temporary part files (of epochs never published) and
 * directories left empty by them; count every other file in *others. */
static sluice_err_t sweep(const char *dir, int top, int64_t *others, int64_t *deleted, char *errstr,
                          size_t errstr_size) {
    DIR *d = opendir(dir);
    if (!d)
        return sluice_seterr(errstr, errstr_size, SLUICE_ERR_IO, "cannot read '%s': %s", dir, strerror(errno));
    sluice_err_t err = SLUICE_OK;
    struct dirent *de;
    while (!err && (de = readdir(d))) {
        const char *nm = de->d_name;
        if (strcmp(nm, ".") == 0 || strcmp(nm, "..") == 0) continue;
        if (top && strcmp(nm, SLUICE_MANIFEST_DIR) == 0) continue;
        char *sub = fmt("%s/%s", dir, nm);
        if (!sub) {
            err = SLUICE_ERR_NOMEM;
            break;
        }
        struct stat st;
        if (lstat(sub, &st) != 0) {
            err = sluice_seterr(errstr, errstr_size, SLUICE_ERR_IO, "cannot stat '%s': %s", sub, strerror(errno));
        } else if (S_ISDIR(st.st_mode)) {
            if (!(err = sweep(sub, 0, others, deleted, errstr, errstr_size))) (void)rmdir(sub); /* if empty */
        } else if (is_temp_part(nm)) {
            if (unlink(sub) != 0)
                err = sluice_seterr(errstr, errstr_size, SLUICE_ERR_IO, "cannot delete '%s': %s", sub,
                                    strerror(errno));
            else
                (*deleted)++;
        } else {
            (*others)++;
        }
        free(sub);
    }
    closedir(d);
    return err;
}

/* The temporary name of relative file rel ("d/part-E-n.ext"): "d/.part-E-n.ext.tmp". */
static char *temp_of(const char *root, const char *rel) {
    const char *slash = strrchr(rel, '/');
    int dl = slash ? (int)(slash - rel) + 1 : 0;
    return fmt("%s/%.*s.%s.tmp", root, dl, rel, rel + dl);
}

/* Finish what the manifests say was committed; clear what they do not. */
static sluice_err_t recover(psink *ps, char *errstr, size_t errstr_size) {
    int64_t *epochs = NULL;
    size_t ne = 0;
    char sub[1024];
    sluice_err_t err = sluice_manifest_epochs(ps->path, &epochs, &ne, sub, sizeof sub);
    if (err) return sluice_seterr(errstr, errstr_size, err, "sink %s (file): %s", ps->instance, sub);
    sluice_manifest_key key = manifest_key(ps);
    for (size_t i = 0; i < ne && !err; i++) {
        char **files = NULL;
        size_t nf = 0;
        if ((err = sluice_manifest_read(ps->path, &key, epochs[i], &files, &nf, sub, sizeof sub))) {
            err = sluice_seterr(errstr, errstr_size, err, "sink %s (file): %s", ps->instance, sub);
            break;
        }
        int64_t completed = 0;
        for (size_t k = 0; k < nf && !err; k++) {
            char *final = fmt("%s/%s", ps->path, files[k]), *tmp = temp_of(ps->path, files[k]);
            struct stat st;
            if (!final || !tmp) err = SLUICE_ERR_NOMEM;
            else if (stat(final, &st) == 0) {
                /* published */
            } else if (stat(tmp, &st) == 0) {
                if (rename(tmp, final) != 0) err = io_err(ps, "cannot rename", tmp, errno, errstr, errstr_size);
                completed++;
            } else {
                err = sluice_seterr(errstr, errstr_size, SLUICE_ERR_CONFIG,
                                    "sink %s (file): '%s' is missing, but the manifest '%s/%s/%" PRId64
                                    "' records it as committed; restore it, or move '%s' away and reset the "
                                    "checkpoint (sluice checkpoint reset DIR) to write the output anew",
                                    ps->instance, final, ps->path, SLUICE_MANIFEST_DIR, epochs[i], ps->path);
            }
            free(final);
            free(tmp);
        }
        if (completed)
            sluice_log(SLUICE_LOG_INFO, ps->pipeline, "file", ps->instance,
                       "epoch %" PRId64 " was committed but %lld of its files were not yet in place: renamed",
                       epochs[i], (long long)completed);
        sluice_manifest_free(files, nf);
    }
    if (!err && ne) ps->committed = epochs[ne - 1];
    free(epochs);
    if (err) return err;
    int64_t others = 0, deleted = 0;
    if ((err = sweep(ps->path, 1, &others, &deleted, sub, sizeof sub)))
        return sluice_seterr(errstr, errstr_size, err, "sink %s (file): %s", ps->instance, sub);
    if (deleted)
        sluice_log(SLUICE_LOG_INFO, ps->pipeline, "file", ps->instance,
                   "deleted %lld temporary files of an epoch that was never committed; it is written again",
                   (long long)deleted);
    if (ne == 0 && others > 0)
        return sluice_seterr(errstr, errstr_size, SLUICE_ERR_CONFIG,
                             "sink %s (file): '%s' holds %lld files but no manifest ('%s/%s'), so what it holds "
                             "cannot be matched to the checkpoint; move it away (or delete it) to start a new "
                             "output",
                             ps->instance, ps->path, (long long)others, ps->path, SLUICE_MANIFEST_DIR);
    return SLUICE_OK;
}

/* ---------------- open ---------------- */

static const sluice_sink_ops psink_ops;

sluice_err_t sluice_file_partitioned_open(const sluice_module_config *cfg, const char *path, int csv, char delim,
                                          sluice_sink **out, char *errstr, size_t errstr_size) {
    const char *inst = cfg->instance ? cfg->instance : "?";
    if (strchr(path, '\n'))
        return sluice_seterr(errstr, errstr_size, SLUICE_ERR_CONFIG,
                             "sink %s (file): with partition_by, 'path' must not contain a line break", inst);
    psink *ps = calloc(1, sizeof *ps);
    if (!ps) return SLUICE_ERR_NOMEM;
    ps->base.ops = &psink_ops;
    ps->instance = inst;
    ps->pipeline = cfg->pipeline;
    ps->path = path;
    ps->schema = cfg->schema;
    ps->csv = csv;
    ps->delim = delim;
    ps->checkpointing = cfg->checkpointing;
    ps->committed = -1;
    ps->epoch = -1;
    ps->lock_fd = -1;
    sluice_err_t err;
    if ((err = sluice_file_partitioned_check(cfg, errstr, errstr_size))) goto fail;
    (void)sluice_conn_opt_posint(cfg, "rollover_rows", "sink", "file", &ps->rollover_rows, NULL, 0);
    (void)sluice_conn_opt_posint(cfg, "rollover_bytes", "sink", "file", &ps->rollover_bytes, NULL, 0);
    if ((err = parse_partition_by(cfg, cfg->schema, &ps->partition_by, &ps->pcols, &ps->npcols, errstr,
                                  errstr_size)))
        goto fail;
    size_t nc = cfg->schema->ncolumns;
    ps->dcols = calloc(nc + 1, sizeof *ps->dcols);
    ps->dcolumns = calloc(nc + 1, sizeof *ps->dcolumns);
    ps->scratch_row = calloc(nc + 1, sizeof *ps->scratch_row);
    ps->key = open_memstream(&ps->keybuf, &ps->keylen);
    if (!ps->dcols || !ps->dcolumns || !ps->scratch_row || !ps->key) {
        err = SLUICE_ERR_NOMEM;
        goto fail;
    }
    if (sluice_op_column_wanted(cfg)) {
        ps->dcolumns[ps->ndcols] = (sluice_column){.name = "op", .type = SLUICE_TYPE_VARCHAR};
        ps->dcols[ps->ndcols++] = OP_COLUMN;
    }
    for (size_t c = 0; c < nc; c++) {
        int is_part = 0;
        for (size_t k = 0; k < ps->npcols; k++) is_part |= ps->pcols[k] == c;
        if (is_part) continue;
        ps->dcolumns[ps->ndcols] = cfg->schema->columns[c];
        ps->dcols[ps->ndcols++] = c;
    }
    struct stat st;
    int exists = stat(path, &st) == 0, stat_errno = errno;
    if (!exists && stat_errno != ENOENT) {
        err = sluice_seterr(errstr, errstr_size, SLUICE_ERR_CONFIG, "sink %s (file): cannot stat '%s': %s", inst,
                            path, strerror(stat_errno));
        goto fail;
    } else if (!exists) {
        /* a missing directory and its missing parents are created, as the
         * dead-letter file's are: the output is a directory tree anyway */
        char why[512];
        if ((err = sluice_mkdir_all(path, 0777, why, sizeof why))) {
            if (err == SLUICE_ERR_IO) err = SLUICE_ERR_CONFIG;
            sluice_seterr(errstr, errstr_size, err, "sink %s (file): %s", inst, why);
            goto fail;
        }
    } else if (!S_ISDIR(st.st_mode)) {
        err = sluice_seterr(errstr, errstr_size, SLUICE_ERR_CONFIG,
                            "sink %s (file): with partition_by, 'path' is a directory, but '%s' is a file", inst,
                            path);
        goto fail;
    }
    /* Locked before anything in it is looked at: a second writer of the
     * directory (another run with its own checkpoint_dir, or none) would
     * delete this one's temporary files as an unpublished epoch's. */
    if ((ps->lock_fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) >= 0 &&
        flock(ps->lock_fd, LOCK_EX | LOCK_NB) != 0) {
        err = sluice_seterr(errstr, errstr_size, SLUICE_ERR_CONFIG,
                            "sink %s (file): '%s' is being written by another process or sink (%s); two writers "
                            "of one output would delete or overwrite each other's files: give each its own path",
                            inst, path, strerror(errno));
        goto fail;
    }
    if (exists && ps->checkpointing) {
        if ((err = recover(ps, errstr, errstr_size))) goto fail;
    } else if (exists) {
        DIR *d = opendir(path);
        struct dirent *de;
        int empty = 1;
        while (d && (de = readdir(d)))
            if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0) empty = 0;
        if (d) closedir(d);
        if (!d || !empty) {
            err = sluice_seterr(errstr, errstr_size, SLUICE_ERR_CONFIG,
                                "sink %s (file): '%s' is not empty; without checkpoint_dir each run writes a new "
                                "output and files of an earlier run are not deleted: move it away (or delete it)",
                                inst, path);
            goto fail;
        }
    }
    *out = &ps->base;
    return SLUICE_OK;
fail:
    psink_close(&ps->base);
    return err;
}

/* ---------------- writing ---------------- */

static part *find_part(psink *ps, const char *dir, int *fresh) {
    uint64_t h = 1469598103934665603ull; /* FNV-1a */
    for (const char *c = dir; *c; c++) h = (h ^ (unsigned char)*c) * 1099511628211ull;
    if (ps->nslots == 0 || 2 * (ps->nparts + 1) > ps->nslots) {
        size_t nn = ps->nslots ? 2 * ps->nslots : 64;
        size_t *ns = calloc(nn, sizeof *ns);
        if (!ns) return NULL;
        for (size_t i = 0; i < ps->nparts; i++) {
            uint64_t g = 1469598103934665603ull;
            for (const char *c = ps->parts[i]->dir; *c; c++) g = (g ^ (unsigned char)*c) * 1099511628211ull;
            size_t s = g & (nn - 1);
            while (ns[s]) s = (s + 1) & (nn - 1);
            ns[s] = i + 1;
        }
        free(ps->slots);
        ps->slots = ns;
        ps->nslots = nn;
    }
    size_t s = h & (ps->nslots - 1);
    for (; ps->slots[s]; s = (s + 1) & (ps->nslots - 1))
        if (strcmp(ps->parts[ps->slots[s] - 1]->dir, dir) == 0) {
            *fresh = 0;
            return ps->parts[ps->slots[s] - 1];
        }
    if (ps->nparts == ps->capparts) {
        size_t nc = ps->capparts ? 2 * ps->capparts : 16;
        part **np = realloc(ps->parts, nc * sizeof *np);
        if (!np) return NULL;
        ps->parts = np;
        ps->capparts = nc;
    }
    part *p = calloc(1, sizeof *p);
    if (!p) return NULL;
    if (!(p->dir = strdup(dir))) {
        free(p);
        return NULL;
    }
    ps->parts[ps->nparts] = p;
    ps->slots[s] = ++ps->nparts;
    *fresh = 1;
    return p;
}

/* mkdir -p PATH/dir (PATH exists: made at open). */
static sluice_err_t make_dirs(psink *ps, const char *dir, char *errstr, size_t errstr_size) {
    char *full = fmt("%s/%s", ps->path, dir);
    if (!full) return SLUICE_ERR_NOMEM;
    char why[512];
    sluice_err_t err = sluice_mkdir_all(full, 0777, why, sizeof why);
    if (err) sluice_seterr(errstr, errstr_size, err, "sink %s (file): %s", ps->instance, why);
    free(full);
    return err;
}

static sluice_err_t part_start(psink *ps, part *p, char *errstr, size_t errstr_size) {
    p->rows = 0;
    p->spilled = 0;
    if (!(p->mem = open_memstream(&p->buf, &p->blen))) return SLUICE_ERR_NOMEM;
    if (ps->csv && sluice_csv_write_header(p->mem, ps->dcolumns, ps->ndcols, ps->delim) != SLUICE_OK)
        return sluice_seterr(errstr, errstr_size, SLUICE_ERR_NOMEM, "sink %s (file): out of memory", ps->instance);
    return SLUICE_OK;
}

/* Append p's buffered bytes to its temporary file and empty the buffer. */
static sluice_err_t part_spill(psink *ps, part *p, char *errstr, size_t errstr_size) {
    if (fclose(p->mem) != 0) {
        p->mem = NULL;
        return SLUICE_ERR_NOMEM;
    }
    p->mem = NULL;
    char *tmp = fmt("%s/%s/.part-%" PRId64 "-%" PRId64 ".%s.tmp", ps->path, p->dir, ps->epoch, p->n, ext(ps));
    if (!tmp) return SLUICE_ERR_NOMEM;
    sluice_err_t err = SLUICE_OK;
    int fd = open(tmp, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0666);
    size_t done = 0;
    while (fd >= 0 && done < p->blen) {
        ssize_t w = write(fd, p->buf + done, p->blen - done);
        if (w < 0 && errno == EINTR) continue;
        if (w < 0) break;
        done += (size_t)w;
    }
    if (fd < 0 || done < p->blen) err = io_err(ps, "cannot write to", tmp, errno, errstr, errstr_size);
    if (fd >= 0 && close(fd) != 0 && !err) err = io_err(ps, "cannot write to", tmp, errno, errstr, errstr_size);
    p->spilled += (int64_t)p->blen;
    free(p->buf);
    p->buf = NULL;
    p->blen = 0;
    free(tmp);
    if (!err && !(p->mem = open_memstream(&p->buf, &p->blen))) err = SLUICE_ERR_NOMEM;
    return err;
}

/* Close p's current file: spill it, list it for the manifest, n+1. */
static sluice_err_t part_finish(psink *ps, part *p, char *errstr, size_t errstr_size) {
    sluice_err_t err = part_spill(ps, p, errstr, errstr_size);
    if (err) return err;
    fclose(p->mem);
    p->mem = NULL;
    free(p->buf);
    p->buf = NULL;
    if (ps->nfiles == ps->capfiles) {
        size_t nc = ps->capfiles ? 2 * ps->capfiles : 16;
        char **nf = realloc(ps->files, nc * sizeof *nf);
        if (!nf) return SLUICE_ERR_NOMEM;
        ps->files = nf;
        ps->capfiles = nc;
    }
    char *rel = fmt("%s/part-%" PRId64 "-%" PRId64 ".%s", p->dir, ps->epoch, p->n, ext(ps));
    if (!rel) return SLUICE_ERR_NOMEM;
    ps->files[ps->nfiles++] = rel;
    p->n++;
    return SLUICE_OK;
}

static sluice_err_t psink_write(sluice_sink *sink, int64_t epoch, const sluice_row_batch *batch, char *errstr,
                                size_t errstr_size) {
    psink *ps = (psink *)sink;
    if (ps->epoch != epoch) {
        drop_parts(ps); /* an epoch written but not committed: never published */
        ps->epoch = epoch;
    }
    sluice_err_t err = SLUICE_OK;
    for (size_t i = 0; i < batch->nrows && !err; i++) {
        const sluice_value *row = sluice_row_batch_row(batch, i);
        rewind(ps->key);
        if (sluice_hive_partition_dir(ps->key, ps->schema->columns, row, ps->pcols, ps->npcols) != 0 ||
            putc('\0', ps->key) == EOF || fflush(ps->key) != 0)
            return SLUICE_ERR_NOMEM;
        int fresh = 0;
        part *p = find_part(ps, ps->keybuf, &fresh);
        if (!p) return SLUICE_ERR_NOMEM;
        if (fresh && (err = make_dirs(ps, p->dir, errstr, errstr_size))) return err;
        if (!p->mem && (err = part_start(ps, p, errstr, errstr_size))) return err;
        for (size_t k = 0; k < ps->ndcols; k++)
            ps->scratch_row[k] = ps->dcols[k] == OP_COLUMN ? sluice_op_value(batch, i) : row[ps->dcols[k]];
        err = ps->csv ? sluice_csv_write_row(p->mem, ps->scratch_row, ps->ndcols, ps->delim)
                      : sluice_json_write_row(p->mem, ps->dcolumns, ps->scratch_row, ps->ndcols);
        if (err) return sluice_seterr(errstr, errstr_size, SLUICE_ERR_NOMEM, "sink %s (file): out of memory",
                                      ps->instance);
        p->rows++;
        int64_t size = p->spilled + (int64_t)ftello(p->mem);
        if ((ps->rollover_rows && p->rows >= ps->rollover_rows) ||
            (ps->rollover_bytes && size >= ps->rollover_bytes))
            err = part_finish(ps, p, errstr, errstr_size);
        else if (ftello(p->mem) >= (off_t)SPILL_BYTES)
            err = part_spill(ps, p, errstr, errstr_size);
    }
    return err;
}

static sluice_err_t fsync_path(psink *ps, const char *file, int dir, char *errstr, size_t errstr_size) {
    int fd = open(file, O_RDONLY | O_CLOEXEC | (dir ? O_DIRECTORY : 0));
    if (fd < 0) return io_err(ps, "cannot open", file, errno, errstr, errstr_size);
    int rc = fsync(fd), e = errno;
    close(fd);
    if (rc != 0 && e != EINVAL && e != EROFS && !dir) return io_err(ps, "cannot fsync", file, e, errstr, errstr_size);
    return SLUICE_OK;
}

static sluice_err_t psink_commit(sluice_sink *sink, int64_t epoch, char *errstr, size_t errstr_size) {
    psink *ps = (psink *)sink;
    if (ps->epoch != epoch) {
        drop_parts(ps);
        ps->epoch = epoch;
    }
    sluice_err_t err = SLUICE_OK;
    for (size_t i = 0; i < ps->nparts && !err; i++)
        if (ps->parts[i]->mem) err = part_finish(ps, ps->parts[i], errstr, errstr_size);
    /* 1. the files durable under their temporary names */
    for (size_t i = 0; i < ps->nfiles && !err; i++) {
        char *tmp = temp_of(ps->path, ps->files[i]);
        err = tmp ? fsync_path(ps, tmp, 0, errstr, errstr_size) : SLUICE_ERR_NOMEM;
        free(tmp);
    }
    for (size_t i = 0; i < ps->nparts && !err; i++) {
        char *d = fmt("%s/%s", ps->path, ps->parts[i]->dir);
        err = d ? fsync_path(ps, d, 1, errstr, errstr_size) : SLUICE_ERR_NOMEM;
        free(d);
    }
    if (err) return err;
    /* 2. the commit point: the epoch's manifest record */
    char sub[1024];
    sluice_manifest_key key = manifest_key(ps);
    if ((err = sluice_manifest_write(ps->path, &key, epoch, ps->files, ps->nfiles, sub, sizeof sub)))
        return sluice_seterr(errstr, errstr_size, err, "sink %s (file): %s", ps->instance, sub);
    ps->committed = epoch;
    /* 3. the files in place (a crash here is completed at the next open) */
    for (size_t i = 0; i < ps->nfiles && !err; i++) {
        char *tmp = temp_of(ps->path, ps->files[i]), *final = fmt("%s/%s", ps->path, ps->files[i]);
        if (!tmp || !final) err = SLUICE_ERR_NOMEM;
        else if (rename(tmp, final) != 0) err = io_err(ps, "cannot rename", tmp, errno, errstr, errstr_size);
        free(tmp);
        free(final);
    }
    drop_parts(ps);
    ps->epoch = -1;
    return err;
}

static int64_t psink_committed_epoch(sluice_sink *sink) { return ((psink *)sink)->committed; }

static sluice_err_t psink_open(const sluice_module_config *cfg, sluice_sink **out, char *errstr,
                               size_t errstr_size) {
    return sluice_file_sink_ops.open(cfg, out, errstr, errstr_size);
}

/* The ops of an open partitioned instance; opened through "file". */
static const sluice_sink_ops psink_ops = {
    .version = SLUICE_MODULE_VERSION,
    .name = "file",
    .options = NULL,
    .open = psink_open,
    .write = psink_write,
    .commit = psink_commit,
    .report = NULL,
    .close = psink_close,
    .committed_epoch = psink_committed_epoch,
    .validate = NULL,
};
