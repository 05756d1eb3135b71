/*
 * The [mysql] section and the connection, shared by the mysql sink and the
 * mysql source (mysql_common.h).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <errmsg.h>
#include <mysql.h>
#include <mysqld_error.h>

#include "connectors/connectors_int.h"
#include "connectors/mysql_common.h"
#include "base/clock.h"
#include "base/stop.h"
#include "base/config.h"
#include "base/option_spec.h"

/* The [mysql] section's option table (mysql_common.h).  The defaults are
 * the ones sluice_mysql_conn_parse() applies. */
const sluice_option_spec sluice_mysql_shared_specs[] = {
    {"host", SLUICE_OPT_STRING, NULL, "the server's host name or address; default: localhost", NULL, 0, 0, 0},
    {"port", SLUICE_OPT_INT, "3306", "the server's TCP port", NULL, 1, 65535, 0},
    {"socket", SLUICE_OPT_STRING, NULL, "the Unix socket of a local server, in place of host and port", NULL, 0, 0,
     0},
    {"user", SLUICE_OPT_STRING, NULL, "the user to log in as", NULL, 0, 0, 0},
    {"password", SLUICE_OPT_STRING, NULL, "the user's password (write `${MYSQL_PASSWORD}`)", NULL, 0, 0,
     SLUICE_OPT_SECRET},
    {"database", SLUICE_OPT_STRING, NULL, "the database of the tables the mysql sources read and sinks write", NULL,
     0, 0, SLUICE_OPT_REQUIRED},
    /* MySQL's --ssl-mode values, which its documentation writes in capitals:
     * either spelling, as the connector compares them ignoring case */
    {"ssl_mode", SLUICE_OPT_ENUM, NULL,
     "TLS: off, used when the server offers it, required, or required with the server's certificate verified "
     "against ssl_ca (verify_identity: and its host name); default: preferred when ssl_ca, ssl_capath, ssl_cert, "
     "ssl_key or ssl_cipher is set, else disabled",
     "disabled|preferred|required|verify_ca|verify_identity|DISABLED|PREFERRED|REQUIRED|VERIFY_CA|VERIFY_IDENTITY", 0,
     0, 0},
    {"ssl_ca", SLUICE_OPT_STRING, NULL, "file of the certificate authorities to verify the server with", NULL, 0, 0,
     0},
    {"ssl_capath", SLUICE_OPT_STRING, NULL, "directory of certificate authority files", NULL, 0, 0, 0},
    {"ssl_cert", SLUICE_OPT_STRING, NULL, "file of the client certificate", NULL, 0, 0, 0},
    {"ssl_key", SLUICE_OPT_STRING, NULL, "file of the client certificate's private key", NULL, 0, 0, 0},
    {"ssl_cipher", SLUICE_OPT_STRING, NULL, "the TLS ciphers allowed (OpenSSL cipher list)", NULL, 0, 0, 0},
    {"ssl_crl", SLUICE_OPT_STRING, NULL, "file of the certificate revocation list", NULL, 0, 0, 0},
    {"connect_timeout", SLUICE_OPT_DURATION, "10s", "time to establish a connection, from 1s to 1d", NULL, 0, 0, 0},
    {"read_timeout", SLUICE_OPT_DURATION, "60s", "time to wait for the server's reply, from 1s to 1d", NULL, 0, 0, 0},
    {"write_timeout", SLUICE_OPT_DURATION, "60s", "time to wait for a write to the server, from 1s to 1d", NULL, 0,
     0, 0},
    {"retry_timeout", SLUICE_OPT_DURATION, "60s",
     "how long a lost connection is retried (backoff from 100ms doubling to 5s) before the run fails; a source or "
     "sink section's retry_timeout overrides it",
     NULL, 0, 0, 0},
    {NULL, 0, NULL, NULL, NULL, 0, 0, 0},
};

#define DEFAULT_RETRY_MS 60000

/* Copy a server or client message into buf with the password masked, in
 * case a server echoes it back. */
void sluice_mysql_conn_scrub(const sluice_mysql_conn *s, const char *msg, char *buf, size_t size) {
    size_t pl = s->password ? strlen(s->password) : 0, n = 0;
    if (!msg) msg = "";
    while (*msg && n + 1 < size) {
        if (pl && strncmp(msg, s->password, pl) == 0) {
            for (const char *m = "****"; *m && n + 1 < size; m++) buf[n++] = *m;
            msg += pl;
        } else {
            buf[n++] = *msg++;
        }
    }
    buf[n] = '\0';
}

/* Errors after which the same epoch may succeed on a new connection or in a
 * new transaction. */
