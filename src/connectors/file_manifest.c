/*
 * The partitioned file sink's manifest (file_partitioned.h): one record per
 * committed epoch, PATH/_sluice_manifest/<epoch>, naming the epoch's files.
 * Like Spark's _spark_metadata log, the record is the commit: it is written
 * after the epoch's files are durable and before they are renamed into
 * place, so an epoch is published exactly when its record exists.
 *
 *   sluice-file-manifest 1
 *   pipeline NAME
 *   sink NAME
 *   path PATH
 *   format csv|json
 *   partition_by COL1,COL2
 *   epoch N
 *   file REL/PATH            (zero or more, relative to PATH)
 *   crc32 XXXXXXXX           (zlib CRC-32 of every byte before this line)
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <zlib.h>

#include "connectors/file_partitioned.h"

#define MAGIC "sluice-file-manifest 1\n"
#define MAX_RECORD (64u << 20)

static char *join(const char *a, const char *b, const char *c) {
    size_t n = strlen(a) + strlen(b) + strlen(c) + 3;
    char *s = malloc(n);
    if (s) snprintf(s, n, "%s/%s%s%s", a, b, c[0] ? "/" : "", c);
    return s;
}

static void fsync_dir(const char *dir) {
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        (void)fsync(fd); /* best effort: not every file system supports it */
        close(fd);
    }
}

sluice_err_t sluice_manifest_write(const char *path, const sluice_manifest_key *key, int64_t epoch,
                                   char *const *files, size_t nfiles, char *errstr, size_t errstr_size) {
    char *dir = join(path, SLUICE_MANIFEST_DIR, "");
    if (!dir) return SLUICE_ERR_NOMEM;
    if (mkdir(dir, 0777) != 0 && errno != EEXIST) {
        sluice_err_t err = sluice_seterr(errstr, errstr_size, SLUICE_ERR_IO, "cannot create '%s': %s", dir,
                                         strerror(errno));
        free(dir);
        return err;
    }
    char *body = NULL;
    size_t n = 0;
    FILE *m = open_memstream(&body, &n);
    if (!m) {
        free(dir);
        return SLUICE_ERR_NOMEM;
    }
    fprintf(m, MAGIC "pipeline %s\nsink %s\npath %s\nformat %s\npartition_by %s\nepoch %" PRId64 "\n",
            key->pipeline ? key->pipeline : "", key->sink ? key->sink : "", key->path, key->format,
            key->partition_by, epoch);
    for (size_t i = 0; i < nfiles; i++) fprintf(m, "file %s\n", files[i]);
    if (fclose(m) != 0) {
        free(body);
        free(dir);
        return SLUICE_ERR_NOMEM;
    }
    char name[64], tmpname[64];
    snprintf(name, sizeof name, "%" PRId64, epoch);
    snprintf(tmpname, sizeof tmpname, ".%" PRId64 ".tmp", epoch);
    char *final = join(dir, name, ""), *tmp = join(dir, tmpname, "");
    char trailer[32];
    int tn = snprintf(trailer, sizeof trailer, "crc32 %08lx\n", (unsigned long)crc32(0L, (const Bytef *)body, (uInt)n));
    sluice_err_t err = SLUICE_OK;
    FILE *f = final && tmp ? fopen(tmp, "we") : NULL;
    int ok = f && fwrite(body, 1, n, f) == n && fwrite(trailer, 1, (size_t)tn, f) == (size_t)tn &&
             fflush(f) == 0 && fsync(fileno(f)) == 0;
    int e = errno;
    if (f && fclose(f) != 0 && ok) {
        ok = 0;
        e = errno;
    }
    if (!final || !tmp) err = SLUICE_ERR_NOMEM;
    else if (!ok)
        err = sluice_seterr(errstr, errstr_size, SLUICE_ERR_IO, "cannot write '%s': %s", tmp, strerror(e));
    else if (rename(tmp, final) != 0)
        err = sluice_seterr(errstr, errstr_size, SLUICE_ERR_IO, "cannot rename '%s' to '%s': %s", tmp, final,
                            strerror(errno));
    else
        fsync_dir(dir);
    free(body);
    free(final);
    free(tmp);
    free(dir);
    return err;
}

