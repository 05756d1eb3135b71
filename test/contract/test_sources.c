/*
 * Contract suite for sources: every source connector passes the same
 * properties (module.h's source contract).  Each case knows how to create
 * an instance that holds N known records.
 */
#include "sluice_test.h"
#include "conn_support.h"

#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "connectors/connectors.h"
#include "registry.h"
#ifdef SLUICE_WITH_KAFKA
#include "kafka_support.h"
#endif

#define NRECORDS 25

static char *tmpdir;

typedef struct bad_option {
    const char *key;
    const char *value;
} bad_option;

typedef struct source_case {
    const char *name;
    const char *connector;          /* looked up through the registry */
    int csv;                        /* records are CSV rows (with a header) */
    int unbounded;                  /* never sets end_of_input: its input has
                                       ended once a poll returns no record */
    /* Create an instance whose whole content is lines[0..n). */
    sluice_err_t (*make)(const struct source_case *sc, sluice_test_cfg *c, const char **lines,
                         size_t n, sluice_source **out, char *errstr, size_t errstr_size);
    const char *path_key;           /* the case writes a file at option "path" */
    bad_option bad[8];              /* each must be rejected alone */
} source_case;

/* Per-test state: the case and its generated input. */
typedef struct source_test {
    const source_case *sc;
    char path[4096];
    sluice_test_cfg c;
    const char *lines[NRECORDS];
    char storage[NRECORDS][128];
    char topic[64];                 /* kafka: this test's topic and group */
    char group[64];
} source_test;

/* The end of the input as the case defines it: end_of_input for a bounded
 * source, the first empty poll for an unbounded one (execute() stops such a
 * source there under trigger = available_now). */
static int at_end(const source_test *t, const sluice_record_batch *b) {
    if (t->sc->unbounded) {
        assert_false(b->end_of_input);
        return b->count == 0;
    }
    return b->end_of_input;
}

static void fill_lines(source_test *t) {
    for (size_t i = 0; i < NRECORDS; i++) {
        if (t->sc->csv)
            snprintf(t->storage[i], sizeof t->storage[i], "%zu,row %zu,\"q,%zu\"", i, i, i);
        else
            snprintf(t->storage[i], sizeof t->storage[i], "{\"i\":%zu,\"s\":\"row %zu\"}", i, i);
        t->lines[i] = t->storage[i];
    }
}

static int write_lines(const char *path, int csv, const char **lines, size_t n) {
    FILE *f = fopen(path, "wb");
    if (!f) return -1;
    if (csv) fputs("i,s,q\n", f);
    for (size_t i = 0; i < n; i++) fprintf(f, "%s\n", lines[i]);
    return fclose(f);
}

static sluice_err_t make_file(const source_case *sc, sluice_test_cfg *c, const char **lines,
                              size_t n, sluice_source **out, char *errstr, size_t errstr_size) {
    const char *path = sluice_module_config_get(&c->cfg, "path");
    assert_int_equal(write_lines(path, sc->csv, lines, n), 0);
    const sluice_source_ops *ops;
    sluice_err_t err = sluice_registry_source(sc->connector, &ops, errstr, errstr_size);
    if (err) return err;
    return ops->open(&c->cfg, out, errstr, errstr_size);
}

static sluice_err_t make_memory(const source_case *sc, sluice_test_cfg *c, const char **lines,
                                size_t n, sluice_source **out, char *errstr,
                                size_t errstr_size) {
    const sluice_source_ops *ops;
    sluice_err_t err = sluice_registry_source(sc->connector, &ops, errstr, errstr_size);
    if (err) return err;
    if ((err = ops->open(&c->cfg, out, errstr, errstr_size))) return err;
    for (size_t i = 0; i < n; i++)
        assert_int_equal(sluice_memory_source_push(*out, lines[i], strlen(lines[i]), NULL, 0, 0,
                                                   1000 + (int64_t)i),
                         SLUICE_OK);
    assert_int_equal(sluice_memory_source_end(*out), SLUICE_OK);
    return SLUICE_OK;
}

static pid_t socket_server; /* the running make_socket() server, or 0 */

/* A server on 127.0.0.1 (a child process) that sends the lines on the
 * first connection and closes it; the source connects to it under
 * available_now, so that the close is the end of its input. */
