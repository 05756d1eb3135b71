/*
 * sluice-mock-broker: a Kafka-protocol broker on loopback for tests and
 * demos, built on librdkafka's mock cluster (librdkafka/rdkafka_mock.h).
 *
 *   sluice-mock-broker [--brokers N] [--topic NAME:PARTITIONS]... [--until-signal]
 *
 * Starts N brokers (default 1), creates the topics (replication factor
 * min(N, 3)), prints `bootstrap=HOST:PORT,...` on stdout (line-buffered)
 * and runs until SIGTERM or SIGINT, or until stdin closes (unless
 * --until-signal: then stdin is not read at all, for scripts that start it
 * in the background).  Each stdin line is a command, answered by one line,
 * `ok` or `error: WHY`:
 *
 *   down ID                    rd_kafka_mock_broker_set_down (connections
 *                              closed, new ones refused; no leader change)
 *   up ID                      rd_kafka_mock_broker_set_up
 *   rtt ID MS                  rd_kafka_mock_broker_set_rtt
 *   error API COUNT ERR        rd_kafka_mock_push_request_errors: the next
 *                              COUNT requests of API (a name such as
 *                              Produce, Fetch, OffsetCommit, or a number)
 *                              fail with ERR (a librdkafka error name such
 *                              as NOT_LEADER_FOR_PARTITION, or a number)
 *   clear API                  rd_kafka_mock_clear_request_errors
 *   topic NAME:PARTITIONS      create one more topic
 *
 * Clients use it like any broker: kcat -b ADDR, or bootstrap.servers=ADDR.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

static volatile sig_atomic_t stop;

static void on_signal(int sig) {
    (void)sig;
    stop = 1;
}

/* Kafka protocol API keys (the Kafka protocol guide's ApiKey table). */
static const struct {
    const char *name;
    int16_t key;
} api_keys[] = {
    {"Produce", 0},          {"Fetch", 1},           {"ListOffsets", 2},
    {"Metadata", 3},         {"OffsetCommit", 8},    {"OffsetFetch", 9},
    {"FindCoordinator", 10}, {"JoinGroup", 11},      {"Heartbeat", 12},
    {"LeaveGroup", 13},      {"SyncGroup", 14},      {"DescribeGroups", 15},
    {"ListGroups", 16},      {"ApiVersions", 18},    {"InitProducerId", 22},
    {"AddPartitionsToTxn", 24}, {"EndTxn", 26},      {"OffsetForLeaderEpoch", 23},
};

static int parse_api(const char *s, int16_t *out) {
    for (size_t i = 0; i < sizeof api_keys / sizeof api_keys[0]; i++)
        if (strcasecmp(api_keys[i].name, s) == 0) {
            *out = api_keys[i].key;
            return 0;
        }
    char *end;
    long v = strtol(s, &end, 10);
    if (*s == '\0' || *end != '\0' || v < 0 || v > 1000) return -1;
    *out = (int16_t)v;
    return 0;
}

static int parse_err(const char *s, rd_kafka_resp_err_t *out) {
    const struct rd_kafka_err_desc *descs;
    size_t n;
    rd_kafka_get_err_descs(&descs, &n);
    if (strncmp(s, "RD_KAFKA_RESP_ERR_", 18) == 0) s += 18;
    for (size_t i = 0; i < n; i++)
        if (descs[i].name && strcasecmp(descs[i].name, s) == 0) {
            *out = descs[i].code;
            return 0;
        }
    char *end;
    long v = strtol(s, &end, 10);
    if (*s == '\0' || *end != '\0') return -1;
    *out = (rd_kafka_resp_err_t)v;
    return 0;
}

static int create_topic(rd_kafka_mock_cluster_t *mc, int nbrokers, const char *spec, char *why,
                        size_t why_size) {
    char name[256];
    const char *colon = strrchr(spec, ':');
    int parts = colon ? atoi(colon + 1) : 1;
    size_t n = colon ? (size_t)(colon - spec) : strlen(spec);
    if (n == 0 || n >= sizeof name || parts <= 0) {
        snprintf(why, why_size, "bad topic '%s' (expected NAME:PARTITIONS)", spec);
        return -1;
    }
    memcpy(name, spec, n);
    name[n] = '\0';
    rd_kafka_resp_err_t err = rd_kafka_mock_topic_create(mc, name, parts, nbrokers < 3 ? nbrokers : 3);
    if (err) {
        snprintf(why, why_size, "topic '%s': %s", name, rd_kafka_err2str(err));
        return -1;
    }
    return 0;
}