void sluice_manifest_free(char **files, size_t nfiles) {
    for (size_t i = 0; i < nfiles; i++) free(files[i]);
    free(files);
}

/* The next line of body[*at..len) without its '\n', or NULL at the end. */
static const char *next_line(const char *body, size_t len, size_t *at, size_t *ll) {
    if (*at >= len) return NULL;
    const char *line = body + *at;
    const char *end = memchr(line, '\n', len - *at);
    *ll = end ? (size_t)(end - line) : len - *at;
    *at += *ll + 1;
    return line;
}

static int line_is(const char *line, size_t ll, const char *name, const char **val, size_t *vl) {
    size_t nl = strlen(name);
    if (ll < nl + 1 || memcmp(line, name, nl) != 0 || line[nl] != ' ') return 0;
    *val = line + nl + 1;
    *vl = ll - nl - 1;
    return 1;
}

sluice_err_t sluice_manifest_read(const char *path, const sluice_manifest_key *key, int64_t epoch, char ***files,
                                  size_t *nfiles, char *errstr, size_t errstr_size) {
    *files = NULL;
    *nfiles = 0;
    char name[64];
    snprintf(name, sizeof name, "%" PRId64, epoch);
    char *rec = join(path, SLUICE_MANIFEST_DIR, name);
    if (!rec) return SLUICE_ERR_NOMEM;
    FILE *f = fopen(rec, "re");
    if (!f) {
        sluice_err_t err = sluice_seterr(errstr, errstr_size, SLUICE_ERR_IO, "cannot read '%s': %s", rec,
                                         strerror(errno));
        free(rec);
        return err;
    }
    char *buf = NULL;
    size_t n = 0, cap = 0;
    int rerr = 0;
    for (;;) {
        if (n == cap) {
            char *nb = cap >= MAX_RECORD ? NULL : realloc(buf, cap = cap ? 2 * cap : 4096);
            if (!nb) break;
            buf = nb;
        }
        size_t got = fread(buf + n, 1, cap - n, f);
        n += got;
        if (got == 0) {
            rerr = ferror(f);
            break;
        }
    }
    fclose(f);
    const char *what = NULL;
    sluice_err_t err = SLUICE_OK;
    const char *crcline = NULL;
    if (rerr || !buf) what = "it cannot be read";
    else if (n < strlen(MAGIC) || memcmp(buf, MAGIC, strlen(MAGIC)) != 0) what = "it is not a sluice manifest";
    else if (buf[n - 1] != '\n' || n < strlen(MAGIC) + 15 || memcmp(buf + n - 15, "crc32 ", 6) != 0 ||
             buf[n - 16] != '\n')
        what = "it is incomplete (no checksum line)";
    else {
        crcline = buf + n - 15;
        size_t body = (size_t)(crcline - buf);
        char hex[9];
        memcpy(hex, crcline + 6, 8);
        hex[8] = '\0';
        char *end;
        unsigned long want = strtoul(hex, &end, 16);
        if (*end || crc32(0L, (const Bytef *)buf, (uInt)body) != want)
            what = "its checksum does not match its contents (torn or edited)";
        else {
            const char *names[5] = {"pipeline", "sink", "path", "format", "partition_by"};
            const char *want_v[5] = {key->pipeline ? key->pipeline : "", key->sink ? key->sink : "", key->path,
                                     key->format, key->partition_by};
            size_t at = strlen(MAGIC), ll, vl;
            const char *line, *val;
            for (int i = 0; i < 5 && !what && !err; i++) {
                line = next_line(buf, body, &at, &ll);
                if (!line || !line_is(line, ll, names[i], &val, &vl)) what = "it lacks a key field";
                else if (vl != strlen(want_v[i]) || memcmp(val, want_v[i], vl) != 0)
                    err = sluice_seterr(errstr, errstr_size, SLUICE_ERR_CONFIG,
                                        "'%s' belongs to another output: its %s is '%.*s', this sink's is '%s'; "
                                        "move the directory away, or point the sink at another path",
                                        rec, names[i], (int)vl, val, want_v[i]);
            }
            if (!what && !err) {
                line = next_line(buf, body, &at, &ll);
                char num[32];
                if (!line || !line_is(line, ll, "epoch", &val, &vl) || vl >= sizeof num) what = "it lacks its epoch";
                else {
                    memcpy(num, val, vl);
                    num[vl] = '\0';
                    if (strtoll(num, &end, 10) != epoch || *end) what = "its epoch is not the one its name says";
                }
            }
            while (!what && !err && (line = next_line(buf, body, &at, &ll))) {
                if (!line_is(line, ll, "file", &val, &vl) || vl == 0) {
                    what = "it has a line that is not a file";
                    break;
                }
                char **nf = realloc(*files, (*nfiles + 1) * sizeof *nf);
                char *s = malloc(vl + 1);
                if (!nf || !s) {
                    if (nf) *files = nf;
                    free(s);
                    err = SLUICE_ERR_NOMEM;
                    break;
                }
                *files = nf;
                memcpy(s, val, vl);
                s[vl] = '\0';
                (*files)[(*nfiles)++] = s;
            }
        }
    }
    free(buf);
    if (what)
        err = sluice_seterr(errstr, errstr_size, SLUICE_ERR_CONFIG,
                            "'%s' is not a valid manifest record: %s; restore it, or move the directory away "
                            "(and reset the checkpoint: sluice checkpoint reset DIR) to write the output anew",
                            rec, what);
    if (err) {
        sluice_manifest_free(*files, *nfiles);
        *files = NULL;
        *nfiles = 0;
    }
    free(rec);
    return err;
}

