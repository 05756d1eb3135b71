/*
 * The file sink's epoch record (format in file_epoch.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <zlib.h>

#include "connectors/file_epoch.h"
#include "base/log.h"

#define MAGIC "sluice-file-epoch 2\n"
#define MAX_RECORD 65536

/* The record's bytes up to (not including) the crc32 line; malloc'd. */
static char *render_body(const sluice_file_epoch_key *key, int64_t epoch, int64_t length, size_t *len) {
    char *buf = NULL;
    size_t n = 0;
    FILE *f = open_memstream(&buf, &n);
    if (!f) return NULL;
    fprintf(f, MAGIC "pipeline %s\nsink %s\npath %s\nformat %s\nepoch %" PRId64 "\nlength %" PRId64 "\n",
            key->pipeline ? key->pipeline : "", key->sink ? key->sink : "", key->path, key->format, epoch,
            length);
    if (fclose(f) != 0) {
        free(buf);
        return NULL;
    }
    *len = n;
    return buf;
}

sluice_err_t sluice_file_epoch_write(const char *sidecar, const sluice_file_epoch_key *key, int64_t epoch,
                                     int64_t length, char *errstr, size_t errstr_size) {
    size_t n = 0;
    char *body = render_body(key, epoch, length, &n);
    if (!body) return SLUICE_ERR_NOMEM;
    char trailer[32];
    int tn = snprintf(trailer, sizeof trailer, "crc32 %08lx\n", (unsigned long)crc32(0L, (const Bytef *)body, (uInt)n));
    char tmp[4200];
    snprintf(tmp, sizeof tmp, "%s.tmp", sidecar);
    FILE *sc = fopen(tmp, "we");
    int ok = sc && fwrite(body, 1, n, sc) == n && fwrite(trailer, 1, (size_t)tn, sc) == (size_t)tn &&
             fflush(sc) == 0 && fsync(fileno(sc)) == 0;
    int e = errno;
    free(body);
    if (sc && fclose(sc) != 0 && ok) {
        ok = 0;
        e = errno;
    }
    if (!ok)
        return sluice_seterr(errstr, errstr_size, SLUICE_ERR_IO, "cannot write '%s': %s", tmp, strerror(e));
    if (rename(tmp, sidecar) != 0)
        return sluice_seterr(errstr, errstr_size, SLUICE_ERR_IO, "cannot rename '%s' to '%s': %s", tmp, sidecar,
                             strerror(errno));
    return SLUICE_OK;
}

/* The value of line `name` ("name VALUE\n") in body, copied to out; 0 or -1. */
static int field(const char *body, size_t len, const char *name, char *out, size_t out_size) {
    size_t nl = strlen(name);
    for (size_t i = 0; i < len;) {
        const char *line = body + i;
        const char *end = memchr(line, '\n', len - i);
        size_t ll = end ? (size_t)(end - line) : len - i;
        if (ll > nl && memcmp(line, name, nl) == 0 && line[nl] == ' ') {
            size_t vl = ll - nl - 1;
            if (vl >= out_size) return -1;
            memcpy(out, line + nl + 1, vl);
            out[vl] = '\0';
            return 0;
        }
        i += ll + 1;
    }
    return -1;
}

static int parse_i64(const char *s, int64_t *v) {
    char *end;
    errno = 0;
    long long x = strtoll(s, &end, 10);
    if (errno || end == s || *end) return -1;
    *v = x;
    return 0;
}

sluice_err_t sluice_file_epoch_read(const char *sidecar, const sluice_file_epoch_key *key, int *found,
                                    int64_t *epoch, int64_t *length, char *errstr, size_t errstr_size) {
    *found = 0;
    FILE *f = fopen(sidecar, "re");
    if (!f) {
        if (errno == ENOENT) return SLUICE_OK;
        return sluice_seterr(errstr, errstr_size, SLUICE_ERR_IO, "cannot read '%s': %s", sidecar, strerror(errno));
    }
    char *buf = malloc(MAX_RECORD + 1);
    if (!buf) {
        fclose(f);
        return SLUICE_ERR_NOMEM;
    }
    size_t n = fread(buf, 1, MAX_RECORD + 1, f);
    int rerr = ferror(f);
    fclose(f);
    if (rerr) {
        free(buf);
        return sluice_seterr(errstr, errstr_size, SLUICE_ERR_IO, "cannot read '%s'", sidecar);
    }
    buf[n > MAX_RECORD ? MAX_RECORD : n] = '\0';
    sluice_err_t err = SLUICE_OK;
    const char *what = NULL;
    char val[4200];
    /* format 1 (no key, no checksum), written by earlier versions: taken
     * when it is exactly one well-formed line; the next commit rewrites it
     * in format 2 */
    long long e1, l1;
    int used = -1;
    if (n <= MAX_RECORD && sscanf(buf, "epoch %lld length %lld\n%n", &e1, &l1, &used) == 2 && used == (int)n &&
        e1 >= 0 && l1 >= 0) {
        sluice_log(SLUICE_LOG_WARN, key->pipeline, "file", key->sink,
                   "'%s' is an epoch record of an earlier version (no key, no checksum): taken as epoch %lld, "
                   "length %lld",
                   sidecar, e1, l1);
        *epoch = e1;
        *length = l1;
        *found = 1;
        free(buf);
        return SLUICE_OK;
    }
    const char *crcline = NULL;
    if (n > MAX_RECORD || strncmp(buf, MAGIC, strlen(MAGIC)) != 0) what = "it is not a sluice epoch record";
    else if (n < 16 || buf[n - 1] != '\n' || !(crcline = strstr(buf, "\ncrc32 ")))
        what = "it is incomplete (no checksum line)";
    else {
        crcline++;
        size_t body = (size_t)(crcline - buf);
        unsigned long want = strtoul(crcline + 6, NULL, 16);
        if (crc32(0L, (const Bytef *)buf, (uInt)body) != want || strlen(crcline) != 6 + 8 + 1)
            what = "its checksum does not match its contents (torn or edited)";
        else {
            const char *names[4] = {"pipeline", "sink", "path", "format"};
            const char *want_v[4] = {key->pipeline ? key->pipeline : "", key->sink ? key->sink : "", key->path,
                                     key->format};
            for (int i = 0; i < 4 && !what; i++) {
                if (field(buf, body, names[i], val, sizeof val) != 0) {
                    what = "it lacks a key field";
                } else if (strcmp(val, want_v[i]) != 0) {
                    err = sluice_seterr(errstr, errstr_size, SLUICE_ERR_CONFIG,
                                        "'%s' belongs to another output: its %s is '%s', this sink's is '%s'; "
                                        "move the output and '%s' away, or point the sink at another path",
                                        sidecar, names[i], val, want_v[i], sidecar);
                    free(buf);
                    return err;
                }
            }
            if (!what && (field(buf, body, "epoch", val, sizeof val) != 0 || parse_i64(val, epoch) != 0 ||
                          *epoch < -1 || field(buf, body, "length", val, sizeof val) != 0 ||
                          parse_i64(val, length) != 0 || *length < 0))
                what = "its epoch or length is not a number";
        }
    }
    free(buf);
    if (what)
        return sluice_seterr(errstr, errstr_size, SLUICE_ERR_CONFIG,
                             "'%s' is not a valid epoch record: %s; restore it, or move the output and '%s' away "
                             "(and reset the checkpoint: sluice checkpoint reset DIR) to write the output anew",
                             sidecar, what, sidecar);
    *found = 1;
    return SLUICE_OK;
}
