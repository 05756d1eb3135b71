/*
 * sluice-gen — replays a JSON-lines file, or generates a seeded synthetic
 * stream, into a JSON-lines file, standard output or a Kafka topic.
 *
 * Exit status: 0 success; 1 a runtime failure (an unreadable input, a write
 * error, a failed Kafka delivery, an interruption); 2 a usage error,
 * reported before anything is written.
 */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <unistd.h>

#include "base/log.h"
#include "base/stop.h"
#include "format/format.h"
#include "gen_int.h"

/* SIGINT/SIGTERM: the first stops generating and cuts the final flush
 * short (base/stop.h: the flush waits in slices and looks at the request);
 * a second one exits at once (async-signal-safe: write, _exit). */
static const char usage_text[] =
    "usage: sluice-gen replay FILE [--key COLUMN] [--rate N/s] [--count N] [OUTPUT]\n"
    "       sluice-gen orders|ticks|pageviews|reviews|registrations [--count N] [--seed S]\n"
    "                  [--start TS] [--events-per-second-of-event-time R]\n"
    "                  [--late-fraction F [--late-by DURATION]] [--malformed-fraction F]\n"
    "                  [--rate N/s] [--key COLUMN] [OUTPUT]\n"
    "       sluice-gen --help | --version\n"
    "OUTPUT: [--out FILE] | --kafka BOOTSTRAP --topic TOPIC [--partitions-by-key] [-X KEY=VALUE]...\n";

static void help(FILE *out) {
    fputs("sluice-gen " SLUICE_VERSION " - replay or generate event streams as JSON lines, to a file or a Kafka topic\n\n",
          out);
    fputs(usage_text, out);
    fputs("\nmodes:\n"
          "  replay FILE     copy the lines of a JSON-lines file (FILE - = standard input) unchanged,\n"
          "                  one record per line; empty lines are skipped.\n",
          out);
    size_t n;
    const sluice_gen_stream *streams = sluice_gen_streams(&n);
    for (size_t i = 0; i < n; i++) {
        fprintf(out, "  %-15s %s\n", streams[i].name, streams[i].description);
        fprintf(out, "  %-15s fields:", "");
        for (size_t f = 0; f < streams[i].nfields; f++)
            fprintf(out, " %s%s", streams[i].fields[f].name, f + 1 < streams[i].nfields ? "," : "\n");
    }
    fputs("\n"
          "generation (the synthetic streams; the same arguments give byte-identical output):\n"
          "  -n, --count N         records (lines) to produce (default 1000; with replay: at most N)\n"
          "  -s, --seed S          seed of the random values, 0..2^64-1 (default 42)\n"
          "      --start TS        event time of the first record, ISO-8601 UTC\n"
          "                        (default 2024-01-01T00:00:00.000Z)\n"
          "      --events-per-second-of-event-time R\n"
          "                        event time advances 1/R seconds per record: record i has\n"
          "                        ts = start + floor(i * 1000 / R) ms (default 1)\n"
          "      --late-fraction F this share (0..1) of records carries an event time --late-by\n"
          "                        behind its place in the stream, so a watermark with a smaller\n"
          "                        delay drops it as late (default 0: ts never decreases)\n"
          "      --late-by DURATION\n"
          "                        how far late records lag: 500ms, 30s, 10m, 1h (default 10m)\n"
          "      --malformed-fraction F\n"
          "                        this share (0..1) of lines is malformed: cut short, not JSON at\n"
          "                        all, or one field of the wrong JSON type (default 0).  The other\n"
          "                        records equal those of the run without late or malformed lines.\n"
          "\n"
          "pacing:\n"
          "  -r, --rate N[/s]      write N records per second of wall-clock time (default: as fast\n"
          "                        as possible)\n"
          "\n"
          "output (default: standard output):\n"
          "  -o, --out FILE        write JSON lines to FILE (- = standard output)\n"
          "  -k, --kafka BOOTSTRAP produce to Kafka (host:port[,host:port...]) with an idempotent\n"
          "                        producer, acks=all; waits until every record is acknowledged and\n"
          "                        exits 1 if any delivery failed\n"
          "  -t, --topic TOPIC     the topic (required with --kafka)\n"
          "      --key COLUMN      record key: the value of this top-level field (a string as its\n"
          "                        characters, anything else as JSON); records lacking it have no key\n"
          "      --partitions-by-key\n"
          "                        choose the partition by the Java client's murmur2 hash of the key,\n"
          "                        as Kafka's own producers do (default: librdkafka's CRC32 hash);\n"
          "                        either way records with the same key share a partition\n"
          "  -X, --kafka-property KEY=VALUE\n"
          "                        set a librdkafka producer property, e.g. -X linger.ms=50\n"
          "                        or -X message.timeout.ms=10000 (repeatable)\n"
          "\n"
          "  -h, --help            this help\n"
          "  -V, --version         print the version\n"
          "\n"
          "examples:\n"
          "  sluice-gen orders --count 10000 --seed 42 --out fixtures/generated/orders-10k.jsonl\n"
          "  sluice-gen pageviews --count 100000 --late-fraction 0.05 --kafka localhost:9092 \\\n"
          "             --topic pageviews --key character --rate 1000/s\n"
          "  sluice-gen replay fixtures/data/flights-20k.jsonl --kafka localhost:9092 --topic flights --key origin\n"
          "\n"
          "SIGINT/SIGTERM stop writing; with --kafka the records not yet acknowledged are given\n"
          "up within about 2 s (exit 1, the count of undelivered records on stderr); a second\n"
          "signal exits at once (128 + the signal number).\n"
          "\n"
          "exit status: 0 success, 1 runtime failure (input, output or delivery) or interrupted,\n"
          "2 usage error, 128+N a second signal N.\n",
          out);
}

