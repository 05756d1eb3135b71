/*
 * TLS for the Redis connectors: an OpenSSL connection pumped to a
 * socketpair that hiredis talks over (redis_tls.h).
 *
 * One thread owns the SSL object (OpenSSL forbids concurrent SSL_read and
 * SSL_write on one connection): it runs the handshake, then moves bytes
 * both ways with the TCP socket non-blocking.  It blocks SIGPIPE for
 * itself, so a server that resets the connection is an EPIPE error here
 * rather than a signal that would end the process.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "connectors/redis_tls.h"
#include "base/clock.h"

#define PUMP_BUF 16384

struct sluice_redis_tls {
    SSL_CTX *ctx;
    SSL *ssl;
    int fd;         /* the TCP socket */
    int peer;       /* our end of the socketpair */
    int wake;       /* eventfd: sluice_redis_tls_close() asks the pump to stop */
    int64_t timeout_ms;
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cond;
    int handshake;  /* under mu: 0 running, else a SLUICE_REDIS_TLS_* outcome + 1 */
    char err[400];  /* under mu: why the tunnel stopped */
};

/* The first failure is kept: it is the cause, later ones its effects. */
__attribute__((format(printf, 2, 3))) static void set_err(sluice_redis_tls *t, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    pthread_mutex_lock(&t->mu);
    if (!t->err[0]) vsnprintf(t->err, sizeof t->err, fmt, ap);
    pthread_mutex_unlock(&t->mu);
    va_end(ap);
}

/* The reason of an OpenSSL failure: the first error of this thread's
 * queue, else the system error, else `fallback`. */
static const char *ssl_reason(int ssl_error, char *buf, size_t size, const char *fallback) {
    unsigned long e = ERR_get_error();
    ERR_clear_error();
    if (e) {
        const char *r = ERR_reason_error_string(e);
        if (r) snprintf(buf, size, "%s", r);
        else ERR_error_string_n(e, buf, size);
    } else if (ssl_error == SSL_ERROR_SYSCALL && errno) {
        snprintf(buf, size, "%s", strerror(errno));
    } else {
        snprintf(buf, size, "%s", fallback);
    }
    return buf;
}

/* ---------------- handshake ---------------- */

static int handshake(sluice_redis_tls *t) {
    int64_t deadline = sluice_clock_monotonic_ms() + t->timeout_ms;
    for (;;) {
        ERR_clear_error();
        errno = 0;
        int rc = SSL_connect(t->ssl);
        if (rc == 1) return SLUICE_REDIS_TLS_OK;
        int e = SSL_get_error(t->ssl, rc);
        if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
            int64_t left = deadline - sluice_clock_monotonic_ms();
            struct pollfd p[2] = {{.fd = t->fd, .events = e == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT},
                                  {.fd = t->wake, .events = POLLIN}};
            if (left <= 0 || poll(p, 2, (int)(left > 3600000 ? 3600000 : left)) == 0) {
                if (sluice_clock_monotonic_ms() < deadline) continue;
                set_err(t, "TLS handshake: no answer within %" PRId64 "ms (connect_timeout)", t->timeout_ms);
                return SLUICE_REDIS_TLS_RETRY;
            }
            if (p[1].revents) {
                set_err(t, "TLS handshake: %s", "cancelled");
                return SLUICE_REDIS_TLS_RETRY;
            }
            continue;
        }
        long v = SSL_get_verify_result(t->ssl);
        char why[256];
        if (v != X509_V_OK) {
            ERR_clear_error();
            set_err(t, "TLS handshake: certificate verify failed: %s", X509_verify_cert_error_string(v));
            return SLUICE_REDIS_TLS_FATAL;
        }
        set_err(t, "TLS handshake: %s", ssl_reason(e, why, sizeof why, "the server closed the connection"));
        return SLUICE_REDIS_TLS_RETRY;
    }
}

/* ---------------- the pump ---------------- */

