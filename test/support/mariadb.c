#ifdef SLUICE_WITH_MYSQL

#include "mariadb.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pwd.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
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

static const char *user_name(void) {
    struct passwd *pw = getpwuid(geteuid());
    return pw && pw->pw_name ? pw->pw_name : "root";
}

/* fork + exec argv with stdout and stderr appended to log; the child dies
 * with this process.  Returns the pid or -1. */
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

static void show_log(const sluice_test_mariadb *m) {
    char *text = sluice_test_read_file(m->log, NULL);
    if (text) {
        size_t n = strlen(text);
        fprintf(stderr, "--- %s (tail)\n%s\n---\n", m->log, n > 3000 ? text + n - 3000 : text);
    }
    free(text);
}

MYSQL *sluice_test_mariadb_connect(const sluice_test_mariadb *m, const char *database) {
    MYSQL *db = mysql_init(NULL);
    if (!db) return NULL;
    unsigned timeout = 5;
    mysql_optionsv(db, MYSQL_OPT_CONNECT_TIMEOUT, &timeout);
    mysql_optionsv(db, MYSQL_SET_CHARSET_NAME, "utf8mb4");
    if (!mysql_real_connect(db, "localhost", "root", NULL, database, 0, m->socket, 0)) {
        fprintf(stderr, "mariadb: connect as root: %s\n", mysql_error(db));
        mysql_close(db);
        return NULL;
    }
    return db;
}

/* Wait until the server answers on its socket. */
static int wait_ready(sluice_test_mariadb *m) {
    int64_t deadline = now_ms() + 60000;
    while (now_ms() < deadline) {
        int status;
        if (waitpid(m->pid, &status, WNOHANG) == m->pid) {
            fprintf(stderr, "mariadb: the server exited during start-up\n");
            m->pid = 0;
            show_log(m);
            return -1;
        }
        MYSQL *db = mysql_init(NULL);
        unsigned timeout = 2;
        mysql_optionsv(db, MYSQL_OPT_CONNECT_TIMEOUT, &timeout);
        if (db && mysql_real_connect(db, "localhost", "root", NULL, NULL, 0, m->socket, 0) &&
            mysql_query(db, "SELECT 1") == 0) {
            MYSQL_RES *r = mysql_store_result(db);
            if (r) mysql_free_result(r);
            mysql_close(db);
            return 0;
        }
        if (db) mysql_close(db);
        pause_ms(50);
    }
    fprintf(stderr, "mariadb: no answer on %s within 60 s\n", m->socket);
    show_log(m);
    return -1;
}

static int launch(sluice_test_mariadb *m) {
    char datadir[1200], sock[1200], port[64], user[300], tmp[1200];
    snprintf(tmp, sizeof tmp, "--tmpdir=%s/tmp", m->dir);
    snprintf(datadir, sizeof datadir, "--datadir=%s", m->datadir);
    snprintf(sock, sizeof sock, "--socket=%s", m->socket);
    snprintf(port, sizeof port, "--port=%d", m->port);
    snprintf(user, sizeof user, "--user=%s", user_name());
    char *argv[] = {(char *)sluice_test_find_program("mariadbd"), "--no-defaults", datadir, sock, port,
                    "--bind-address=127.0.0.1", user, "--skip-log-bin", "--innodb-log-file-size=32M",
                    "--innodb-buffer-pool-size=256M", "--max-connections=200", tmp, NULL};
    m->pid = spawn(argv, m->log);
    if (m->pid < 0) {
        m->pid = 0;
        return -1;
    }
    return wait_ready(m);
}

int sluice_test_mariadb_start(sluice_test_mariadb *m, const char *name) {
    memset(m, 0, sizeof *m);
    /* a folder of its own, removed at stop: never the test's folder of the
     * same name, whose logs must outlive a failure */
    char own[256];
    snprintf(own, sizeof own, "%s.mariadb", name);
    char *dir = sluice_test_mkdtemp(own);
    if (!dir) return -1;
    snprintf(m->dir, sizeof m->dir, "%s", dir);
    free(dir);
    snprintf(m->datadir, sizeof m->datadir, "%s/data", m->dir);
    snprintf(m->log, sizeof m->log, "%s/server.log", m->dir);
    snprintf(m->socket, sizeof m->socket, "%s/sock", m->dir);
    if (strlen(m->socket) >= 100) /* sun_path holds 108 bytes */
        snprintf(m->socket, sizeof m->socket, "/tmp/sluice-mariadb-%ld.sock", (long)getpid());

    /* a private tmpdir: concurrent bootstraps sharing /tmp trip over each
     * other's temporary tables */
    char datadir[1200], user[300], tmp[1200];
    snprintf(tmp, sizeof tmp, "%s/tmp", m->dir);
    if (mkdir(tmp, 0700) != 0) return -1;
    snprintf(tmp, sizeof tmp, "--tmpdir=%s/tmp", m->dir);
    snprintf(datadir, sizeof datadir, "--datadir=%s", m->datadir);
    snprintf(user, sizeof user, "--user=%s", user_name());
    char *install[] = {(char *)sluice_test_find_program("mariadb-install-db"), "--no-defaults", datadir, user,
                       "--auth-root-authentication-method=normal", "--skip-test-db", "--innodb-log-file-size=32M",
                       tmp, NULL};
    pid_t pid = spawn(install, m->log);
    int status = 0;
    if (pid < 0 || waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        fprintf(stderr, "mariadb: mariadb-install-db failed\n");
        show_log(m);
        return -1;
    }
    int up = -1;
    for (int attempt = 0; attempt < 3 && up != 0; attempt++) { /* a port taken meanwhile: another one */
        m->port = sluice_test_free_port();
        if (m->port <= 0) return -1;
        up = launch(m);
    }
    if (up != 0) return -1;
    return sluice_test_mariadb_exec(m, "CREATE DATABASE IF NOT EXISTS `" SLUICE_TEST_MARIADB_DATABASE
                                       "` CHARACTER SET utf8mb4;"
                                       "CREATE USER '" SLUICE_TEST_MARIADB_USER "'@'127.0.0.1' IDENTIFIED BY '" SLUICE_TEST_MARIADB_PASSWORD "';"
                                       "CREATE USER '" SLUICE_TEST_MARIADB_USER "'@'localhost' IDENTIFIED BY '" SLUICE_TEST_MARIADB_PASSWORD "';"
                                       "GRANT ALL ON *.* TO '" SLUICE_TEST_MARIADB_USER "'@'127.0.0.1';"
                                       "GRANT ALL ON *.* TO '" SLUICE_TEST_MARIADB_USER "'@'localhost'");
}

