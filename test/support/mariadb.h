/*
 * A private MariaDB server for one test executable: `mariadb-install-db` on
 * a fresh data directory under the build's test tmp dir, then `mariadbd` on
 * a unix socket and a free loopback port (design.md, "Real servers in
 * tests").  The server is the test's child and dies with it
 * (PR_SET_PDEATHSIG).  Available when the build has SLUICE_WITH_MYSQL.
 */
#ifndef SLUICE_TEST_MARIADB_H
#define SLUICE_TEST_MARIADB_H

#ifdef SLUICE_WITH_MYSQL

#include <stddef.h>
#include <sys/types.h>

#include <mysql.h>

/** The database and account every started server has: the account may
 *  do anything on any database, from 127.0.0.1 and from the socket. */
#define SLUICE_TEST_MARIADB_DATABASE "sluice_test"
#define SLUICE_TEST_MARIADB_USER "sluice"
#define SLUICE_TEST_MARIADB_PASSWORD "s3cret-Pa55"

typedef struct sluice_test_mariadb {
    char dir[1024];        /**< root of everything below; removed by stop() */
    char datadir[1100];
    char socket[1100];     /**< unix socket path */
    char log[1100];        /**< the server's stderr */
    int port;              /**< TCP port on 127.0.0.1 */
    pid_t pid;             /**< the running mariadbd, or 0 */
} sluice_test_mariadb;

/** Create a data directory (named after `name`), start the server, wait
 *  until it answers (deadline 60 s) and create the test database and
 *  account.  Returns 0, or -1 with the reason on stderr. */
int sluice_test_mariadb_start(sluice_test_mariadb *m, const char *name);

/** Start the server again on the same data directory and port after
 *  kill() or a stop without removal, and wait until it answers (crash
 *  recovery included).  Returns 0 or -1. */
int sluice_test_mariadb_restart(sluice_test_mariadb *m);

/** SIGKILL the server and reap it (no clean shutdown).  Returns 0 or -1. */
int sluice_test_mariadb_kill(sluice_test_mariadb *m);

/** SIGTERM the server, wait for it (then SIGKILL after 30 s) and remove
 *  the directory.  Safe on a server that is not running. */
void sluice_test_mariadb_stop(sluice_test_mariadb *m);

/** A new root connection over the socket to `database` (NULL: none),
 *  charset utf8mb4.  NULL on failure (message on stderr).  Close with
 *  mysql_close(). */
MYSQL *sluice_test_mariadb_connect(const sluice_test_mariadb *m, const char *database);

/** Run statements (no result sets) as root.  Returns 0 or -1 (message on
 *  stderr). */
int sluice_test_mariadb_exec(const sluice_test_mariadb *m, const char *sql);

/** The rows of a SELECT run as root in the test database, as text: fields
 *  joined by '|', rows ended by '\n', SQL NULL as "NULL".  malloc'd; NULL on
 *  error. */
char *sluice_test_mariadb_rows(const sluice_test_mariadb *m, const char *sql);

/** Write the `[mysql]` section of a profile for this server (TCP on
 *  127.0.0.1:port, the test account, database `database` or the test
 *  database when NULL) into buf. */
void sluice_test_mariadb_ini(const sluice_test_mariadb *m, const char *database, char *buf, size_t size);

#endif
#endif
