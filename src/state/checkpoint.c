#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <zlib.h>

#include "base/fsutil.h"
#include "state/checkpoint.h"
#include "state/codec.h"
#include "state/epoch_log.h"

#define HEADER 28
#define TRAILER 4

struct sluice_ckpt {
    char *dir;
    int lock_fd;         /* DIR/lock, flock()ed while open; -1: none */
    int lock_dir_fd;     /* DIR itself, flock()ed too; -1: none */
    long writes[4];      /* sluice_ckpt_write() calls per kind */
    long abort_at[4];    /* sluice_ckpt_set_fault(): abort in that write */
};

static const char *kind_dir(sluice_ckpt_kind kind) {
    return kind == SLUICE_CKPT_OFFSETS ? "offsets" : kind == SLUICE_CKPT_STATE ? "state" : ".";
}

static void path_of(const sluice_ckpt *c, sluice_ckpt_kind kind, int64_t epoch, char *buf, size_t size) {
    if (kind == SLUICE_CKPT_META) snprintf(buf, size, "%s/meta", c->dir);
    else snprintf(buf, size, "%s/%s/%020" PRId64, c->dir, kind_dir(kind), epoch);
}

static int fsync_dir(const char *dir) {
    int fd = open(dir, O_RDONLY | O_DIRECTORY);
    if (fd < 0) return -1;
    int rc = fsync(fd);
    close(fd);
    return rc;
}

static void put32(unsigned char *p, uint32_t v) {
    for (int i = 0; i < 4; i++) p[i] = (unsigned char)(v >> (8 * i));
}
static void put64(unsigned char *p, uint64_t v) {
    for (int i = 0; i < 8; i++) p[i] = (unsigned char)(v >> (8 * i));
}
static uint32_t get32(const unsigned char *p) {
    uint32_t v = 0;
    for (int i = 0; i < 4; i++) v |= (uint32_t)p[i] << (8 * i);
    return v;
}
static uint64_t get64(const unsigned char *p) {
    uint64_t v = 0;
    for (int i = 0; i < 8; i++) v |= (uint64_t)p[i] << (8 * i);
    return v;
}

/* CRC-32 of a large buffer: the second half on another thread, combined
 * with crc32_combine(); small buffers (or no thread) on the calling one. */
typedef struct crc_job {
    const unsigned char *p;
    size_t n;
    uLong crc;
} crc_job;

static uLong crc_run(uLong crc, const unsigned char *p, size_t n) {
    while (n > 0) { /* crc32() takes a uInt length */
        uInt chunk = n > (1u << 30) ? 1u << 30 : (uInt)n;
        crc = crc32(crc, p, chunk);
        p += chunk;
        n -= chunk;
    }
    return crc;
}

static void *crc_thread(void *arg) {
    crc_job *j = arg;
    j->crc = crc_run(0L, j->p, j->n);
    return NULL;
}

static uint32_t crc_of(const unsigned char *p, size_t n) {
    enum { PARALLEL_MIN = 8 << 20 };
    if (n < PARALLEL_MIN) return (uint32_t)crc_run(0L, p, n);
    size_t half = n / 2;
    crc_job j = {p + half, n - half, 0};
    pthread_t th;
    if (pthread_create(&th, NULL, crc_thread, &j) != 0) return (uint32_t)crc_run(0L, p, n);
    uLong a = crc_run(0L, p, half);
    pthread_join(th, NULL);
    return (uint32_t)crc32_combine(a, j.crc, (z_off_t)(n - half));
}

int sluice_ckpt_parse(const void *buf, size_t size, sluice_ckpt_kind *kind, int64_t *epoch, const void **payload,
                      size_t *len) {
    const unsigned char *b = buf;
    if (size < HEADER + TRAILER || memcmp(b, "SLCK", 4) != 0 || get32(b + 4) != SLUICE_CKPT_VERSION) return -1;
    uint32_t k = get32(b + 8);
    uint64_t n = get64(b + 20);
    if (k < SLUICE_CKPT_OFFSETS || k > SLUICE_CKPT_META || n != size - HEADER - TRAILER) return -1;
    uint32_t crc = crc_of(b, (size_t)(HEADER + n));
    if (crc != get32(b + HEADER + n)) return -1;
    *kind = (sluice_ckpt_kind)k;
    *epoch = (int64_t)get64(b + 12);
    *payload = b + HEADER;
    *len = (size_t)n;
    return 0;
}

