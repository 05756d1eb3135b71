/*
 * Private to the mysql connectors: the [mysql] section and the connection,
 * shared by the mysql sink and the mysql source.
 */
#ifndef SLUICE_MYSQL_COMMON_H
#define SLUICE_MYSQL_COMMON_H

#include <stddef.h>
#include <stdint.h>

#include <mysql.h>

#include "sluice/error.h"
#include "sluice/module.h"

enum { SLUICE_MYSQL_SSL_DISABLED, SLUICE_MYSQL_SSL_PREFERRED, SLUICE_MYSQL_SSL_REQUIRED,
       SLUICE_MYSQL_SSL_VERIFY_CA, SLUICE_MYSQL_SSL_VERIFY_IDENTITY };

/** One connection of one connector instance, with its settings from [mysql].
 *  Strings are borrowed from the module config (they live until close). */
typedef struct sluice_mysql_conn {
    const char *kind;              /**< "sink" or "source", for messages */
    const char *instance;          /**< the SINK or SOURCE name */
    const char *table;             /**< the table, for messages (set by the connector) */
    const char *host, *socket, *user, *password, *database;
    unsigned port;
    int ssl_mode;                  /**< SLUICE_MYSQL_SSL_* */
    const char *ssl_ca, *ssl_capath, *ssl_cert, *ssl_key, *ssl_cipher, *ssl_crl;
    unsigned connect_timeout_s, read_timeout_s, write_timeout_s;
    int64_t retry_timeout_ms;      /**< [mysql] retry_timeout, or the section's own */
    MYSQL *db;                     /**< NULL while disconnected */
    size_t max_packet;             /**< the server's max_allowed_packet, bytes */
} sluice_mysql_conn;

/** The option table of the [mysql] section (sluice/module.h), ended by a
 *  NULL name: the ops of the mysql source and sink set it as their
 *  shared_specs, and sluice_mysql_conn_parse() refuses a key it lacks. */
extern const sluice_option_spec sluice_mysql_shared_specs[];

/** Validates the [mysql] section (cfg->shared) and the instance section's
 *  `retry_timeout`, and fills c (db stays NULL).  SLUICE_ERR_CONFIG naming
 *  the key on a bad value.  `database_role` completes the message when
 *  `database` is missing ("the database of the result tables"). */
sluice_err_t sluice_mysql_conn_parse(sluice_mysql_conn *c, const sluice_module_config *cfg, const char *kind,
                                     const char *database_role, char *errstr, size_t errstr_size);

/** mysql_library_init() once per process (mysql_library_end() at exit).
 *  Returns 0 or -1. */
int sluice_mysql_library_init(void);

/** Connects and sets up the session (strict sql_mode, UTC time zone,
 *  autocommit, max_allowed_packet read).  Returns 0, or the client or server
 *  error number with the message in errstr (c->db is then NULL). */
unsigned sluice_mysql_conn_connect(sluice_mysql_conn *c, char *errstr, size_t errstr_size);

/** Connects, retrying connection errors with exponential backoff (100 ms
 *  doubling to 5 s) until retry_timeout.  An authentication, unknown
 *  database or TLS refusal is SLUICE_ERR_CONFIG at once. */
sluice_err_t sluice_mysql_conn_connect_retry(sluice_mysql_conn *c, char *errstr, size_t errstr_size);

/** Closes the connection, if any.  NULL-safe. */
void sluice_mysql_conn_drop(sluice_mysql_conn *c);

/** Copies msg into buf (size bytes) with the password masked as ****. */
void sluice_mysql_conn_scrub(const sluice_mysql_conn *c, const char *msg, char *buf, size_t size);

/** 1 for the errors after which the same work may succeed on a new
 *  connection (lost connection, server shutdown, killed connection). */
int sluice_mysql_err_is_connection(unsigned e);

/** Sleeps ms milliseconds in slices, returning early when a stop is
 *  requested (base/stop.h).  Returns 1 when a stop cut the sleep short,
 *  else 0. */
int sluice_mysql_sleep_ms(int64_t ms);

#define SLUICE_MYSQL_BACKOFF_FIRST_MS 100
#define SLUICE_MYSQL_BACKOFF_MAX_MS 5000

#endif