/* After a failure: hiredis reads end-of-stream; what it still writes is
 * read and dropped until it closes its end (so it never meets EPIPE) or
 * the tunnel is closed. */
static void drain(sluice_redis_tls *t) {
    shutdown(t->peer, SHUT_WR);
    char buf[4096];
    for (;;) {
        struct pollfd p[2] = {{.fd = t->peer, .events = POLLIN}, {.fd = t->wake, .events = POLLIN}};
        if (poll(p, 2, -1) < 0 && errno != EINTR) return;
        if (p[1].revents) return;
        if (p[0].revents) {
            ssize_t n = read(t->peer, buf, sizeof buf);
            if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) return;
        }
    }
}

/* After a failed write: an alert the server sent may still be readable;
 * if so, its reason replaces why. */
static void alert_reason(sluice_redis_tls *t, char *why, size_t size) {
    char scratch[512]; /* the run is failing: data read here is dropped */
    ERR_clear_error();
    errno = 0;
    int n = SSL_read(t->ssl, scratch, sizeof scratch);
    if (n <= 0 && SSL_get_error(t->ssl, n) == SSL_ERROR_SSL && ERR_peek_error()) {
        char alert[256];
        ssl_reason(SSL_ERROR_SSL, alert, sizeof alert, "");
        snprintf(why, size, "%s", alert);
    }
    ERR_clear_error();
}

static void pump(sluice_redis_tls *t) {
    char *up = malloc(PUMP_BUF), *down = malloc(PUMP_BUF), why[256];
    size_t uoff = 0, ulen = 0, doff = 0, dlen = 0;
    if (!up || !down) {
        set_err(t, "TLS: %s", "out of memory");
        goto failed;
    }
    for (;;) {
        int progress = 0;
        short tcp_events = 0, peer_events = 0;
        /* hiredis -> server */
        if (ulen == 0) {
            ssize_t n = read(t->peer, up, PUMP_BUF);
            if (n > 0) {
                uoff = 0, ulen = (size_t)n, progress = 1;
            } else if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
                goto closed; /* the caller closed its end */
            } else {
                peer_events |= POLLIN;
            }
        }
        if (ulen) {
            ERR_clear_error();
            errno = 0;
            int n = SSL_write(t->ssl, up + uoff, (int)ulen);
            if (n > 0) {
                uoff += (size_t)n, ulen -= (size_t)n, progress = 1;
            } else {
                int e = SSL_get_error(t->ssl, n);
                if (e == SSL_ERROR_WANT_READ) tcp_events |= POLLIN;
                else if (e == SSL_ERROR_WANT_WRITE) tcp_events |= POLLOUT;
                else {
                    /* a server that refused us (say, no client certificate
                     * under TLS 1.3, known only after the handshake) sent an
                     * alert before closing: its reason beats EPIPE's */
                    ssl_reason(e, why, sizeof why, "the connection was closed");
                    alert_reason(t, why, sizeof why);
                    set_err(t, "TLS: %s", why);
                    goto failed;
                }
            }
        }
        /* server -> hiredis */
        if (dlen == 0) {
            ERR_clear_error();
            errno = 0;
            int n = SSL_read(t->ssl, down, PUMP_BUF);
            if (n > 0) {
                doff = 0, dlen = (size_t)n, progress = 1;
            } else {
                int e = SSL_get_error(t->ssl, n);
                if (e == SSL_ERROR_WANT_READ) tcp_events |= POLLIN;
                else if (e == SSL_ERROR_WANT_WRITE) tcp_events |= POLLOUT;
                else if (e == SSL_ERROR_ZERO_RETURN) {
                    set_err(t, "TLS: %s", "the server closed the connection");
                    goto failed;
                } else {
                    set_err(t, "TLS: %s", ssl_reason(e, why, sizeof why, "the server closed the connection"));
                    goto failed;
                }
            }
        }
        if (dlen) {
            ssize_t n = send(t->peer, down + doff, dlen, MSG_NOSIGNAL);
            if (n > 0) {
                doff += (size_t)n, dlen -= (size_t)n, progress = 1;
            } else if (errno == EAGAIN || errno == EINTR) {
                peer_events |= POLLOUT;
            } else {
                goto closed;
            }
        }
        if (progress) continue;
        struct pollfd p[3] = {{.fd = t->peer, .events = peer_events},
                              {.fd = t->fd, .events = tcp_events},
                              {.fd = t->wake, .events = POLLIN}};
        if (poll(p, 3, -1) < 0 && errno != EINTR) {
            set_err(t, "TLS: poll: %s", strerror(errno));
            goto failed;
        }
        if (p[2].revents) goto closed;
        if ((p[0].revents & (POLLHUP | POLLERR)) && !(p[0].revents & POLLIN)) goto closed;
    }
