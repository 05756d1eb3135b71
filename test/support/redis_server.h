/*
 * A private Redis server for one test executable: `redis-server` on a free
 * loopback port with a fresh directory, no persistence, and a password
 * (the same shape as mariadb.h).  The server is the test's child and dies
 * with it (PR_SET_PDEATHSIG).  Available when the build has
 * SLUICE_WITH_REDIS.
 */
#ifndef SLUICE_TEST_REDIS_SERVER_H
#define SLUICE_TEST_REDIS_SERVER_H

#ifdef SLUICE_WITH_REDIS

#include <stddef.h>
#include <sys/types.h>

#include <hiredis/hiredis.h>

/** The password every started server requires (requirepass). */
#define SLUICE_TEST_REDIS_PASSWORD "r3dis-Pa55"

typedef struct sluice_test_redis {
    char dir[1024];        /**< working directory and log; removed by stop() */
    char log[1100];        /**< the server's output */
    char socket[1100];     /**< its unix socket */
    int port;              /**< TCP port on 127.0.0.1 */
    pid_t pid;             /**< the running redis-server, or 0 */
    int db;                /**< the database connect() selects (default 0) */
    int tls_port;          /**< with start_tls(): the TLS port on 127.0.0.1 (port stays plain) */
    char ca_file[1100];    /**< with start_tls(): the throwaway CA that signed the server and client */
    char other_ca_file[1100]; /**< a second CA that signed neither */
    char cert_file[1100], key_file[1100]; /**< a client certificate (CN sluice-client) and its key */
} sluice_test_redis;

/** Start a server (its directory named after `name`) and wait until it
 *  answers PING (deadline 30 s).  Returns 0, or -1 with the reason on
 *  stderr. */
int sluice_test_redis_start(sluice_test_redis *r, const char *name);

/** As start(), and also serving TLS on r->tls_port: a throwaway CA and a
 *  server certificate (for 127.0.0.1 and localhost) and a client
 *  certificate made with the openssl command in r->dir.  Client
 *  certificates are optional (CONFIG SET tls-auth-clients yes requires
 *  them).  The plain port stays open for the test's own checks. */
int sluice_test_redis_start_tls(sluice_test_redis *r, const char *name);

/** SIGTERM the server, wait for it and remove its directory.  Safe on a
 *  server that is not running. */
void sluice_test_redis_stop(sluice_test_redis *r);

/** A new authenticated connection to database r->db; NULL on failure (message on stderr).
 *  Free with redisFree(). */
redisContext *sluice_test_redis_connect(const sluice_test_redis *r);

/** Run one command given as a NULL-terminated argv; returns the reply
 *  (caller frees with freeReplyObject) or NULL. */
redisReply *sluice_test_redis_cmd(const sluice_test_redis *r, const char *const *argv);

/** The contents of every key matching `pattern` (KEYS syntax), sorted by
 *  key, one line each: "KEY TYPE CONTENT\n" with CONTENT a string's value,
 *  a hash's fields sorted as "f=v f=v", a sorted set's members in score
 *  order as "member=score ...".  malloc'd; NULL on error. */
char *sluice_test_redis_dump(const sluice_test_redis *r, const char *pattern);

/** The remaining TTL of key in ms (PTTL: -1 none, -2 no such key), or
 *  -3 on error. */
long long sluice_test_redis_pttl(const sluice_test_redis *r, const char *key);

/** Write the `[redis]` section of a profile for this server into buf. */
void sluice_test_redis_ini(const sluice_test_redis *r, char *buf, size_t size);

#endif
#endif
