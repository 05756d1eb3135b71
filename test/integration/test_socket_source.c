/*
 * The socket source over real loopback sockets: the connector on its own
 * (records, partitions = connections, offsets = line numbers, CR-LF, NUL
 * bytes, a last line without LF, an over-long line, reconnection after the
 * server restarts, listen mode with several clients and max_clients, the
 * end of input under available_now) and whole pipelines through the sluice
 * binary (lines, json and csv formats, a line that is not UTF-8 as a dead
 * letter, a count of lines per value per minute, SIGTERM while the server
 * sends nothing, checkpoint_dir).  The peer of an available_now source runs
 * in a child process, since the source's poll() waits for it.  Expected
 * values are written out by hand.
 */
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "conn_support.h"
#include "option_check.h"
#include "connectors/connectors.h"
#include "base/clock.h"
#include "base/log.h"
#include "sluice_test.h"

static char *dir;
static char log_path[4200];
static FILE *log_file;

static int setup(void **state) {
    (void)state;
    signal(SIGPIPE, SIG_IGN);
    dir = sluice_test_mkdtemp("socket");
    if (!dir) return -1;
    snprintf(log_path, sizeof log_path, "%s/log.txt", dir);
    log_file = fopen(log_path, "w+");
    if (!log_file) return -1;
    sluice_log_configure(SLUICE_LOG_INFO, SLUICE_LOG_TEXT, log_file);
    return 0;
}

static int teardown(void **state) {
    (void)state;
    sluice_log_configure(SLUICE_LOG_INFO, SLUICE_LOG_TEXT, NULL);
    fclose(log_file);
    free(dir);
    return 0;
}

/* 1 when the connector's log so far contains `text`. */
static int logged(const char *text) {
    fflush(log_file);
    char *s = sluice_test_read_file(log_path, NULL);
    int found = s && strstr(s, text) != NULL;
    free(s);
    return found;
}

/* A listening TCP socket on 127.0.0.1:port (0: any free port, returned in
 * *bound). */
static int listen_on(int port, int *bound) {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    assert_true(fd >= 0);
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(listen(fd, 16), 0);
    socklen_t al = sizeof a;
    assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &al), 0);
    if (bound) *bound = ntohs(a.sin_port);
    return fd;
}

/* A port nothing listens on now (for the source's own listening socket). */
static int free_port(void) {
    int port = 0;
    close(listen_on(0, &port));
    return port;
}

static int connect_to(int port) {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    assert_true(fd >= 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof a), 0);
    return fd;
}

static void write_all(int fd, const char *p, size_t n) {
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) _exit(3);
        p += w;
        n -= (size_t)w;
    }
}

static char port_text[16];

static sluice_source *open_source(sluice_test_cfg *c, const char *mode, int port, const char *format,
                                  int available_now) {
    snprintf(port_text, sizeof port_text, "%d", port);
    sluice_test_cfg_init(c, "lines", NULL);
    sluice_test_cfg_set(c, "connector", "socket");
    sluice_test_cfg_set(c, "host", "127.0.0.1");
    sluice_test_cfg_set(c, "port", port_text);
    sluice_test_cfg_set(c, "mode", mode);
    sluice_test_cfg_set(c, "format", format);
    c->cfg.available_now = available_now;
    return NULL;
}

static sluice_source *do_open(sluice_test_cfg *c) {
    sluice_source *src = NULL;
    char err[512] = "";
    sluice_err_t rc = sluice_socket_source_ops.open(&c->cfg, &src, err, sizeof err);
    if (rc) fail_msg("open: %s", err);
    return src;
}

/* What the source handed out, one "partition:offset:value" line per
 * record (bytes below 0x20 as \xHH), up to `cap` bytes. */
typedef struct seen {
    char text[8192];
    size_t nrecords;
    int ended;
    size_t longest;        /* the longest value's length */
} seen;