static sluice_err_t write_file(const char *path, const unsigned char *hdr, const void *payload, size_t len,
                               const unsigned char *trailer, int crash, char *errstr, size_t errstr_size) {
    char tmp[4200];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0)
        return sluice_seterr(errstr, errstr_size, SLUICE_ERR_IO, "checkpoint: cannot create '%s': %s", tmp,
                             strerror(errno));
    const void *parts[3] = {hdr, payload, trailer};
    size_t sizes[3] = {HEADER, len, TRAILER};
    if (crash) {
        /* a crash inside the write: the header and half the payload */
        sizes[1] = len / 2;
        sizes[2] = 0;
    }
    for (int i = 0; i < 3; i++) {
        const unsigned char *p = parts[i];
        size_t left = sizes[i];
        while (left > 0) {
            ssize_t w = write(fd, p, left);
            if (w < 0 && errno == EINTR) continue;
            if (w <= 0) {
                int e = errno;
                close(fd);
                unlink(tmp);
                return sluice_seterr(errstr, errstr_size, SLUICE_ERR_IO, "checkpoint: cannot write '%s': %s", tmp,
                                     strerror(e));
            }
            p += w;
            left -= (size_t)w;
        }
    }
    if (crash) abort();
    if (fsync(fd) != 0 || close(fd) != 0) {
        int e = errno;
        unlink(tmp);
        return sluice_seterr(errstr, errstr_size, SLUICE_ERR_IO, "checkpoint: cannot sync '%s': %s", tmp, strerror(e));
    }
    if (rename(tmp, path) != 0)
        return sluice_seterr(errstr, errstr_size, SLUICE_ERR_IO, "checkpoint: cannot rename '%s': %s", tmp,
                             strerror(errno));
    char dir[4200];
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    if (slash) *slash = '\0';
    if (fsync_dir(slash ? dir : ".") != 0)
        return sluice_seterr(errstr, errstr_size, SLUICE_ERR_IO, "checkpoint: cannot sync directory '%s': %s", dir,
                             strerror(errno));
    return SLUICE_OK;
}

sluice_err_t sluice_ckpt_write(sluice_ckpt *c, sluice_ckpt_kind kind, int64_t epoch, const void *payload, size_t len,
                               char *errstr, size_t errstr_size) {
    unsigned char hdr[HEADER], trailer[TRAILER];
    memcpy(hdr, "SLCK", 4);
    put32(hdr + 4, SLUICE_CKPT_VERSION);
    put32(hdr + 8, (uint32_t)kind);
    put64(hdr + 12, (uint64_t)epoch);
    put64(hdr + 20, len);
    uLong crc = crc32(0L, hdr, HEADER);
    if (len) crc = crc32(crc, payload, (uInt)len);
    put32(trailer, (uint32_t)crc);
    char path[4096];
    path_of(c, kind, epoch, path, sizeof path);
    int crash = 0;
    if ((unsigned)kind < 4) crash = ++c->writes[kind] == c->abort_at[kind];
    return write_file(path, hdr, payload, len, trailer, crash, errstr, errstr_size);
}

/* Read all of fd (size bytes) into buf; 0, or -1 with errno. */
static int read_all(int fd, unsigned char *buf, size_t size) {
    size_t got = 0;
    while (got < size) {
        ssize_t r = read(fd, buf + got, size - got);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) {
            if (r == 0) errno = EIO; /* shorter than its size: being replaced */
            return -1;
        }
        got += (size_t)r;
    }
    return 0;
}

/* Open the file of (kind, epoch) and check its size; *fd and *size set. */
static sluice_err_t open_record(sluice_ckpt *c, sluice_ckpt_kind kind, int64_t epoch, char *path, size_t path_size,
                                int *fd, size_t *size, char *errstr, size_t errstr_size) {
    path_of(c, kind, epoch, path, path_size);
    *fd = open(path, O_RDONLY | O_CLOEXEC);
    if (*fd < 0)
        return sluice_seterr(errstr, errstr_size, SLUICE_ERR_IO, "checkpoint: cannot open '%s': %s", path,
                             strerror(errno));
    struct stat st;
    if (fstat(*fd, &st) != 0 || st.st_size < HEADER + TRAILER || st.st_size > (off_t)1 << 40) {
        close(*fd);
        return sluice_seterr(errstr, errstr_size, SLUICE_ERR_MALFORMED,
                             "checkpoint: '%s' is torn or corrupt (shorter than a record)", path);
    }
    *size = (size_t)st.st_size;
    return SLUICE_OK;
}

