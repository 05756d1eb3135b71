/*
 * sluice base — base64 for bytes that are not text inside JSON (dead
 * letters' raw_base64).  Private to the engine.
 */
#ifndef SLUICE_BASE_BASE64_H
#define SLUICE_BASE_BASE64_H

#include <stddef.h>
#include <stdio.h>

#include "sluice/error.h"

/** Write len bytes as base64 (RFC 4648, standard alphabet, '=' padding),
 *  without quotes or line breaks.  Returns SLUICE_ERR_IO on a write error. */
sluice_err_t sluice_base64_write(FILE *f, const void *data, size_t len);

#endif