static void take(seen *s, const sluice_record_batch *b) {
    for (size_t i = 0; i < b->count; i++) {
        const sluice_record *r = &b->records[i];
        size_t at = strlen(s->text);
        if (r->value_len > s->longest) s->longest = r->value_len;
        at += (size_t)snprintf(s->text + at, sizeof s->text - at, "%d:%lld:", (int)r->partition,
                               (long long)r->offset);
        for (size_t k = 0; k < r->value_len && k < 64 && at + 8 < sizeof s->text; k++) {
            unsigned char ch = (unsigned char)r->value[k];
            if (ch < 0x20) at += (size_t)snprintf(s->text + at, sizeof s->text - at, "\\x%02X", ch);
            else s->text[at++] = (char)ch;
        }
        if (r->value_len > 64) at += (size_t)snprintf(s->text + at, sizeof s->text - at, "...");
        s->text[at++] = '\n';
        s->text[at] = '\0';
        s->nrecords++;
    }
    if (b->end_of_input) s->ended = 1;
}

/* Poll once (timeout_ms) and record what came. */
static void poll_once(sluice_source *src, seen *s, int timeout_ms) {
    sluice_record_batch b;
    assert_int_equal(sluice_record_batch_init(&b), SLUICE_OK);
    char err[512] = "";
    assert_int_equal(src->ops->poll(src, &b, 1000, timeout_ms, err, sizeof err), SLUICE_OK);
    take(s, &b);
    sluice_record_batch_free(&b);
}

/* available_now: poll until the end of input (at most 200 polls). */
static void poll_to_end(sluice_source *src, seen *s) {
    for (int i = 0; i < 200 && !s->ended; i++) poll_once(src, s, 0);
    assert_true(s->ended);
}

static void reap_child(pid_t pid) {
    int st = 0;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 0);
}

/* ---------------- connect mode ---------------- */

/* The server sends one burst and closes: CR-LF ends a line like LF, a NUL
 * byte is data, an empty line is a value (format lines), the last line
 * needs no LF; under available_now the close ends the input. */
static void test_connect_lines_available_now(void **state) {
    (void)state;
    int port = 0, lfd = listen_on(0, &port);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        int c = accept(lfd, NULL, NULL);
        if (c < 0) _exit(2);
        static const char data[] = "alpha\r\nbe\0ta\n\ngamma\ndelta";
        write_all(c, data, sizeof data - 1);
        close(c);
        _exit(0);
    }
    close(lfd);
    sluice_test_cfg c;
    open_source(&c, "connect", port, "lines", 1);
    c.options[1].value = "localhost"; /* where it resolves to ::1 first, that fails at once */
    sluice_source *src = do_open(&c);
    seen s = {0};
    poll_to_end(src, &s);
    assert_false(logged("reconnecting")); /* the next address is tried at once */
    assert_string_equal(s.text, "0:1:alpha\n"
                                "0:2:be\\x00ta\n"
                                "0:3:\n"
                                "0:4:gamma\n"
                                "0:5:delta\n");
    /* ended stays ended */
    seen again = {0};
    poll_once(src, &again, 0);
    assert_true(again.ended);
    assert_int_equal(again.nrecords, 0);
    char pos[128];
    sluice_record r = {.partition = 0, .offset = 4};
    src->ops->position(src, &r, pos, sizeof pos);
    char want[128];
    snprintf(want, sizeof want, "localhost:%d partition 0 line 4", port);
    assert_string_equal(pos, want);
    src->ops->close(src);
    reap_child(pid);
}

/* A line over max_line_bytes (default 1 MiB) is cut to its first 1 MiB,
 * the rest of it dropped with a warning; the next line is whole. */
static void test_connect_long_line(void **state) {
    (void)state;
    int port = 0, lfd = listen_on(0, &port);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        int c = accept(lfd, NULL, NULL);
        if (c < 0) _exit(2);
        size_t n = 3u * 1024u * 1024u + 5u; /* 3 MiB + 5 bytes, then LF */
        char *big = malloc(n + 1);
        if (!big) _exit(4);
        memset(big, 'x', n);
        big[n] = '\n';
        write_all(c, "first\n", 6);
        write_all(c, big, n + 1);
        write_all(c, "after\n", 6);
        close(c);
        _exit(0);
    }
    close(lfd);
    sluice_test_cfg c;
    open_source(&c, "connect", port, "lines", 1);
    sluice_source *src = do_open(&c);
    seen s = {0};
    poll_to_end(src, &s);
    assert_string_equal(s.text, "0:1:first\n"
                                "0:2:xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx...\n"
                                "0:3:after\n");
    assert_int_equal(s.longest, 1048576);
    assert_true(logged("partition 0 line 2: 3145733 bytes, cut to max_line_bytes = 1048576"));
    src->ops->close(src);
    reap_child(pid);
}

