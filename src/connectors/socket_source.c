/*
 * The "socket" source: lines of text read from TCP connections, as Spark's
 * socket source (the word-count example reads `nc -lk 9999`).
 *
 * mode = connect (default): sluice connects to host:port and reads what the
 * server sends; a refused or lost connection is retried with exponential
 * backoff (100 ms doubling to 5 s; a successful connection resets it).
 * mode = listen: sluice listens on host:port and reads the lines of every
 * accepted client, up to max_clients at once (a further client is closed at
 * once, with a warning).
 *
 * Every connection is one partition, numbered 0, 1, 2, ... in the order the
 * connections were made (listen: accepted); a record's offset is its
 * 1-based line number within the connection, its timestamp the wall-clock
 * time its last bytes were read (METADATA FROM 'timestamp').  A line ends at
 * LF; a CR before it is dropped; a last line without LF ends when its
 * connection closes.  A line longer than max_line_bytes (default 1 MiB) is
 * cut: its first max_line_bytes bytes (at a UTF-8 boundary) are handed out,
 * the rest up to the next LF is dropped, with a warning naming the
 * connection, line and length; so a connection never holds more than
 * max_line_bytes + 64 KiB of memory.  With format json or csv an empty line
 * is skipped (it still counts as a line); with format lines it is an empty
 * value.
 *
 * All sockets are non-blocking and waited on with poll(2), so one slow or
 * idle client never blocks the others or the micro-batch (poll() waits at
 * most the engine's timeout).
 *
 * The input has no end of its own: only under `trigger = available_now`
 * does it end (end_of_input), in connect mode when the server closes the
 * connection, in listen mode when every accepted client has closed and at
 * least one had connected.  Until then poll() waits for a line, looking at
 * the stop request (base/stop.h) every 100 ms, so SIGTERM stops the run promptly.
 *
 * Not replayable: lines are read once and are not stored anywhere, so a
 * checkpointed pipeline says so at start (a warning).  seek() cannot go back
 * into a connection of an earlier run: it only makes new connections take
 * partition numbers above the ones the checkpoint knows.  Restarting after
 * a clean stop (which checkpoints) therefore works; recovering from a crash
 * in an epoch that had read socket lines fails at once (no_replay), naming
 * the source, the epoch and the lost lines.
 */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "connectors/connectors.h"
#include "connectors/connectors_int.h"
#include "base/clock.h"
#include "base/log.h"
#include "base/stop.h"

#define SOCKET_CHUNK (64u * 1024u)           /* bytes read per read(2) at most */
#define SOCKET_MAX_LINE (1024u * 1024u)      /* default max_line_bytes: 1 MiB */
#define SOCKET_MAX_CLIENTS 64                /* default max_clients */
#define SOCKET_BACKOFF_MIN_MS 100            /* first reconnect delay */
#define SOCKET_BACKOFF_MAX_MS 5000           /* reconnect delay cap */
#define SOCKET_SLICE_MS 100                  /* available_now: poll(2) slice between looks at the stop flag */

/* The option table (sluice/module.h): checked before open(), printed by
 * `sluice connectors`.  open() checks its own messages first (a port, a
 * mode, max_clients only with listen) and the table after. */