static sluice_err_t make_socket(const source_case *sc, sluice_test_cfg *c, const char **lines, size_t n,
                                sluice_source **out, char *errstr, size_t errstr_size) {
    int lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    assert_true(lfd >= 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t al = sizeof a;
    assert_int_equal(bind(lfd, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(listen(lfd, 4), 0);
    assert_int_equal(getsockname(lfd, (struct sockaddr *)&a, &al), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        /* a test that never polls never connects: teardown ends the child */
        int fd = accept(lfd, NULL, NULL);
        if (fd < 0) _exit(2);
        for (size_t i = 0; i < n; i++)
            if (write(fd, lines[i], strlen(lines[i])) < 0 || write(fd, "\n", 1) != 1) _exit(3);
        close(fd);
        _exit(0);
    }
    close(lfd);
    socket_server = pid;
    static char port[16];
    snprintf(port, sizeof port, "%d", ntohs(a.sin_port));
    for (size_t i = 0; i < c->cfg.noptions; i++)
        if (strcmp(c->options[i].key, "port") == 0) c->options[i].value = port;
    c->cfg.available_now = 1;
    const sluice_source_ops *ops;
    sluice_err_t err = sluice_registry_source(sc->connector, &ops, errstr, errstr_size);
    if (err) return err;
    return ops->open(&c->cfg, out, errstr, errstr_size);
}

#ifdef SLUICE_WITH_KAFKA
static sluice_test_broker *broker;

/* A one-partition topic (so that order is defined) holding the lines. */
static sluice_err_t make_kafka(const source_case *sc, sluice_test_cfg *c, const char **lines,
                               size_t n, sluice_source **out, char *errstr, size_t errstr_size) {
    const char *topic = sluice_module_config_get(&c->cfg, "topic");
    assert_int_equal(sluice_test_broker_cmd(broker, "topic %s:1", topic), 0);
    if (n > 0)
        assert_int_equal(sluice_test_kafka_produce(sluice_test_broker_bootstrap(broker), topic, 0,
                                                   lines, NULL, n),
                         0);
    const sluice_source_ops *ops;
    sluice_err_t err = sluice_registry_source(sc->connector, &ops, errstr, errstr_size);
    if (err) return err;
    return ops->open(&c->cfg, out, errstr, errstr_size);
}
#endif

static const source_case cases[] = {
    {.name = "file-json", .connector = "file", .csv = 0, .make = make_file, .path_key = "path",
     .bad = {{"follow", "maybe"}, {"format", "xml"}, {"max_offsets_per_trigger", "0"},
             {"max_offsets_per_trigger", "ten"}, {"csv.delimiter", ";;"}, {"bogus", "1"}}},
    {.name = "file-csv", .connector = "file", .csv = 1, .make = make_file, .path_key = "path",
     .bad = {{"csv.delimiter", "ab"}, {"follow", "2"}, {"bogus", "1"}}},
    {.name = "memory", .connector = "memory", .make = make_memory,
     .bad = {{"bogus", "1"}, {"format", "xml"}}},
    {.name = "fault(file-json)", .connector = "fault", .make = make_file, .path_key = "path",
     .bad = {{"fault.nth", "x"}, {"fault.method", "write"}, {"fault.action", "explode"},
             {"fault.after", "-1"}, {"fault.bogus", "1"}, {"follow", "maybe"}}},
    {.name = "socket", .connector = "socket", .make = make_socket,
     .bad = {{"mode", "serve"}, {"format", "xml"}, {"max_clients", "3"}, {"max_line_bytes", "0"},
             {"bogus", "1"}}},
#ifdef SLUICE_WITH_KAFKA
    {.name = "kafka", .connector = "kafka", .unbounded = 1, .make = make_kafka,
     .bad = {{"startingOffsets", "middle"}, {"max_offsets_per_trigger", "0"},
             {"kafka.no.such.property", "1"}, {"kafka.enable.auto.commit", "true"},
             {"format", "xml"}, {"csv.delimiter", ";;"}, {"bogus", "1"}}},
#endif
};
#define NCASES (sizeof cases / sizeof cases[0])

static int setup(void **state) {
    source_test *t = *state;
    static int seq;
    snprintf(t->path, sizeof t->path, "%s/input-%d.%s", tmpdir, ++seq, t->sc->csv ? "csv" : "jsonl");
    sluice_test_cfg_init(&t->c, "flights", NULL);
    if (strcmp(t->sc->connector, "fault") == 0) sluice_test_cfg_set(&t->c, "fault.inner", "file");
    if (t->sc->path_key) sluice_test_cfg_set(&t->c, t->sc->path_key, t->path);
    if (t->sc->csv) sluice_test_cfg_set(&t->c, "format", "csv");
    if (strcmp(t->sc->connector, "socket") == 0) {
        sluice_test_cfg_set(&t->c, "host", "127.0.0.1");
        sluice_test_cfg_set(&t->c, "port", "9"); /* make_socket sets its server's */
    }
#ifdef SLUICE_WITH_KAFKA
    if (strcmp(t->sc->connector, "kafka") == 0) {
        snprintf(t->topic, sizeof t->topic, "contract-%d", seq);
        snprintf(t->group, sizeof t->group, "contract-group-%d", seq);
        sluice_test_cfg_set(&t->c, "topic", t->topic);
        sluice_test_cfg_set(&t->c, "group.id", t->group);
        sluice_test_cfg_set(&t->c, "startingOffsets", "earliest");
        sluice_test_cfg_set(&t->c, "kafka.bootstrap.servers", sluice_test_broker_bootstrap(broker));
    }
#endif
    fill_lines(t);
    return 0;
}

static int teardown(void **state) {
    source_test *t = *state;
    remove(t->path);
    if (socket_server > 0) {
        kill(socket_server, SIGKILL);
        waitpid(socket_server, NULL, 0);
        socket_server = 0;
    }
    return 0;
}

static sluice_source *make(source_test *t, size_t n) {
    char err[512] = "";
    sluice_source *src = NULL;
    sluice_err_t rc = t->sc->make(t->sc, &t->c, t->lines, n, &src, err, sizeof err);
    if (rc != SLUICE_OK) fail_msg("%s: open failed: %s", t->sc->name, err);
    assert_non_null(src);
    return src;
}

/* ---------------- properties ---------------- */

static void open_close_round_trip(void **state) {
    source_test *t = *state;
    sluice_source *src = make(t, NRECORDS);
    const sluice_source_ops *ops = src->ops;
    assert_int_equal(ops->version, SLUICE_MODULE_VERSION);
    assert_non_null(ops->name);
    /* options may be NULL: such a module checks its own keys in open() */
    assert_non_null(ops->poll);
    if (t->sc->csv) {
        assert_non_null(src->csv_header);
        assert_int_equal(src->csv_header_len, 5);
        assert_memory_equal(src->csv_header, "i,s,q", 5);
    }
    ops->close(src);
    ops->close(NULL);
}

static void bad_options_rejected(void **state) {
    source_test *t = *state;
    for (size_t b = 0; b < 8 && t->sc->bad[b].key; b++) {
        sluice_test_cfg c = t->c;
        c.cfg.options = c.options;
        sluice_test_cfg_set(&c, t->sc->bad[b].key, t->sc->bad[b].value);
        if (t->sc->path_key) assert_int_equal(write_lines(t->path, t->sc->csv, t->lines, 1), 0);
        const sluice_source_ops *ops;
        assert_int_equal(sluice_registry_source(t->sc->connector, &ops, NULL, 0), SLUICE_OK);
        char err[512] = "";
        sluice_source *src = NULL;
        sluice_err_t rc = ops->open(&c.cfg, &src, err, sizeof err);
        if (rc != SLUICE_ERR_CONFIG)
            fail_msg("%s: %s=%s: expected a config error, got %d (%s)", t->sc->name,
                     t->sc->bad[b].key, t->sc->bad[b].value, rc, err);
        assert_null(src);
        if (!strstr(err, t->sc->bad[b].key) || !strstr(err, "flights"))
            fail_msg("%s: message does not name the key or instance: %s", t->sc->name, err);
    }
}

static void poll_honours_max_records(void **state) {
    source_test *t = *state;
    sluice_source *src = make(t, NRECORDS);
    sluice_record_batch b;
    assert_int_equal(sluice_record_batch_init(&b), SLUICE_OK);
    size_t total = 0;
    int ended = 0;
    for (int i = 0; i < 100 && !ended; i++) {
        sluice_record_batch_clear(&b);
        assert_int_equal(src->ops->poll(src, &b, 3, 0, NULL, 0), SLUICE_OK);
        assert_true(b.count <= 3);
        total += b.count;
        ended = at_end(t, &b);
    }
    assert_true(ended);
    assert_int_equal(total, NRECORDS);
    sluice_record_batch_free(&b);
    src->ops->close(src);
}

static void records_are_padded(void **state) {
    source_test *t = *state;
    sluice_source *src = make(t, NRECORDS);
    sluice_record_batch b;
    assert_int_equal(sluice_record_batch_init(&b), SLUICE_OK);
    char copy[256 + SLUICE_RECORD_PADDING];
    for (int i = 0, ended = 0; i < 100 && !ended; i++) {
        sluice_record_batch_clear(&b);
        assert_int_equal(src->ops->poll(src, &b, 7, 0, NULL, 0), SLUICE_OK);
        ended = at_end(t, &b);
        for (size_t r = 0; r < b.count; r++) {
            assert_true(b.records[r].value_len <= 256);
            memcpy(copy, b.records[r].value, b.records[r].value_len + SLUICE_RECORD_PADDING);
        }
    }
    sluice_record_batch_free(&b);
    src->ops->close(src);
}

static void bounded_exact_in_order(void **state) {
    source_test *t = *state;
    sluice_source *src = make(t, NRECORDS);
    sluice_record_batch b;
    assert_int_equal(sluice_record_batch_init(&b), SLUICE_OK);
    size_t seen = 0;
    int64_t last_offset = INT64_MIN;
    int ended = 0;
    for (int i = 0; i < 100 && !ended; i++) {
        sluice_record_batch_clear(&b);
        assert_int_equal(src->ops->poll(src, &b, 10, 0, NULL, 0), SLUICE_OK);
        ended = at_end(t, &b);
        for (size_t r = 0; r < b.count; r++, seen++) {
            assert_true(seen < NRECORDS);
            const sluice_record *rec = &b.records[r];
            assert_int_equal(rec->value_len, strlen(t->lines[seen]));
            assert_memory_equal(rec->value, t->lines[seen], rec->value_len);
            assert_true(rec->offset > last_offset);
            last_offset = rec->offset;
            char pos[512] = "";
            if (src->ops->position) {
                src->ops->position(src, rec, pos, sizeof pos);
                assert_true(pos[0] != '\0');
            }
        }
    }
    assert_int_equal(seen, NRECORDS);
    assert_true(ended);
    for (int i = 0; i < 3; i++) {
        sluice_record_batch_clear(&b);
        assert_int_equal(src->ops->poll(src, &b, 10, 0, NULL, 0), SLUICE_OK);
        assert_int_equal(b.count, 0);
        assert_true(at_end(t, &b));
    }
    if (src->ops->commit) assert_int_equal(src->ops->commit(src, 1, NULL, 0), SLUICE_OK);
    sluice_record_batch_free(&b);
    src->ops->close(src);
}

static void empty_source_ends(void **state) {
    source_test *t = *state;
    if (t->sc->csv) {  /* a CSV file needs its header: write one with no rows */
        sluice_source *src = make(t, 0);
        sluice_record_batch b;
        assert_int_equal(sluice_record_batch_init(&b), SLUICE_OK);
        assert_int_equal(src->ops->poll(src, &b, 10, 0, NULL, 0), SLUICE_OK);
        assert_int_equal(b.count, 0);
        assert_true(b.end_of_input);
        sluice_record_batch_free(&b);
        src->ops->close(src);
        return;
    }
    sluice_source *src = make(t, 0);
    sluice_record_batch b;
    assert_int_equal(sluice_record_batch_init(&b), SLUICE_OK);
    assert_int_equal(src->ops->poll(src, &b, 10, 0, NULL, 0), SLUICE_OK);
    assert_int_equal(b.count, 0);
    assert_true(at_end(t, &b));
    sluice_record_batch_free(&b);
    src->ops->close(src);
}

static const struct {
    const char *name;
    CMUnitTestFunction fn;
} properties[] = {
    {"open/close round trip", open_close_round_trip},
    {"invalid options rejected", bad_options_rejected},
    {"poll honours max_records", poll_honours_max_records},
    {"records are padded", records_are_padded},
    {"exactly N records in order, then the end of input", bounded_exact_in_order},
    {"empty input ends", empty_source_ends},
};
#define NPROPS (sizeof properties / sizeof properties[0])

int main(void) {
    tmpdir = sluice_test_mkdtemp("contract_sources");
#ifdef SLUICE_WITH_KAFKA
    broker = sluice_test_broker_start(1, NULL);
    if (!broker) return 1;
#endif
    static source_test states[NCASES * NPROPS];
    static char names[NCASES * NPROPS][160];
    struct CMUnitTest tests[NCASES * NPROPS];
    size_t n = 0;
    for (size_t c = 0; c < NCASES; c++) {
        for (size_t p = 0; p < NPROPS; p++, n++) {
            snprintf(names[n], sizeof names[n], "%s: %s", cases[c].name, properties[p].name);
            states[n].sc = &cases[c];
            tests[n] = (struct CMUnitTest){.name = names[n], .test_func = properties[p].fn,
                                           .setup_func = setup, .teardown_func = teardown,
                                           .initial_state = &states[n]};
        }
    }
    int rc = _cmocka_run_group_tests("sources", tests, n, NULL, NULL);
#ifdef SLUICE_WITH_KAFKA
    sluice_test_broker_stop(broker);
#endif
    free(tmpdir);
    return rc;
}