/* Without available_now a closed connection is reconnected, with backoff
 * while the server is down; the new connection is partition 1, its lines
 * numbered from 1 again. */
static void test_connect_reconnects_after_server_restart(void **state) {
    (void)state;
    int port = 0, lfd = listen_on(0, &port);
    sluice_test_cfg c;
    open_source(&c, "connect", port, "lines", 0);
    sluice_source *src = do_open(&c);
    seen s = {0};
    poll_once(src, &s, 0); /* starts connecting */
    int c1 = accept(lfd, NULL, NULL);
    assert_true(c1 >= 0);
    write_all(c1, "one\ntwo\n", 8);
    close(c1);
    close(lfd); /* the server goes away */
    int64_t give_up = sluice_clock_monotonic_ms() + 30000;
    while (!logged("cannot connect (Connection refused) to 127.0.0.1") && sluice_clock_monotonic_ms() < give_up)
        poll_once(src, &s, 100);
    char msg[200];
    snprintf(msg, sizeof msg, "the server closed the connection to 127.0.0.1:%d; reconnecting in 100 ms", port);
    assert_true(logged(msg));
    snprintf(msg, sizeof msg, "cannot connect (Connection refused) to 127.0.0.1:%d; reconnecting in 200 ms", port);
    assert_true(logged(msg)); /* the delay doubles */
    assert_string_equal(s.text, "0:1:one\n0:2:two\n");
    /* the server is back on the same port */
    lfd = listen_on(port, NULL);
    struct pollfd pf = {.fd = lfd, .events = POLLIN};
    int c2 = -1;
    while (s.nrecords < 3 && sluice_clock_monotonic_ms() < give_up) {
        poll_once(src, &s, 100);
        if (c2 < 0 && poll(&pf, 1, 0) == 1) {
            c2 = accept(lfd, NULL, NULL);
            assert_true(c2 >= 0);
            write_all(c2, "three\n", 6);
        }
    }
    assert_string_equal(s.text, "0:1:one\n0:2:two\n1:1:three\n");
    assert_false(s.ended);
    close(c2);
    close(lfd);
    src->ops->close(src);
}

/* ---------------- listen mode ---------------- */

/* Three clients at once with max_clients = 2: the third is closed at once;
 * the two others are read side by side (the first stays idle while the
 * second sends), each its own partition; under available_now the input
 * ends once both have closed. */
static void test_listen_clients(void **state) {
    (void)state;
    int port = free_port();
    sluice_test_cfg c;
    open_source(&c, "listen", port, "lines", 1);
    sluice_test_cfg_set(&c, "max_clients", "2");
    sluice_source *src = do_open(&c);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        int a = connect_to(port), b = connect_to(port), x = connect_to(port);
        write_all(a, "a1\n", 3);
        write_all(b, "b1\nb2\nb3", 8);
        char ch;
        ssize_t r = read(x, &ch, 1); /* the third client is closed */
        if (r != 0) _exit(5);
        write_all(a, "a2\n", 3);
        close(b);
        close(a);
        src->ops->close(src); /* the child's copy (leak checkers) */
        _exit(0);
    }
    seen s = {0};
    poll_to_end(src, &s);
    reap_child(pid);
    /* order across partitions depends on timing: compare per partition */
    const char *p0[] = {"0:1:a1\n", "0:2:a2\n"}, *p1[] = {"1:1:b1\n", "1:2:b2\n", "1:3:b3\n"};
    assert_int_equal(s.nrecords, 5);
    for (size_t i = 0; i < 2; i++) assert_non_null(strstr(s.text, p0[i]));
    for (size_t i = 0; i < 3; i++) assert_non_null(strstr(s.text, p1[i]));
    assert_true(strstr(s.text, p0[0]) < strstr(s.text, p0[1]));
    assert_true(strstr(s.text, p1[0]) < strstr(s.text, p1[1]) && strstr(s.text, p1[1]) < strstr(s.text, p1[2]));
    assert_true(logged("max_clients = 2 clients are connected"));
    src->ops->close(src);
}