static const sluice_option_spec socket_source_specs[] = {
    {"host", SLUICE_OPT_STRING, "localhost", "the host to connect to, or the address to listen on", NULL, 0, 0, 0},
    {"port", SLUICE_OPT_INT, NULL, "the TCP port", NULL, 1, 65535, SLUICE_OPT_REQUIRED},
    {"mode", SLUICE_OPT_ENUM, "connect",
     "connect to `host:port` as a client (reconnecting with backoff), or listen there and read every accepted "
     "client", "connect|listen", 0, 0, 0},
    /* text, not an enum: the pipeline's own check of `format` reports a bad
     * value ("format = 'xml': expected json, csv or lines"), as before */
    {"format", SLUICE_OPT_STRING, "json",
     "`json`, `csv` or `lines`: each line decodes as a JSON object, as CSV fields without a header, or whole (one "
     "VARCHAR column, empty lines kept)", NULL, 0, 0, 0},
    {"csv.delimiter", SLUICE_OPT_CHAR, ",", "the CSV field separator", NULL, 0, 0, 0},
    {"idle_timeout", SLUICE_OPT_DURATION, NULL, "this source's idle timeout; default: `[pipeline] idle_timeout`",
     NULL, 0, 0, 0},
    {"max_clients", SLUICE_OPT_INT, "64", "with `mode = listen`: clients connected at once, at most", NULL, 1, 4096,
     0},
    {"max_line_bytes", SLUICE_OPT_INT, "1048576",
     "bytes of one line, at most; a longer line is cut to this length (at a UTF-8 boundary) and logged", NULL, 1,
     1073741824, 0},
    {NULL, 0, NULL, NULL, NULL, 0, 0, 0},
};

typedef struct sock_conn {
    int fd;
    int connecting;         /* connect mode: connect(2) in progress */
    int eof;                /* the peer closed (or the connection failed) */
    int32_t partition;
    int64_t line;           /* lines consumed so far */
    int skipping;           /* dropping the rest of an over-long line */
    int64_t long_len;       /* bytes of that line so far */
    int64_t read_ms;        /* wall clock of the last read */
    char *buf;
    size_t start, len, cap; /* unconsumed bytes are buf[start, len) */
} sock_conn;

typedef struct socket_source {
    sluice_source base;     /* first: the engine sees a sluice_source */
    const char *instance;   /* borrowed from the config */
    const char *pipeline;
    const sluice_module_config *cfg; /* borrowed */
    char where[300];        /* "host:port" for messages */
    int listen_mode;
    int keep_empty;         /* format lines: an empty line is a value */
    int available_now;
    size_t max_clients;
    size_t max_line;
    struct addrinfo *ai;    /* resolved host:port */
    struct addrinfo *next_ai; /* connect mode: the address to try next */
    int lfd;                /* listen mode: the listening socket */
    sock_conn *conns;
    size_t nconns;
    size_t rr;              /* round robin: the connection read first */
    int32_t next_partition;
    int ever_connected;
    int64_t backoff_ms;     /* connect mode: the next failure's delay */
    int64_t next_attempt;   /* monotonic ms of the next connect attempt */
    int ended;
} socket_source;

static void conn_free(sock_conn *c) {
    if (c->fd >= 0) close(c->fd);
    free(c->buf);
    c->fd = -1;
    c->buf = NULL;
}

static void socket_source_close(sluice_source *src) {
    if (!src) return;
    socket_source *s = (socket_source *)src;
    for (size_t i = 0; i < s->nconns; i++) conn_free(&s->conns[i]);
    free(s->conns);
    if (s->lfd >= 0) close(s->lfd);
    if (s->ai) freeaddrinfo(s->ai);
    free(s);
}

/* A new connection on fd (non-blocking already): its own partition. */
static sock_conn *conn_add(socket_source *s, int fd, int connecting) {
    sock_conn *nc = realloc(s->conns, (s->nconns + 1) * sizeof *nc);
    if (!nc) return NULL;
    s->conns = nc;
    sock_conn *c = &nc[s->nconns];
    memset(c, 0, sizeof *c);
    c->buf = malloc(SOCKET_CHUNK);
    if (!c->buf) return NULL;
    c->cap = SOCKET_CHUNK;
    c->fd = fd;
    c->connecting = connecting;
    c->partition = -1;
    s->nconns++;
    return c;
}

static void conn_established(socket_source *s, sock_conn *c, const char *peer) {
    c->connecting = 0;
    c->partition = s->next_partition++;
    s->ever_connected = 1;
    s->backoff_ms = SOCKET_BACKOFF_MIN_MS;
    sluice_log(SLUICE_LOG_INFO, s->pipeline, "socket", s->instance, "%s %s: partition %d",
               s->listen_mode ? "accepted a client from" : "connected to", peer, (int)c->partition);
}