int sluice_test_mariadb_restart(sluice_test_mariadb *m) {
    if (m->pid) return 0;
    return launch(m);
}

int sluice_test_mariadb_kill(sluice_test_mariadb *m) {
    if (!m->pid) return -1;
    kill(m->pid, SIGKILL);
    int status;
    int rc = waitpid(m->pid, &status, 0) == m->pid ? 0 : -1;
    m->pid = 0;
    return rc;
}

void sluice_test_mariadb_stop(sluice_test_mariadb *m) {
    if (m->pid) {
        kill(m->pid, SIGTERM);
        int64_t deadline = now_ms() + 30000;
        int status;
        while (waitpid(m->pid, &status, WNOHANG) == 0) {
            if (now_ms() > deadline) {
                kill(m->pid, SIGKILL);
                waitpid(m->pid, &status, 0);
                break;
            }
            pause_ms(20);
        }
        m->pid = 0;
    }
    if (m->dir[0]) {
        char cmd[1200];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", m->dir);
        if (system(cmd) != 0) fprintf(stderr, "mariadb: cannot remove %s\n", m->dir);
        if (strncmp(m->socket, "/tmp/", 5) == 0) unlink(m->socket);
        m->dir[0] = '\0';
    }
}

int sluice_test_mariadb_exec(const sluice_test_mariadb *m, const char *sql) {
    MYSQL *db = mysql_init(NULL);
    if (!db) return -1;
    mysql_optionsv(db, MYSQL_SET_CHARSET_NAME, "utf8mb4");
    if (!mysql_real_connect(db, "localhost", "root", NULL, NULL, 0, m->socket, CLIENT_MULTI_STATEMENTS)) {
        fprintf(stderr, "mariadb: connect as root: %s\n", mysql_error(db));
        mysql_close(db);
        return -1;
    }
    int rc = 0;
    if (mysql_query(db, sql) != 0) rc = -1;
    while (rc == 0) {
        MYSQL_RES *r = mysql_store_result(db);
        if (r) mysql_free_result(r);
        int next = mysql_next_result(db);
        if (next > 0) rc = -1;
        if (next != 0) break;
    }
    if (rc) fprintf(stderr, "mariadb: %s: %s\n", sql, mysql_error(db));
    mysql_close(db);
    return rc;
}

char *sluice_test_mariadb_rows(const sluice_test_mariadb *m, const char *sql) {
    MYSQL *db = sluice_test_mariadb_connect(m, SLUICE_TEST_MARIADB_DATABASE);
    if (!db) return NULL;
    MYSQL_RES *r = NULL;
    if (mysql_query(db, sql) != 0 || !(r = mysql_store_result(db))) {
        fprintf(stderr, "mariadb: %s: %s\n", sql, mysql_error(db));
        mysql_close(db);
        return NULL;
    }
    size_t cap = 4096, len = 0;
    char *out = malloc(cap);
    unsigned nf = mysql_num_fields(r);
    MYSQL_ROW row;
    while (out && (row = mysql_fetch_row(r))) {
        unsigned long *lens = mysql_fetch_lengths(r);
        for (unsigned f = 0; f < nf; f++) {
            const char *v = row[f] ? row[f] : "NULL";
            size_t n = row[f] ? lens[f] : 4;
            while (len + n + 3 > cap) out = realloc(out, cap *= 2);
            if (f) out[len++] = '|';
            memcpy(out + len, v, n);
            len += n;
        }
        out[len++] = '\n';
    }
    if (out) out[len] = '\0';
    mysql_free_result(r);
    mysql_close(db);
    return out;
}

void sluice_test_mariadb_ini(const sluice_test_mariadb *m, const char *database, char *buf, size_t size) {
    snprintf(buf, size,
             "[mysql]\nhost = 127.0.0.1\nport = %d\nuser = " SLUICE_TEST_MARIADB_USER
             "\npassword = " SLUICE_TEST_MARIADB_PASSWORD "\ndatabase = %s\nretry_timeout = 60s\n",
             m->port, database ? database : SLUICE_TEST_MARIADB_DATABASE);
}

#else
typedef int sluice_test_mariadb_unused;
#endif