int sluice_mysql_err_is_connection(unsigned e) {
    return (e >= 2000 && e < 3000 && e != CR_OUT_OF_MEMORY && e != CR_MALFORMED_PACKET &&
            e != CR_NET_PACKET_TOO_LARGE && e != CR_SSL_CONNECTION_ERROR && e != CR_UNKNOWN_HOST) ||
           e == ER_SERVER_SHUTDOWN || e == ER_CON_COUNT_ERROR || e == 1927 /* ER_CONNECTION_KILLED */ ||
           e == ER_NET_READ_ERROR || e == ER_NET_READ_INTERRUPTED || e == ER_NET_ERROR_ON_WRITE;
}

int sluice_mysql_sleep_ms(int64_t ms) {
    return sluice_stop_sleep_ms(ms);
}

static void library_end(void) {
    mysql_library_end();
}

int sluice_mysql_library_init(void) {
    static int done;
    if (done) return 0;
    if (mysql_library_init(0, NULL, NULL) != 0) return -1;
    atexit(library_end);
    done = 1;
    return 0;
}

void sluice_mysql_conn_drop(sluice_mysql_conn *s) {
    if (!s) return;
    if (s->db) mysql_close(s->db);
    s->db = NULL;
}


static const char *shared_get(const sluice_module_config *cfg, const char *key) {
    for (const char *const *kv = cfg->shared; kv && kv[0]; kv += 2)
        if (strcmp(kv[0], key) == 0) return kv[1] && kv[1][0] ? kv[1] : NULL;
    return NULL;
}

static sluice_err_t shared_bad(const sluice_module_config *cfg, const char *kind, const char *key, const char *why, char *errstr,
                               size_t errstr_size) {
    const char *v = shared_get(cfg, key);
    return sluice_seterr(errstr, errstr_size, SLUICE_ERR_CONFIG, "%s %s (mysql): [mysql] %s = '%s': %s",
                         kind, cfg->instance ? cfg->instance : "?", key, v ? v : "", why);
}

static sluice_err_t shared_seconds(const sluice_module_config *cfg, const char *kind, const char *key, unsigned *out, char *errstr,
                                   size_t errstr_size) {
    const char *v = shared_get(cfg, key);
    int64_t ms;
    if (!v) return SLUICE_OK;
    if (sluice_parse_duration_ms(v, &ms) != 0 || ms < 1000 || ms > 86400000)
        return shared_bad(cfg, kind, key, "expected a duration between 1s and 1d, such as 10s", errstr, errstr_size);
    *out = (unsigned)(ms / 1000);
    return SLUICE_OK;
}