/* Connect mode: the connection failed or was lost; try again later.  A
 * failed connect with more addresses of the host to try (localhost: ::1,
 * then 127.0.0.1) tries the next one at once. */
static void schedule_retry(socket_source *s, const char *what) {
    if (s->next_ai) {
        s->next_attempt = sluice_clock_monotonic_ms();
        sluice_log(SLUICE_LOG_DEBUG, s->pipeline, "socket", s->instance, "%s %s; trying its next address", what,
                   s->where);
        return;
    }
    int64_t delay = s->backoff_ms;
    s->next_attempt = sluice_clock_monotonic_ms() + delay;
    s->backoff_ms = delay * 2 > SOCKET_BACKOFF_MAX_MS ? SOCKET_BACKOFF_MAX_MS : delay * 2;
    sluice_log(SLUICE_LOG_WARN, s->pipeline, "socket", s->instance, "%s %s; reconnecting in %lld ms", what,
               s->where, (long long)delay);
}

/* Connect mode: start a non-blocking connect(2) to the next address. */
static void start_connect(socket_source *s) {
    struct addrinfo *a = s->next_ai ? s->next_ai : s->ai;
    s->next_ai = a->ai_next;
    int fd = socket(a->ai_family, a->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, a->ai_protocol);
    if (fd < 0) {
        char why[200];
        snprintf(why, sizeof why, "cannot create a socket (%s) for", strerror(errno));
        schedule_retry(s, why);
        return;
    }
    int rc = connect(fd, a->ai_addr, a->ai_addrlen);
    if (rc != 0 && errno != EINPROGRESS) {
        char why[200];
        snprintf(why, sizeof why, "cannot connect (%s) to", strerror(errno));
        close(fd);
        schedule_retry(s, why);
        return;
    }
    sock_conn *c = conn_add(s, fd, rc != 0);
    if (!c) {
        close(fd);
        schedule_retry(s, "out of memory connecting to");
        return;
    }
    if (rc == 0) conn_established(s, c, s->where);
}

/* Hand out one line (copied into the batch arena with the padding the
 * decoders need). */
static sluice_err_t emit(sluice_record_batch *out, const sock_conn *c, const char *p, size_t n) {
    char *v = sluice_arena_alloc(out->arena, n + SLUICE_RECORD_PADDING);
    sluice_record *rec = v ? sluice_record_batch_push(out) : NULL;
    if (!rec) return SLUICE_ERR_NOMEM;
    memcpy(v, p, n);
    memset(v + n, 0, SLUICE_RECORD_PADDING);
    rec->value = v;
    rec->value_len = n;
    rec->partition = c->partition;
    rec->offset = c->line;
    rec->timestamp_ms = c->read_ms;
    return SLUICE_OK;
}

/* The longest prefix of p[0, n) that does not end inside a UTF-8
 * sequence (at most 3 bytes shorter). */
static size_t utf8_cut(const char *p, size_t n) {
    size_t k = n;
    for (int back = 0; back < 4 && k > 0; back++) {
        unsigned char b = (unsigned char)p[k - 1];
        if (b < 0x80) return k;           /* ASCII: a boundary after it */
        if (b >= 0xC0) {                  /* a lead byte: complete? */
            size_t need = b >= 0xF0 ? 4 : b >= 0xE0 ? 3 : 2;
            return n - (k - 1) >= need ? n : k - 1;
        }
        k--;                              /* a continuation byte */
    }
    return n;
}

/* Hand out the complete lines of c, up to `room` records.  Returns the
 * number handed out in *got. */
