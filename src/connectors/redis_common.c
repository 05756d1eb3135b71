/*
 * The [redis] section and the connection of the Redis connectors
 * (redis_common.h).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "connectors/redis_common.h"
#include "base/clock.h"
#include "base/config.h"
#include "base/log.h"
#include "base/option_spec.h"

/* The [redis] section's option table (redis_common.h).  The defaults are
 * the ones sluice_redis_conn_parse() applies. */
const sluice_option_spec sluice_redis_shared_specs[] = {
    {"host", SLUICE_OPT_STRING, "127.0.0.1", "the server's host name or address", NULL, 0, 0, 0},
    {"port", SLUICE_OPT_INT, "6379", "the server's TCP port", NULL, 1, 65535, 0},
    {"socket", SLUICE_OPT_STRING, NULL, "the Unix socket of a local server, in place of host and port", NULL, 0, 0,
     0},
    {"db", SLUICE_OPT_INT, "0", "the database number (SELECT)", NULL, 0, 100000, 0},
    {"user", SLUICE_OPT_STRING, NULL, "the ACL user (AUTH user password); needs a password", NULL, 0, 0, 0},
    {"password", SLUICE_OPT_STRING, NULL, "the password (AUTH; write `${REDIS_PASSWORD}`)", NULL, 0, 0,
     SLUICE_OPT_SECRET},
    {"tls", SLUICE_OPT_BOOL, "false", "connect over TLS (OpenSSL; TCP only, not with socket)", NULL, 0, 0, 0},
    {"tls.ca_file", SLUICE_OPT_STRING, NULL,
     "PEM file of the CAs that may sign the server's certificate; unset: the system's trust store", NULL, 0, 0, 0},
    {"tls.cert_file", SLUICE_OPT_STRING, NULL,
     "PEM client certificate (with its chain), for a server that requires client authentication", NULL, 0, 0, 0},
    {"tls.key_file", SLUICE_OPT_STRING, NULL, "PEM private key of tls.cert_file", NULL, 0, 0, 0},
    {"tls.server_name", SLUICE_OPT_STRING, NULL,
     "the name sent as SNI and that the server's certificate must match (a host name or IP address); default host",
     NULL, 0, 0, 0},
    {"tls.verify", SLUICE_OPT_BOOL, "true",
     "verify the server's certificate chain and name; false accepts any certificate (testing only)", NULL, 0, 0, 0},
    {"connect_timeout", SLUICE_OPT_DURATION, "10s", "time to establish a connection, from 1ms to 1d", NULL, 0, 0, 0},
    {"command_timeout", SLUICE_OPT_DURATION, "60s", "time to wait for a reply, from 1ms to 1d", NULL, 0, 0, 0},
    {"retry_timeout", SLUICE_OPT_DURATION, "60s",
     "how long a lost connection or a busy server is retried (backoff from 100ms doubling to 5s) before the run "
     "fails, from 1ms to 1d; a sink section's retry_timeout overrides it",
     NULL, 0, 0, 0},
    {NULL, 0, NULL, NULL, NULL, 0, 0, 0},
};

#define BACKOFF_FIRST_MS 100
#define BACKOFF_MAX_MS 5000

/* ---------------- the [redis] section ---------------- */

static const char *shared_get(const sluice_module_config *cfg, const char *key) {
    for (const char *const *kv = cfg->shared; kv && kv[0]; kv += 2)
        if (strcmp(kv[0], key) == 0) return kv[1] && kv[1][0] ? kv[1] : NULL;
    return NULL;
}

static sluice_err_t shared_bad(const sluice_redis_conn *r, const sluice_module_config *cfg, const char *key,
                               const char *why, char *errstr, size_t errstr_size) {
    const char *v = strcmp(key, "password") == 0 ? "****" : shared_get(cfg, key);
    return sluice_seterr(errstr, errstr_size, SLUICE_ERR_CONFIG, "%s %s (redis): [redis] %s = '%s': %s", r->kind,
                         r->instance, key, v ? v : "", why);
}

