/*
 * The "file" source: one record per line of a local file (JSON lines), or
 * per CSV row (the first row is the header; a quoted field may span lines).
 *
 * Bounded by default: the file is read to its end, then end_of_input.  With
 * `follow = true` it behaves like `tail -F`: at the end of the file poll()
 * waits (polling the file every 10 ms, up to the poll's timeout) for more
 * lines, and a partial last line is held back until its newline arrives.
 * At the end of the file it also checks the path (follow_check()):
 *
 *   - truncated (same file, now shorter than what was read: copytruncate):
 *     read again from its start;
 *   - replaced (another inode at the path: rename and re-create): the old
 *     file is read to its end, then the new one from its start;
 *   - missing (renamed, not yet re-created): keep waiting for it.
 *
 * Each is logged (info).  An unterminated last line of the old contents is
 * handed out as it is, as at the end of a bounded file.  A CSV file's
 * header line is skipped again in the new contents.
 *
 * Offsets: a record's offset is its line number (1-based) plus, in the
 * bits from FILE_GEN_SHIFT up, the generation of the file — 0 as opened,
 * +1 at each truncation or replacement — so offsets keep growing across a
 * rotation.  seek() (checkpoint recovery) only accepts generation 0: an
 * offset into a later generation names lines of contents that were rotated
 * away (or truncated), which the file now at the path cannot be shown to
 * hold, so it is refused rather than replayed against the wrong file.
 *
 * Records point into one large read buffer (1 MiB, grown for longer
 * records) that keeps SLUICE_RECORD_PADDING readable bytes after every
 * record; the partial last line of a chunk is carried over to the next.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "connectors/connectors.h"
#include "base/clock.h"
#include "base/log.h"
#include "connectors/connectors_int.h"

#define FILE_SOURCE_CHUNK (1u << 20)   /* initial read buffer: 1 MiB */
#define FILE_SOURCE_SLEEP_MS 10        /* follow mode: file polling period */
#define FILE_GEN_SHIFT 40              /* offset = generation << 40 | line */
#define FILE_LINE_MASK ((INT64_C(1) << FILE_GEN_SHIFT) - 1)

/* The option table (sluice/module.h): checked before open(), printed by
 * `sluice connectors`. */
static const sluice_option_spec file_source_specs[] = {
    {"path", SLUICE_OPT_STRING, NULL, "the file to read", NULL, 0, 0,
     SLUICE_OPT_REQUIRED | SLUICE_OPT_IDENTITY | SLUICE_OPT_FILE},
    {"format", SLUICE_OPT_ENUM, "json",
     "JSON lines, CSV with a header line, or each line whole (one VARCHAR column)", "json|csv|lines", 0, 0, 0},
    {"csv.delimiter", SLUICE_OPT_CHAR, ",", "the CSV field separator", NULL, 0, 0, 0},
    {"follow", SLUICE_OPT_BOOL, "false",
     "keep reading as the file grows, across truncation and rotation, like `tail -F` (see \"Following a file\")",
     NULL, 0, 0, 0},
    {"max_offsets_per_trigger", SLUICE_OPT_INT, NULL,
     "records per micro-batch, at most (Spark's maxOffsetsPerTrigger); no limit by default", NULL, 1, 0, 0},
    {"idle_timeout", SLUICE_OPT_DURATION, NULL, "this source's idle timeout; default: `[pipeline] idle_timeout`",
     NULL, 0, 0, 0},
    {NULL, 0, NULL, NULL, NULL, 0, 0, 0},
};