static int usage_error(const char *fmt, const char *arg) {
    char msg[1024];
    snprintf(msg, sizeof msg, fmt, arg);
    sluice_log_tool(SLUICE_LOG_ERROR, "sluice-gen", "%s", msg);
    fputs(usage_text, stderr);
    return 2;
}

static int parse_u64(const char *s, uint64_t *out) {
    if (!*s || *s == '-' || *s == '+') return -1;
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || *end) return -1;
    *out = v;
    return 0;
}

static int parse_double(const char *s, const char **rest, double *out) {
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (end == s || errno || !isfinite(v)) return -1;
    if (!rest && *end) return -1;
    if (rest) *rest = end;
    *out = v;
    return 0;
}

/* "N" or "N/s", N > 0. */
static int parse_rate(const char *s, double *out) {
    const char *rest;
    if (parse_double(s, &rest, out) || *out <= 0) return -1;
    return (*rest == '\0' || strcmp(rest, "/s") == 0) ? 0 : -1;
}

/* A number with an optional unit ms, s, m or h (default s), into ms. */
static int parse_duration(const char *s, int64_t *ms) {
    const char *unit;
    double v;
    if (parse_double(s, &unit, &v) || v < 0) return -1;
    double scale;
    if (*unit == '\0' || strcmp(unit, "s") == 0) scale = 1000;
    else if (strcmp(unit, "ms") == 0) scale = 1;
    else if (strcmp(unit, "m") == 0) scale = 60000;
    else if (strcmp(unit, "h") == 0) scale = 3600000;
    else return -1;
    if (v * scale > 1e15) return -1;
    *ms = (int64_t)llround(v * scale);
    return 0;
}