static sluice_err_t extract(socket_source *s, sock_conn *c, sluice_record_batch *out, size_t room, size_t *got) {
    *got = 0;
    while (*got < room && c->start < c->len) {
        char *p = c->buf + c->start;
        size_t avail = c->len - c->start;
        char *nl = memchr(p, '\n', avail);
        if (c->skipping) {
            size_t drop = nl ? (size_t)(nl - p) + 1 : avail;
            c->long_len += (int64_t)(nl ? drop - 1 : drop);
            c->start += drop;
            if (nl) {
                c->skipping = 0;
                sluice_log(SLUICE_LOG_WARN, s->pipeline, "socket", s->instance,
                           "%s partition %d line %lld: %lld bytes, cut to max_line_bytes = %zu", s->where,
                           (int)c->partition, (long long)c->line, (long long)c->long_len, s->max_line);
            }
            continue;
        }
        size_t n;
        if (nl) n = (size_t)(nl - p);
        else if (avail > s->max_line) n = avail;
        else if (c->eof) n = avail;      /* the last line, without LF */
        else break;                      /* wait for the rest */
        if (n > s->max_line) {
            /* an over-long line: hand out its head, drop the rest */
            c->line++;
            c->skipping = 1;
            c->long_len = 0;
            size_t head = utf8_cut(p, s->max_line);
            sluice_err_t err = emit(out, c, p, head);
            if (err) return err;
            (*got)++;
            continue; /* the skipping branch consumes the line */
        }
        c->start += nl ? n + 1 : n;
        if (n > 0 && p[n - 1] == '\r') n--;
        c->line++;
        if (n == 0 && !s->keep_empty) continue;
        sluice_err_t err = emit(out, c, p, n);
        if (err) return err;
        (*got)++;
    }
    if (c->skipping && c->eof && c->start >= c->len) {
        c->skipping = 0;
        sluice_log(SLUICE_LOG_WARN, s->pipeline, "socket", s->instance,
                   "%s partition %d line %lld: %lld bytes, cut to max_line_bytes = %zu", s->where,
                   (int)c->partition, (long long)c->line, (long long)c->long_len, s->max_line);
    }
    return SLUICE_OK;
}

/* Read what c's socket has (one read(2)); sets eof when the peer closed. */
static void conn_read(socket_source *s, sock_conn *c) {
    if (c->start > 0) {
        memmove(c->buf, c->buf + c->start, c->len - c->start);
        c->len -= c->start;
        c->start = 0;
    }
    if (c->len == c->cap) {
        size_t limit = s->max_line + SOCKET_CHUNK;
        size_t ncap = c->cap * 2 > limit ? limit : c->cap * 2;
        if (ncap <= c->cap) return; /* full of lines not handed out yet */
        char *nb = realloc(c->buf, ncap);
        if (!nb) return;
        c->buf = nb;
        c->cap = ncap;
    }
    size_t want = c->cap - c->len;
    if (want > SOCKET_CHUNK) want = SOCKET_CHUNK;
    ssize_t r;
    do r = read(c->fd, c->buf + c->len, want);
    while (r < 0 && errno == EINTR);
    if (r > 0) {
        c->len += (size_t)r;
        c->read_ms = sluice_clock_realtime_ms();
    } else if (r == 0 || (errno != EAGAIN && errno != EWOULDBLOCK)) {
        if (r < 0)
            sluice_log(SLUICE_LOG_WARN, s->pipeline, "socket", s->instance, "%s partition %d: read failed: %s",
                       s->where, (int)c->partition, strerror(errno));
        c->eof = 1;
    }
}

/* Listen mode: accept every waiting client. */
static void accept_clients(socket_source *s) {
    for (;;) {
        struct sockaddr_storage sa;
        socklen_t sl = sizeof sa;
        int fd = accept4(s->lfd, (struct sockaddr *)&sa, &sl, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EINTR || errno == ECONNABORTED) continue;
            return; /* EAGAIN: no more; other errors: try again on the next poll */
        }
        char host[NI_MAXHOST] = "?", serv[NI_MAXSERV] = "?", peer[NI_MAXHOST + NI_MAXSERV + 2];
        getnameinfo((struct sockaddr *)&sa, sl, host, sizeof host, serv, sizeof serv, NI_NUMERICHOST | NI_NUMERICSERV);
        snprintf(peer, sizeof peer, "%s:%s", host, serv);
        if (s->nconns >= s->max_clients) {
            sluice_log(SLUICE_LOG_WARN, s->pipeline, "socket", s->instance,
                       "refusing the client from %s: max_clients = %zu clients are connected", peer, s->max_clients);
            close(fd);
            continue;
        }
        sock_conn *c = conn_add(s, fd, 0);
        if (!c) {
            close(fd);
            return;
        }
        conn_established(s, c, peer);
    }
}

