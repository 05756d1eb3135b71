/*
 * `connector = c`: a function implemented in a shared object with the C
 * ABI of include/sluice/function.h, loaded with dlopen() at bind time.
 *
 *   [function sentiment]
 *   connector = c
 *   library = build/libsluice_afinn.so   ; a path (dlopen's rules apply to a bare name)
 *   symbol = sluice_afinn_sentiment      ; a `const sluice_function_abi`
 *
 * Every other key of the section is handed to the function's init().
 */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "connectors/function.h"
#include "sluice/function.h"

typedef struct c_function {
    void *handle;
    const sluice_function_abi *abi;
    void *state;
} c_function;


/* No option table: besides library and symbol, every key of the section
 * is the function's own, handed to its init(), which checks it. */
static sluice_err_t c_validate(const sluice_function_plan *f, const sluice_option *opts, size_t n, char *errstr,
                               size_t errstr_size) {
    static const char *const required[] = {"library", "symbol"};
    for (size_t i = 0; i < 2; i++) {
        const sluice_option *o = sluice_function_option(opts, n, required[i]);
        if (!o || !o->value[0])
            return sluice_function_option_error(errstr, errstr_size, sluice_function_option(opts, n, "connector"),
                        "[function %s]: connector = c needs %s = ... (%s)", f->name, required[i],
                        i == 0 ? "the path of a shared object" : "the name of its sluice_function_abi object");
    }
    return SLUICE_OK;
}

static int c_call(void *ctx, size_t nrows, size_t nargs, const sluice_value *args, sluice_value *results,
                  unsigned char *failed, char *err, size_t err_size) {
    c_function *cf = ctx;
    (void)failed; /* a failed C call fails all its rows */
    return cf->abi->call(cf->state, nrows, nargs, args, results, err, err_size);
}

static void c_close(sluice_udf_binding *b) {
    c_function *cf = b->ctx;
    if (!cf) return;
    if (cf->abi && cf->abi->close && cf->state) cf->abi->close(cf->state);
    if (cf->handle) dlclose(cf->handle);
    free(cf);
    b->ctx = NULL;
}

static sluice_err_t c_open(const sluice_function_plan *f, const sluice_option *opts, size_t n,
                           const char *const *kv, sluice_udf_binding *b, char *errstr, size_t errstr_size) {
    sluice_err_t err = c_validate(f, opts, n, errstr, errstr_size);
    if (err) return err;
    const sluice_option *lib = sluice_function_option(opts, n, "library"), *sym = sluice_function_option(opts, n, "symbol");
    c_function *cf = calloc(1, sizeof *cf);
    if (!cf) return SLUICE_ERR_NOMEM;
    b->ctx = cf;
    b->call = c_call;
    b->call_rows = b->batch_size;
    if (!(cf->handle = dlopen(lib->value, RTLD_NOW | RTLD_LOCAL)))
        return sluice_function_option_error(errstr, errstr_size, lib, "[function %s]: cannot load library '%s': %s", f->name, lib->value,
                    dlerror());
    dlerror();
    const sluice_function_abi *abi = dlsym(cf->handle, sym->value);
    if (!abi)
        return sluice_function_option_error(errstr, errstr_size, sym, "[function %s]: %s has no symbol '%s'", f->name, lib->value,
                    sym->value);
    if (abi->abi_version != SLUICE_FUNCTION_ABI_VERSION)
        return sluice_function_option_error(errstr, errstr_size, sym,
                    "[function %s]: %s in %s has ABI version %u, this sluice expects %u (rebuild it against "
                    "include/sluice/function.h)",
                    f->name, sym->value, lib->value, abi->abi_version, SLUICE_FUNCTION_ABI_VERSION);
    if (!abi->call)
        return sluice_function_option_error(errstr, errstr_size, sym, "[function %s]: %s has no call function", f->name, sym->value);
    cf->abi = abi;
    if (abi->init) {
        char msg[512] = "";
        if (abi->init(&cf->state, kv, msg, sizeof msg) != 0)
            return sluice_function_option_error(errstr, errstr_size, sym, "[function %s]: %s failed to initialise: %s", f->name, sym->value,
                        msg[0] ? msg : "no reason given");
    }
    return SLUICE_OK;
}

const sluice_function_connector sluice_function_c = {
    .name = "c",
    .validate = c_validate,
    .open = c_open,
    .close = c_close,
};