typedef struct file_source {
    sluice_source base;          /* first: the engine sees a sluice_source */
    const char *instance;        /* borrowed from the config */
    const char *path;            /* borrowed from the config */
    const char *pipeline;        /* borrowed from the config (log events) */
    int fd;
    int csv;                     /* 1: CSV rows (quote-aware splitting) */
    int follow;
    int64_t max_per_poll;        /* max_offsets_per_trigger, or INT64_MAX */
    char *buf;                   /* cap + SLUICE_RECORD_PADDING bytes */
    size_t cap;                  /* bytes usable for data */
    size_t start;                /* first byte not yet handed out */
    size_t end;                  /* bytes of data in buf */
    size_t scan;                 /* [start, scan) holds no record end */
    int in_quote;                /* CSV: inside a quoted field at `scan` */
    int64_t quoted_newlines;     /* CSV: newlines inside quotes in [start, scan) */
    int64_t line;                /* last line number consumed (1-based) */
    int done;                    /* bounded: the whole file was handed out */
    int64_t read_time_ms;        /* wall clock of the last read */
    char *header;                /* CSV header line, NUL-terminated */
    int bom_pending;             /* at the file's start: a BOM may follow */
    int64_t gen;                 /* follow: truncations + replacements seen */
    int skip_header;             /* follow, CSV: next record is a new header */
    int missing;                 /* follow: the path is gone (logged once) */
} file_source;

/* A UTF-8 byte-order mark that starts the file is not data (RFC 8259
 * section 8.1 lets a parser ignore it; CSV files from spreadsheets carry
 * one): skip it once the first bytes show whether it is there.  Nothing is
 * handed out before that (the bytes of a BOM hold no newline).  A BOM later
 * in the file is data. */
static void skip_bom(file_source *fs) {
    static const char bom[3] = {'\xEF', '\xBB', '\xBF'};
    size_t n = fs->end - fs->start;
    if (n < 3 && memcmp(fs->buf + fs->start, bom, n) == 0) return; /* not known yet */
    if (n >= 3 && memcmp(fs->buf + fs->start, bom, 3) == 0)
        fs->start = fs->scan = fs->start + 3;
    fs->bom_pending = 0;
}


static void sleep_ms(int64_t ms) {
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {}
}

/* Find the next complete record in [start, end).  Returns 1 and sets
 * the record (value, length, first line number), skipping empty lines, or 0
 * when more data is needed. */
static int next_record(file_source *fs, const char **val, size_t *len, int64_t *line_no) {
    for (;;) {
        char *p = NULL;
        if (!fs->csv) {
            p = memchr(fs->buf + fs->scan, '\n', fs->end - fs->scan);
            if (!p) { fs->scan = fs->end; return 0; }
        } else {
            char *q = fs->buf + fs->scan, *e = fs->buf + fs->end;
            int inq = fs->in_quote;
            int64_t nl = fs->quoted_newlines;
            for (; q < e; q++) {
                if (*q == '"') inq = !inq;
                else if (*q == '\n') {
                    if (!inq) { p = q; break; }
                    nl++;
                }
            }
            fs->in_quote = inq;
            fs->quoted_newlines = nl;
            if (!p) { fs->scan = fs->end; return 0; }
        }
        const char *s = fs->buf + fs->start;
        size_t n = (size_t)(p - s);
        if (n > 0 && s[n - 1] == '\r') n--;
        int64_t first = fs->line + 1;
        fs->line += 1 + fs->quoted_newlines;
        fs->quoted_newlines = 0;
        fs->in_quote = 0;
        fs->start = fs->scan = (size_t)(p - fs->buf) + 1;
        if (n == 0) continue;  /* empty line: counted, not a record */
        *val = s;
        *len = n;
        *line_no = first;
        return 1;
    }
}

/* At the end of a bounded file: the unterminated last line, if any. */
static int last_record(file_source *fs, const char **val, size_t *len, int64_t *line_no) {
    if (fs->start >= fs->end) return 0;
    const char *s = fs->buf + fs->start;
    size_t n = fs->end - fs->start;
    if (s[n - 1] == '\r') n--;
    int64_t first = fs->line + 1;
    fs->line += 1 + fs->quoted_newlines;
    fs->start = fs->scan = fs->end;
    fs->quoted_newlines = 0;
    fs->in_quote = 0;
    if (n == 0) return 0;
    *val = s;
    *len = n;
    *line_no = first;
    return 1;
}