sluice_err_t sluice_mysql_conn_parse(sluice_mysql_conn *s, const sluice_module_config *cfg, const char *kind,
                                     const char *database_role, char *errstr, size_t errstr_size) {
    sluice_err_t err;
    memset(s, 0, sizeof *s);
    s->kind = kind;
    s->instance = cfg->instance ? cfg->instance : "?";
    for (const char *const *kv = cfg->shared; kv && kv[0]; kv += 2)
        if (!sluice_option_spec_find(sluice_mysql_shared_specs, kv[0])) {
            char accepted[600];
            sluice_option_spec_names(sluice_mysql_shared_specs, accepted, sizeof accepted);
            return sluice_seterr(errstr, errstr_size, SLUICE_ERR_CONFIG,
                                 "%s %s (mysql): unknown key '%s' in [mysql]; accepted: %s", kind, s->instance, kv[0],
                                 accepted);
        }
    s->host = shared_get(cfg, "host");
    s->socket = shared_get(cfg, "socket");
    s->user = shared_get(cfg, "user");
    s->password = shared_get(cfg, "password");
    s->database = shared_get(cfg, "database");
    if (!s->database)
        return sluice_seterr(errstr, errstr_size, SLUICE_ERR_CONFIG,
                             "%s %s (mysql): [mysql] database is required (%s)",
                             kind, s->instance, database_role);
    const char *port = shared_get(cfg, "port");
    if (port) {
        int64_t p = 0;
        if (sluice_parse_positive(port, &p) != 0 || p > 65535)
            return shared_bad(cfg, kind, "port", "expected a TCP port number (1-65535)", errstr, errstr_size);
        s->port = (unsigned)p;
    }
    const char *mode = shared_get(cfg, "ssl_mode");
    static const char *const modes[] = {"disabled", "preferred", "required", "verify_ca", "verify_identity"};
    s->ssl_mode = SLUICE_MYSQL_SSL_DISABLED;
    s->ssl_ca = shared_get(cfg, "ssl_ca");
    s->ssl_capath = shared_get(cfg, "ssl_capath");
    s->ssl_cert = shared_get(cfg, "ssl_cert");
    s->ssl_key = shared_get(cfg, "ssl_key");
    s->ssl_cipher = shared_get(cfg, "ssl_cipher");
    s->ssl_crl = shared_get(cfg, "ssl_crl");
    if (s->ssl_ca || s->ssl_capath || s->ssl_cert || s->ssl_key || s->ssl_cipher) s->ssl_mode = SLUICE_MYSQL_SSL_PREFERRED;
    if (mode) {
        int found = -1;
        for (int i = 0; i < 5; i++)
            if (strcasecmp(mode, modes[i]) == 0) found = i;
        if (found < 0)
            return shared_bad(cfg, kind, "ssl_mode", "expected disabled, preferred, required, verify_ca or verify_identity",
                              errstr, errstr_size);
        s->ssl_mode = found;
    }
    s->connect_timeout_s = 10;
    s->read_timeout_s = s->write_timeout_s = 60;
    if ((err = shared_seconds(cfg, kind, "connect_timeout", &s->connect_timeout_s, errstr, errstr_size)) ||
        (err = shared_seconds(cfg, kind, "read_timeout", &s->read_timeout_s, errstr, errstr_size)) ||
        (err = shared_seconds(cfg, kind, "write_timeout", &s->write_timeout_s, errstr, errstr_size)))
        return err;
    s->retry_timeout_ms = DEFAULT_RETRY_MS;
    const char *rt = shared_get(cfg, "retry_timeout");
    if (rt && sluice_parse_duration_ms(rt, &s->retry_timeout_ms) != 0)
        return shared_bad(cfg, kind, "retry_timeout", "expected a duration such as 60s", errstr, errstr_size);
    const sluice_option *o = sluice_module_config_find(cfg, "retry_timeout");
    if (o && sluice_parse_duration_ms(o->value, &s->retry_timeout_ms) != 0)
        return sluice_conn_bad_option(cfg, "retry_timeout", kind, "mysql", "expected a duration such as 60s",
                                      errstr, errstr_size);
    return SLUICE_OK;
}

/* Connect and prepare the session.  Returns 0, or the error number with
 * the message in errstr (the handle is dropped). */
