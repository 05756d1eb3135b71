#include "sluice_test.h"

#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <signal.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static int rm_rf(const char *path) {
    char cmd[4096];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", path);
    return system(cmd);
}

char *sluice_test_mkdtemp(const char *name) {
    char *p = malloc(4096);
    snprintf(p, 4096, "%s/%s.%ld", SLUICE_TEST_TMPDIR, name, (long)getpid());
    rm_rf(p);
    mkdir(SLUICE_TEST_TMPDIR, 0755);
    if (mkdir(p, 0755) != 0 && errno != EEXIST) {
        free(p);
        return NULL;
    }
    return p;
}

const char *sluice_test_fixture(const char *rel) {
    static char buf[4096];
    snprintf(buf, sizeof buf, "%s/%s", SLUICE_FIXTURES_DIR, rel);
    return buf;
}

char *sluice_test_read_file(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    size_t cap = 4096, n = 0;
    char *buf = malloc(cap);
    size_t r;
    while ((r = fread(buf + n, 1, cap - n - 1, f)) > 0) {
        n += r;
        if (cap - n - 1 == 0) {
            cap *= 2;
            buf = realloc(buf, cap);
        }
    }
    fclose(f);
    buf[n] = '\0';
    if (len) *len = n;
    return buf;
}

int sluice_test_write_file(const char *path, const char *text) {
    FILE *f = fopen(path, "wb");
    if (!f) return -1;
    size_t n = strlen(text);
    int ok = fwrite(text, 1, n, f) == n;
    return (fclose(f) == 0 && ok) ? 0 : -1;
}

int sluice_test_spawn_cli(const char *const *argv, const char *stdout_path,
                          const char *stderr_path) {
    size_t n = 0;
    while (argv[n]) n++;
    /* allocate before fork(): the child of a threaded process must not */
    char **args = calloc(n + 2, sizeof(char *));
    if (!args) return -1;
    args[0] = (char *)SLUICE_BINARY;
    for (size_t i = 0; i < n; i++) args[i + 1] = (char *)argv[i];
    pid_t pid = fork();
    if (pid == 0) {
        const char *outs[2] = {stdout_path, stderr_path};
        for (int i = 0; i < 2; i++) {
            int fd = open(outs[i] ? outs[i] : "/dev/null", O_WRONLY | O_CREAT | O_TRUNC, 0644);
            if (fd < 0) _exit(126);
            dup2(fd, i + 1);
            close(fd);
        }
        execv(SLUICE_BINARY, args);
        _exit(127);
    }
    free(args);
    return pid < 0 ? -1 : pid;
}

int sluice_test_wait_cli(int pid, int timeout_ms) {
    struct timespec t0, t;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    int status;
    for (;;) {
        pid_t r = waitpid(pid, &status, WNOHANG);
        if (r == pid) return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
        if (r < 0 && errno != EINTR) return -1;
        clock_gettime(CLOCK_MONOTONIC, &t);
        if ((t.tv_sec - t0.tv_sec) * 1000 + (t.tv_nsec - t0.tv_nsec) / 1000000 > timeout_ms) {
            kill(pid, SIGKILL);
            waitpid(pid, &status, 0);
            return -2;
        }
        struct timespec nap = {.tv_sec = 0, .tv_nsec = 10 * 1000000L};
        nanosleep(&nap, NULL);
    }
}

int sluice_test_run_cli(const char *const *argv, const char *stdout_path,
                        const char *stderr_path) {
    int pid = sluice_test_spawn_cli(argv, stdout_path, stderr_path);
    if (pid < 0) return -1;
    int status;
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR) return -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

void sluice_test_expect_abort(int (*fn)(void *arg), void *arg) {
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        struct sigaction sa = {.sa_handler = SIG_DFL};
        sigaction(SIGABRT, &sa, NULL);
        _exit(fn(arg));
    }
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    if (!WIFSIGNALED(status) || WTERMSIG(status) != SIGABRT)
        fail_msg("the child did not abort(): status 0x%x", (unsigned)status);
}

const char *sluice_test_find_program(const char *name) {
    static char buf[256];
    static const char *const dirs[] = {"/usr/sbin", "/usr/bin", "/usr/local/sbin", "/usr/local/bin", NULL};
    for (const char *const *d = dirs; *d; d++) {
        snprintf(buf, sizeof buf, "%s/%s", *d, name);
        if (access(buf, X_OK) == 0) return buf;
    }
    return name;
}

int sluice_test_free_port(void) {
    static unsigned seed;
    if (!seed) seed = (unsigned)getpid() * 2654435761u ^ (unsigned)time(NULL);
    for (int attempt = 0; attempt < 200; attempt++) {
        seed = seed * 1103515245u + 12345u;
        int port = 20000 + (int)((seed >> 8) % 12000);
        int fd = socket(AF_INET, SOCK_STREAM, 0);
        if (fd < 0) return -1;
        struct sockaddr_in a;
        memset(&a, 0, sizeof a);
        a.sin_family = AF_INET;
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        a.sin_port = htons((uint16_t)port);
        int ok = bind(fd, (struct sockaddr *)&a, sizeof a) == 0;
        close(fd);
        if (ok) return port;
    }
    return -1;
}