/* Read more bytes after `end`.  may_move: no record of this poll points into
 * the buffer, so it may be compacted or grown.  Returns bytes read (>0), 0 at
 * end of file, -1 on a read error (errno set), -2 when there is no room
 * without moving records already handed out, -3 when out of memory. */
static ssize_t read_more(file_source *fs, int may_move) {
    if (fs->end == fs->cap) {
        if (!may_move) return -2;
        if (fs->start > 0) {
            size_t keep = fs->end - fs->start;
            memmove(fs->buf, fs->buf + fs->start, keep);
            fs->scan -= fs->start;
            fs->end = keep;
            fs->start = 0;
        } else {
            size_t ncap = fs->cap * 2;
            char *nb = realloc(fs->buf, ncap + SLUICE_RECORD_PADDING);
            if (!nb) return -3;
            memset(nb + fs->cap + SLUICE_RECORD_PADDING, 0, ncap - fs->cap);
            fs->buf = nb;
            fs->cap = ncap;
        }
    }
    for (;;) {
        ssize_t n = read(fs->fd, fs->buf + fs->end, fs->cap - fs->end);
        if (n < 0 && errno == EINTR) continue;
        if (n > 0) {
            fs->end += (size_t)n;
            fs->read_time_ms = sluice_clock_realtime_ms();
            if (fs->bom_pending) skip_bom(fs);
        }
        return n;
    }
}

static sluice_err_t read_error(file_source *fs, ssize_t r, char *errstr, size_t errstr_size) {
    if (r == -3)
        return sluice_seterr(errstr, errstr_size, SLUICE_ERR_NOMEM,
                             "source %s (file): '%s': out of memory for a %zu-byte line",
                             fs->instance, fs->path, fs->cap);
    return sluice_seterr(errstr, errstr_size, SLUICE_ERR_IO,
                         "source %s (file): cannot read '%s': %s", fs->instance, fs->path,
                         strerror(errno));
}

static void file_source_close(sluice_source *src) {
    if (!src) return;
    file_source *fs = (file_source *)src;
    if (fs->fd >= 0) close(fs->fd);
    free(fs->buf);
    free(fs->header);
    free(fs);
}

static sluice_err_t read_header(file_source *fs, char *errstr, size_t errstr_size) {
    const char *v = NULL;
    size_t n = 0;
    int64_t line = 0;
    for (;;) {
        if (next_record(fs, &v, &n, &line)) break;
        ssize_t r = read_more(fs, 1);
        if (r > 0) continue;
        if (r < 0) return read_error(fs, r, errstr, errstr_size);
        if (!fs->follow && last_record(fs, &v, &n, &line)) break;
        return sluice_seterr(errstr, errstr_size, SLUICE_ERR_CONFIG,
                             "source %s (file): '%s': no CSV header line (the file is empty)",
                             fs->instance, fs->path);
    }
    fs->header = malloc(n + 1);
    if (!fs->header) return SLUICE_ERR_NOMEM;
    memcpy(fs->header, v, n);
    fs->header[n] = '\0';
    fs->base.csv_header = fs->header;
    fs->base.csv_header_len = n;
    return SLUICE_OK;
}

