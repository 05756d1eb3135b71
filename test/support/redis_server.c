#ifdef SLUICE_WITH_REDIS

#include "redis_server.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "sluice_test.h"

static int64_t now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void pause_ms(int ms) {
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static void show_log(const sluice_test_redis *r) {
    char *text = sluice_test_read_file(r->log, NULL);
    if (text) {
        size_t n = strlen(text);
        fprintf(stderr, "--- %s (tail)\n%s\n---\n", r->log, n > 3000 ? text + n - 3000 : text);
    }
    free(text);
}

redisContext *sluice_test_redis_connect(const sluice_test_redis *r) {
    struct timeval tv = {.tv_sec = 5};
    redisContext *c = redisConnectWithTimeout("127.0.0.1", r->port, tv);
    if (!c || c->err) {
        if (c) redisFree(c);
        return NULL;
    }
    redisReply *a = redisCommand(c, "AUTH %s", SLUICE_TEST_REDIS_PASSWORD);
    int ok = a && a->type == REDIS_REPLY_STATUS;
    if (a) freeReplyObject(a);
    if (ok && r->db) {
        a = redisCommand(c, "SELECT %d", r->db);
        ok = a && a->type == REDIS_REPLY_STATUS;
        if (a) freeReplyObject(a);
    }
    if (!ok) {
        redisFree(c);
        return NULL;
    }
    return c;
}

static pid_t spawn(char *const *argv, const char *log) {
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid < 0) return -1;
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent) _exit(127);
        int fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0644);
        int null = open("/dev/null", O_RDONLY);
        if (fd >= 0) {
            dup2(fd, 1);
            dup2(fd, 2);
        }
        if (null >= 0) dup2(null, 0);
        execv(argv[0], argv);
        _exit(127);
    }
    return pid;
}

static int launch(sluice_test_redis *r) {
    char port[32], tls_port[32], cert[1200], key[1200];
    snprintf(port, sizeof port, "%d", r->port);
    snprintf(tls_port, sizeof tls_port, "%d", r->tls_port);
    snprintf(cert, sizeof cert, "%s/server.crt", r->dir);
    snprintf(key, sizeof key, "%s/server.key", r->dir);
    char *argv[] = {(char *)sluice_test_find_program("redis-server"), "--port", port, "--bind", "127.0.0.1", "--dir", r->dir,
                    "--unixsocket", r->socket, "--save", "", "--appendonly", "no", "--requirepass",
                    SLUICE_TEST_REDIS_PASSWORD, "--protected-mode", "no",
                    /* with TLS: */ "--tls-port", tls_port, "--tls-cert-file", cert, "--tls-key-file", key,
                    "--tls-ca-cert-file", r->ca_file, "--tls-auth-clients", "optional", NULL};
    if (!r->tls_port) argv[17] = NULL;
    r->pid = spawn(argv, r->log);
    if (r->pid < 0) {
        r->pid = 0;
        return -1;
    }
    int64_t deadline = now_ms() + 30000;
    while (now_ms() < deadline) {
        int status;
        if (waitpid(r->pid, &status, WNOHANG) == r->pid) {
            fprintf(stderr, "redis: the server exited during start-up\n");
            r->pid = 0;
            show_log(r);
            return -1;
        }
        redisContext *c = sluice_test_redis_connect(r);
        if (c) {
            redisReply *p = redisCommand(c, "PING");
            int ok = p && p->type == REDIS_REPLY_STATUS;
            if (p) freeReplyObject(p);
            redisFree(c);
            if (ok) return 0;
        }
        pause_ms(20);
    }
    fprintf(stderr, "redis: no answer on port %d within 30 s\n", r->port);
    show_log(r);
    return -1;
}

/* Two throwaway CAs (EC P-256, valid two days), a server certificate for
 * 127.0.0.1/localhost and a client certificate, both signed by the first. */
