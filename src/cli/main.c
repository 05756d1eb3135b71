/*
 * sluice — the command line (docs/operations.md "Command line").
 *
 * Exit status: 0 success (bounded input ended, or a stop on SIGINT/SIGTERM
 * after which nothing read is lost: the current epoch was finished, or it
 * was abandoned and the checkpoint replays it); 1 a runtime failure; 2 a
 * usage, configuration or SQL error, reported before any input is read; 3 a
 * stop abandoned an epoch that no checkpoint replays; 128+N a second signal
 * N ended the process at once.
 */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/log.h"
#include "runtime/options_reference.h"
#include "runtime/run_status.h"
#include "base/stop.h"
#include "state/checkpoint.h"
#include "sluice/sluice.h"

/* SIGINT/SIGTERM: the first requests a stop, which every wait in the
 * engine and the connectors notices within SLUICE_STOP_SLICE_MS; a second
 * one, while the first is being handled, exits at once (only
 * async-signal-safe calls: write, _exit). */
/* Exit status of a run that sluice_pipeline_run() ended with err. */
static int run_exit_code(const sluice_pipeline *p, sluice_err_t err) {
    if (err == SLUICE_OK) return 0;
    if (err == SLUICE_ERR_STOPPED) return sluice_pipeline_replayable(p) ? 0 : 3;
    return 1; /* a failure after input was read is a runtime failure */
}

static const char usage_text[] =
    "usage: sluice run     PIPELINE.sql [--profile NAME] [--config FILE] [--set K=V]... [--quiet]\n"
    "                      [--log-level LEVEL] [--log-format text|json]\n"
    "       sluice check   PIPELINE.sql [--profile NAME] [--config FILE] [--set K=V]...\n"
    "       sluice explain PIPELINE.sql\n"
    "       sluice checkpoint show|reset DIR\n"
    "       sluice connectors\n"
    "       sluice --version | --help\n";

static void help(FILE *out) {
    fputs("sluice " SLUICE_VERSION " - windowed SQL over event streams, exactly once, in one process\n\n", out);
    fputs(usage_text, out);
    fputs("\n"
          "commands:\n"
          "  run       run the pipeline: read its sources, compute, write its sinks.  A bounded\n"
          "            input (a file without follow) ends the run.  SIGINT/SIGTERM stop it within\n"
          "            about 2 s: the current micro-batch is finished, or, when it waits for a\n"
          "            broker or a database, abandoned (a checkpoint replays it at the next\n"
          "            start); a second signal exits at once.\n"
          "  check     parse the SQL, read the profile, bind and validate every source and sink;\n"
          "            print the plan and the bindings.  Reads no input, writes no output.\n"
          "  explain   print the plan of each query (no profile needed).\n"
          "  checkpoint show DIR    what a checkpoint directory holds: the pipeline, snapshots, the\n"
          "                         input ranges of logged epochs, and whether each file is intact.\n"
          "  checkpoint reset DIR   delete the checkpoint, so the next run starts over from the\n"
          "                         beginning of its input (sinks keep what they hold).\n"
          "  connectors  the option reference (Markdown): [pipeline], every connector built in\n"
          "            with its capabilities and options (type, default, meaning), and the\n"
          "            shared sections; the tables `check` and `run` validate profiles with.\n"
          "\n"
          "options:\n"
          "  -p, --profile NAME   profile to run with (default: test).  Built in: test (file\n"
          "                       sources, in-memory sinks), prod (kafka sources, mysql sinks).\n"
          "  -c, --config FILE    profile file (default: PIPELINE.NAME.ini beside the .sql file)\n"
          "  -s, --set K=V        override one key, e.g. --set 'sink delays.path=out/x.csv'\n"
          "                       or --set pipeline.trigger=1s (repeatable)\n"
          "  -q, --quiet          no progress line per micro-batch on stderr (and log level warn,\n"
          "                       unless --log-level is given)\n"
          "  -l, --log-level L    error, warn, info (default) or debug: events on stderr, one per line\n"
          "  -f, --log-format F   text (key=value, default) or json\n"
          "  -h, --help           this help\n"
          "  -V, --version        print the version\n"
          "\n"
          "exit status (run):\n"
          "  0      success: the input ended, or a signal stopped the run and nothing read is lost\n"
          "         (the current micro-batch was finished, or a checkpoint replays it)\n"
          "  1      runtime failure\n"
          "  2      usage, configuration or SQL error (before any input is read)\n"
          "  3      a signal stopped the run in the middle of a micro-batch and no checkpoint_dir\n"
          "         replays it: its results were not written\n"
          "  128+N  a second signal N (130 SIGINT, 143 SIGTERM) ended the process at once\n",
          out);
}

