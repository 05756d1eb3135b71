/*
 * TLS for the Redis connectors (private to src/connectors/).  The hiredis
 * of Debian 12 (0.14) has no TLS, but it can talk RESP over a descriptor
 * it is given (redisConnectFd).  A tunnel gives it one end of a
 * socketpair; a thread moves the bytes between the other end and an
 * OpenSSL connection on the real TCP socket.  hiredis keeps its own
 * blocking reads, writes and timeouts (SO_RCVTIMEO/SO_SNDTIMEO on its end);
 * a TLS failure closes hiredis's side of the stream, which hiredis reports
 * as a lost connection, and sluice_redis_tls_error() says why.
 *
 * Options and their names follow Redis's own client (redis-cli --tls,
 * --cacert, --cert, --key, --sni): verification of the server's chain and
 * of its name is on unless verify = false.
 */
#ifndef SLUICE_REDIS_TLS_H
#define SLUICE_REDIS_TLS_H

#include <stddef.h>
#include <stdint.h>

/** The [redis] tls.* settings (strings borrowed from the config). */
typedef struct sluice_redis_tls_opts {
    const char *ca_file;     /**< PEM CA bundle; NULL: the system's default trust store */
    const char *cert_file;   /**< PEM client certificate (chain), for client auth; NULL: none */
    const char *key_file;    /**< PEM private key of cert_file */
    const char *server_name; /**< SNI and the name (or IP address) the certificate must match */
    int verify;              /**< 1: verify the chain and the name (default); 0: accept any certificate */
} sluice_redis_tls_opts;

typedef struct sluice_redis_tls sluice_redis_tls;

/** Outcome of sluice_redis_tls_open(). */
enum {
    SLUICE_REDIS_TLS_OK = 0,
    SLUICE_REDIS_TLS_RETRY, /**< handshake timed out or the connection failed: worth retrying */
    SLUICE_REDIS_TLS_FATAL, /**< certificate/key files unusable or the server's certificate refused */
    SLUICE_REDIS_TLS_NOMEM
};

/** Run the TLS handshake on the connected TCP socket `fd` (taking it over:
 *  it is closed on failure and by sluice_redis_tls_close()) within
 *  timeout_ms, then start the pump.  On success *out holds the tunnel and
 *  *app_fd the descriptor hiredis talks plain RESP over (owned by the
 *  caller, normally handed to redisConnectFd; closing it stops the pump).
 *  On failure err holds the reason, such as "TLS handshake: certificate
 *  verify failed: unable to get local issuer certificate". */
int sluice_redis_tls_open(int fd, const sluice_redis_tls_opts *o, int64_t timeout_ms, sluice_redis_tls **out,
                          int *app_fd, char *err, size_t err_size);

/** The reason the tunnel stopped ("" while it runs or after a clean close
 *  by the caller): copied into buf. */
void sluice_redis_tls_error(sluice_redis_tls *t, char *buf, size_t size);

/** Stop the pump (after the caller closed app_fd, or now), close the TLS
 *  connection and its socket, free the tunnel.  NULL is a no-op. */
void sluice_redis_tls_close(sluice_redis_tls *t);

#endif