failed:
    free(up);
    free(down);
    drain(t);
    return;
closed:
    free(up);
    free(down);
}

static void *pump_main(void *arg) {
    sluice_redis_tls *t = arg;
    sigset_t pipe;
    sigemptyset(&pipe);
    sigaddset(&pipe, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &pipe, NULL);
    int h = handshake(t);
    pthread_mutex_lock(&t->mu);
    t->handshake = h + 1;
    pthread_cond_signal(&t->cond);
    pthread_mutex_unlock(&t->mu);
    if (h == SLUICE_REDIS_TLS_OK) pump(t);
    return NULL;
}

/* ---------------- open and close ---------------- */

/* The context: trust anchors, the client certificate, verification. */
static int make_ctx(sluice_redis_tls *t, const sluice_redis_tls_opts *o, char *err, size_t err_size) {
    char why[256];
    ERR_clear_error();
    t->ctx = SSL_CTX_new(TLS_client_method());
    if (!t->ctx) return SLUICE_REDIS_TLS_NOMEM;
    SSL_CTX_set_min_proto_version(t->ctx, TLS1_2_VERSION);
    SSL_CTX_set_mode(t->ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
    SSL_CTX_set_verify(t->ctx, o->verify ? SSL_VERIFY_PEER : SSL_VERIFY_NONE, NULL);
    if (o->ca_file ? SSL_CTX_load_verify_locations(t->ctx, o->ca_file, NULL) != 1
                   : SSL_CTX_set_default_verify_paths(t->ctx) != 1) {
        snprintf(err, err_size, "tls.ca_file '%s': %s", o->ca_file ? o->ca_file : "(system default)",
                 ssl_reason(0, why, sizeof why, "cannot load"));
        return SLUICE_REDIS_TLS_FATAL;
    }
    if (o->cert_file && SSL_CTX_use_certificate_chain_file(t->ctx, o->cert_file) != 1) {
        snprintf(err, err_size, "tls.cert_file '%s': %s", o->cert_file, ssl_reason(0, why, sizeof why, "cannot load"));
        return SLUICE_REDIS_TLS_FATAL;
    }
    if (o->key_file && (SSL_CTX_use_PrivateKey_file(t->ctx, o->key_file, SSL_FILETYPE_PEM) != 1 ||
                        SSL_CTX_check_private_key(t->ctx) != 1)) {
        snprintf(err, err_size, "tls.key_file '%s': %s", o->key_file, ssl_reason(0, why, sizeof why, "cannot load"));
        return SLUICE_REDIS_TLS_FATAL;
    }
    return SLUICE_REDIS_TLS_OK;
}

/* The connection: SNI and the name to verify (an IP address is matched
 * against the certificate's IP addresses, and sent without SNI, which
 * RFC 6066 reserves for host names). */
static int make_ssl(sluice_redis_tls *t, const sluice_redis_tls_opts *o, char *err, size_t err_size) {
    t->ssl = SSL_new(t->ctx);
    if (!t->ssl) return SLUICE_REDIS_TLS_NOMEM;
    const char *name = o->server_name;
    unsigned char addr[16];
    int ip = name && (inet_pton(AF_INET, name, addr) == 1 || inet_pton(AF_INET6, name, addr) == 1);
    if (name && !ip && SSL_set_tlsext_host_name(t->ssl, name) != 1) {
        snprintf(err, err_size, "tls.server_name '%s': not usable as SNI", name);
        return SLUICE_REDIS_TLS_FATAL;
    }
    if (name && o->verify) {
        int ok = ip ? X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(t->ssl), name) : SSL_set1_host(t->ssl, name);
        if (ok != 1) {
            snprintf(err, err_size, "tls.server_name '%s': not usable as a verification name", name);
            return SLUICE_REDIS_TLS_FATAL;
        }
    }
    if (SSL_set_fd(t->ssl, t->fd) != 1) return SLUICE_REDIS_TLS_NOMEM;
    return SLUICE_REDIS_TLS_OK;
}