static sluice_err_t shared_duration(const sluice_redis_conn *r, const sluice_module_config *cfg, const char *key,
                                    int64_t *out, char *errstr, size_t errstr_size) {
    const char *v = shared_get(cfg, key);
    int64_t ms;
    if (!v) return SLUICE_OK;
    if (sluice_parse_duration_ms(v, &ms) != 0 || ms < 1 || ms > 86400000)
        return shared_bad(r, cfg, key, "expected a duration between 1ms and 1d, such as 10s", errstr, errstr_size);
    *out = ms;
    return SLUICE_OK;
}

/* true/false spellings of a boolean option */
static int bool_value(const char *v) {
    static const char *const yes[] = {"true", "1", "yes", "on", NULL}, *const no[] = {"false", "0", "no", "off", NULL};
    for (size_t i = 0; yes[i]; i++) {
        if (strcasecmp(v, yes[i]) == 0) return 1;
        if (strcasecmp(v, no[i]) == 0) return 0;
    }
    return -1;
}

sluice_err_t sluice_redis_conn_parse(sluice_redis_conn *r, const sluice_module_config *cfg, const char *kind,
                                     char *errstr, size_t errstr_size) {
    memset(r, 0, sizeof *r);
    r->kind = kind;
    r->instance = cfg->instance ? cfg->instance : "?";
    for (const char *const *kv = cfg->shared; kv && kv[0]; kv += 2)
        if (!sluice_option_spec_find(sluice_redis_shared_specs, kv[0])) {
            char accepted[600];
            sluice_option_spec_names(sluice_redis_shared_specs, accepted, sizeof accepted);
            return sluice_seterr(errstr, errstr_size, SLUICE_ERR_CONFIG,
                                 "%s %s (redis): unknown key '%s' in [redis]; accepted: %s", kind, r->instance, kv[0],
                                 accepted);
        }
    r->host = shared_get(cfg, "host");
    if (!r->host) r->host = "127.0.0.1";
    r->socket = shared_get(cfg, "socket");
    r->user = shared_get(cfg, "user");
    r->password = shared_get(cfg, "password");
    if (r->user && !r->password)
        return shared_bad(r, cfg, "user", "a user needs a password (AUTH user password)", errstr, errstr_size);
    r->port = 6379;
    const char *v = shared_get(cfg, "port");
    if (v) {
        char *end;
        errno = 0;
        long p = strtol(v, &end, 10);
        if (errno || *end || p < 1 || p > 65535)
            return shared_bad(r, cfg, "port", "expected a TCP port 1..65535", errstr, errstr_size);
        r->port = (int)p;
    }
    if ((v = shared_get(cfg, "db"))) {
        char *end;
        errno = 0;
        long long d = strtoll(v, &end, 10);
        if (errno || *end || d < 0 || d > 100000)
            return shared_bad(r, cfg, "db", "expected a database number (0, 1, ...)", errstr, errstr_size);
        r->db = d;
    }
    if ((v = shared_get(cfg, "tls"))) {
        int b = bool_value(v);
        if (b < 0) return shared_bad(r, cfg, "tls", "expected true or false", errstr, errstr_size);
        if (b && r->socket)
            return shared_bad(r, cfg, "tls", "TLS is for host and port; a unix socket is local", errstr, errstr_size);
        r->tls = b;
    }
    r->tls_opts.verify = 1;
    if ((v = shared_get(cfg, "tls.verify"))) {
        int b = bool_value(v);
        if (b < 0) return shared_bad(r, cfg, "tls.verify", "expected true or false", errstr, errstr_size);
        r->tls_opts.verify = b;
    }
    static const char *const files[] = {"tls.ca_file", "tls.cert_file", "tls.key_file"};
    const char **file_opts[] = {&r->tls_opts.ca_file, &r->tls_opts.cert_file, &r->tls_opts.key_file};
    for (size_t i = 0; i < 3; i++) {
        *file_opts[i] = shared_get(cfg, files[i]);
        if (*file_opts[i] && access(*file_opts[i], R_OK) != 0) {
            char why[300];
            snprintf(why, sizeof why, "cannot read: %s", strerror(errno));
            return shared_bad(r, cfg, files[i], why, errstr, errstr_size);
        }
    }
    if (!r->tls_opts.cert_file != !r->tls_opts.key_file)
        return shared_bad(r, cfg, r->tls_opts.cert_file ? "tls.cert_file" : "tls.key_file",
                          "tls.cert_file and tls.key_file go together", errstr, errstr_size);
    r->tls_opts.server_name = shared_get(cfg, "tls.server_name");
    if (!r->tls_opts.server_name) r->tls_opts.server_name = r->host;
    r->connect_timeout_ms = 10000;
    r->command_timeout_ms = 60000;
    r->retry_timeout_ms = 60000;
    sluice_err_t err;
    if ((err = shared_duration(r, cfg, "connect_timeout", &r->connect_timeout_ms, errstr, errstr_size)) ||
        (err = shared_duration(r, cfg, "command_timeout", &r->command_timeout_ms, errstr, errstr_size)) ||
        (err = shared_duration(r, cfg, "retry_timeout", &r->retry_timeout_ms, errstr, errstr_size)))
        return err;
    return SLUICE_OK;
}