static int make_certs(sluice_test_redis *r) {
    char cmd[4096];
    snprintf(cmd, sizeof cmd,
             "cd '%s' && K='-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes' && "
             "openssl req -x509 $K -keyout ca.key -out ca.crt -days 2 -subj /CN=sluice-test-ca && "
             "openssl req -x509 $K -keyout other-ca.key -out other-ca.crt -days 2 -subj /CN=other-ca && "
             "openssl req $K -keyout server.key -out server.csr -subj /CN=localhost && "
             "printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\n' > server.ext && "
             "openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial -out server.crt -days 2 "
             "-extfile server.ext && "
             "openssl req $K -keyout client.key -out client.csr -subj /CN=sluice-client && "
             "openssl x509 -req -in client.csr -CA ca.crt -CAkey ca.key -CAcreateserial -out client.crt -days 2",
             r->dir);
    char log_cmd[sizeof cmd + sizeof r->log + 16];
    snprintf(log_cmd, sizeof log_cmd, "(%s) >>'%s' 2>&1", cmd, r->log);
    if (system(log_cmd) != 0) {
        fprintf(stderr, "redis: cannot make the test certificates\n");
        show_log(r);
        return -1;
    }
    snprintf(r->ca_file, sizeof r->ca_file, "%s/ca.crt", r->dir);
    snprintf(r->other_ca_file, sizeof r->other_ca_file, "%s/other-ca.crt", r->dir);
    snprintf(r->cert_file, sizeof r->cert_file, "%s/client.crt", r->dir);
    snprintf(r->key_file, sizeof r->key_file, "%s/client.key", r->dir);
    return 0;
}

static int start(sluice_test_redis *r, const char *name, int tls);

int sluice_test_redis_start(sluice_test_redis *r, const char *name) {
    return start(r, name, 0);
}

int sluice_test_redis_start_tls(sluice_test_redis *r, const char *name) {
    return start(r, name, 1);
}

static int start(sluice_test_redis *r, const char *name, int tls) {
    memset(r, 0, sizeof *r);
    char *dir = sluice_test_mkdtemp(name);
    if (!dir) return -1;
    snprintf(r->dir, sizeof r->dir, "%s", dir);
    free(dir);
    snprintf(r->log, sizeof r->log, "%s/server.log", r->dir);
    snprintf(r->socket, sizeof r->socket, "%s/sock", r->dir);
    if (strlen(r->socket) >= 100) /* sun_path holds 108 bytes */
        snprintf(r->socket, sizeof r->socket, "/tmp/sluice-redis-%ld.sock", (long)getpid());
    if (tls && make_certs(r) != 0) return -1;
    for (int attempt = 0; attempt < 3; attempt++) { /* a port taken meanwhile: another one */
        r->port = sluice_test_free_port();
        if (r->port <= 0) return -1;
        if (tls) {
            do r->tls_port = sluice_test_free_port();
            while (r->tls_port == r->port);
            if (r->tls_port <= 0) return -1;
        }
        if (launch(r) == 0) return 0;
        if (r->pid) { /* started but never answered */
            kill(r->pid, SIGKILL);
            waitpid(r->pid, NULL, 0);
            r->pid = 0;
        }
    }
    return -1;
}

void sluice_test_redis_stop(sluice_test_redis *r) {
    if (r->pid) {
        kill(r->pid, SIGTERM);
        int64_t deadline = now_ms() + 30000;
        int status;
        while (waitpid(r->pid, &status, WNOHANG) == 0) {
            if (now_ms() > deadline) {
                kill(r->pid, SIGKILL);
                waitpid(r->pid, &status, 0);
                break;
            }
            pause_ms(20);
        }
        r->pid = 0;
    }
    if (r->dir[0]) {
        char cmd[1200];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", r->dir);
        if (system(cmd) != 0) fprintf(stderr, "redis: cannot remove %s\n", r->dir);
        if (strncmp(r->socket, "/tmp/", 5) == 0) unlink(r->socket);
        r->dir[0] = '\0';
    }
}

redisReply *sluice_test_redis_cmd(const sluice_test_redis *r, const char *const *argv) {
    redisContext *c = sluice_test_redis_connect(r);
    if (!c) return NULL;
    int argc = 0;
    while (argv[argc]) argc++;
    redisReply *rep = redisCommandArgv(c, argc, (const char **)argv, NULL);
    redisFree(c);
    return rep;
}