unsigned sluice_mysql_conn_connect(sluice_mysql_conn *s, char *errstr, size_t errstr_size) {
    sluice_mysql_conn_drop(s);
    s->db = mysql_init(NULL);
    if (!s->db) {
        sluice_seterr(errstr, errstr_size, SLUICE_ERR_NOMEM, "%s %s (mysql): out of memory", s->kind, s->instance);
        return CR_OUT_OF_MEMORY;
    }
    MYSQL *db = s->db;
    mysql_optionsv(db, MYSQL_OPT_CONNECT_TIMEOUT, &s->connect_timeout_s);
    mysql_optionsv(db, MYSQL_OPT_READ_TIMEOUT, &s->read_timeout_s);
    mysql_optionsv(db, MYSQL_OPT_WRITE_TIMEOUT, &s->write_timeout_s);
    mysql_optionsv(db, MYSQL_SET_CHARSET_NAME, "utf8mb4");
    if (s->ssl_mode != SLUICE_MYSQL_SSL_DISABLED) {
        mysql_ssl_set(db, s->ssl_key, s->ssl_cert, s->ssl_ca, s->ssl_capath, s->ssl_cipher);
        if (s->ssl_crl) mysql_optionsv(db, MYSQL_OPT_SSL_CRL, s->ssl_crl);
        my_bool yes = 1;
        if (s->ssl_mode >= SLUICE_MYSQL_SSL_REQUIRED) mysql_optionsv(db, MYSQL_OPT_SSL_ENFORCE, &yes);
        if (s->ssl_mode >= SLUICE_MYSQL_SSL_VERIFY_CA) mysql_optionsv(db, MYSQL_OPT_SSL_VERIFY_SERVER_CERT, &yes);
    }
    const char *host = s->host ? s->host : (s->socket ? "localhost" : NULL);
    if (!mysql_real_connect(db, host, s->user, s->password, s->database, s->port, s->socket, 0)) {
        unsigned e = mysql_errno(db);
        char where[300], msg[600];
        if (s->socket && (!s->host || strcmp(s->host, "localhost") == 0))
            snprintf(where, sizeof where, "socket '%s'", s->socket);
        else
            snprintf(where, sizeof where, "%s:%u", host ? host : "localhost", s->port ? s->port : 3306u);
        sluice_mysql_conn_scrub(s, mysql_error(db), msg, sizeof msg);
        sluice_seterr(errstr, errstr_size, SLUICE_ERR_IO,
                      "%s %s (mysql): cannot connect to %s as '%s' (database '%s'): %s (error %u)", s->kind, s->instance,
                      where, s->user ? s->user : "", s->database, msg, e);
        sluice_mysql_conn_drop(s);
        return e ? e : CR_UNKNOWN_ERROR;
    }
    if (s->ssl_mode >= SLUICE_MYSQL_SSL_REQUIRED && !mysql_get_ssl_cipher(db)) {
        /* never send the password's session on in clear text when TLS is required */
        sluice_seterr(errstr, errstr_size, SLUICE_ERR_CONFIG,
                      "%s %s (mysql): cannot connect with TLS: ssl_mode = %s, but the server at %s did not "
                      "encrypt the connection (does it have TLS configured?)",
                      s->kind, s->instance, s->ssl_mode == SLUICE_MYSQL_SSL_REQUIRED ? "required" : "verify_ca or verify_identity",
                      s->socket && !s->host ? s->socket : (s->host ? s->host : "localhost"));
        sluice_mysql_conn_drop(s);
        return CR_SSL_CONNECTION_ERROR;
    }
    static const char setup[] = "SET SESSION sql_mode = 'STRICT_ALL_TABLES,NO_ENGINE_SUBSTITUTION', "
                                "time_zone = '+00:00', autocommit = 1";
    unsigned e = 0;
    if (mysql_real_query(db, setup, sizeof setup - 1) != 0) e = mysql_errno(db) ? mysql_errno(db) : CR_UNKNOWN_ERROR;
    if (!e && mysql_real_query(db, "SELECT @@max_allowed_packet", 27) != 0) e = mysql_errno(db);
    if (!e) {
        MYSQL_RES *r = mysql_store_result(db);
        MYSQL_ROW row = r ? mysql_fetch_row(r) : NULL;
        s->max_packet = row && row[0] ? (size_t)strtoull(row[0], NULL, 10) : 0;
        if (r) mysql_free_result(r);
        if (!r) e = mysql_errno(db) ? mysql_errno(db) : CR_UNKNOWN_ERROR;
    }
    if (e) {
        char msg[600];
        sluice_mysql_conn_scrub(s, mysql_error(db), msg, sizeof msg);
        sluice_seterr(errstr, errstr_size, SLUICE_ERR_IO, "%s %s (mysql): table '%s': cannot set up the session: %s (error %u)",
                      s->kind, s->instance, s->table ? s->table : "", msg, e);
        sluice_mysql_conn_drop(s);
    }
    return e;
}

/* Connect, retrying connection errors with backoff until retry_timeout. */
sluice_err_t sluice_mysql_conn_connect_retry(sluice_mysql_conn *s, char *errstr, size_t errstr_size) {
    int64_t start = sluice_clock_monotonic_ms(), delay = SLUICE_MYSQL_BACKOFF_FIRST_MS;
    for (int attempt = 1;; attempt++) {
        unsigned e = sluice_mysql_conn_connect(s, errstr, errstr_size);
        if (!e) return SLUICE_OK;
        if (!sluice_mysql_err_is_connection(e))
            return e == CR_OUT_OF_MEMORY ? SLUICE_ERR_NOMEM
                   : e == ER_ACCESS_DENIED_ERROR || e == ER_DBACCESS_DENIED_ERROR || e == ER_BAD_DB_ERROR ||
                           e == CR_SSL_CONNECTION_ERROR
                       ? SLUICE_ERR_CONFIG
                       : SLUICE_ERR_IO;
        if (sluice_stop_requested() || sluice_clock_monotonic_ms() - start + delay > s->retry_timeout_ms) {
            size_t n = strlen(errstr);
            if (sluice_stop_requested()) {
                if (errstr_size > n) snprintf(errstr + n, errstr_size - n, "; stopped while retrying");
                return SLUICE_ERR_STOPPED;
            }
            if (errstr_size > n)
                snprintf(errstr + n, errstr_size - n, "; gave up after %d attempts in %.1fs (retry_timeout)", attempt,
                         (sluice_clock_monotonic_ms() - start) / 1000.0);
            return SLUICE_ERR_IO;
        }
        (void)sluice_mysql_sleep_ms(delay); /* a stop is handled at the next attempt */
        delay = delay * 2 > SLUICE_MYSQL_BACKOFF_MAX_MS ? SLUICE_MYSQL_BACKOFF_MAX_MS : delay * 2;
    }
}