static sluice_err_t file_source_open(const sluice_module_config *cfg, sluice_source **out,
                                     char *errstr, size_t errstr_size) {
    const char *inst = cfg->instance ? cfg->instance : "?";
    sluice_err_t err = sluice_conn_check_specs(cfg, file_source_specs, "source", "file", errstr, errstr_size);
    if (err) return err;
    const char *path = sluice_module_config_get(cfg, "path");
    if (!path || !path[0])
        return sluice_seterr(errstr, errstr_size, SLUICE_ERR_CONFIG,
                             "source %s (file): option 'path' is required", inst);
    const char *format = sluice_module_config_get(cfg, "format");
    int csv = 0;
    if (format && strcmp(format, "csv") == 0) csv = 1;
    else if (format && strcmp(format, "json") != 0 && strcmp(format, "lines") != 0)
        /* lines: each line is a record, as for json; the decoder maps it */
        return sluice_conn_bad_option(cfg, "format", "source", "file", "expected json, csv or lines",
                                      errstr, errstr_size);
    char delim = ',';
    int follow = 0;
    int64_t maxper = INT64_MAX;
    if ((err = sluice_conn_opt_char(cfg, "csv.delimiter", "source", "file", &delim, errstr,
                                    errstr_size)) ||
        (err = sluice_conn_opt_bool(cfg, "follow", "source", "file", &follow, errstr,
                                    errstr_size)) ||
        (err = sluice_conn_opt_posint(cfg, "max_offsets_per_trigger", "source", "file",
                                      &maxper, errstr, errstr_size)))
        return err;

    file_source *fs = calloc(1, sizeof *fs);
    if (!fs) return SLUICE_ERR_NOMEM;
    fs->base.ops = &sluice_file_source_ops;
    fs->instance = inst;
    fs->path = path;
    fs->pipeline = cfg->pipeline;
    fs->csv = csv;
    fs->follow = follow;
    fs->max_per_poll = maxper;
    fs->bom_pending = 1;
    fs->fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fs->fd < 0) {
        err = sluice_seterr(errstr, errstr_size, SLUICE_ERR_CONFIG,
                            "source %s (file): cannot open '%s': %s", inst, path,
                            strerror(errno));
        goto fail;
    }
    struct stat st;
    if (fstat(fs->fd, &st) == 0 && S_ISDIR(st.st_mode)) {
        err = sluice_seterr(errstr, errstr_size, SLUICE_ERR_CONFIG,
                            "source %s (file): cannot open '%s': %s", inst, path,
                            strerror(EISDIR));
        goto fail;
    }
    fs->cap = FILE_SOURCE_CHUNK;
    fs->buf = calloc(1, fs->cap + SLUICE_RECORD_PADDING);
    if (!fs->buf) { err = SLUICE_ERR_NOMEM; goto fail; }
    if (csv && (err = read_header(fs, errstr, errstr_size))) goto fail;
    *out = &fs->base;
    return SLUICE_OK;
fail:
    file_source_close(&fs->base);
    return err;
}

/* Follow mode, at the end of the file: has the path been truncated,
 * replaced or removed (see the top of this file)?  Returns 0 when nothing
 * changed, 1 when the old file has more bytes after all (read again), 2
 * when reading goes on from the start of a new generation — then *got is
 * set when the old contents ended in an unterminated line (*v, *n, *line:
 * that record, of generation *gen) — and -1 on an error (errno). */
static int follow_check(file_source *fs, const char **v, size_t *n, int64_t *line, int64_t *gen, int *got) {
    *got = 0;
    struct stat cur, now;
    off_t pos = lseek(fs->fd, 0, SEEK_CUR);
    if (pos < 0 || fstat(fs->fd, &cur) != 0) return -1;
    if (stat(fs->path, &now) != 0) {
        if (!fs->missing)
            sluice_log(SLUICE_LOG_INFO, fs->pipeline, "file", fs->instance,
                       "'%s' is missing (%s): waiting for it to reappear", fs->path, strerror(errno));
        fs->missing = 1;
        return cur.st_size > pos ? 1 : 0;
    }
    int replaced = now.st_ino != cur.st_ino || now.st_dev != cur.st_dev;
    if (replaced && cur.st_size > pos) return 1; /* finish the old file first */
    if (!replaced && now.st_size >= pos) {
        fs->missing = 0;
        return 0;
    }
    int nfd = -1;
    if (replaced) {
        if ((nfd = open(fs->path, O_RDONLY | O_CLOEXEC)) < 0) return 0; /* gone again: retry */
    } else if (lseek(fs->fd, 0, SEEK_SET) != 0) {
        return -1;
    }
    *gen = fs->gen;
    *got = last_record(fs, v, n, line);
    if (replaced) {
        close(fs->fd);
        fs->fd = nfd;
        sluice_log(SLUICE_LOG_INFO, fs->pipeline, "file", fs->instance,
                   "rotated: '%s' was replaced by a new file; the old one was read to its end (%lld bytes), "
                   "reading the new one from its start (generation %lld)",
                   fs->path, (long long)pos, (long long)fs->gen + 1);
    } else {
        sluice_log(SLUICE_LOG_INFO, fs->pipeline, "file", fs->instance,
                   "truncated: '%s' shrank from %lld to %lld bytes; reading it again from its start "
                   "(generation %lld)",
                   fs->path, (long long)pos, (long long)now.st_size, (long long)fs->gen + 1);
    }
    fs->missing = 0;
    fs->gen++;
    fs->line = 0;
    fs->in_quote = 0;
    fs->quoted_newlines = 0;
    fs->skip_header = fs->csv;
    fs->bom_pending = 1; /* the new generation may start with a BOM too */
    return 2;
}