/* ---------------- the connection ---------------- */

void sluice_redis_conn_drop(sluice_redis_conn *r) {
    if (r->c) redisFree(r->c); /* closes hiredis's end of a tunnel first */
    r->c = NULL;
    sluice_redis_tls_close(r->tunnel);
    r->tunnel = NULL;
}

void sluice_redis_conn_lost(sluice_redis_conn *r) {
    char why[400] = "";
    if (r->tunnel) sluice_redis_tls_error(r->tunnel, why, sizeof why);
    if (!why[0]) snprintf(why, sizeof why, "%s", r->c && r->c->errstr[0] ? r->c->errstr : "lost");
    snprintf(r->err, sizeof r->err, "connection: %s", why);
}

static struct timeval tv_ms(int64_t ms) {
    return (struct timeval){.tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000};
}

redisReply *sluice_redis_command(sluice_redis_conn *r, int argc, const char **argv, const size_t *lens) {
    redisReply *rep = redisCommandArgv(r->c, argc, argv, lens);
    if (!rep) sluice_redis_conn_lost(r);
    return rep;
}

/* Server errors worth waiting out: the server is loading its data set,
 * busy in a script, or a replica without its master. */
static int error_is_transient(const char *msg) {
    static const char *const codes[] = {"LOADING", "BUSY", "TRYAGAIN", "MASTERDOWN", NULL};
    for (const char *const *c = codes; *c; c++)
        if (strncmp(msg, *c, strlen(*c)) == 0) return 1;
    return 0;
}

int sluice_redis_reply_error(sluice_redis_conn *r, const redisReply *rep, const char *what) {
    if (!rep) return SLUICE_REDIS_CONN;
    if (rep->type != REDIS_REPLY_ERROR) return SLUICE_REDIS_OK;
    snprintf(r->err, sizeof r->err, "%s: %s", what, rep->str);
    return error_is_transient(rep->str) ? SLUICE_REDIS_TRANSIENT : SLUICE_REDIS_SERVER;
}

/* Swap the TCP context for one over a TLS tunnel on its socket: hiredis
 * 0.14 has no TLS of its own (redis_tls.h). */
static int tls_wrap(sluice_redis_conn *r) {
    static const int outcome[] = {[SLUICE_REDIS_TLS_OK] = SLUICE_REDIS_OK,
                                  [SLUICE_REDIS_TLS_RETRY] = SLUICE_REDIS_CONN,
                                  [SLUICE_REDIS_TLS_FATAL] = SLUICE_REDIS_SERVER,
                                  [SLUICE_REDIS_TLS_NOMEM] = SLUICE_REDIS_NOMEM};
    int fd = redisFreeKeepFd(r->c), app = -1;
    r->c = NULL;
    char why[400];
    int e = sluice_redis_tls_open(fd, &r->tls_opts, r->connect_timeout_ms, &r->tunnel, &app, why, sizeof why);
    if (e) {
        snprintf(r->err, sizeof r->err, "cannot connect to %s:%d: %s", r->host, r->port, why);
        return outcome[e];
    }
    r->c = redisConnectFd(app);
    if (!r->c || r->c->err) {
        snprintf(r->err, sizeof r->err, "cannot connect to %s:%d: TLS: out of memory", r->host, r->port);
        if (!r->c) close(app);
        sluice_redis_conn_drop(r);
        return SLUICE_REDIS_NOMEM;
    }
    return SLUICE_REDIS_OK;
}

