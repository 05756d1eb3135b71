#include <stdarg.h>
#include <stdio.h>

#include "sluice/error.h"

const char *sluice_err2str(sluice_err_t err) {
    switch (err) {
    case SLUICE_OK: return "success";
    case SLUICE_ERR_NOMEM: return "out of memory";
    case SLUICE_ERR_INVALID: return "invalid argument";
    case SLUICE_ERR_SQL: return "SQL error";
    case SLUICE_ERR_CONFIG: return "configuration error";
    case SLUICE_ERR_IO: return "I/O error";
    case SLUICE_ERR_MALFORMED: return "malformed record";
    case SLUICE_ERR_UNAVAILABLE: return "module not available in this build";
    case SLUICE_ERR_FAULT: return "injected fault";
    case SLUICE_ERR_TIMED_OUT: return "timed out";
    case SLUICE_ERR_RUNTIME: return "runtime error";
    case SLUICE_ERR_STOPPED: return "stopped";
    }
    return "unknown error";
}

sluice_err_t sluice_seterr(char *errstr, size_t errstr_size, sluice_err_t err,
                           const char *fmt, ...) {
    if (errstr && errstr_size > 0) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(errstr, errstr_size, fmt, ap);
        va_end(ap);
    }
    return err;
}