static sluice_err_t file_source_poll(sluice_source *src, sluice_record_batch *out,
                                     size_t max_records, int timeout_ms,
                                     char *errstr, size_t errstr_size) {
    file_source *fs = (file_source *)src;
    if (fs->done) {
        out->end_of_input = 1;
        return SLUICE_OK;
    }
    size_t limit = max_records;
    if ((uint64_t)fs->max_per_poll < limit) limit = (size_t)fs->max_per_poll;
    if (limit == 0) return SLUICE_OK;

    /* Records of the previous poll are no longer needed: compact. */
    if (fs->start > 0) {
        size_t keep = fs->end - fs->start;
        memmove(fs->buf, fs->buf + fs->start, keep);
        fs->scan -= fs->start;
        fs->end = keep;
        fs->start = 0;
    }
    int64_t deadline = sluice_clock_monotonic_ms() + (timeout_ms > 0 ? timeout_ms : 0);
    size_t first = out->count;
    while (out->count - first < limit) {
        const char *v;
        size_t n;
        int64_t line, gen = fs->gen;
        int got = next_record(fs, &v, &n, &line);
        if (got && fs->skip_header) {
            /* the header line of a truncated or replaced CSV file */
            fs->skip_header = 0;
            if (fs->header && (n != strlen(fs->header) || memcmp(v, fs->header, n) != 0))
                sluice_log(SLUICE_LOG_WARN, fs->pipeline, "file", fs->instance,
                           "'%s': the new file's header '%.*s' differs from the first one's '%s'; its columns are "
                           "read by the first header",
                           fs->path, (int)(n > 200 ? 200 : n), v, fs->header);
            continue;
        }
        if (!got) {
            ssize_t r = read_more(fs, out->count == first);
            if (r > 0) continue;
            if (r == -2) break;  /* buffer full of records handed out: enough */
            if (r < 0) return read_error(fs, r, errstr, errstr_size);
            if (!fs->follow) {
                got = last_record(fs, &v, &n, &line);
                fs->done = 1;
                out->end_of_input = 1;
            } else {
                int sw = follow_check(fs, &v, &n, &line, &gen, &got);
                if (sw < 0) return read_error(fs, -1, errstr, errstr_size);
                if (sw == 1) continue;
                if (sw == 2 && !got) continue;
                if (sw == 0) {
                    if (out->count > first) break;
                    int64_t left = deadline - sluice_clock_monotonic_ms();
                    if (left <= 0) break;
                    sleep_ms(left < FILE_SOURCE_SLEEP_MS ? left : FILE_SOURCE_SLEEP_MS);
                    continue;
                }
            }
        }
        if (got) {
            sluice_record *rec = sluice_record_batch_push(out);
            if (!rec) return SLUICE_ERR_NOMEM;
            rec->value = v;
            rec->value_len = n;
            rec->partition = 0;
            rec->offset = gen << FILE_GEN_SHIFT | line;
            rec->timestamp_ms = fs->read_time_ms;
        }
        if (fs->done) break;
    }
    return SLUICE_OK;
}

/* Start over at the first record of the file, then skip records before
 * line `offset`; the file must still hold that line. */