int sluice_redis_conn_connect(sluice_redis_conn *r) {
    sluice_redis_conn_drop(r);
    struct timeval tv = tv_ms(r->connect_timeout_ms);
    r->c = r->socket ? redisConnectUnixWithTimeout(r->socket, tv) : redisConnectWithTimeout(r->host, r->port, tv);
    if (!r->c) {
        snprintf(r->err, sizeof r->err, "cannot connect: out of memory");
        return SLUICE_REDIS_NOMEM;
    }
    if (r->c->err) {
        if (r->socket) snprintf(r->err, sizeof r->err, "cannot connect to %s: %s", r->socket, r->c->errstr);
        else snprintf(r->err, sizeof r->err, "cannot connect to %s:%d: %s", r->host, r->port, r->c->errstr);
        sluice_redis_conn_drop(r);
        return SLUICE_REDIS_CONN;
    }
    /* keep-alive probes notice a peer gone silent; TCP only (on a unix
     * socket the option fails and would leave the context in error) */
    if (!r->socket && redisEnableKeepAlive(r->c) != REDIS_OK) {
        snprintf(r->err, sizeof r->err, "cannot enable TCP keep-alive: %s", r->c->errstr);
        sluice_redis_conn_drop(r);
        return SLUICE_REDIS_CONN;
    }
    if (r->tls) {
        int e = tls_wrap(r);
        if (e) return e;
    }
    redisSetTimeout(r->c, tv_ms(r->command_timeout_ms));
    int e;
    if (r->password) {
        /* AUTH password, or AUTH user password (Redis 6 ACL) */
        const char *a[] = {"AUTH", r->user ? r->user : r->password, r->password};
        redisReply *rep = sluice_redis_command(r, r->user ? 3 : 2, a, NULL);
        e = sluice_redis_reply_error(r, rep, "AUTH");
        freeReplyObject(rep);
        if (e) return e;
    }
    if (r->db) {
        char db[32];
        snprintf(db, sizeof db, "%" PRId64, r->db);
        const char *a[] = {"SELECT", db};
        redisReply *rep = sluice_redis_command(r, 2, a, NULL);
        e = sluice_redis_reply_error(r, rep, "SELECT");
        freeReplyObject(rep);
        if (e) return e;
    }
    return SLUICE_REDIS_OK;
}

/* ---------------- retries ---------------- */

static void sleep_ms(int64_t ms) {
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

sluice_err_t sluice_redis_retry(sluice_redis_conn *r, int (*step)(void *ctx), void *ctx, const char *pipeline,
                                const char *what, char *errstr, size_t errstr_size) {
    int64_t start = sluice_clock_monotonic_ms(), delay = BACKOFF_FIRST_MS;
    for (int attempt = 1;; attempt++) {
        int e = r->c ? SLUICE_REDIS_OK : sluice_redis_conn_connect(r);
        if (!e) e = step(ctx);
        if (!e) return SLUICE_OK;
        if (e == SLUICE_REDIS_NOMEM)
            return sluice_seterr(errstr, errstr_size, SLUICE_ERR_NOMEM, "%s %s (redis): out of memory", r->kind,
                                 r->instance);
        if (e == SLUICE_REDIS_SERVER)
            return sluice_seterr(errstr, errstr_size, SLUICE_ERR_IO, "%s %s (redis): %s: %s", r->kind, r->instance,
                                 what, r->err);
        sluice_redis_conn_drop(r); /* a new connection: AUTH and SELECT again */
        int64_t elapsed = sluice_clock_monotonic_ms() - start;
        if (elapsed + delay > r->retry_timeout_ms)
            return sluice_seterr(errstr, errstr_size, SLUICE_ERR_IO,
                                 "%s %s (redis): %s: %s; gave up after %d attempts in %.1fs (retry_timeout)", r->kind,
                                 r->instance, what, r->err, attempt, elapsed / 1000.0);
        sluice_log(SLUICE_LOG_WARN, pipeline, "redis", r->instance, "%s: %s; retrying in %" PRId64 "ms", what, r->err,
                   delay);
        sleep_ms(delay);
        delay = delay * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : delay * 2;
    }
}