static int cmp_i64(const void *a, const void *b) {
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

sluice_err_t sluice_manifest_epochs(const char *path, int64_t **epochs, size_t *n, char *errstr,
                                    size_t errstr_size) {
    *epochs = NULL;
    *n = 0;
    char *dir = join(path, SLUICE_MANIFEST_DIR, "");
    if (!dir) return SLUICE_ERR_NOMEM;
    DIR *d = opendir(dir);
    if (!d) {
        sluice_err_t err = errno == ENOENT ? SLUICE_OK
                                           : sluice_seterr(errstr, errstr_size, SLUICE_ERR_IO,
                                                           "cannot read '%s': %s", dir, strerror(errno));
        free(dir);
        return err;
    }
    sluice_err_t err = SLUICE_OK;
    struct dirent *de;
    while ((de = readdir(d)) && !err) {
        const char *nm = de->d_name;
        size_t len = strlen(nm);
        if (nm[0] == '.' && len > 5 && strcmp(nm + len - 4, ".tmp") == 0) {
            /* a record torn before its rename: that epoch was never published */
            char *t = join(dir, nm, "");
            if (t) unlink(t);
            free(t);
            continue;
        }
        if (nm[0] < '0' || nm[0] > '9' || strspn(nm, "0123456789") != len || len > 18) continue;
        int64_t *ne = realloc(*epochs, (*n + 1) * sizeof *ne);
        if (!ne) {
            err = SLUICE_ERR_NOMEM;
            break;
        }
        *epochs = ne;
        ne[(*n)++] = strtoll(nm, NULL, 10);
    }
    closedir(d);
    free(dir);
    if (err) {
        free(*epochs);
        *epochs = NULL;
        *n = 0;
        return err;
    }
    if (*n) qsort(*epochs, *n, sizeof **epochs, cmp_i64);
    return SLUICE_OK;
}