/* Run one command line; writes the answer to stdout. */
static void command(rd_kafka_mock_cluster_t *mc, int nbrokers, char *line) {
    char *argv[8];
    int argc = 0;
    for (char *tok = strtok(line, " \t\r\n"); tok && argc < 8; tok = strtok(NULL, " \t\r\n"))
        argv[argc++] = tok;
    if (argc == 0) return;
    char why[512] = "";
    rd_kafka_resp_err_t err = RD_KAFKA_RESP_ERR_NO_ERROR;
    if ((strcmp(argv[0], "down") == 0 || strcmp(argv[0], "up") == 0) && argc == 2) {
        int32_t id = atoi(argv[1]);
        err = argv[0][0] == 'd' ? rd_kafka_mock_broker_set_down(mc, id) : rd_kafka_mock_broker_set_up(mc, id);
    } else if (strcmp(argv[0], "rtt") == 0 && argc == 3) {
        err = rd_kafka_mock_broker_set_rtt(mc, atoi(argv[1]), atoi(argv[2]));
    } else if (strcmp(argv[0], "error") == 0 && argc == 4) {
        int16_t api;
        rd_kafka_resp_err_t e;
        long cnt = strtol(argv[2], NULL, 10);
        if (parse_api(argv[1], &api) != 0) snprintf(why, sizeof why, "unknown API '%s'", argv[1]);
        else if (parse_err(argv[3], &e) != 0) snprintf(why, sizeof why, "unknown error '%s'", argv[3]);
        else if (cnt <= 0 || cnt > 10000) snprintf(why, sizeof why, "bad count '%s'", argv[2]);
        else {
            rd_kafka_resp_err_t *errs = malloc((size_t)cnt * sizeof *errs);
            for (long i = 0; errs && i < cnt; i++) errs[i] = e;
            if (errs) rd_kafka_mock_push_request_errors_array(mc, api, (size_t)cnt, errs);
            else snprintf(why, sizeof why, "out of memory");
            free(errs);
        }
    } else if (strcmp(argv[0], "clear") == 0 && argc == 2) {
        int16_t api;
        if (parse_api(argv[1], &api) != 0) snprintf(why, sizeof why, "unknown API '%s'", argv[1]);
        else rd_kafka_mock_clear_request_errors(mc, api);
    } else if (strcmp(argv[0], "topic") == 0 && argc == 2) {
        create_topic(mc, nbrokers, argv[1], why, sizeof why);
    } else {
        snprintf(why, sizeof why, "unknown command '%s' (down ID, up ID, rtt ID MS, error API COUNT ERR, "
                                  "clear API, topic NAME:PARTITIONS)", argv[0]);
    }
    if (!why[0] && err) snprintf(why, sizeof why, "%s", rd_kafka_err2str(err));
    if (why[0]) printf("error: %s\n", why);
    else puts("ok");
    fflush(stdout);
}

static int usage(void) {
    fputs("usage: sluice-mock-broker [--brokers N] [--topic NAME:PARTITIONS]... [--until-signal]\n", stderr);
    return 2;
}

int main(int argc, char **argv) {
    int nbrokers = 1, until_signal = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--brokers") == 0 && i + 1 < argc) {
            nbrokers = atoi(argv[++i]);
            if (nbrokers <= 0) return usage();
        } else if (strcmp(argv[i], "--topic") == 0 && i + 1 < argc) {
            i++;
        } else if (strcmp(argv[i], "--until-signal") == 0) {
            until_signal = 1;
        } else {
            return usage();
        }
    }
    setvbuf(stdout, NULL, _IOLBF, 0);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);

    /* The mock cluster lives inside a client handle; it needs no brokers. */
    char errstr[512];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    rd_kafka_conf_set(conf, "log_level", "3", errstr, sizeof errstr);
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof errstr);
    if (!rk) {
        fprintf(stderr, "sluice-mock-broker: %s\n", errstr);
        return 1;
    }
    rd_kafka_mock_cluster_t *mc = rd_kafka_mock_cluster_new(rk, nbrokers);
    if (!mc) {
        fprintf(stderr, "sluice-mock-broker: cannot start the mock cluster\n");
        rd_kafka_destroy(rk);
        return 1;
    }
    int rc = 0;
    for (int i = 1; i < argc; i++)
        if (strcmp(argv[i], "--topic") == 0 && create_topic(mc, nbrokers, argv[++i], errstr, sizeof errstr) != 0) {
            fprintf(stderr, "sluice-mock-broker: %s\n", errstr);
            rc = 1;
            goto out;
        }
    printf("bootstrap=%s\n", rd_kafka_mock_cluster_bootstraps(mc));

    char line[1024];
    size_t used = 0;
    while (!stop) {
        if (until_signal) {
            pause();
            continue;
        }
        struct pollfd pfd = {.fd = STDIN_FILENO, .events = POLLIN};
        int n = poll(&pfd, 1, 200);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) continue;
        ssize_t r = read(STDIN_FILENO, line + used, sizeof line - 1 - used);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) break; /* stdin closed: the parent is gone */
        used += (size_t)r;
        line[used] = '\0';
        char *nl;
        while ((nl = memchr(line, '\n', used))) {
            *nl = '\0';
            size_t consumed = (size_t)(nl - line) + 1;
            command(mc, nbrokers, line);
            memmove(line, line + consumed, used - consumed);
            used -= consumed;
        }
        if (used == sizeof line - 1) used = 0; /* an overlong line: dropped */
    }
out:
    rd_kafka_mock_cluster_destroy(mc);
    rd_kafka_destroy(rk);
    return rc;
}
