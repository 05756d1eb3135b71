/*
 * The [redis] section and the connection of the Redis connectors (private
 * to src/connectors/): settings, connect with AUTH and SELECT, commands,
 * and the retry loop with backoff shared by every step that talks to the
 * server.
 */
#ifndef SLUICE_REDIS_COMMON_H
#define SLUICE_REDIS_COMMON_H

#include <stddef.h>
#include <stdint.h>

#include <hiredis/hiredis.h>

#include "sluice/module.h"
#include "connectors/redis_tls.h"

/** [redis] settings and the live connection. */
typedef struct sluice_redis_conn {
    const char *kind, *instance;      /**< "sink", the instance name: for messages */
    const char *host, *socket, *user, *password; /**< borrowed from the config */
    int port;
    int64_t db;
    int64_t connect_timeout_ms, command_timeout_ms, retry_timeout_ms;
    int tls;                          /**< 1: TLS over host:port (tls = true) */
    sluice_redis_tls_opts tls_opts;   /**< tls.* (server_name defaults to host) */
    sluice_redis_tls *tunnel;         /**< the TLS tunnel hiredis talks through, or NULL */
    redisContext *c;                  /**< NULL when not connected */
    char err[512];                    /**< the last failure, for messages (never the password) */
} sluice_redis_conn;

/** Outcome of one step against the server. */
enum {
    SLUICE_REDIS_OK = 0,
    SLUICE_REDIS_CONN,       /**< connection lost or refused: retry on a new one */
    SLUICE_REDIS_TRANSIENT,  /**< LOADING, BUSY, TRYAGAIN, MASTERDOWN: retry */
    SLUICE_REDIS_SERVER,     /**< any other error reply: fail */
    SLUICE_REDIS_NOMEM       /**< out of memory: fail */
};

/** The option table of the [redis] section (sluice/module.h), ended by a
 *  NULL name: the redis sink's ops set it as their shared_specs, and
 *  sluice_redis_conn_parse() refuses a key it lacks. */
extern const sluice_option_spec sluice_redis_shared_specs[];

/** Parse cfg->shared ([redis]): host (default 127.0.0.1), port (6379),
 *  socket, db (0), user, password, tls (false), tls.ca_file,
 *  tls.cert_file, tls.key_file, tls.server_name (default host),
 *  tls.verify (true), connect_timeout (10s), command_timeout (60s),
 *  retry_timeout (60s).  TLS needs host and port (not socket); the tls.*
 *  files must be readable.  Returns SLUICE_ERR_CONFIG naming the key and its
 *  value (the password masked). */
sluice_err_t sluice_redis_conn_parse(sluice_redis_conn *r, const sluice_module_config *cfg, const char *kind,
                                     char *errstr, size_t errstr_size);

/** Connect (dropping any connection first), with tls the TLS handshake
 *  within connect_timeout, AUTH, SELECT.  Returns an outcome, with r->err
 *  set on failure: a refused server certificate or unusable tls.* files
 *  are SLUICE_REDIS_SERVER (not retried). */
int sluice_redis_conn_connect(sluice_redis_conn *r);

/** Set r->err to "connection: WHY" after hiredis failed on r->c: hiredis's
 *  message, or the TLS tunnel's reason when it closed the stream. */
void sluice_redis_conn_lost(sluice_redis_conn *r);

/** Close the connection, if any. */
void sluice_redis_conn_drop(sluice_redis_conn *r);

/** Run one command (lens NULL: NUL-terminated arguments); the reply, or
 *  NULL after a connection error (r->err says which).  Free with
 *  freeReplyObject(). */
redisReply *sluice_redis_command(sluice_redis_conn *r, int argc, const char **argv, const size_t *lens);

/** SLUICE_REDIS_OK unless `rep` is NULL (connection) or an error reply
 *  (transient or not), then r->err is "WHAT: the server's message". */
int sluice_redis_reply_error(sluice_redis_conn *r, const redisReply *rep, const char *what);

/** Run step(ctx) on a connection (connecting first when there is none),
 *  retrying SLUICE_REDIS_CONN and SLUICE_REDIS_TRANSIENT on a new
 *  connection with exponential backoff (100 ms doubling to 5 s) until
 *  retry_timeout, each retry logged as a warning.  Returns SLUICE_OK, or
 *  SLUICE_ERR_IO / SLUICE_ERR_NOMEM with "KIND INSTANCE (redis): WHAT:
 *  r->err" in errstr. */
sluice_err_t sluice_redis_retry(sluice_redis_conn *r, int (*step)(void *ctx), void *ctx, const char *pipeline,
                                const char *what, char *errstr, size_t errstr_size);

#endif
