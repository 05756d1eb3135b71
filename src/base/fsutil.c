/*
 * mkdir -p, one path component at a time (POSIX mkdir(1) -p: each missing
 * component is made in turn; one that exists is not an error).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "base/fsutil.h"

/* Make every directory of path[0..len): the prefixes ending before each '/'
 * and the whole of it. */
static sluice_err_t make_prefixes(const char *path, size_t len, mode_t mode, char *errstr, size_t errstr_size) {
    char *copy = malloc(len + 1);
    if (!copy) return sluice_seterr(errstr, errstr_size, SLUICE_ERR_NOMEM, "out of memory");
    memcpy(copy, path, len);
    copy[len] = '\0';
    sluice_err_t err = SLUICE_OK;
    /* from copy + 1: a leading '/' is the root, never made */
    for (char *c = copy + 1;; c++) {
        if (*c != '/' && *c != '\0') continue;
        char was = *c;
        *c = '\0';
        /* "a//b" and a trailing '/' give empty or repeated prefixes: mkdir
         * says EEXIST for those */
        if (mkdir(copy, mode) != 0 && errno != EEXIST) {
            int e = errno;
            err = sluice_seterr(errstr, errstr_size, SLUICE_ERR_IO, "cannot create '%s': %s", copy, strerror(e));
            errno = e;
            break;
        }
        *c = was;
        if (!was) break;
    }
    free(copy);
    return err;
}

sluice_err_t sluice_mkdir_all(const char *dir, mode_t mode, char *errstr, size_t errstr_size) {
    size_t len = strlen(dir);
    if (len == 0) return SLUICE_OK;
    return make_prefixes(dir, len, mode, errstr, errstr_size);
}

sluice_err_t sluice_mkdir_parents(const char *path, mode_t mode, char *errstr, size_t errstr_size) {
    const char *slash = strrchr(path, '/');
    if (!slash || slash == path) return SLUICE_OK; /* the working directory or the root */
    return make_prefixes(path, (size_t)(slash - path), mode, errstr, errstr_size);
}