/* Connect mode: a connect(2) in progress finished. */
static void connect_done(socket_source *s, sock_conn *c) {
    int e = 0;
    socklen_t el = sizeof e;
    if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &e, &el) != 0) e = errno;
    if (e == 0) {
        conn_established(s, c, s->where);
        return;
    }
    c->eof = 1;
    c->connecting = 0;
    char why[200];
    snprintf(why, sizeof why, "cannot connect (%s) to", strerror(e));
    close(c->fd);
    c->fd = -1;
    schedule_retry(s, why);
}

/* Drop closed connections whose lines were all handed out. */
static void reap(socket_source *s) {
    size_t k = 0;
    for (size_t i = 0; i < s->nconns; i++) {
        sock_conn *c = &s->conns[i];
        if (c->eof && c->start >= c->len && !c->skipping) {
            int was_open = c->partition >= 0;
            if (was_open)
                sluice_log(SLUICE_LOG_INFO, s->pipeline, "socket", s->instance,
                           "%s partition %d closed after %lld line(s)", s->where, (int)c->partition,
                           (long long)c->line);
            conn_free(c);
            if (!s->listen_mode && was_open && !s->available_now) {
                s->backoff_ms = SOCKET_BACKOFF_MIN_MS;
                s->next_ai = NULL; /* start over at the host's first address */
                schedule_retry(s, "the server closed the connection to");
            }
            continue;
        }
        s->conns[k++] = *c;
    }
    s->nconns = k;
    if (s->rr >= k) s->rr = 0;
}

static sluice_err_t socket_source_poll(sluice_source *src, sluice_record_batch *out, size_t max_records,
                                       int timeout_ms, char *errstr, size_t errstr_size) {
    (void)errstr;
    (void)errstr_size;
    socket_source *s = (socket_source *)src;
    if (s->ended) {
        out->end_of_input = 1;
        return SLUICE_OK;
    }
    int64_t deadline = sluice_clock_monotonic_ms() + (timeout_ms > 0 ? timeout_ms : 0);
    struct pollfd *fds = NULL;
    sluice_err_t err = SLUICE_OK;
    int polled = 0;
    for (;;) {
        /* connect mode: (re)connect when due */
        if (!s->listen_mode && s->nconns == 0 && !(s->available_now && s->ever_connected) &&
            sluice_clock_monotonic_ms() >= s->next_attempt)
            start_connect(s);
        /* hand out buffered lines, connections in turn */
        for (size_t k = 0; k < s->nconns && out->count < max_records; k++) {
            sock_conn *c = &s->conns[(s->rr + k) % s->nconns];
            size_t got;
            if ((err = extract(s, c, out, max_records - out->count, &got))) goto done;
        }
        if (s->nconns) s->rr = (s->rr + 1) % s->nconns;
        reap(s);
        if (out->count >= max_records) break;
        if (s->available_now && s->ever_connected && s->nconns == 0) {
            s->ended = 1;
            out->end_of_input = 1;
            break;
        }
        int64_t now = sluice_clock_monotonic_ms();
        int64_t left = s->available_now ? SOCKET_SLICE_MS : deadline - now;
        if (out->count > 0 || (left <= 0 && polled)) break;
        if (s->available_now && sluice_stop_requested()) break; /* SIGTERM: let the run stop */
        if (left < 0) left = 0;
        if (!s->listen_mode && s->nconns == 0) {
            int64_t until = s->next_attempt - now;
            if (until < left) left = until < 0 ? 0 : until;
        }
        /* wait for any socket */
        struct pollfd *nf = realloc(fds, (s->nconns + 1) * sizeof *nf);
        if (!nf) {
            err = SLUICE_ERR_NOMEM;
            goto done;
        }
        fds = nf;
        nfds_t n = 0;
        if (s->lfd >= 0) fds[n++] = (struct pollfd){.fd = s->lfd, .events = POLLIN};
        for (size_t i = 0; i < s->nconns; i++) {
            sock_conn *c = &s->conns[i];
            short ev = c->connecting ? POLLOUT : POLLIN;
            /* a full buffer waits until its lines are handed out */
            if (!c->connecting && c->len - c->start >= s->max_line + SOCKET_CHUNK) ev = 0;
            if (c->eof) ev = 0;
            fds[n++] = (struct pollfd){.fd = c->fd, .events = ev};
        }
        int rc = poll(fds, n, (int)left);
        polled = 1;
        if (rc < 0) continue; /* EINTR: a signal; the stop flag is looked at above */
        nfds_t j = 0;
        if (s->lfd >= 0 && (fds[j++].revents & POLLIN)) accept_clients(s);
        for (size_t i = 0; j < n; i++, j++) {
            sock_conn *c = &s->conns[i];
            if (!fds[j].revents) continue;
            if (c->connecting) connect_done(s, c);
            else conn_read(s, c);
        }
    }
done:
    free(fds);
    return err;
}