/* Options are checked at open, naming file:line. */
static void test_bad_options(void **state) {
    (void)state;
    static const struct { const char *key, *value, *msg; } cases[] = {
        {"mode", "serve", "option 'mode' = 'serve' (test.ini:4): expected connect or listen"},
        {"port", "70000", "option 'port' = '70000' (test.ini:3): expected a TCP port, 1 to 65535"},
        {"format", "xml", "option 'format' = 'xml' (test.ini:5): expected lines, json or csv"},
        {"max_clients", "3", "option 'max_clients' = '3' (test.ini:6): only for mode = listen"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        sluice_test_cfg c;
        open_source(&c, "connect", 9, "lines", 0);
        if (strcmp(cases[i].key, "max_clients") == 0) sluice_test_cfg_set(&c, "max_clients", "3");
        else
            for (size_t k = 0; k < c.cfg.noptions; k++)
                if (strcmp(c.options[k].key, cases[i].key) == 0) c.options[k].value = cases[i].value;
        sluice_source *src = NULL;
        char err[512] = "";
        assert_int_equal(sluice_socket_source_ops.open(&c.cfg, &src, err, sizeof err), SLUICE_ERR_CONFIG);
        if (!strstr(err, cases[i].msg)) fail_msg("%s: got '%s'", cases[i].key, err);
        assert_null(src);
    }
}

/* ---------------- through the sluice binary ---------------- */

static char sql_path[4200], ini_path[4200], out_path[4200], dl_path[4200], err_path[4200], ckpt_path[4200];

static void paths(const char *name) {
    snprintf(sql_path, sizeof sql_path, "%s/%s.sql", dir, name);
    snprintf(ini_path, sizeof ini_path, "%s/%s.test.ini", dir, name);
    snprintf(out_path, sizeof out_path, "%s/%s.out", dir, name);
    snprintf(dl_path, sizeof dl_path, "%s/%s.dead.jsonl", dir, name);
    snprintf(err_path, sizeof err_path, "%s/%s.err", dir, name);
    snprintf(ckpt_path, sizeof ckpt_path, "%s/%s.ckpt", dir, name);
}

/* Write the pipeline (source `lines` in connect mode to `port`, one file
 * sink `out` in `sink_format`), start sluice, serve `data` to it and close;
 * returns the exit status. */
static int run_served(const char *sql, const char *format, const char *sink_format, const char *extra, int port,
                      int lfd, const char *data, size_t len) {
    assert_int_equal(sluice_test_write_file(sql_path, sql), 0);
    char ini[12000];
    snprintf(ini, sizeof ini,
             "[pipeline]\ntrigger = available_now\ndead_letter = %s\n%s"
             "[source lines]\nconnector = socket\nhost = 127.0.0.1\nport = %d\nformat = %s\n"
             "[sink out]\nconnector = file\npath = %s\nformat = %s\n",
             dl_path, extra ? extra : "", port, format, out_path, sink_format);
    assert_int_equal(sluice_test_write_file(ini_path, ini), 0);
    const char *argv[] = {"run", sql_path, NULL};
    int pid = sluice_test_spawn_cli(argv, NULL, err_path);
    assert_true(pid > 0);
    struct pollfd pf = {.fd = lfd, .events = POLLIN}; /* sluice connects, unless it failed first */
    if (poll(&pf, 1, 30000) != 1) {
        int rc = sluice_test_wait_cli(pid, 10000);
        char *e = sluice_test_read_file(err_path, NULL);
        fail_msg("sluice did not connect (exit %d): %s", rc, e ? e : "");
    }
    int c = accept(lfd, NULL, NULL);
    assert_true(c >= 0);
    write_all(c, data, len);
    close(c);
    return sluice_test_wait_cli(pid, 60000);
}

static void test_cli_formats(void **state) {
    (void)state;
    int port = 0, lfd = listen_on(0, &port);
    paths("formats");
    /* lines: one value column; an invalid line is a dead letter with its bytes */
    static const char lines[] = "hello\r\nw\xC3\xB6rld\nbad \xFF\xFE\n";
    int rc = run_served("CREATE SOURCE lines (value VARCHAR);\n"
                        "CREATE SINK out AS SELECT value, LENGTH(value) AS n FROM lines;\n",
                        "lines", "csv", NULL, port, lfd, lines, sizeof lines - 1);
    assert_int_equal(rc, 0);
    char *out = sluice_test_read_file(out_path, NULL);
    assert_non_null(out);
    assert_string_equal(out, "value,n\nhello,5\nw\xC3\xB6rld,5\n");
    free(out);
    char *dl = sluice_test_read_file(dl_path, NULL);
    assert_non_null(dl);
    char want[400];
    snprintf(want, sizeof want,
             "{\"source\":\"lines\",\"position\":\"127.0.0.1:%d partition 0 line 3\",\"reason\":\"invalid UTF-8 in "
             "column 'value' at byte 5 of the line\",\"raw_base64\":\"YmFkIP/+\"}\n",
             port);
    assert_string_equal(dl, want);
    free(dl);

    /* json */
    static const char json[] = "{\"k\":\"a\",\"v\":1}\n\n{\"k\":\"b\",\"v\":2}\r\n{\"k\":\"a\",\"v\":40}";
    rc = run_served("CREATE SOURCE lines (k VARCHAR, v BIGINT, off BIGINT METADATA FROM 'offset');\n"
                    "CREATE SINK out AS SELECT k, v, off FROM lines;\n",
                    "json", "csv", NULL, port, lfd, json, sizeof json - 1);
    assert_int_equal(rc, 0);
    out = sluice_test_read_file(out_path, NULL);
    assert_non_null(out);
    assert_string_equal(out, "k,v,off\na,1,1\nb,2,3\na,40,4\n");
    free(out);

    /* csv: fields in the declared order (no header line) */
    static const char csv[] = "a,1\n\"b,c\",2\n";
    rc = run_served("CREATE SOURCE lines (k VARCHAR, v BIGINT);\n"
                    "CREATE SINK out AS SELECT k, v * 10 AS v10 FROM lines;\n",
                    "csv", "json", NULL, port, lfd, csv, sizeof csv - 1);
    assert_int_equal(rc, 0);
    out = sluice_test_read_file(out_path, NULL);
    assert_non_null(out);
    assert_string_equal(out, "{\"k\":\"a\",\"v10\":10}\n{\"k\":\"b,c\",\"v10\":20}\n");
    free(out);
    close(lfd);
}

/* A bad format is refused before any input is read, naming file:line. */
static void test_cli_bad_format(void **state) {
    (void)state;
    paths("badformat");
    assert_int_equal(sluice_test_write_file(sql_path, "CREATE SOURCE lines (value VARCHAR);\n"
                                                      "CREATE SINK out AS SELECT value FROM lines;\n"),
                     0);
    assert_int_equal(sluice_test_write_file(ini_path, "[source lines]\nconnector = socket\nport = 9\nformat = xml\n"), 0);
    const char *argv[] = {"run", sql_path, NULL};
    assert_int_equal(sluice_test_run_cli(argv, NULL, err_path), 2);
    char *err = sluice_test_read_file(err_path, NULL);
    assert_non_null(err);
    char want[4400];
    snprintf(want, sizeof want, "%s:4: format = 'xml': expected json, csv or lines", ini_path);
    if (!strstr(err, want)) fail_msg("stderr: %s", err);
    free(err);
}

/* The word-count example, fixtures/pipelines/word_count.sql, run to the
 * end of one burst (available_now) into a CSV file: the lines' words
 * (lower-cased, split at spaces) counted per word per minute of their
 * receive time (METADATA FROM 'timestamp'). */
static void test_cli_word_count_example(void **state) {
    (void)state;
    int port = 0, lfd = listen_on(0, &port);
    paths("count");
    char set_port[64], set_path[4400];
    snprintf(set_port, sizeof set_port, "source lines.port=%d", port);
    snprintf(set_path, sizeof set_path, "sink word_counts.path=%s", out_path);
    char set_dl[4400];
    snprintf(set_dl, sizeof set_dl, "pipeline.dead_letter=%s", dl_path);
    const char *argv[] = {"run", "fixtures/pipelines/word_count.sql", "--profile", "socket",
                          "--set", set_port, "--set", "source lines.host=127.0.0.1", "--set", set_dl,
                          "--set", "pipeline.trigger=available_now",
                          "--set", "sink word_counts.connector=file", "--set", set_path,
                          "--set", "sink word_counts.format=csv", NULL};
    int pid = sluice_test_spawn_cli(argv, NULL, err_path);
    assert_true(pid > 0);
    struct pollfd pf = {.fd = lfd, .events = POLLIN};
    if (poll(&pf, 1, 30000) != 1) {
        int rc = sluice_test_wait_cli(pid, 10000);
        char *e = sluice_test_read_file(err_path, NULL);
        fail_msg("sluice did not connect (exit %d): %s", rc, e ? e : "");
    }
    int c = accept(lfd, NULL, NULL);
    assert_true(c >= 0);
    static const char data[] = "Spark sluice\nspark  flink\nSPARK\n\nsluice\n";
    write_all(c, data, sizeof data - 1);
    close(c);
    int rc = sluice_test_wait_cli(pid, 60000);
    close(lfd);
    if (rc != 0) {
        char *e = sluice_test_read_file(err_path, NULL);
        fail_msg("exit %d: %s", rc, e ? e : "");
    }
    char *out = sluice_test_read_file(out_path, NULL);
    assert_non_null(out);
    /* UPDATE: a (window, value) row may be written again with a higher
     * count, marked +U in the op column (+I the first time); the last one
     * per key counts.  One
     * burst arrives within a minute but may straddle a minute boundary:
     * sum over the windows. */
    struct { char start[32], value[16]; long n; } last[16];
    size_t nlast = 0;
    char *save = NULL;
    for (char *l = strtok_r(out, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
        char op[4], start[32], end[32], v[16];
        long n;
        if (strncmp(l, "op,window_start,", 16) == 0) continue;
        assert_int_equal(sscanf(l, "%3[^,],%31[^,],%31[^,],%15[^,],%ld", op, start, end, v, &n), 5);
        size_t k;
        for (k = 0; k < nlast; k++)
            if (strcmp(last[k].start, start) == 0 && strcmp(last[k].value, v) == 0) break;
        /* a key's first row is an insert, its later ones updates */
        assert_string_equal(op, k == nlast ? "+I" : "+U");
        if (k == nlast) {
            assert_true(nlast < 16);
            snprintf(last[k].start, sizeof last[k].start, "%s", start);
            snprintf(last[k].value, sizeof last[k].value, "%s", v);
            nlast++;
        }
        last[k].n = n;
    }
    long spark = 0, sluice = 0, flink = 0, other = 0;
    for (size_t k = 0; k < nlast; k++) {
        if (strcmp(last[k].value, "spark") == 0) spark += last[k].n;
        else if (strcmp(last[k].value, "sluice") == 0) sluice += last[k].n;
        else if (strcmp(last[k].value, "flink") == 0) flink += last[k].n;
        else other += last[k].n;
    }
    assert_int_equal(spark, 3);
    assert_int_equal(sluice, 2);
    assert_int_equal(flink, 1);
    assert_int_equal(other, 0);
    free(out);
}

/* SIGTERM while the server has taken the connection into its backlog but
 * never accepts it nor sends: the run ends promptly, with status 0. */
static void test_cli_sigterm_while_waiting(void **state) {
    (void)state;
    int port = 0, lfd = listen_on(0, &port);
    paths("sigterm");
    assert_int_equal(sluice_test_write_file(sql_path, "CREATE SOURCE lines (value VARCHAR);\n"
                                                      "CREATE SINK out AS SELECT value FROM lines;\n"),
                     0);
    char ini[12000];
    snprintf(ini, sizeof ini,
             "[pipeline]\ntrigger = available_now\n"
             "[source lines]\nconnector = socket\nhost = 127.0.0.1\nport = %d\nformat = lines\n"
             "[sink out]\nconnector = file\npath = %s\n",
             port, out_path);
    assert_int_equal(sluice_test_write_file(ini_path, ini), 0);
    const char *argv[] = {"run", sql_path, NULL};
    int pid = sluice_test_spawn_cli(argv, NULL, err_path);
    assert_true(pid > 0);
    struct pollfd pf = {.fd = lfd, .events = POLLIN}; /* readable: a connection waits in the backlog */
    assert_int_equal(poll(&pf, 1, 30000), 1);
    int64_t t0 = sluice_clock_monotonic_ms();
    assert_int_equal(kill(pid, SIGTERM), 0);
    int rc = sluice_test_wait_cli(pid, 10000);
    int64_t took = sluice_clock_monotonic_ms() - t0;
    assert_int_equal(rc, 0);
    assert_true(took < 2000);
    close(lfd);
}

/* One run under a processing-time trigger: serve `data` on the first
 * connection and close it; sluice's reconnection shows it has handed the
 * lines to the engine; SIGTERM then ends the run after that micro-batch.
 * Returns the exit status. */
static int run_until_reconnect(const char *sql, const char *extra, int port, int lfd, const char *data) {
    assert_int_equal(sluice_test_write_file(sql_path, sql), 0);
    char ini[12000];
    snprintf(ini, sizeof ini,
             "[pipeline]\ntrigger = 200ms\n%s"
             "[source lines]\nconnector = socket\nhost = 127.0.0.1\nport = %d\nformat = lines\n"
             "[sink out]\nconnector = file\npath = %s\nformat = csv\n",
             extra, port, out_path);
    assert_int_equal(sluice_test_write_file(ini_path, ini), 0);
    const char *argv[] = {"run", sql_path, NULL};
    int pid = sluice_test_spawn_cli(argv, NULL, err_path);
    assert_true(pid > 0);
    struct pollfd pf = {.fd = lfd, .events = POLLIN};
    assert_int_equal(poll(&pf, 1, 30000), 1);
    int c = accept(lfd, NULL, NULL);
    assert_true(c >= 0);
    write_all(c, data, strlen(data));
    close(c);
    assert_int_equal(poll(&pf, 1, 30000), 1); /* the reconnection */
    int again = accept(lfd, NULL, NULL);
    assert_true(again >= 0);
    assert_int_equal(kill(pid, SIGTERM), 0);
    int rc = sluice_test_wait_cli(pid, 30000);
    close(again);
    return rc;
}

/* With checkpoint_dir the run says at start that the source cannot be
 * replayed; a second run on the same checkpoint after a clean stop reads
 * new connections, numbered after the checkpoint's, and the file sink
 * keeps what the first run wrote. */
static void test_cli_checkpoint(void **state) {
    (void)state;
    int port = 0, lfd = listen_on(0, &port);
    paths("ckpt");
    char extra[4400];
    snprintf(extra, sizeof extra, "checkpoint_dir = %s\n", ckpt_path);
    const char *sql = "CREATE SOURCE lines (value VARCHAR, p BIGINT METADATA FROM 'partition',\n"
                      "  o BIGINT METADATA FROM 'offset');\n"
                      "CREATE SINK out AS SELECT value, p, o FROM lines;\n";
    int rc = run_until_reconnect(sql, extra, port, lfd, "a\nb\n");
    char *err = sluice_test_read_file(err_path, NULL);
    assert_non_null(err);
    if (rc != 0) fail_msg("exit %d: %s", rc, err);
    assert_non_null(strstr(err, "a socket source cannot be replayed"));
    free(err);
    rc = run_until_reconnect(sql, extra, port, lfd, "c\n");
    err = sluice_test_read_file(err_path, NULL);
    if (rc != 0) fail_msg("exit %d: %s", rc, err ? err : "");
    free(err);
    char *out = sluice_test_read_file(out_path, NULL);
    assert_non_null(out);
    assert_string_equal(out, "value,p,o\na,0,1\nb,0,2\nc,1,1\n");
    free(out);
    close(lfd);
}

/* A crash after an epoch read socket lines but before its snapshot: the
 * lines are gone (nothing keeps a copy), so the next run replays the epoch
 * without them, logs an error naming the source, the epoch and the lost
 * lines, counts them in its summary, and goes on reading new input: one
 * crash must not stop the pipeline for good.  The file sink committed the
 * epoch before the crash, so its rows are there once. */
static void test_cli_crash_recovery_goes_on_without_the_lost_lines(void **state) {
    (void)state;
    int port = 0, lfd = listen_on(0, &port);
    paths("crash");
    char extra[4400];
    snprintf(extra, sizeof extra, "checkpoint_dir = %s\nfault.abort_in_snapshot = 1\n", ckpt_path);
    const char *sql = "CREATE SOURCE lines (value VARCHAR);\nCREATE SINK out AS SELECT value FROM lines;\n";
    int rc = run_served(sql, "lines", "csv", extra, port, lfd, "a\nb\nc\n", 6);
    assert_int_equal(rc, -1); /* aborted inside the first snapshot */
    snprintf(extra, sizeof extra, "checkpoint_dir = %s\n", ckpt_path);
    rc = run_served(sql, "lines", "csv", extra, port, lfd, "d\n", 2);
    char *err = sluice_test_read_file(err_path, NULL);
    assert_non_null(err);
    if (rc != 0) fail_msg("exit %d: %s", rc, err);
    if (!strstr(err, "recovery: epoch 0 read 3 record(s) from source lines (partition 0, offsets 1 to 3), which "
                     "its connector cannot read again"))
        fail_msg("stderr: %s", err);
    assert_non_null(strstr(err, "lost_in_recovery=3"));
    free(err);
    char *out = sluice_test_read_file(out_path, NULL);
    assert_non_null(out);
    assert_string_equal(out, "value\na\nb\nc\nd\n");
    free(out);
    close(lfd);
}

/* The option table: `sluice check` refuses a value of the wrong type with
 * its file:line (before the table, check looked at the keys only and
 * passed), and `sluice connectors` lists the options. */
static void test_options_checked_and_listed(void **state) {
    (void)state;
    const char *sql = "CREATE SOURCE lines (value VARCHAR);\nCREATE SINK out AS SELECT value FROM lines;\n";
    sluice_test_check_refuses(sql, "[source lines]\nconnector = socket\nport = 9\nmax_line_bytes = lots\n", 4,
                              (const char *const[]){"max_line_bytes = 'lots'", "expected integer from 1 to 1073741824",
                                                    NULL});
    sluice_test_check_refuses(sql, "[source lines]\nconnector = socket\nport = 9\nidle_timeout = soon\n", 4,
                              (const char *const[]){"idle_timeout = 'soon'", "expected a duration such as 30s or 500ms", NULL});
    sluice_test_check_refuses(sql, "[source lines]\nconnector = socket\nport = 9\nmode = listen\nmax_clients = 0\n",
                              5, (const char *const[]){"max_clients = '0'", NULL});
    sluice_test_connectors_list("### Source `socket`",
                                (const char *const[]){"host", "port", "mode", "format", "csv.delimiter",
                                                      "idle_timeout", "max_clients", "max_line_bytes", NULL});
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_connect_lines_available_now),
        cmocka_unit_test(test_connect_long_line),
        cmocka_unit_test(test_connect_reconnects_after_server_restart),
        cmocka_unit_test(test_listen_clients),
        cmocka_unit_test(test_bad_options),
        cmocka_unit_test(test_options_checked_and_listed),
        cmocka_unit_test(test_cli_formats),
        cmocka_unit_test(test_cli_bad_format),
        cmocka_unit_test(test_cli_word_count_example),
        cmocka_unit_test(test_cli_sigterm_while_waiting),
        cmocka_unit_test(test_cli_checkpoint),
        cmocka_unit_test(test_cli_crash_recovery_goes_on_without_the_lost_lines),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