static sluice_err_t file_source_seek(sluice_source *src, const char *topic, int32_t partition, int64_t offset,
                                     char *errstr, size_t errstr_size) {
    (void)topic;
    file_source *fs = (file_source *)src;
    if (partition != 0)
        return sluice_seterr(errstr, errstr_size, SLUICE_ERR_RUNTIME,
                             "source %s (file): no partition %d in '%s' (a file is partition 0)", fs->instance,
                             (int)partition, fs->path);
    if (offset >> FILE_GEN_SHIFT > 0)
        return sluice_seterr(errstr, errstr_size, SLUICE_ERR_CONFIG,
                             "source %s (file): the checkpoint resumes at line %lld of generation %lld of '%s' "
                             "(the file was truncated or replaced %lld time(s) while followed); those contents "
                             "were rotated away and the file now at that path cannot be shown to be them, so it "
                             "is not read in their place: reset the checkpoint (sluice checkpoint reset DIR) and "
                             "clear what the sinks committed to start over",
                             fs->instance, (long long)(offset & FILE_LINE_MASK), (long long)(offset >> FILE_GEN_SHIFT),
                             fs->path, (long long)(offset >> FILE_GEN_SHIFT));
    fs->gen = 0;
    fs->skip_header = 0;
    if (lseek(fs->fd, 0, SEEK_SET) != 0) return read_error(fs, -1, errstr, errstr_size);
    fs->start = fs->end = fs->scan = 0;
    fs->in_quote = 0;
    fs->quoted_newlines = 0;
    fs->line = 0;
    fs->done = 0;
    fs->bom_pending = 1;
    int skip_header = fs->csv;
    for (;;) {
        /* the state before the next record, to step back onto it */
        size_t start = fs->start, scan = fs->scan;
        int64_t line = fs->line, qn = fs->quoted_newlines;
        int inq = fs->in_quote;
        const char *v;
        size_t n;
        int64_t at;
        int got = next_record(fs, &v, &n, &at);
        if (!got) {
            ssize_t r = read_more(fs, 1);
            if (r > 0) continue;
            if (r < 0) return read_error(fs, r, errstr, errstr_size);
            got = !fs->follow && last_record(fs, &v, &n, &at);
            if (!got) {
                if (skip_header || fs->line + 1 < offset)
                    return sluice_seterr(errstr, errstr_size, SLUICE_ERR_RUNTIME,
                                         "source %s (file): '%s' ends before line %lld, where the checkpoint "
                                         "resumes: the file was truncated or replaced",
                                         fs->instance, fs->path, (long long)offset);
                return SLUICE_OK; /* resume at the end: nothing more yet */
            }
        }
        if (skip_header) {
            skip_header = 0;
            continue;
        }
        if (at >= offset) {
            fs->start = start;
            fs->scan = scan;
            fs->line = line;
            fs->quoted_newlines = qn;
            fs->in_quote = inq;
            return SLUICE_OK;
        }
    }
}

static void file_source_position(sluice_source *src, const sluice_record *rec, char *buf,
                                 size_t size) {
    file_source *fs = (file_source *)src;
    int64_t gen = rec->offset >> FILE_GEN_SHIFT;
    if (gen > 0)
        snprintf(buf, size, "%s (generation %lld):%lld", fs->path, (long long)gen,
                 (long long)(rec->offset & FILE_LINE_MASK));
    else
        snprintf(buf, size, "%s:%lld", fs->path, (long long)rec->offset);
}

/** The "file" source connector (see the top of this file). */
/* sluice check: the options, and that the input can be opened (reading
 * at most a CSV header, as open() does). */
static sluice_err_t file_source_validate(const sluice_module_config *cfg, char *errstr, size_t errstr_size) {
    sluice_source *src = NULL;
    sluice_err_t err = file_source_open(cfg, &src, errstr, errstr_size);
    if (src) src->ops->close(src);
    return err;
}

const sluice_source_ops sluice_file_source_ops = {
    .version = SLUICE_MODULE_VERSION,
    .name = "file",
    .option_specs = file_source_specs,
    .open = file_source_open,
    .poll = file_source_poll,
    .commit = NULL,
    .position = file_source_position,
    .close = file_source_close,
    .seek = file_source_seek,
    .validate = file_source_validate,
};
