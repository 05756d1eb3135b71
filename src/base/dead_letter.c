#include <errno.h>
#include <stdio.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>
#include <string.h>

#include "base/base64.h"
#include "base/dead_letter.h"
#include "base/json_string.h"
#include "base/log.h"
#include "base/utf8.h"

struct sluice_dead_letter {
    FILE *f;
    char *path;
    uint64_t count;
    int failed;
};

int sluice_dead_letter_is_uri(const char *path) {
    if (!path) return 0;
    size_t n = 0;
    while ((path[n] >= 'a' && path[n] <= 'z') || (path[n] >= 'A' && path[n] <= 'Z')) n++;
    return n > 0 && path[n] == ':';
}

sluice_err_t sluice_dead_letter_open(const char *path, int append, sluice_dead_letter **out, char *errstr,
                                     size_t errstr_size) {
    if (sluice_dead_letter_is_uri(path))
        return sluice_seterr(errstr, errstr_size, SLUICE_ERR_UNAVAILABLE,
                             "dead_letter = %s: a dead-letter target other than a file (SCHEME:...) is not part of "
                             "this build yet; use a file path (./%s for a file whose name has a colon)",
                             path, path);
    sluice_dead_letter *dl = calloc(1, sizeof *dl);
    if (!dl) return SLUICE_ERR_NOMEM;
    if (path) {
        /* always O_APPEND: other processes may append to the same file */
        int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC | O_APPEND, 0666);
        if (fd < 0) {
            free(dl);
            return sluice_seterr(errstr, errstr_size, SLUICE_ERR_CONFIG, "dead_letter: cannot open '%s': %s", path,
                                 strerror(errno));
        }
        /* Several processes may share one dead-letter file (instances of a
         * pipeline with one profile): each holds a shared lock while it
         * writes.  A run without a checkpoint starts the file anew only
         * when no other process holds it: truncating would destroy the
         * entries of one still running. */
        struct stat st;
        int shared_with_others = 0;
        if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode)) {
            if (flock(fd, LOCK_EX | LOCK_NB) == 0) {
                if (!append && ftruncate(fd, 0) != 0) {
                    int e = errno;
                    close(fd);
                    free(dl);
                    return sluice_seterr(errstr, errstr_size, SLUICE_ERR_CONFIG,
                                         "dead_letter: cannot truncate '%s': %s", path, strerror(e));
                }
            } else {
                shared_with_others = 1;
            }
            if (flock(fd, LOCK_SH) != 0) shared_with_others = 1; /* downgrade, or wait out a truncation */
        }
        if (shared_with_others && !append)
            sluice_log(SLUICE_LOG_WARN, NULL, "dead_letter", path,
                       "another running process writes to this dead-letter file: appending to it instead of "
                       "starting it anew");
        dl->f = fdopen(fd, "a");
        if (!dl->f) {
            close(fd);
            free(dl);
            return SLUICE_ERR_NOMEM;
        }
        /* one write() per entry (up to the buffer's size), so that entries
         * of processes sharing the file do not interleave */
        setvbuf(dl->f, NULL, _IOLBF, 1 << 16);
        dl->path = strdup(path);
    }
    *out = dl;
    return SLUICE_OK;
}

static void field(FILE *f, const char *name, const char *value, size_t len, int first) {
    fprintf(f, "%s\"%s\":", first ? "" : ",", name);
    sluice_json_write_string(f, value, len);
}

sluice_err_t sluice_dead_letter_write(sluice_dead_letter *dl, const char *source, const char *sink,
                                      const char *position, const char *reason, const char *raw, size_t raw_len) {
    dl->count++;
    if (!dl->f) return SLUICE_OK;
    fputc('{', dl->f);
    field(dl->f, "source", source, strlen(source), 1);
    if (sink) field(dl->f, "sink", sink, strlen(sink), 0);
    field(dl->f, "position", position, strlen(position), 0);
    field(dl->f, "reason", reason, strlen(reason), 0);
    if (!raw) raw_len = 0;
    if (sluice_utf8_valid(raw ? raw : "", raw_len)) {
        field(dl->f, "raw", raw ? raw : "", raw_len, 0);
    } else {
        /* Not text: the exact bytes, so that nothing is lost or altered
         * (a "raw" string would have to replace the bad bytes). */
        fputs(",\"raw_base64\":\"", dl->f);
        sluice_base64_write(dl->f, raw, raw_len);
        fputc('"', dl->f);
    }
    fputs("}\n", dl->f);
    if (ferror(dl->f)) dl->failed = 1;
    return SLUICE_OK;
}

sluice_err_t sluice_dead_letter_flush(sluice_dead_letter *dl, char *errstr, size_t errstr_size) {
    if (!dl || !dl->f) return SLUICE_OK;
    if (fflush(dl->f) != 0 || dl->failed)
        return sluice_seterr(errstr, errstr_size, SLUICE_ERR_IO, "dead_letter: cannot write '%s': %s", dl->path,
                             strerror(errno));
    return SLUICE_OK;
}

uint64_t sluice_dead_letter_count(const sluice_dead_letter *dl) {
    return dl ? dl->count : 0;
}

int sluice_dead_letter_keeps(const sluice_dead_letter *dl) {
    return dl && dl->f;
}

void sluice_dead_letter_close(sluice_dead_letter *dl) {
    if (!dl) return;
    if (dl->f) fclose(dl->f);
    free(dl->path);
    free(dl);
}
