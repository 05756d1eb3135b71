/*
 * sluice — error model.
 *
 * One convention across the code base (librdkafka's): every function that can
 * fail returns a sluice_err_t, SLUICE_OK (0) on success and a negative value
 * on failure, and fills a caller-provided `char *errstr, size_t errstr_size`
 * with a human-readable message that names the module and quotes the bad
 * value.  errstr may be NULL when errstr_size is 0.
 */
#ifndef SLUICE_ERROR_H
#define SLUICE_ERROR_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum sluice_err_t {
    SLUICE_OK = 0,
    SLUICE_ERR_NOMEM = -1,       /**< out of memory */
    SLUICE_ERR_INVALID = -2,     /**< invalid argument or call in a wrong state */
    SLUICE_ERR_SQL = -3,         /**< SQL syntax or semantic error (exit 2) */
    SLUICE_ERR_CONFIG = -4,      /**< profile, INI or command-line error (exit 2) */
    SLUICE_ERR_IO = -5,          /**< file, pipe or socket I/O failed */
    SLUICE_ERR_MALFORMED = -6,   /**< a record could not be decoded */
    SLUICE_ERR_UNAVAILABLE = -7, /**< the module is not built into this binary */
    SLUICE_ERR_FAULT = -8,       /**< a fault injected by the fault wrapper */
    SLUICE_ERR_TIMED_OUT = -9,   /**< a wait ran out of time */
    SLUICE_ERR_RUNTIME = -10,    /**< any other runtime failure (exit 1) */
    SLUICE_ERR_STOPPED = -11     /**< a wait gave up because a stop was requested
                                      (SIGINT/SIGTERM); the work in hand was
                                      abandoned, not failed */
} sluice_err_t;

/** Short, static, English description of an error code ("out of memory").
 *  Never NULL; unknown codes give "unknown error". */
const char *sluice_err2str(sluice_err_t err);

/** printf-style helper that fills errstr (truncating, always NUL-terminated
 *  when errstr_size > 0) and returns `err`, so a failure path reads
 *  `return sluice_seterr(errstr, errstr_size, SLUICE_ERR_IO, "...", ...);` */
sluice_err_t sluice_seterr(char *errstr, size_t errstr_size, sluice_err_t err,
                           const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

#ifdef __cplusplus
}
#endif
#endif
