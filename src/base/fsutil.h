/*
 * sluice base — file-system helpers shared by the outputs that create
 * files where nothing exists yet (file sinks, the dead letter, checkpoint
 * directories).  Private to the engine.
 */
#ifndef SLUICE_BASE_FSUTIL_H
#define SLUICE_BASE_FSUTIL_H

#include <stddef.h>
#include <sys/types.h>

#include "sluice/error.h"

/** `mkdir -p DIR`: create directory `dir` and each of its missing parents
 *  with `mode` (less the umask); directories that exist already are left
 *  as they are.  Returns SLUICE_OK; SLUICE_ERR_NOMEM; or SLUICE_ERR_IO with
 *  errno set and "cannot create 'D': REASON" in errstr (may be NULL), D
 *  being the first directory that could not be made. */
sluice_err_t sluice_mkdir_all(const char *dir, mode_t mode, char *errstr, size_t errstr_size);

/** The directories that lead to the file `path` (everything before its
 *  last '/'), as sluice_mkdir_all; `path` itself is not created.  A path
 *  without a '/' (the working directory) needs none.  Same returns. */
sluice_err_t sluice_mkdir_parents(const char *path, mode_t mode, char *errstr, size_t errstr_size);

#endif