static double now_seconds(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Sleep until record `index` is due at `rate` records/s since `t0`. */
static void pace(double t0, uint64_t index, double rate) {
    double due = t0 + (double)index / rate;
    for (;;) {
        double wait = due - now_seconds();
        if (wait <= 0 || sluice_stop_requested()) return;
        struct timespec ts = {.tv_sec = (time_t)wait, .tv_nsec = (long)((wait - floor(wait)) * 1e9)};
        nanosleep(&ts, NULL);
    }
}

enum {
    OPT_START = 256,
    OPT_EVENT_RATE,
    OPT_LATE_FRACTION,
    OPT_LATE_BY,
    OPT_MALFORMED_FRACTION,
    OPT_KEY,
    OPT_PARTITIONS_BY_KEY
};

int main(int argc, char **argv) {
    static const struct option longopts[] = {
        {"count", required_argument, NULL, 'n'},
        {"seed", required_argument, NULL, 's'},
        {"start", required_argument, NULL, OPT_START},
        {"events-per-second-of-event-time", required_argument, NULL, OPT_EVENT_RATE},
        {"late-fraction", required_argument, NULL, OPT_LATE_FRACTION},
        {"late-by", required_argument, NULL, OPT_LATE_BY},
        {"malformed-fraction", required_argument, NULL, OPT_MALFORMED_FRACTION},
        {"rate", required_argument, NULL, 'r'},
        {"out", required_argument, NULL, 'o'},
        {"kafka", required_argument, NULL, 'k'},
        {"topic", required_argument, NULL, 't'},
        {"key", required_argument, NULL, OPT_KEY},
        {"partitions-by-key", no_argument, NULL, OPT_PARTITIONS_BY_KEY},
        {"kafka-property", required_argument, NULL, 'X'},
        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},
        {NULL, 0, NULL, 0}};

    if (argc < 2) {
        fputs(usage_text, stderr);
        return 2;
    }
    const char *mode = argv[1];
    if (strcmp(mode, "--help") == 0 || strcmp(mode, "-h") == 0 || strcmp(mode, "help") == 0) {
        help(stdout);
        return 0;
    }
    if (strcmp(mode, "--version") == 0 || strcmp(mode, "-V") == 0) {
        printf("sluice-gen %s\n", SLUICE_VERSION);
        return 0;
    }
    int replay = strcmp(mode, "replay") == 0;
    const sluice_gen_stream *stream = replay ? NULL : sluice_gen_stream_find(mode);
    if (!replay && !stream)
        return usage_error("unknown mode '%s' (expected replay, orders, ticks, pageviews, reviews or "
                           "registrations)",
                           mode);

    sluice_gen_options g = {.count = 1000, .seed = 42, .event_rate = 1, .late_by_ms = 600000};
    {
        size_t len = strlen("2024-01-01T00:00:00.000Z");
        sluice_ts_parse(NULL, "2024-01-01T00:00:00.000Z", len, &g.start_ms);
    }
    sluice_gen_kafka_options k = {0};
    const char **props = calloc((size_t)argc, sizeof *props);
    if (!props) return 1;
    k.properties = props;
    const char *out_path = NULL, *key = NULL, *generation_opt = NULL;
    double rate = 0;
    int have_count = 0;
    int c;
    optind = 2;
    opterr = 0;
    int rc = 2;
    while ((c = getopt_long(argc, argv, ":n:s:r:o:k:t:X:hV", longopts, NULL)) != -1) {
        switch (c) {
        case 'n':
            if (parse_u64(optarg, &g.count)) {
                usage_error("--count: expected a non-negative integer, got '%s'", optarg);
                goto done;
            }
            have_count = 1;
            break;
        case 's':
            if (parse_u64(optarg, &g.seed)) {
                usage_error("--seed: expected an integer 0..18446744073709551615, got '%s'", optarg);
                goto done;
            }
            generation_opt = "--seed";
            break;
        case OPT_START:
            if (sluice_ts_parse(NULL, optarg, strlen(optarg), &g.start_ms)) {
                usage_error("--start: expected an ISO-8601 time such as 2024-01-01T00:00:00Z, got '%s'",
                            optarg);
                goto done;
            }
            generation_opt = "--start";
            break;
        case OPT_EVENT_RATE:
            if (parse_double(optarg, NULL, &g.event_rate) || g.event_rate <= 0) {
                usage_error("--events-per-second-of-event-time: expected a number > 0, got '%s'", optarg);
                goto done;
            }
            generation_opt = "--events-per-second-of-event-time";
            break;
        case OPT_LATE_FRACTION:
            if (parse_double(optarg, NULL, &g.late_fraction) || g.late_fraction < 0 || g.late_fraction > 1) {
                usage_error("--late-fraction: expected a number from 0 to 1, got '%s'", optarg);
                goto done;
            }
            generation_opt = "--late-fraction";
            break;
        case OPT_LATE_BY:
            if (parse_duration(optarg, &g.late_by_ms)) {
                usage_error("--late-by: expected a duration such as 10m, 30s or 500ms, got '%s'", optarg);
                goto done;
            }
            generation_opt = "--late-by";
            break;
        case OPT_MALFORMED_FRACTION:
            if (parse_double(optarg, NULL, &g.malformed_fraction) || g.malformed_fraction < 0 ||
                g.malformed_fraction > 1) {
                usage_error("--malformed-fraction: expected a number from 0 to 1, got '%s'", optarg);
                goto done;
            }
            generation_opt = "--malformed-fraction";
            break;
        case 'r':
            if (parse_rate(optarg, &rate)) {
                usage_error("--rate: expected records per second such as 1000 or 1000/s, got '%s'", optarg);
                goto done;
            }
            break;
        case 'o': out_path = optarg; break;
        case 'k': k.bootstrap = optarg; break;
        case 't': k.topic = optarg; break;
        case OPT_KEY: key = optarg; break;
        case OPT_PARTITIONS_BY_KEY: k.partition_by_key = 1; break;
        case 'X': props[k.nproperties++] = optarg; break;
        case 'h': help(stdout); rc = 0; goto done;
        case 'V': printf("sluice-gen %s\n", SLUICE_VERSION); rc = 0; goto done;
        case ':': usage_error("option '%s' needs a value", argv[optind - 1]); goto done;
        default: usage_error("unknown option '%s'", argv[optind - 1]); goto done;
        }
    }

    const char *input = NULL;
    if (replay) {
        if (optind != argc - 1) {
            usage_error("%s", optind >= argc ? "replay: expected the FILE to replay"
                                             : "replay: expected exactly one FILE");
            goto done;
        }
        input = argv[optind];
        if (generation_opt) {
            usage_error("%s applies only to the generated streams, not to replay", generation_opt);
            goto done;
        }
    } else if (optind != argc) {
        usage_error("unexpected argument '%s'", argv[optind]);
        goto done;
    }
    if (k.bootstrap && out_path) {
        usage_error("%s", "--out and --kafka exclude each other");
        goto done;
    }
    if (!k.bootstrap && (k.topic || key || k.partition_by_key || k.nproperties)) {
        usage_error("%s", k.topic ? "--topic needs --kafka"
                          : key   ? "--key needs --kafka (it sets the Kafka record key)"
                          : k.partition_by_key ? "--partitions-by-key needs --kafka"
                                               : "-X needs --kafka");
        goto done;
    }
    if (k.bootstrap && !k.topic) {
        usage_error("%s", "--kafka needs --topic");
        goto done;
    }
    if (k.partition_by_key && !key) {
        usage_error("%s", "--partitions-by-key needs --key");
        goto done;
    }
    if (stream && key && sluice_gen_stream_field(stream, key) < 0) {
        char fields[256] = "";
        for (size_t f = 0; f < stream->nfields; f++) {
            strcat(fields, stream->fields[f].name);
            if (f + 1 < stream->nfields) strcat(fields, ", ");
        }
        sluice_log_tool(SLUICE_LOG_ERROR, "sluice-gen", "--key: %s has no field '%s' (fields: %s)", stream->name, key,
                        fields);
        goto done;
    }

    rc = 1;
    char errstr[1024] = "";
    FILE *in = NULL;
    sluice_gen *gen = NULL;
    if (replay) {
        in = strcmp(input, "-") == 0 ? stdin : fopen(input, "rb");
        if (!in) {
            sluice_log_tool(SLUICE_LOG_ERROR, "sluice-gen", "cannot open '%s': %s", input, strerror(errno));
            goto done;
        }
    } else {
        gen = sluice_gen_new(stream, &g);
        if (!gen) {
            sluice_log_tool(SLUICE_LOG_ERROR, "sluice-gen", "out of memory");
            goto done;
        }
    }
    sluice_gen_output *out = k.bootstrap ? sluice_gen_output_kafka(&k, errstr, sizeof errstr)
                                         : sluice_gen_output_file(out_path, errstr, sizeof errstr);
    if (!out) {
        sluice_log_tool(SLUICE_LOG_ERROR, "sluice-gen", "%s", errstr);
        if (in && in != stdin) fclose(in);
        sluice_gen_destroy(gen);
        if (k.bootstrap) rc = 2; /* a producer that cannot be configured */
        goto done;
    }

    sluice_stop_on_signals("sluice-gen: second signal: exiting now\n");

    double t0 = now_seconds();
    uint64_t n = 0, unkeyed = 0;
    char *buf = NULL;
    size_t bufcap = 0;
    int failed = 0;
    while (!sluice_stop_requested() && (!replay || !have_count || n < g.count)) {
        const char *line;
        size_t len;
        if (replay) {
            ssize_t got = getline(&buf, &bufcap, in);
            if (got < 0) {
                if (ferror(in)) {
                    snprintf(errstr, sizeof errstr, "cannot read '%s': %s", input, strerror(errno));
                    failed = 1;
                }
                break;
            }
            len = (size_t)got;
            if (len && buf[len - 1] == '\n') len--;
            if (len == 0) continue;
            line = buf;
        } else if (sluice_gen_next(gen, &line, &len) != 0) {
            break;
        }
        if (rate > 0) pace(t0, n, rate);
        size_t keylen = 0;
        char *kv = key ? sluice_gen_key_of(line, len, key, &keylen) : NULL;
        if (key && !kv) unkeyed++;
        int wr = sluice_gen_output_write(out, line, len, kv, keylen, errstr, sizeof errstr);
        free(kv);
        if (wr) {
            failed = 1;
            break;
        }
        n++;
        sluice_gen_output_poll(out);
    }
    free(buf);
    if (in && in != stdin) fclose(in);
    sluice_gen_destroy(gen);

    uint64_t delivered = 0;
    char close_err[1024] = "";
    if (sluice_gen_output_close(out, &delivered, close_err, sizeof close_err) && !failed) {
        snprintf(errstr, sizeof errstr, "%s", close_err);
        failed = 1;
    }
    if (failed) {
        sluice_log_tool(SLUICE_LOG_ERROR, "sluice-gen", "%s", errstr);
    } else if (sluice_stop_requested()) {
        sluice_log_tool(SLUICE_LOG_WARN, "sluice-gen", "interrupted after %llu records", (unsigned long long)n);
    } else {
        rc = 0;
        if (k.bootstrap) {
            char without[512] = "";
            if (unkeyed)
                snprintf(without, sizeof without, " (%llu without the key '%.400s')", (unsigned long long)unkeyed,
                         key);
            sluice_log_tool(SLUICE_LOG_INFO, "sluice-gen", "%llu records delivered to topic '%s'%s",
                            (unsigned long long)delivered, k.topic, without);
        }
    }
done:
    free(props);
    return rc;
}