/* A checkpoint's position of a connection of an earlier run: that
 * connection is gone and cannot be read again; new connections are
 * numbered after it so that their offsets are never taken for its. */
static sluice_err_t socket_source_seek(sluice_source *src, const char *topic, int32_t partition, int64_t offset,
                                       char *errstr, size_t errstr_size) {
    (void)topic;
    (void)offset;
    (void)errstr;
    (void)errstr_size;
    socket_source *s = (socket_source *)src;
    if (partition >= s->next_partition && partition < INT32_MAX) s->next_partition = partition + 1;
    return SLUICE_OK;
}

static void socket_source_position(sluice_source *src, const sluice_record *rec, char *buf, size_t size) {
    socket_source *s = (socket_source *)src;
    snprintf(buf, size, "%s partition %d line %lld", s->where, (int)rec->partition, (long long)rec->offset);
}

/* An option as a size in 1..max, or the default when unset. */
static sluice_err_t opt_size(const sluice_module_config *cfg, const char *key, int64_t max, size_t *out, char *errstr,
                             size_t errstr_size) {
    int64_t v = (int64_t)*out;
    sluice_err_t err = sluice_conn_opt_posint(cfg, key, "source", "socket", &v, errstr, errstr_size);
    if (err) return err;
    if (v > max) {
        char why[80];
        snprintf(why, sizeof why, "at most %lld", (long long)max);
        return sluice_conn_bad_option(cfg, key, "source", "socket", why, errstr, errstr_size);
    }
    *out = (size_t)v;
    return SLUICE_OK;
}