static void free_tunnel(sluice_redis_tls *t) {
    if (t->ssl) SSL_free(t->ssl);
    if (t->ctx) SSL_CTX_free(t->ctx);
    if (t->fd >= 0) close(t->fd);
    if (t->peer >= 0) close(t->peer);
    if (t->wake >= 0) close(t->wake);
    pthread_mutex_destroy(&t->mu);
    pthread_cond_destroy(&t->cond);
    free(t);
}

int sluice_redis_tls_open(int fd, const sluice_redis_tls_opts *o, int64_t timeout_ms, sluice_redis_tls **out,
                          int *app_fd, char *err, size_t err_size) {
    *out = NULL;
    *app_fd = -1;
    err[0] = '\0';
    sluice_redis_tls *t = calloc(1, sizeof *t);
    if (!t) {
        close(fd);
        snprintf(err, err_size, "TLS: out of memory");
        return SLUICE_REDIS_TLS_NOMEM;
    }
    t->fd = fd;
    t->peer = t->wake = -1;
    t->timeout_ms = timeout_ms;
    pthread_mutex_init(&t->mu, NULL);
    pthread_cond_init(&t->cond, NULL);
    int sp[2] = {-1, -1}, rc;
    if ((rc = make_ctx(t, o, err, err_size)) || (rc = make_ssl(t, o, err, err_size))) goto fail;
    rc = SLUICE_REDIS_TLS_RETRY;
    int fl = fcntl(fd, F_GETFL);
    if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0 ||
        socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp) < 0 ||
        fcntl(sp[1], F_SETFL, fcntl(sp[1], F_GETFL) | O_NONBLOCK) < 0 ||
        (t->wake = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) < 0) {
        snprintf(err, err_size, "TLS: %s", strerror(errno));
        goto fail;
    }
    t->peer = sp[1];
    if (pthread_create(&t->thread, NULL, pump_main, t) != 0) {
        snprintf(err, err_size, "TLS: cannot start a thread");
        goto fail;
    }
    pthread_mutex_lock(&t->mu);
    while (!t->handshake) pthread_cond_wait(&t->cond, &t->mu);
    rc = t->handshake - 1;
    if (rc) snprintf(err, err_size, "%s", t->err);
    pthread_mutex_unlock(&t->mu);
    if (rc) {
        pthread_join(t->thread, NULL);
        goto fail;
    }
    *out = t;
    *app_fd = sp[0];
    return SLUICE_REDIS_TLS_OK;
fail:
    if (sp[0] >= 0) close(sp[0]);
    if (!err[0]) snprintf(err, err_size, "TLS: out of memory");
    free_tunnel(t);
    return rc;
}

void sluice_redis_tls_error(sluice_redis_tls *t, char *buf, size_t size) {
    pthread_mutex_lock(&t->mu);
    snprintf(buf, size, "%s", t->err);
    pthread_mutex_unlock(&t->mu);
}

void sluice_redis_tls_close(sluice_redis_tls *t) {
    if (!t) return;
    uint64_t one = 1;
    if (write(t->wake, &one, sizeof one) < 0) {
        /* an eventfd write fails only on overflow: the pump is woken anyway */
    }
    pthread_join(t->thread, NULL);
    free_tunnel(t);
}