long long sluice_test_redis_pttl(const sluice_test_redis *r, const char *key) {
    const char *argv[] = {"PTTL", key, NULL};
    redisReply *rep = sluice_test_redis_cmd(r, argv);
    long long v = rep && rep->type == REDIS_REPLY_INTEGER ? rep->integer : -3;
    if (rep) freeReplyObject(rep);
    return v;
}

static int cmp_str(const void *a, const void *b) {
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Append to a growable text. */
static void put(char **out, size_t *len, size_t *cap, const char *s, size_t n) {
    if (!*out) return;
    while (*len + n + 1 > *cap) {
        *cap *= 2;
        char *p = realloc(*out, *cap);
        if (!p) {
            free(*out);
            *out = NULL;
            return;
        }
        *out = p;
    }
    memcpy(*out + *len, s, n);
    *len += n;
    (*out)[*len] = '\0';
}

char *sluice_test_redis_dump(const sluice_test_redis *r, const char *pattern) {
    redisContext *c = sluice_test_redis_connect(r);
    if (!c) return NULL;
    redisReply *keys = redisCommand(c, "KEYS %s", pattern);
    if (!keys || keys->type != REDIS_REPLY_ARRAY) {
        if (keys) freeReplyObject(keys);
        redisFree(c);
        return NULL;
    }
    char **names = calloc(keys->elements + 1, sizeof *names);
    for (size_t i = 0; names && i < keys->elements; i++) names[i] = keys->element[i]->str;
    if (names) qsort(names, keys->elements, sizeof *names, cmp_str);
    size_t cap = 4096, len = 0;
    char *out = malloc(cap);
    if (out) out[0] = '\0';
    for (size_t i = 0; out && names && i < keys->elements; i++) {
        redisReply *t = redisCommand(c, "TYPE %s", names[i]);
        const char *type = t && t->type == REDIS_REPLY_STATUS ? t->str : "?";
        put(&out, &len, &cap, names[i], strlen(names[i]));
        put(&out, &len, &cap, " ", 1);
        put(&out, &len, &cap, type, strlen(type));
        redisReply *v = NULL;
        if (strcmp(type, "string") == 0) v = redisCommand(c, "GET %s", names[i]);
        else if (strcmp(type, "hash") == 0) v = redisCommand(c, "HGETALL %s", names[i]);
        else if (strcmp(type, "zset") == 0) v = redisCommand(c, "ZRANGE %s 0 -1 WITHSCORES", names[i]);
        if (v && v->type == REDIS_REPLY_STRING) {
            put(&out, &len, &cap, " ", 1);
            put(&out, &len, &cap, v->str, v->len);
        } else if (v && v->type == REDIS_REPLY_ARRAY) {
            size_t n = v->elements / 2;
            char **pairs = calloc(n + 1, sizeof *pairs);
            for (size_t k = 0; pairs && k < n; k++)
                if (asprintf(&pairs[k], "%s=%s", v->element[2 * k]->str, v->element[2 * k + 1]->str) < 0)
                    pairs[k] = NULL;
            if (pairs && strcmp(type, "hash") == 0) qsort(pairs, n, sizeof *pairs, cmp_str);
            for (size_t k = 0; pairs && k < n; k++) {
                put(&out, &len, &cap, " ", 1);
                if (pairs[k]) put(&out, &len, &cap, pairs[k], strlen(pairs[k]));
                free(pairs[k]);
            }
            free(pairs);
        }
        put(&out, &len, &cap, "\n", 1);
        if (v) freeReplyObject(v);
        if (t) freeReplyObject(t);
    }
    free(names);
    freeReplyObject(keys);
    redisFree(c);
    return out;
}

void sluice_test_redis_ini(const sluice_test_redis *r, char *buf, size_t size) {
    snprintf(buf, size, "[redis]\nhost = 127.0.0.1\nport = %d\npassword = " SLUICE_TEST_REDIS_PASSWORD "\n", r->port);
}

#else
typedef int sluice_test_redis_unused;
#endif