sluice_err_t sluice_ckpt_read(sluice_ckpt *c, sluice_ckpt_kind kind, int64_t epoch, void **payload, size_t *len,
                              char *errstr, size_t errstr_size) {
    char path[4096];
    int fd;
    size_t size;
    sluice_err_t err = open_record(c, kind, epoch, path, sizeof path, &fd, &size, errstr, errstr_size);
    if (err) return err;
    unsigned char *buf = malloc(size);
    if (!buf) {
        close(fd);
        return SLUICE_ERR_NOMEM;
    }
    int rc = read_all(fd, buf, size);
    close(fd);
    sluice_ckpt_kind k;
    int64_t e;
    const void *p;
    size_t n;
    if (rc != 0 || sluice_ckpt_parse(buf, size, &k, &e, &p, &n) != 0 || k != kind || e != epoch) {
        free(buf);
        return sluice_seterr(errstr, errstr_size, SLUICE_ERR_MALFORMED,
                             "checkpoint: '%s' is torn or corrupt (length or checksum mismatch)", path);
    }
    memmove(buf, p, n);
    *payload = buf;
    *len = n;
    return SLUICE_OK;
}

sluice_err_t sluice_ckpt_map(sluice_ckpt *c, sluice_ckpt_kind kind, int64_t epoch, sluice_ckpt_view *view,
                             char *errstr, size_t errstr_size) {
    memset(view, 0, sizeof *view);
    char path[4096];
    int fd;
    size_t size;
    sluice_err_t err = open_record(c, kind, epoch, path, sizeof path, &fd, &size, errstr, errstr_size);
    if (err) return err;
    void *m = mmap(NULL, size, PROT_READ, MAP_PRIVATE | MAP_POPULATE, fd, 0);
    close(fd);
    if (m == MAP_FAILED)
        return sluice_seterr(errstr, errstr_size, SLUICE_ERR_IO, "checkpoint: cannot map '%s': %s", path,
                             strerror(errno));
    (void)madvise(m, size, MADV_SEQUENTIAL);
    sluice_ckpt_kind k;
    int64_t e;
    if (sluice_ckpt_parse(m, size, &k, &e, &view->payload, &view->len) != 0 || k != kind || e != epoch) {
        munmap(m, size);
        memset(view, 0, sizeof *view);
        return sluice_seterr(errstr, errstr_size, SLUICE_ERR_MALFORMED,
                             "checkpoint: '%s' is torn or corrupt (length or checksum mismatch)", path);
    }
    view->map = m;
    view->map_len = size;
    return SLUICE_OK;
}

void sluice_ckpt_unmap(sluice_ckpt_view *view) {
    if (view->map) munmap(view->map, view->map_len);
    memset(view, 0, sizeof *view);
}

