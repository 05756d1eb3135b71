/*
 * A model server on loopback for the tests of `connector = http`: it
 * answers POST {"instances": [{...}, ...]} with {"predictions": [...]},
 * scoring the first string of each instance with the AFINN function of
 * afinn_udf.c (so both bindings give the same results), and counts the
 * requests and instances it was sent.  It runs in threads of the test
 * process (libmicrohttpd).
 */
#ifndef SLUICE_TEST_MODEL_SERVER_H
#define SLUICE_TEST_MODEL_SERVER_H

typedef enum model_mode {
    MODEL_OK,        /**< answer every request */
    MODEL_FAIL_FIRST,/**< answer the first `n` requests with status 500, then normally */
    MODEL_HANG,      /**< never answer (until stopped) */
    MODEL_DIE_AFTER  /**< answer `n` requests, then close every connection without an answer */
} model_mode;

typedef struct model_server model_server;

/** Start on 127.0.0.1, an ephemeral port, with the lexicon at path.  NULL on failure. */
model_server *model_server_start(const char *lexicon);
int model_server_port(const model_server *m);
void model_server_set_mode(model_server *m, model_mode mode, unsigned n);
/** Requests received (answered or not) since start. */
unsigned model_server_requests(model_server *m);
/** Instances received in all requests. */
unsigned model_server_instances(model_server *m);
/** Largest number of requests being handled at the same time. */
unsigned model_server_max_concurrent(model_server *m);
void model_server_stop(model_server *m);

#endif
