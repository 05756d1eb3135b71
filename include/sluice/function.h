/*
 * sluice — the C ABI of a scalar function bound by a profile.
 *
 * A pipeline declares a function in SQL (`CREATE FUNCTION f(x VARCHAR)
 * RETURNS DOUBLE;`) and a profile binds it (`[function f]` with
 * `connector = c`, `library = path/to/libf.so`, `symbol = my_f`).  At bind
 * time sluice dlopen()s the library, looks up `symbol`, which must be a
 * `const sluice_function_abi` object, and refuses it unless its
 * `abi_version` equals SLUICE_FUNCTION_ABI_VERSION.
 *
 * Calls are batched: the engine collects the argument tuples of one input
 * batch and calls `call` with up to `batch_size` rows at a time (the
 * profile's `batch_size`, default 512), from the pipeline's one thread.
 *
 * Ownership: argument values (and their VARCHAR bytes) are borrowed for
 * the duration of the call.  A VARCHAR result must point into memory that
 * the function owns and keeps valid until its next call or `close` (e.g. a
 * buffer in its state): the engine copies it before calling again.
 */
#ifndef SLUICE_FUNCTION_H
#define SLUICE_FUNCTION_H

#include <stddef.h>
#include <stdint.h>

#include "sluice/value.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Bumped whenever sluice_function_abi or the calling convention changes. */
#define SLUICE_FUNCTION_ABI_VERSION 1u

typedef struct sluice_function_abi {
    /** Must be SLUICE_FUNCTION_ABI_VERSION. */
    uint32_t abi_version;

    /** Create the function's state.  options: the `[function NAME]`
     *  section's key,value pairs (NULL-terminated array of 2n strings,
     *  borrowed, valid until close), so a function may read its own keys
     *  (e.g. a model path).  Returns 0 and sets *state, or nonzero with a
     *  message in err (err_size bytes, NUL-terminated).  May be NULL. */
    int (*init)(void **state, const char *const *options, char *err, size_t err_size);

    /** Compute nrows results.  args: nrows * nargs values, row-major (row
     *  r's argument i is args[r * nargs + i]), typed as declared in SQL or
     *  SQL NULL.  results: nrows values to fill, each of the declared
     *  RETURNS type or NULL (SLUICE_TYPE_NULL).  Returns 0, or nonzero
     *  with a message in err: the whole batch then counts as failed (the
     *  profile's `on_error` decides what happens to its rows). */
    int (*call)(void *state, size_t nrows, size_t nargs, const sluice_value *args, sluice_value *results,
                char *err, size_t err_size);

    /** Free the state (may be NULL). */
    void (*close)(void *state);
} sluice_function_abi;

#ifdef __cplusplus
}
#endif

#endif