static int cmp_i64(const void *a, const void *b) {
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

sluice_err_t sluice_ckpt_list(sluice_ckpt *c, sluice_ckpt_kind kind, int64_t **epochs, size_t *n, char *errstr,
                              size_t errstr_size) {
    char dir[4096];
    snprintf(dir, sizeof dir, "%s/%s", c->dir, kind_dir(kind));
    DIR *d = opendir(dir);
    if (!d)
        return sluice_seterr(errstr, errstr_size, SLUICE_ERR_IO, "checkpoint: cannot list '%s': %s", dir,
                             strerror(errno));
    size_t cap = 16, cnt = 0;
    int64_t *list = malloc(cap * sizeof *list);
    struct dirent *de;
    while (list && (de = readdir(d))) {
        const char *name = de->d_name;
        size_t len = strlen(name);
        if (len != 20 || strspn(name, "0123456789") != 20) continue; /* skips *.tmp */
        if (cnt == cap) {
            int64_t *nl = realloc(list, (cap *= 2) * sizeof *nl);
            if (!nl) {
                free(list);
                list = NULL;
                break;
            }
            list = nl;
        }
        list[cnt++] = strtoll(name, NULL, 10);
    }
    closedir(d);
    if (!list) return SLUICE_ERR_NOMEM;
    qsort(list, cnt, sizeof *list, cmp_i64);
    *epochs = list;
    *n = cnt;
    return SLUICE_OK;
}

/* The newest file of a kind does not verify.  Files are only ever put in
 * place by rename after an fsync, so a crash cannot leave one torn: it was
 * damaged afterwards (truncated, edited, a disk fault).  Falling back to an
 * older file would silently replay from the wrong place, so refuse. */
static sluice_err_t damaged(const sluice_ckpt *c, sluice_err_t err, const char *sub, char *errstr,
                            size_t errstr_size) {
    if (err == SLUICE_ERR_NOMEM) return err;
    return sluice_seterr(errstr, errstr_size, SLUICE_ERR_CONFIG,
                         "%s; a checkpoint file is only ever replaced whole, so it was damaged after it was written: "
                         "restore it, or start over with sluice checkpoint reset %s (and clear what the sinks "
                         "committed)",
                         sub, c->dir);
}

sluice_err_t sluice_ckpt_read_latest(sluice_ckpt *c, sluice_ckpt_kind kind, int64_t *epoch, void **payload,
                                     size_t *len, char *errstr, size_t errstr_size) {
    int64_t *list = NULL;
    size_t n = 0;
    *epoch = -1;
    *payload = NULL;
    *len = 0;
    sluice_err_t err = sluice_ckpt_list(c, kind, &list, &n, errstr, errstr_size);
    if (err) return err;
    if (n > 0) {
        char sub[4400];
        err = sluice_ckpt_read(c, kind, list[n - 1], payload, len, sub, sizeof sub);
        if (err == SLUICE_OK) *epoch = list[n - 1];
        else err = damaged(c, err, sub, errstr, errstr_size);
    }
    free(list);
    return err;
}

sluice_err_t sluice_ckpt_map_latest(sluice_ckpt *c, sluice_ckpt_kind kind, int64_t *epoch, sluice_ckpt_view *view,
                                    char *errstr, size_t errstr_size) {
    int64_t *list = NULL;
    size_t n = 0;
    *epoch = -1;
    memset(view, 0, sizeof *view);
    sluice_err_t err = sluice_ckpt_list(c, kind, &list, &n, errstr, errstr_size);
    if (err) return err;
    if (n > 0) {
        char sub[4400];
        err = sluice_ckpt_map(c, kind, list[n - 1], view, sub, sizeof sub);
        if (err == SLUICE_OK) *epoch = list[n - 1];
        else err = damaged(c, err, sub, errstr, errstr_size);
    }
    free(list);
    return err;
}

int64_t sluice_ckpt_latest(sluice_ckpt *c, sluice_ckpt_kind kind) {
    int64_t epoch;
    void *p = NULL;
    size_t len;
    char err[256];
    if (sluice_ckpt_read_latest(c, kind, &epoch, &p, &len, err, sizeof err) != SLUICE_OK) return -1;
    free(p);
    return epoch;
}

sluice_err_t sluice_ckpt_prune(sluice_ckpt *c, int64_t epoch, char *errstr, size_t errstr_size) {
    const sluice_ckpt_kind kinds[2] = {SLUICE_CKPT_STATE, SLUICE_CKPT_OFFSETS};
    for (int k = 0; k < 2; k++) {
        int64_t *list = NULL;
        size_t n = 0;
        sluice_err_t err = sluice_ckpt_list(c, kinds[k], &list, &n, errstr, errstr_size);
        if (err) return err;
        for (size_t i = 0; i < n; i++) {
            int drop = kinds[k] == SLUICE_CKPT_STATE ? list[i] < epoch : list[i] <= epoch;
            if (!drop) continue;
            char path[4096];
            path_of(c, kinds[k], list[i], path, sizeof path);
            if (unlink(path) != 0 && errno != ENOENT) {
                free(list);
                return sluice_seterr(errstr, errstr_size, SLUICE_ERR_IO, "checkpoint: cannot delete '%s': %s", path,
                                     strerror(errno));
            }
        }
        free(list);
    }
    return SLUICE_OK;
}

/* Take DIR/lock (flock, exclusive, non-blocking) and write our pid into
 * it; *fd is the held descriptor.  DIR itself is flock()ed too (*dir_fd):
 * an operator who deletes DIR/lock as if it were stale would otherwise let
 * a second process lock a new DIR/lock beside the running one; the lock
 * file stays for the pid and for processes of earlier versions.  Held by
 * another process: SLUICE_ERR_CONFIG naming the directory and the holder's
 * pid ("unknown" when DIR/lock was deleted).  flock() locks belong to the
 * open file description, so they go away with the process however it ends
 * (no stale lock after a crash). */
static sluice_err_t take_lock(const char *dir, int *fd, int *dir_fd, char *errstr, size_t errstr_size) {
    char path[4200];
    snprintf(path, sizeof path, "%s/lock", dir);
    *dir_fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    int dir_busy = *dir_fd >= 0 && flock(*dir_fd, LOCK_EX | LOCK_NB) != 0;
    *fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (*fd < 0) {
        int e = errno;
        if (*dir_fd >= 0) close(*dir_fd);
        *dir_fd = -1;
        return sluice_seterr(errstr, errstr_size, SLUICE_ERR_IO, "checkpoint: cannot open '%s': %s", path,
                             strerror(e));
    }
    if (dir_busy || flock(*fd, LOCK_EX | LOCK_NB) != 0) {
        int e = dir_busy ? EWOULDBLOCK : errno;
        if (*dir_fd >= 0) close(*dir_fd);
        *dir_fd = -1;
        char pid[32] = "";
        ssize_t r = pread(*fd, pid, sizeof pid - 1, 0);
        pid[r > 0 ? r : 0] = '\0';
        pid[strcspn(pid, "\n")] = '\0';
        close(*fd);
        *fd = -1;
        if (e == EWOULDBLOCK)
            return sluice_seterr(errstr, errstr_size, SLUICE_ERR_CONFIG,
                                 "checkpoint directory %s is in use by another process (pid %s); two processes on "
                                 "one checkpoint would corrupt it: stop the other one, or give this run another "
                                 "checkpoint_dir",
                                 dir, pid[0] ? pid : "unknown");
        return sluice_seterr(errstr, errstr_size, SLUICE_ERR_IO, "checkpoint: cannot lock '%s': %s", path,
                             strerror(e));
    }
    char pid[32];
    int n = snprintf(pid, sizeof pid, "%ld\n", (long)getpid());
    if (ftruncate(*fd, 0) != 0 || pwrite(*fd, pid, (size_t)n, 0) != n) {
        /* the lock is held all the same; the pid is only for the message */
    }
    return SLUICE_OK;
}

/* 1 when the offsets or state folder holds a record file, or cannot be
 * listed.  A folder that does not exist holds none: any directory without
 * them is not a checkpoint, and `sluice checkpoint show /etc` must say so
 * rather than leave a 'lock' file there and fail on the listing. */
static int has_records(sluice_ckpt *c) {
    const sluice_ckpt_kind kinds[2] = {SLUICE_CKPT_OFFSETS, SLUICE_CKPT_STATE};
    for (int k = 0; k < 2; k++) {
        int64_t *list = NULL;
        size_t n = 0;
        char sub[256], folder[4200];
        struct stat st;
        snprintf(folder, sizeof folder, "%s/%s", c->dir, kind_dir(kinds[k]));
        if (stat(folder, &st) != 0 && (errno == ENOENT || errno == ENOTDIR)) continue;
        if (sluice_ckpt_list(c, kinds[k], &list, &n, sub, sizeof sub) != SLUICE_OK) return 1;
        free(list);
        if (n) return 1;
    }
    return 0;
}

/* The first line of a fingerprint (the pipeline's name line), for messages. */
static int first_line(const char *s, size_t len) {
    const char *nl = memchr(s, '\n', len);
    return (int)(nl ? (size_t)(nl - s) : len);
}

/* Where the inputs part of a fingerprint starts (its "inputs:" line, after
 * a newline), or len when it has none (a meta record written before inputs
 * were recorded). */
static size_t inputs_at(const char *s, size_t len) {
    static const char mark[] = "\ninputs:\n";
    for (size_t i = 0; i + sizeof mark - 1 <= len; i++)
        if (memcmp(s + i, mark, sizeof mark - 1) == 0) return i + 1;
    return len;
}

/* The first line of inputs part a that b does not have, into buf. */
static void first_changed_input(const char *a, size_t alen, const char *b, size_t blen, char *buf, size_t size) {
    snprintf(buf, size, "?");
    for (size_t i = inputs_at(a, alen); i < alen;) {
        const char *nl = memchr(a + i, '\n', alen - i);
        size_t n = nl ? (size_t)(nl - (a + i)) : alen - i;
        int found = 0;
        for (size_t j = inputs_at(b, blen); j < blen && !found;) {
            const char *nl2 = memchr(b + j, '\n', blen - j);
            size_t m = nl2 ? (size_t)(nl2 - (b + j)) : blen - j;
            found = m == n && memcmp(a + i, b + j, n) == 0;
            j += m + 1;
        }
        if (!found) {
            snprintf(buf, size, "%.*s", (int)n, a + i);
            return;
        }
        i += n + 1;
    }
}

sluice_err_t sluice_ckpt_open(const char *dir, const char *fingerprint, sluice_ckpt **out, char *errstr,
                              size_t errstr_size) {
    *out = NULL;
    sluice_ckpt *c = calloc(1, sizeof *c);
    if (!c || !(c->dir = strdup(dir))) {
        free(c);
        return SLUICE_ERR_NOMEM;
    }
    c->lock_fd = c->lock_dir_fd = -1;
    char sub[4200];
    const char *subs[2] = {"offsets", "state"};
    for (int i = 0; i < 2; i++) {
        snprintf(sub, sizeof sub, "%s/%s", dir, subs[i]);
        if (sluice_mkdir_all(sub, 0777, NULL, 0) != SLUICE_OK) {
            /* a directory that cannot be made is the setting's fault (exit
             * 2), as a dead_letter file that cannot be opened */
            sluice_seterr(errstr, errstr_size, SLUICE_ERR_CONFIG, "checkpoint_dir '%s': cannot create '%s': %s", dir,
                          sub, strerror(errno));
            sluice_ckpt_close(c);
            return SLUICE_ERR_CONFIG;
        }
    }
    sluice_err_t e = take_lock(dir, &c->lock_fd, &c->lock_dir_fd, errstr, errstr_size);
    if (e) {
        sluice_ckpt_close(c);
        return e;
    }
    void *meta = NULL;
    size_t len = 0;
    char err[4400];
    e = sluice_ckpt_read(c, SLUICE_CKPT_META, 0, &meta, &len, err, sizeof err);
    if (e == SLUICE_OK) {
        size_t flen = strlen(fingerprint);
        int same = len == flen && memcmp(meta, fingerprint, len) == 0;
        size_t fbase = inputs_at(fingerprint, flen), mbase = inputs_at(meta, len);
        if (!same && mbase == len && fbase < flen && len == fbase && memcmp(meta, fingerprint, len) == 0) {
            /* written before the inputs were recorded: the same pipeline
             * and plan; record its inputs, so that an upgrade keeps it */
            e = sluice_ckpt_write(c, SLUICE_CKPT_META, 0, fingerprint, flen, errstr, errstr_size);
            free(meta);
            if (e) {
                sluice_ckpt_close(c);
                return e;
            }
            *out = c;
            return SLUICE_OK;
        }
        if (!same && mbase < len && fbase < flen && mbase == fbase && memcmp(meta, fingerprint, fbase) == 0) {
            /* the same pipeline and plan reading other input: the positions
             * in the checkpoint are another file's lines, another table's
             * rows; resuming would skip or repeat input */
            char was[512], now[512];
            first_changed_input(meta, len, fingerprint, flen, was, sizeof was);
            first_changed_input(fingerprint, flen, meta, len, now, sizeof now);
            sluice_seterr(errstr, errstr_size, SLUICE_ERR_CONFIG,
                          "checkpoint_dir '%s' was written reading other input (%s; now %s): its positions do not "
                          "apply to this input; point the source back at it, use a new checkpoint_dir, or reset "
                          "this one (sluice checkpoint reset %s) to start over",
                          dir, was, now, dir);
            free(meta);
            sluice_ckpt_close(c);
            return SLUICE_ERR_CONFIG;
        }
        if (!same && len > 0 && (len < 9 || memcmp(meta, "pipeline ", 9) != 0) && flen > 9 &&
            memcmp(fingerprint, "pipeline ", 9) == 0) {
            /* A meta record of an earlier version: the plan alone, without
             * the "pipeline NAME" line.  The same plan is this pipeline's:
             * record the name, so that an upgrade keeps the checkpoint. */
            size_t name_line = (size_t)first_line(fingerprint, flen);
            const char *plan = fingerprint + name_line + (name_line < flen && fingerprint[name_line] == '\n');
            size_t plan_len = fingerprint + fbase - plan; /* the inputs are not in such a record */
            if (fbase >= (size_t)(plan - fingerprint) && len == plan_len && memcmp(meta, plan, len) == 0) {
                e = sluice_ckpt_write(c, SLUICE_CKPT_META, 0, fingerprint, flen, errstr, errstr_size);
                free(meta);
                if (e) {
                    sluice_ckpt_close(c);
                    return e;
                }
                *out = c;
                return SLUICE_OK;
            }
        }
        if (!same) {
            int a = first_line(meta, len), b = first_line(fingerprint, flen);
            int named = len > 9 && flen > 9 && memcmp(meta, "pipeline ", 9) == 0 &&
                        memcmp(fingerprint, "pipeline ", 9) == 0;
            if (named && (a != b || memcmp(meta, fingerprint, (size_t)a) != 0))
                sluice_seterr(errstr, errstr_size, SLUICE_ERR_CONFIG,
                              "checkpoint_dir '%s' belongs to another pipeline (%.*s, not %.*s); use a new "
                              "checkpoint_dir, or reset this one (sluice checkpoint reset %s) to start over",
                              dir, a, (const char *)meta, b, fingerprint, dir);
            else
                sluice_seterr(errstr, errstr_size, SLUICE_ERR_CONFIG,
                              "checkpoint_dir '%s' belongs to a different pipeline: its sources or queries changed "
                              "since the checkpoint was written; use a new checkpoint_dir, or reset this one (sluice "
                              "checkpoint reset %s) to start over",
                              dir, dir);
            free(meta);
            sluice_ckpt_close(c);
            return SLUICE_ERR_CONFIG;
        }
        free(meta);
    } else if (e == SLUICE_ERR_MALFORMED || has_records(c)) {
        /* a damaged or missing meta record next to offsets or snapshots:
         * they cannot be told to be this pipeline's */
        sluice_seterr(errstr, errstr_size, SLUICE_ERR_CONFIG,
                      "checkpoint_dir '%s': %s, so the offsets and snapshots in it cannot be matched to this "
                      "pipeline; restore it, or start over with sluice checkpoint reset %s",
                      dir, e == SLUICE_ERR_MALFORMED ? err : "the 'meta' record is missing", dir);
        sluice_ckpt_close(c);
        return SLUICE_ERR_CONFIG;
    } else {
        e = sluice_ckpt_write(c, SLUICE_CKPT_META, 0, fingerprint, strlen(fingerprint), errstr, errstr_size);
        if (e) {
            sluice_ckpt_close(c);
            return e;
        }
    }
    *out = c;
    return SLUICE_OK;
}

void sluice_ckpt_set_fault(sluice_ckpt *c, sluice_ckpt_kind kind, long nth) {
    if ((unsigned)kind < 4) c->abort_at[kind] = nth > 0 ? nth : 0;
}

const char *sluice_ckpt_dir(const sluice_ckpt *c) {
    return c->dir;
}

void sluice_ckpt_close(sluice_ckpt *c) {
    if (!c) return;
    if (c->lock_fd >= 0) close(c->lock_fd); /* releases the flocks */
    if (c->lock_dir_fd >= 0) close(c->lock_dir_fd);
    free(c->dir);
    free(c);
}

/* open an existing checkpoint directory without creating anything */
static sluice_err_t open_existing(const char *dir, sluice_ckpt **out, char *errstr, size_t errstr_size) {
    char meta[4200];
    snprintf(meta, sizeof meta, "%s/meta", dir);
    sluice_ckpt *c = calloc(1, sizeof *c);
    if (!c || !(c->dir = strdup(dir))) {
        free(c);
        return SLUICE_ERR_NOMEM;
    }
    c->lock_fd = c->lock_dir_fd = -1;
    /* records without their meta are still a (damaged) checkpoint: show
     * reports it and reset clears it */
    struct stat st;
    if (stat(meta, &st) != 0 && !has_records(c)) {
        sluice_ckpt_close(c);
        return sluice_seterr(errstr, errstr_size, SLUICE_ERR_CONFIG,
                             "'%s' is not a checkpoint directory (it has no 'meta' file)", dir);
    }
    *out = c;
    return SLUICE_OK;
}

typedef struct show_ctx {
    FILE *out;
    const uint32_t *version;
    const int64_t *t;
    int header;
} show_ctx;

static void show_header(show_ctx *c) {
    if (c->header++) return;
    fprintf(c->out, " (format %u, processing time %lld ms)", *c->version, (long long)*c->t);
}

static void show_source(void *ctx, size_t src, const sluice_logged_input *in) {
    show_ctx *c = ctx;
    show_header(c);
    fprintf(c->out, "\n    source #%zu:%s", src, in->ended ? " end of input;" : "");
    for (uint32_t k = 0; k < in->n; k++)
        fprintf(c->out, " %s%spartition %d [%lld, %lld)", in->r[k].topic ? in->r[k].topic : "",
                in->r[k].topic ? " " : "", (int)in->r[k].partition, (long long)in->r[k].start,
                (long long)in->r[k].end);
    if (!in->n && !in->ended) fputs(" nothing", c->out);
}

static void show_offsets(FILE *out, const void *p, size_t len) {
    sluice_arena *a = sluice_arena_new(0);
    uint32_t version = 0;
    int64_t t = 0;
    show_ctx c = {out, &version, &t, 0};
    sluice_err_t err = a ? sluice_epoch_log_walk(p, len, a, &version, &t, show_source, &c) : SLUICE_ERR_NOMEM;
    if (err == SLUICE_ERR_MALFORMED && !c.header)
        fprintf(out, " (format %u, which does not decode)", version);
    else if (err)
        fprintf(out, "\n    %s", err == SLUICE_ERR_NOMEM ? "out of memory" : "the rest does not decode");
    else
        show_header(&c);
    sluice_arena_destroy(a);
}

sluice_err_t sluice_ckpt_show(const char *dir, FILE *out, char *errstr, size_t errstr_size) {
    sluice_ckpt *c = NULL;
    sluice_err_t err = open_existing(dir, &c, errstr, errstr_size);
    if (err) return err;
    void *p = NULL;
    size_t len = 0;
    char sub[512];
    fprintf(out, "checkpoint %s (format version %d)\n", dir, SLUICE_CKPT_VERSION);
    /* in use? try the lock and let go of it at once */
    int fd = -1, dfd = -1;
    if (take_lock(dir, &fd, &dfd, sub, sizeof sub) == SLUICE_OK) {
        close(fd);
        if (dfd >= 0) close(dfd);
        fputs("lock: free (no process is running on it)\n", out);
    } else {
        fprintf(out, "lock: %s\n", sub);
    }
    if (sluice_ckpt_read(c, SLUICE_CKPT_META, 0, &p, &len, sub, sizeof sub) == SLUICE_OK) {
        fputs("pipeline:\n", out);
        const char *s = p;
        for (size_t i = 0; i < len;) {
            size_t j = i;
            while (j < len && s[j] != '\n') j++;
            fprintf(out, "  | %.*s\n", (int)(j - i), s + i);
            i = j + 1;
        }
        free(p);
    } else {
        fprintf(out, "pipeline: BAD: %s\n", sub);
    }
    const sluice_ckpt_kind kinds[2] = {SLUICE_CKPT_STATE, SLUICE_CKPT_OFFSETS};
    const char *names[2] = {"snapshots", "offsets log (epochs after the newest snapshot are replayed)"};
    for (int k = 0; k < 2 && !err; k++) {
        int64_t *list = NULL;
        size_t n = 0;
        if ((err = sluice_ckpt_list(c, kinds[k], &list, &n, errstr, errstr_size))) break;
        fprintf(out, "%s: %zu\n", names[k], n);
        for (size_t i = 0; i < n; i++) {
            fprintf(out, "  epoch %lld: ", (long long)list[i]);
            if (sluice_ckpt_read(c, kinds[k], list[i], &p, &len, sub, sizeof sub) != SLUICE_OK) {
                fprintf(out, "BAD: %s\n", sub);
                continue;
            }
            fprintf(out, "%zu bytes, intact", len);
            if (kinds[k] == SLUICE_CKPT_OFFSETS) show_offsets(out, p, len);
            fputc('\n', out);
            free(p);
        }
        free(list);
    }
    sluice_ckpt_close(c);
    return err;
}

sluice_err_t sluice_ckpt_reset(const char *dir, char *errstr, size_t errstr_size) {
    sluice_ckpt *c = NULL;
    sluice_err_t err = open_existing(dir, &c, errstr, errstr_size);
    if (err) return err;
    /* never under a running pipeline: held until the files are gone */
    if ((err = take_lock(dir, &c->lock_fd, &c->lock_dir_fd, errstr, errstr_size))) {
        sluice_ckpt_close(c);
        return err;
    }
    /* everything: prune past any epoch, then the meta record */
    err = sluice_ckpt_prune(c, INT64_MAX, errstr, errstr_size);
    char path[4200];
    if (!err) {
        snprintf(path, sizeof path, "%s/meta", dir);
        if (unlink(path) != 0 && errno != ENOENT)
            err = sluice_seterr(errstr, errstr_size, SLUICE_ERR_IO, "checkpoint: cannot delete '%s': %s", path,
                                strerror(errno));
    }
    sluice_ckpt_close(c);
    return err;
}