static int exit_code(sluice_err_t err) {
    switch (err) {
    case SLUICE_OK: return 0;
    case SLUICE_ERR_SQL:
    case SLUICE_ERR_CONFIG:
    case SLUICE_ERR_UNAVAILABLE:
    case SLUICE_ERR_INVALID: return 2;
    default: return 1;
    }
}

static sluice_log_format log_format = SLUICE_LOG_TEXT;

/* A fatal error: a plain "sluice: ..." line for people, or one JSON log
 * event with --log-format json. */
static void report_error(sluice_err_t err, const char *errstr) {
    const char *msg = errstr[0] ? errstr : sluice_err2str(err);
    sluice_log_tool(SLUICE_LOG_ERROR, "sluice", "%s", msg);
}

static int fail(sluice_err_t err, const char *errstr) {
    report_error(err, errstr);
    return exit_code(err);
}

int main(int argc, char **argv) {
    static const struct option longopts[] = {
        {"profile", required_argument, NULL, 'p'}, {"config", required_argument, NULL, 'c'},
        {"set", required_argument, NULL, 's'},     {"quiet", no_argument, NULL, 'q'},
        {"help", no_argument, NULL, 'h'},          {"version", no_argument, NULL, 'V'},
        {"log-level", required_argument, NULL, 'l'}, {"log-format", required_argument, NULL, 'f'},
        {NULL, 0, NULL, 0}};
    if (argc < 2) {
        fputs(usage_text, stderr);
        return 2;
    }
    const char *cmd = argv[1];
    if (strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0 || strcmp(cmd, "help") == 0) {
        help(stdout);
        return 0;
    }
    if (strcmp(cmd, "--version") == 0 || strcmp(cmd, "-V") == 0 || strcmp(cmd, "version") == 0) {
        printf("sluice %s\n", sluice_version());
        return 0;
    }
    if (strcmp(cmd, "checkpoint") == 0) {
        if (argc != 4 || (strcmp(argv[2], "show") != 0 && strcmp(argv[2], "reset") != 0)) {
            sluice_log_tool(SLUICE_LOG_ERROR, "sluice checkpoint", "expected 'show DIR' or 'reset DIR'");
            fputs(usage_text, stderr);
            return 2;
        }
        char errstr[1024] = "";
        sluice_err_t err = strcmp(argv[2], "show") == 0 ? sluice_ckpt_show(argv[3], stdout, errstr, sizeof errstr)
                                                        : sluice_ckpt_reset(argv[3], errstr, sizeof errstr);
        if (!err && strcmp(argv[2], "reset") == 0) printf("checkpoint %s reset\n", argv[3]);
        return err ? fail(err, errstr) : 0;
    }
    if (strcmp(cmd, "connectors") == 0) {
        if (argc != 2) {
            sluice_log_tool(SLUICE_LOG_ERROR, "sluice connectors", "takes no arguments");
            fputs(usage_text, stderr);
            return 2;
        }
        sluice_connectors_reference(stdout);
        return fflush(stdout) == 0 ? 0 : 1;
    }
    if (strcmp(cmd, "run") != 0 && strcmp(cmd, "check") != 0 && strcmp(cmd, "explain") != 0) {
        sluice_log_tool(SLUICE_LOG_ERROR, "sluice",
                        "unknown command '%s' (expected run, check, explain, checkpoint or connectors)", cmd);
        fputs(usage_text, stderr);
        return 2;
    }

    sluice_pipeline_options opts;
    memset(&opts, 0, sizeof opts);
    const char **sets = calloc((size_t)argc, sizeof *sets);
    if (!sets) return 1;
    int c;
    sluice_log_level log_level = SLUICE_LOG_INFO;
    int level_given = 0;
    optind = 2;
    while ((c = getopt_long(argc, argv, "p:c:s:qhVl:f:", longopts, NULL)) != -1) {
        switch (c) {
        case 'p': opts.profile = optarg; break;
        case 'c': opts.config_path = optarg; break;
        case 's': sets[opts.nsets++] = optarg; break;
        case 'q': opts.quiet = 1; break;
        case 'l':
            if (sluice_log_level_parse(optarg, &log_level) != 0) {
                sluice_log_tool(SLUICE_LOG_ERROR, "sluice", "--log-level '%s': expected error, warn, info or debug", optarg);
                free(sets);
                return 2;
            }
            level_given = 1;
            break;
        case 'f':
            if (sluice_log_format_parse(optarg, &log_format) != 0) {
                sluice_log_tool(SLUICE_LOG_ERROR, "sluice", "--log-format '%s': expected text or json", optarg);
                free(sets);
                return 2;
            }
            break;
        case 'h': help(stdout); free(sets); return 0;
        case 'V': printf("sluice %s\n", sluice_version()); free(sets); return 0;
        default: fputs(usage_text, stderr); free(sets); return 2;
        }
    }
    opts.sets = sets;
    if (opts.quiet && !level_given) log_level = SLUICE_LOG_WARN;
    sluice_log_configure(log_level, log_format, stderr);
    if (optind != argc - 1) {
        char program[32];
        snprintf(program, sizeof program, "sluice %.16s", cmd);
        sluice_log_tool(SLUICE_LOG_ERROR, program, "expected exactly one PIPELINE.sql argument");
        fputs(usage_text, stderr);
        free(sets);
        return 2;
    }
    opts.sql_path = argv[optind];

    char errstr[2048] = "";
    sluice_err_t err;
    if (strcmp(cmd, "explain") == 0) {
        if (opts.profile || opts.config_path || opts.nsets) {
            sluice_log_tool(SLUICE_LOG_ERROR, "sluice explain", "takes no --profile, --config or --set (try sluice check)");
            free(sets);
            return 2;
        }
        err = sluice_explain_file(opts.sql_path, stdout, errstr, sizeof errstr);
        free(sets);
        return err ? fail(err, errstr) : 0;
    }

    opts.validate_only = strcmp(cmd, "check") == 0;
    if (!opts.validate_only) {
        /* before open: connecting and recovery wait on brokers and databases too */
        sluice_stop_on_signals("sluice: second signal: exiting now, the current epoch abandoned\n");
    }
    sluice_pipeline *p = NULL;
    err = sluice_pipeline_open(&opts, &p, errstr, sizeof errstr);
    free(sets);
    if (err && sluice_stop_requested()) {
        /* stopped while starting: nothing was written; what recovery read
         * is still in the checkpoint */
        const char *sig = sigabbrev_np(sluice_stop_signal());
        sluice_log(SLUICE_LOG_INFO, NULL, "cli", NULL, "stopping: signal SIG%s while starting (%s)", sig ? sig : "?",
                   errstr);
        sluice_log(SLUICE_LOG_INFO, NULL, "cli", NULL,
                   "summary: outcome=stopped while starting rows_in=0 rows_out=- dead_letters=0 late_rows=0 "
                   "malformed_rows=0 epochs=0");
        return 0;
    }
    if (err) return fail(err, errstr);
    if (opts.validate_only) {
        sluice_pipeline_describe(p, stdout);
        printf("ok\n");
        sluice_pipeline_close(p);
        return 0;
    }

    err = sluice_pipeline_run(p, NULL, errstr, sizeof errstr);
    int status = run_exit_code(p, err);
    if (err == SLUICE_ERR_STOPPED) {
        sluice_log(status ? SLUICE_LOG_ERROR : SLUICE_LOG_INFO, NULL, "cli", NULL, "%s; %s", errstr,
                   status ? "no checkpoint_dir: they are not replayed (exit 3)"
                          : "the checkpoint replays it at the next start");
    } else {
        if (!err) err = sluice_pipeline_report(p, stdout, errstr, sizeof errstr);
        if (fflush(stdout) != 0 && !err) {
            snprintf(errstr, sizeof errstr, "cannot write the result to standard output");
            err = SLUICE_ERR_IO;
        }
        if (err) {
            report_error(err, errstr);
            status = 1;
        }
    }
    sluice_pipeline_close(p);
    return status;
}