static sluice_err_t socket_source_open(const sluice_module_config *cfg, sluice_source **out, char *errstr,
                                       size_t errstr_size) {
    const char *inst = cfg->instance ? cfg->instance : "?";
    sluice_err_t err;
    const char *port = sluice_module_config_get(cfg, "port");
    if (!port || !port[0])
        return sluice_seterr(errstr, errstr_size, SLUICE_ERR_CONFIG, "source %s (socket): option 'port' is required",
                             inst);
    int64_t pnum = 0;
    if (sluice_conn_opt_posint(cfg, "port", "source", "socket", &pnum, errstr, errstr_size) || pnum > 65535)
        return sluice_conn_bad_option(cfg, "port", "source", "socket", "expected a TCP port, 1 to 65535", errstr,
                                      errstr_size);
    const char *host = sluice_module_config_get(cfg, "host");
    if (!host || !host[0]) host = "localhost";
    const char *mode = sluice_module_config_get(cfg, "mode");
    int listen_mode = 0;
    if (mode && strcmp(mode, "listen") == 0) listen_mode = 1;
    else if (mode && strcmp(mode, "connect") != 0)
        return sluice_conn_bad_option(cfg, "mode", "source", "socket", "expected connect or listen", errstr,
                                      errstr_size);
    const char *format = sluice_module_config_get(cfg, "format");
    if (format && strcmp(format, "lines") != 0 && strcmp(format, "json") != 0 && strcmp(format, "csv") != 0)
        return sluice_conn_bad_option(cfg, "format", "source", "socket", "expected lines, json or csv", errstr,
                                      errstr_size);
    size_t max_clients = SOCKET_MAX_CLIENTS, max_line = SOCKET_MAX_LINE;
    if ((err = opt_size(cfg, "max_clients", 4096, &max_clients, errstr, errstr_size)) ||
        (err = opt_size(cfg, "max_line_bytes", (int64_t)1 << 30, &max_line, errstr, errstr_size)))
        return err;
    if (!listen_mode && sluice_module_config_find(cfg, "max_clients"))
        return sluice_conn_bad_option(cfg, "max_clients", "source", "socket", "only for mode = listen", errstr,
                                      errstr_size);
    /* the rest (an unknown key, csv.delimiter, idle_timeout) as the
     * pipeline checks them, after the messages above */
    if ((err = sluice_conn_check_specs(cfg, socket_source_specs, "source", "socket", errstr, errstr_size))) return err;

    socket_source *s = calloc(1, sizeof *s);
    if (!s) return SLUICE_ERR_NOMEM;
    s->base.ops = &sluice_socket_source_ops;
    s->instance = inst;
    s->pipeline = cfg->pipeline;
    s->cfg = cfg;
    s->listen_mode = listen_mode;
    s->keep_empty = format && strcmp(format, "lines") == 0;
    s->available_now = cfg->available_now;
    s->max_clients = max_clients;
    s->max_line = max_line;
    s->lfd = -1;
    s->backoff_ms = SOCKET_BACKOFF_MIN_MS;
    snprintf(s->where, sizeof s->where, "%s:%s", host, port);

    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
                             .ai_flags = listen_mode ? AI_PASSIVE : 0};
    int gai = getaddrinfo(host, port, &hints, &s->ai);
    if (gai != 0) {
        const sluice_option *o = sluice_module_config_find(cfg, "host");
        err = sluice_seterr(errstr, errstr_size, SLUICE_ERR_CONFIG, "source %s (socket): %s%s%d%s cannot resolve '%s': %s",
                            inst, o ? "(" : "", o ? o->file : "", o ? o->line : 0, o ? ")" : "", host,
                            gai_strerror(gai));
        s->ai = NULL;
        goto fail;
    }
    if (listen_mode) {
        struct addrinfo *a = s->ai;
        s->lfd = socket(a->ai_family, a->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, a->ai_protocol);
        int one = 1;
        if (s->lfd < 0 || setsockopt(s->lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0 ||
            bind(s->lfd, a->ai_addr, a->ai_addrlen) != 0 || listen(s->lfd, 64) != 0) {
            err = sluice_seterr(errstr, errstr_size, SLUICE_ERR_IO, "source %s (socket): cannot listen on %s: %s",
                                inst, s->where, strerror(errno));
            goto fail;
        }
        sluice_log(SLUICE_LOG_INFO, s->pipeline, "socket", inst, "listening on %s (at most %zu clients)", s->where,
                   max_clients);
    }
    if (cfg->checkpointing)
        sluice_log(SLUICE_LOG_WARN, s->pipeline, "socket", inst,
                   "a socket source cannot be replayed: lines read in an epoch that a crash interrupts are lost "
                   "with it, and recovering from such a crash fails (results are exactly-once only across clean "
                   "stops)");
    *out = &s->base;
    return SLUICE_OK;
fail:
    socket_source_close(&s->base);
    return err;
}

/** The "socket" source connector (see the top of this file). */
const sluice_source_ops sluice_socket_source_ops = {
    .version = SLUICE_MODULE_VERSION,
    .name = "socket",
    .option_specs = socket_source_specs,
    .open = socket_source_open,
    .poll = socket_source_poll,
    .commit = NULL,
    .position = socket_source_position,
    .close = socket_source_close,
    .seek = socket_source_seek,
    .no_replay = 1,
};
