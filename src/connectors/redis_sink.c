/*
 * The "redis" sink: result rows as Redis keys for live dashboards, written
 * through hiredis.
 *
 * Data shapes (`data_type`):
 *   hash    one hash per row: key = key_prefix + the PRIMARY KEY values
 *           joined by ':' (or the `key` template), fields = the other
 *           columns (NULLs left out).  The row replaces the hash
 *           (DEL + HSET), so a field that became NULL disappears.
 *   zset    leaderboards: key = the `key` template (e.g. top:{window_start}),
 *           ZADD key <score column> <member column>.  With `replace` (the
 *           default for a top-N query, whose output has a `rank` key
 *           column) the first row of a key in an epoch DELetes the key
 *           first: a top-N query emits a window's whole ranking in the
 *           epoch it changes, so members that left the ranking go away.
 *   string  SET key <the row as a JSON object>.
 * `ttl` sets an expiry on every key written (PEXPIRE / SET PX).
 *
 * The rows are a changelog (sluice/changelog.h).  An insert or update-after
 * is written as above.  A delete removes what the row was stored as: hash
 * and string, DEL of the row's key; zset, ZREM of its member from its key
 * (never the key's replacing DEL).  An update-before changes nothing in a
 * hash or string (the update-after that follows replaces the key's value)
 * but removes its member from a zset (ZREM), as the member may differ from
 * the one of the update-after.  A retraction whose key or member is NULL
 * names nothing stored: it is skipped.
 *
 * Exactly once (as the mysql sink; README "Exactly once"): each epoch is
 * one MULTI ... EXEC that also SETs the epoch in
 * sluice:commits:<pipeline>:<sink>.  Before it the sink GETs that record:
 * an epoch at or below it was committed before a crash or a lost
 * connection and is skipped.  No WATCH: one pipeline owns its keys.
 * Without checkpointing a run numbers its epochs from 0 again, so the
 * record is reset to -1 at open.  COMPLETE mode replaces the sink's keys:
 * the keys written are kept in the set sluice:keys:<pipeline>:<sink>, and
 * each epoch with rows DELetes those of the previous one in the same
 * transaction (an epoch without rows keeps them).
 *
 * Rows the sink cannot store (NULL in a key column, a NULL member, a NULL
 * or NaN score) go to the sink's on_error (sluice_module_config.reject)
 * before the transaction is built; a retried epoch sets nothing aside
 * twice.  A lost connection, or a LOADING/BUSY/TRYAGAIN/MASTERDOWN reply,
 * is retried on a new connection with exponential backoff, the whole epoch
 * sent again, until `retry_timeout`; any other error reply fails the run.
 * Redis does not undo a transaction whose command failed at EXEC (only a
 * zset with replace = false can meet a key of another type): the message
 * says so.  The hiredis of Debian 12 (0.14) has no TLS: tls = true is a
 * configuration error.
 *
 * Options of [sink NAME]: data_type (hash | zset | string, default hash),
 * key_prefix (default "NAME:"), key, member, score, replace, ttl,
 * retry_timeout.  The [redis] section and the connection: redis_common.h.
 * The password never appears in messages.
 */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "connectors/connectors.h"
#include "connectors/connectors_int.h"
#include "connectors/redis_common.h"
#include "base/config.h"
#include "base/log.h"
#include "format/format.h"

/* The option table (sluice/module.h): checked by the pipeline before
 * open(), printed by `sluice connectors`.  parse_options() checks it after
 * its own checks, which word data_type's and ttl's errors their way and
 * hold the combinations a type cannot say (key or key_prefix, the zset
 * options). */
static const sluice_option_spec redis_sink_specs[] = {
    {"data_type", SLUICE_OPT_ENUM, "hash",
     "what each row is written as: a hash of its fields, a member of a sorted set, or a string holding the row as "
     "a JSON object",
     "hash|zset|string", 0, 0, 0},
    {"key_prefix", SLUICE_OPT_STRING, NULL,
     "the keys are this prefix and the PRIMARY KEY values joined by `:`; default: the sink's name and `:`; not "
     "with key",
     NULL, 0, 0, 0},
    {"key", SLUICE_OPT_STRING, NULL,
     "a template over the output columns naming each row's key, such as `top:{window_start}`, in place of "
     "key_prefix; required for a zset",
     NULL, 0, 0, 0},
    {"member", SLUICE_OPT_STRING, NULL, "zset: the output column whose value is the member", NULL, 0, 0, 0},
    {"score", SLUICE_OPT_STRING, NULL, "zset: the BIGINT or DOUBLE output column whose value is the score", NULL, 0,
     0, 0},
    {"replace", SLUICE_OPT_BOOL, NULL,
     "zset: the first row of a key in an epoch deletes the key first; default: true for a top-N query (`rank` in "
     "the PRIMARY KEY), else false",
     NULL, 0, 0, 0},
    {"ttl", SLUICE_OPT_DURATION, NULL, "expiry set on every key written (such as 1h); none by default", NULL, 0, 0,
     0},
    {"retry_timeout", SLUICE_OPT_DURATION, NULL,
     "how long a lost connection or a busy server is retried before the run fails; default: `[redis] "
     "retry_timeout`",
     NULL, 0, 0, 0},
    {NULL, 0, NULL, NULL, NULL, 0, 0, 0},
};

typedef enum { SHAPE_HASH, SHAPE_ZSET, SHAPE_STRING } shape_t;

/* data_type values (a table, not a switch) */
static const struct {
    const char *name;
    shape_t shape;
} shapes[] = {{"hash", SHAPE_HASH}, {"zset", SHAPE_ZSET}, {"string", SHAPE_STRING}};

/* A growable byte buffer. */
typedef struct sbuf {
    char *p;
    size_t len, cap;
} sbuf;

/* One piece of a key template: literal text, or a column (col >= 0). */
typedef struct tpart {
    const char *text;
    size_t len;
    long col;
} tpart;

typedef struct redis_sink {
    sluice_sink base;
    const char *instance, *pipeline;
    const sluice_schema *schema;
    size_t ncols;
    int complete;
    sluice_module_config cfg;      /* a copy: its reject() callback */

    sluice_redis_conn conn;        /* [redis] settings and the connection */

    /* [sink NAME] */
    shape_t shape;
    const char *key_prefix;
    tpart *tmpl;                   /* the key template, or NULL: prefix + PK */
    size_t ntmpl;
    unsigned char *is_field;       /* hash: per column, a field of the hash */
    long member, score;            /* zset columns */
    int replace;
    int64_t ttl_ms;                /* 0: none */
    char *commits_key, *keys_key;

    /* the epoch being collected */
    int64_t last_committed;
    int64_t pending_epoch;
    int has_pending, skip_noted;
    sluice_value *rows;
    uint8_t *kinds;                /* nrows change kinds (sluice_row_kind) */
    size_t nrows, cap;
    sluice_arena *strings;
    sbuf cmds;                     /* the epoch's commands, RESP-encoded */
    size_t ncmds;
    char **keys;                   /* distinct keys written (COMPLETE, replace) */
    size_t *key_lens;              /* their lengths (a key may hold NUL bytes) */
    size_t nkeys, keys_cap;
    size_t *kset;                  /* open-addressing set over keys: index + 1 */
    size_t kset_cap;
} redis_sink;

/* ---------------- small helpers ---------------- */

static int sb_add(sbuf *b, const char *s, size_t n) {
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->len + n + 1) cap *= 2;
        char *p = realloc(b->p, cap);
        if (!p) return -1;
        b->p = p;
        b->cap = cap;
    }
    if (n) memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
    return 0;
}

static int sb_value(sbuf *b, const sluice_value *v) {
    if (v->type == SLUICE_TYPE_VARCHAR) return sb_add(b, v->u.s, v->len);
    if (v->type == SLUICE_TYPE_ARRAY) { /* its JSON text, of any length */
        size_t n;
        char *text = sluice_value_render_alloc(v, &n);
        int r = text ? sb_add(b, text, n) : -1;
        free(text);
        return r;
    }
    char buf[64];
    size_t n = sluice_value_render(v, buf, sizeof buf);
    return sb_add(b, buf, n < sizeof buf ? n : sizeof buf - 1);
}

/* Append one command (argc arguments) in RESP to s->cmds. */
static int add_cmd(redis_sink *s, int argc, const char **argv, const size_t *lens) {
    char *out = NULL;
    int n = redisFormatCommandArgv(&out, argc, argv, lens);
    if (n < 0) return -1;
    int r = sb_add(&s->cmds, out, (size_t)n);
    free(out);
    s->ncmds++;
    return r;
}

static sluice_err_t oom(redis_sink *s, char *errstr, size_t errstr_size) {
    return sluice_seterr(errstr, errstr_size, SLUICE_ERR_NOMEM, "sink %s (redis): out of memory", s->instance);
}

static uint64_t fnv(const char *p, size_t n) {
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < n; i++) h = (h ^ (unsigned char)p[i]) * 1099511628211ull;
    return h;
}

/* Remember key (len bytes) among the epoch's distinct keys.  Returns 1 when
 * it is new, 0 when seen before, -1 when out of memory. */
static int key_note(redis_sink *s, const char *key, size_t len) {
    if (2 * (s->nkeys + 1) > s->kset_cap) {
        size_t cap = s->kset_cap ? 2 * s->kset_cap : 64;
        size_t *t = calloc(cap, sizeof *t);
        if (!t) return -1;
        for (size_t i = 0; i < s->nkeys; i++) {
            size_t h = fnv(s->keys[i], s->key_lens[i]) & (cap - 1);
            while (t[h]) h = (h + 1) & (cap - 1);
            t[h] = i + 1;
        }
        free(s->kset);
        s->kset = t;
        s->kset_cap = cap;
    }
    size_t h = fnv(key, len) & (s->kset_cap - 1);
    for (; s->kset[h]; h = (h + 1) & (s->kset_cap - 1)) {
        size_t i = s->kset[h] - 1;
        if (s->key_lens[i] == len && memcmp(s->keys[i], key, len) == 0) return 0;
    }
    if (s->nkeys == s->keys_cap) {
        size_t cap = s->keys_cap ? 2 * s->keys_cap : 64;
        char **k = realloc(s->keys, cap * sizeof *k);
        if (k) s->keys = k;
        size_t *l = realloc(s->key_lens, cap * sizeof *l);
        if (l) s->key_lens = l;
        if (!k || !l) return -1;
        s->keys_cap = cap;
    }
    char *copy = sluice_arena_alloc(s->strings, len + 1);
    if (!copy) return -1;
    memcpy(copy, key, len);
    copy[len] = '\0';
    s->key_lens[s->nkeys] = len;
    s->keys[s->nkeys++] = copy;
    s->kset[h] = s->nkeys;
    return 1;
}

static void keys_clear(redis_sink *s) {
    s->nkeys = 0;
    if (s->kset) memset(s->kset, 0, s->kset_cap * sizeof *s->kset);
}

static long column_index(const sluice_schema *sc, const char *name, size_t len) {
    for (size_t c = 0; c < sc->ncolumns; c++)
        if (strlen(sc->columns[c].name) == len && memcmp(sc->columns[c].name, name, len) == 0) return (long)c;
    return -1;
}

static int is_key_column(const sluice_schema *sc, size_t c) {
    for (size_t k = 0; k < sc->npk; k++)
        if (sc->pk[k] == c) return 1;
    return 0;
}

/* ---------------- options ---------------- */

/* Parse a key template "top:{window_start}" into s->tmpl. */
static sluice_err_t parse_template(redis_sink *s, const char *t, char *errstr, size_t errstr_size) {
    size_t n = 1;
    for (const char *p = t; *p; p++) n += *p == '{';
    s->tmpl = calloc(2 * n + 1, sizeof *s->tmpl);
    if (!s->tmpl) return oom(s, errstr, errstr_size);
    const char *p = t;
    while (*p) {
        const char *open = strchr(p, '{');
        const char *close_b = strchr(p, '}');
        if (close_b && (!open || close_b < open))
            return sluice_conn_bad_option(&s->cfg, "key", "sink", "redis", "a '}' without its '{'", errstr,
                                          errstr_size);
        if (!open) {
            s->tmpl[s->ntmpl++] = (tpart){.text = p, .len = strlen(p), .col = -1};
            break;
        }
        if (open > p) s->tmpl[s->ntmpl++] = (tpart){.text = p, .len = (size_t)(open - p), .col = -1};
        const char *end = strchr(open + 1, '}');
        if (!end)
            return sluice_conn_bad_option(&s->cfg, "key", "sink", "redis", "a '{' without its '}'", errstr,
                                          errstr_size);
        long c = column_index(s->schema, open + 1, (size_t)(end - open - 1));
        if (c < 0) {
            char why[300];
            snprintf(why, sizeof why, "the query has no output column '%.*s'", (int)(end - open - 1), open + 1);
            return sluice_conn_bad_option(&s->cfg, "key", "sink", "redis", why, errstr, errstr_size);
        }
        s->tmpl[s->ntmpl++] = (tpart){.text = NULL, .len = 0, .col = c};
        p = end + 1;
    }
    return SLUICE_OK;
}

static sluice_err_t column_option(redis_sink *s, const char *key, long *out, int numeric, char *errstr,
                                  size_t errstr_size) {
    const char *v = sluice_module_config_get(&s->cfg, key);
    if (!v) {
        char why[200];
        snprintf(why, sizeof why, "a zset needs `%s`, an output column", key);
        return sluice_conn_bad_option(&s->cfg, "data_type", "sink", "redis", why, errstr, errstr_size);
    }
    long c = column_index(s->schema, v, strlen(v));
    if (c < 0)
        return sluice_conn_bad_option(&s->cfg, key, "sink", "redis", "the query has no such output column", errstr,
                                      errstr_size);
    sluice_type_t t = s->schema->columns[c].type;
    if (numeric && t != SLUICE_TYPE_BIGINT && t != SLUICE_TYPE_DOUBLE && t != SLUICE_TYPE_NULL)
        return sluice_conn_bad_option(&s->cfg, key, "sink", "redis", "a score must be a BIGINT or DOUBLE column",
                                      errstr, errstr_size);
    *out = c;
    return SLUICE_OK;
}

static sluice_err_t parse_options(redis_sink *s, char *errstr, size_t errstr_size) {
    const sluice_module_config *cfg = &s->cfg;
    sluice_err_t err = sluice_redis_conn_parse(&s->conn, cfg, "sink", errstr, errstr_size);
    if (err) return err;

    const char *dt = sluice_module_config_get(cfg, "data_type");
    s->shape = SHAPE_HASH;
    if (dt) {
        size_t i = 0;
        while (i < sizeof shapes / sizeof shapes[0] && strcmp(shapes[i].name, dt) != 0) i++;
        if (i == sizeof shapes / sizeof shapes[0])
            return sluice_conn_bad_option(cfg, "data_type", "sink", "redis", "expected hash, zset or string", errstr,
                                          errstr_size);
        s->shape = shapes[i].shape;
    }
    const char *key = sluice_module_config_get(cfg, "key");
    if (key && !key[0])
        return sluice_conn_bad_option(cfg, "key", "sink", "redis", "a key template cannot be empty", errstr,
                                      errstr_size);
    if (key && (err = parse_template(s, key, errstr, errstr_size))) return err;
    s->key_prefix = sluice_module_config_get(cfg, "key_prefix");
    if (key && s->key_prefix)
        return sluice_conn_bad_option(cfg, "key_prefix", "sink", "redis",
                                      "set either key (a template) or key_prefix (prefix + PRIMARY KEY), not both",
                                      errstr, errstr_size);
    if (s->shape == SHAPE_ZSET && !key)
        return sluice_conn_bad_option(cfg, "data_type", "sink", "redis",
                                      "a zset needs `key`, a template over the output columns such as "
                                      "top:{window_start}",
                                      errstr, errstr_size);
    if (!key && s->schema->npk == 0)
        return sluice_seterr(errstr, errstr_size, SLUICE_ERR_CONFIG,
                             "sink %s (redis): the query has no PRIMARY KEY to name its keys by; set `key`, a "
                             "template over the output columns",
                             s->instance);
    if (s->shape == SHAPE_ZSET) {
        if ((err = column_option(s, "member", &s->member, 0, errstr, errstr_size)) ||
            (err = column_option(s, "score", &s->score, 1, errstr, errstr_size)))
            return err;
        /* a top-N query's output has `rank` in its PRIMARY KEY */
        long r = column_index(s->schema, "rank", 4);
        s->replace = r >= 0 && is_key_column(s->schema, (size_t)r);
        if ((err = sluice_conn_opt_bool(cfg, "replace", "sink", "redis", &s->replace, errstr, errstr_size)))
            return err;
    } else {
        static const char *const zset_only[] = {"member", "score", "replace", NULL};
        for (const char *const *k = zset_only; *k; k++)
            if (sluice_module_config_get(cfg, *k))
                return sluice_conn_bad_option(cfg, *k, "sink", "redis", "only for data_type = zset", errstr,
                                              errstr_size);
    }
    if (s->shape == SHAPE_HASH) {
        s->is_field = calloc(s->ncols, 1);
        if (!s->is_field) return oom(s, errstr, errstr_size);
        /* the columns that name the key are not fields: the PRIMARY KEY, or
         * with a template the columns it names (other key columns stay) */
        for (size_t c = 0; c < s->ncols; c++) s->is_field[c] = s->tmpl ? 1 : !is_key_column(s->schema, c);
        for (size_t i = 0; i < s->ntmpl; i++)
            if (s->tmpl[i].col >= 0) s->is_field[s->tmpl[i].col] = 0;
    }
    const char *ttl = sluice_module_config_get(cfg, "ttl");
    if (ttl && (sluice_parse_duration_ms(ttl, &s->ttl_ms) != 0 || s->ttl_ms < 1))
        return sluice_conn_bad_option(cfg, "ttl", "sink", "redis", "expected a duration such as 1h", errstr,
                                      errstr_size);
    const char *rt = sluice_module_config_get(cfg, "retry_timeout");
    if (rt && sluice_parse_duration_ms(rt, &s->conn.retry_timeout_ms) != 0)
        return sluice_conn_bad_option(cfg, "retry_timeout", "sink", "redis", "expected a duration such as 60s",
                                      errstr, errstr_size);
    /* unknown keys and the types of the rest, after the checks above */
    if ((err = sluice_conn_check_specs(cfg, redis_sink_specs, "sink", "redis", errstr, errstr_size))) return err;
    if (asprintf(&s->commits_key, "sluice:commits:%s:%s", s->pipeline, s->instance) < 0) s->commits_key = NULL;
    if (asprintf(&s->keys_key, "sluice:keys:%s:%s", s->pipeline, s->instance) < 0) s->keys_key = NULL;
    if (!s->commits_key || !s->keys_key) return oom(s, errstr, errstr_size);
    return SLUICE_OK;
}

/* Read the committed epoch record into *epoch (-1 when absent). */
static int read_committed(redis_sink *s, int64_t *epoch) {
    const char *a[] = {"GET", s->commits_key};
    redisReply *r = sluice_redis_command(&s->conn, 2, a, NULL);
    int e = sluice_redis_reply_error(&s->conn, r, "GET the commit record");
    if (!e) {
        *epoch = -1;
        if (r->type == REDIS_REPLY_STRING) {
            char *end;
            long long v = strtoll(r->str, &end, 10);
            if (*end) {
                snprintf(s->conn.err, sizeof s->conn.err, "key %s holds '%.100s', not an epoch number", s->commits_key, r->str);
                e = SLUICE_REDIS_SERVER;
            } else {
                *epoch = v;
            }
        } else if (r->type != REDIS_REPLY_NIL) {
            snprintf(s->conn.err, sizeof s->conn.err, "key %s is not a string", s->commits_key);
            e = SLUICE_REDIS_SERVER;
        }
    }
    freeReplyObject(r);
    return e;
}

/* ---------------- open / close ---------------- */

static void redis_sink_close(sluice_sink *sink) {
    if (!sink) return;
    redis_sink *s = (redis_sink *)sink;
    sluice_redis_conn_drop(&s->conn);
    free(s->tmpl);
    free(s->is_field);
    free(s->commits_key);
    free(s->keys_key);
    free(s->rows);
    free(s->kinds);
    free(s->cmds.p);
    free(s->keys);
    free(s->key_lens);
    free(s->kset);
    sluice_arena_destroy(s->strings);
    free(s);
}

static int step_open(void *ctx) {
    redis_sink *s = ctx;
    if (!s->cfg.checkpointing) {
        /* no checkpoint: this run numbers its epochs from 0 again */
        const char *a[] = {"SET", s->commits_key, "-1"};
        redisReply *r = sluice_redis_command(&s->conn, 3, a, NULL);
        int e = sluice_redis_reply_error(&s->conn, r, "SET the commit record");
        freeReplyObject(r);
        if (e) return e;
    }
    return read_committed(s, &s->last_committed);
}

static sluice_err_t redis_sink_open(const sluice_module_config *cfg, sluice_sink **out, char *errstr,
                                    size_t errstr_size) {
    const char *inst = cfg->instance ? cfg->instance : "?";
    if (!cfg->schema || cfg->schema->ncolumns == 0)
        return sluice_seterr(errstr, errstr_size, SLUICE_ERR_INVALID, "sink %s (redis): no schema", inst);
    redis_sink *s = calloc(1, sizeof *s);
    if (!s) return SLUICE_ERR_NOMEM;
    s->base.ops = &sluice_redis_sink_ops;
    s->instance = inst;
    s->pipeline = cfg->pipeline ? cfg->pipeline : "?";
    s->schema = cfg->schema;
    s->ncols = cfg->schema->ncolumns;
    s->complete = cfg->output_mode == SLUICE_OUTPUT_COMPLETE;
    s->last_committed = -1;
    s->member = s->score = -1;
    s->cfg = *cfg;
    sluice_err_t err = parse_options(s, errstr, errstr_size);
    if (!err && !(s->strings = sluice_arena_new(0))) err = oom(s, errstr, errstr_size);
    if (!err) err = sluice_redis_retry(&s->conn, step_open, s, s->pipeline, "open", errstr, errstr_size);
    if (err) {
        redis_sink_close(&s->base);
        return err;
    }
    *out = &s->base;
    return SLUICE_OK;
}

/* ---------------- write ---------------- */

/* The newest epoch the commit record holds (read at open), or -1: with it
 * execute() refuses a checkpoint that does not reach it (reset or lost). */
static int64_t redis_sink_committed_epoch(sluice_sink *sink) {
    return ((redis_sink *)sink)->last_committed;
}

static sluice_err_t redis_sink_write(sluice_sink *sink, int64_t epoch, const sluice_row_batch *rows, char *errstr,
                                     size_t errstr_size) {
    redis_sink *s = (redis_sink *)sink;
    if (epoch <= s->last_committed) {
        if (!s->skip_noted)
            sluice_log(SLUICE_LOG_INFO, s->pipeline, "redis", s->instance,
                       "epoch %" PRId64 " is already committed (%s = %" PRId64 "): skipped, as every epoch up to %" PRId64,
                       epoch, s->commits_key, s->last_committed, s->last_committed);
        s->skip_noted = 1;
        return SLUICE_OK;
    }
    if (s->has_pending && s->pending_epoch != epoch) {
        sluice_err_t err = sink->ops->commit(sink, s->pending_epoch, errstr, errstr_size);
        if (err) return err;
    }
    s->has_pending = 1;
    s->pending_epoch = epoch;
    if (!rows || rows->nrows == 0) return SLUICE_OK;
    if (s->nrows + rows->nrows > s->cap) {
        size_t cap = s->cap ? s->cap : 1024;
        while (cap < s->nrows + rows->nrows) cap *= 2;
        uint8_t *k = realloc(s->kinds, cap);
        if (k) s->kinds = k;
        sluice_value *v = k ? realloc(s->rows, cap * s->ncols * sizeof *v) : NULL;
        if (!v) return oom(s, errstr, errstr_size);
        s->rows = v;
        s->cap = cap;
    }
    for (size_t i = 0; i < rows->nrows; i++) s->kinds[s->nrows + i] = (uint8_t)sluice_row_batch_kind(rows, i);
    size_t n = rows->nrows * s->ncols;
    sluice_value *dst = s->rows + s->nrows * s->ncols;
    memcpy(dst, rows->values, n * sizeof *dst);
    for (size_t i = 0; i < n; i++) {
        if (dst[i].type != SLUICE_TYPE_VARCHAR || dst[i].len == 0) continue;
        char *copy = sluice_arena_alloc(s->strings, dst[i].len);
        if (!copy) return oom(s, errstr, errstr_size);
        memcpy(copy, dst[i].u.s, dst[i].len);
        dst[i].u.s = copy;
    }
    s->nrows += rows->nrows;
    return SLUICE_OK;
}

/* ---------------- building an epoch's commands ---------------- */

/* Render the key of row into b; 0, 1 with a reason when a key column is
 * NULL, -1 when out of memory. */
static int render_key(redis_sink *s, const sluice_value *row, sbuf *b, char *reason, size_t rsize) {
    b->len = 0;
    if (s->tmpl) {
        for (size_t i = 0; i < s->ntmpl; i++) {
            const tpart *t = &s->tmpl[i];
            if (t->col < 0) {
                if (sb_add(b, t->text, t->len)) return -1;
                continue;
            }
            if (row[t->col].type == SLUICE_TYPE_NULL) {
                snprintf(reason, rsize, "key column '%s' is NULL: the key template cannot name the row",
                         s->schema->columns[t->col].name);
                return 1;
            }
            if (sb_value(b, &row[t->col])) return -1;
        }
        return 0;
    }
    const char *prefix = s->key_prefix ? s->key_prefix : s->instance;
    if (sb_add(b, prefix, strlen(prefix))) return -1;
    if (!s->key_prefix && sb_add(b, ":", 1)) return -1;
    for (size_t k = 0; k < s->schema->npk; k++) {
        const sluice_value *v = &row[s->schema->pk[k]];
        if (v->type == SLUICE_TYPE_NULL) {
            snprintf(reason, rsize, "key column '%s' is NULL: the row has no key",
                     s->schema->columns[s->schema->pk[k]].name);
            return 1;
        }
        if ((k && sb_add(b, ":", 1)) || sb_value(b, v)) return -1;
    }
    return 0;
}

/* The row as a JSON object (string shape). */
static int render_json(redis_sink *s, const sluice_value *row, sbuf *b) {
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    if (!f) return -1;
    sluice_err_t e = sluice_json_write_row(f, s->schema->columns, row, s->ncols);
    if (fclose(f) != 0 || e) {
        free(text);
        return -1;
    }
    while (len && text[len - 1] == '\n') len--;
    b->len = 0;
    int r = sb_add(b, text, len);
    free(text);
    return r;
}

static int add_ttl(redis_sink *s, const char *key, size_t klen) {
    if (!s->ttl_ms) return 0;
    char ms[32];
    snprintf(ms, sizeof ms, "%" PRId64, s->ttl_ms);
    const char *a[] = {"PEXPIRE", key, ms};
    size_t l[] = {7, klen, strlen(ms)};
    return add_cmd(s, 3, a, l);
}

/* Append the commands of one row; 0, 1 with a reason (set aside), -1 out
 * of memory. */
static int row_commands(redis_sink *s, const sluice_value *row, sbuf *key, sbuf *val, char *reason, size_t rsize) {
    int r = render_key(s, row, key, reason, rsize);
    if (r) return r;
    if (s->shape == SHAPE_STRING) {
        if (render_json(s, row, val)) return -1;
        char ms[32];
        snprintf(ms, sizeof ms, "%" PRId64, s->ttl_ms);
        const char *a[] = {"SET", key->p, val->p, "PX", ms};
        size_t l[] = {3, key->len, val->len, 2, strlen(ms)};
        if (add_cmd(s, s->ttl_ms ? 5 : 3, a, l)) return -1;
    } else if (s->shape == SHAPE_HASH) {
        /* argv: HSET key f1 v1 f2 v2 ...; values rendered into val */
        size_t nf = 0;
        for (size_t c = 0; c < s->ncols; c++) nf += s->is_field[c] && row[c].type != SLUICE_TYPE_NULL;
        const char **a = malloc((2 + 2 * nf) * sizeof *a);
        size_t *l = malloc((2 + 2 * nf) * sizeof *l);
        size_t *off = malloc((nf + 1) * sizeof *off);
        int bad = !a || !l || !off;
        val->len = 0;
        size_t j = 0;
        for (size_t c = 0; c < s->ncols && !bad; c++) {
            if (!s->is_field[c] || row[c].type == SLUICE_TYPE_NULL) continue;
            off[j++] = val->len;
            bad = sb_value(val, &row[c]);
        }
        if (!bad) {
            off[nf] = val->len;
            a[0] = "HSET";
            l[0] = 4;
            a[1] = key->p;
            l[1] = key->len;
            j = 0;
            for (size_t c = 0; c < s->ncols; c++) {
                if (!s->is_field[c] || row[c].type == SLUICE_TYPE_NULL) continue;
                a[2 + 2 * j] = s->schema->columns[c].name;
                l[2 + 2 * j] = strlen(s->schema->columns[c].name);
                a[3 + 2 * j] = val->p + off[j];
                l[3 + 2 * j] = off[j + 1] - off[j];
                j++;
            }
            const char *d[] = {"DEL", key->p};
            size_t dl[] = {3, key->len};
            /* the row replaces the hash: a field now NULL must not survive */
            bad = add_cmd(s, 2, d, dl) || (nf && add_cmd(s, (int)(2 + 2 * nf), a, l)) ||
                  (nf && add_ttl(s, key->p, key->len));
        }
        free(a);
        free(l);
        free(off);
        if (bad) return -1;
    } else {
        const sluice_value *m = &row[s->member], *sc = &row[s->score];
        if (m->type == SLUICE_TYPE_NULL) {
            snprintf(reason, rsize, "member column '%s' is NULL", s->schema->columns[s->member].name);
            return 1;
        }
        double score;
        if (sc->type == SLUICE_TYPE_BIGINT) score = (double)sc->u.i;
        else if (sc->type == SLUICE_TYPE_DOUBLE) score = sc->u.d;
        else {
            snprintf(reason, rsize, "score column '%s' is %s, not a number", s->schema->columns[s->score].name,
                     sc->type == SLUICE_TYPE_NULL ? "NULL" : sluice_type_name(sc->type));
            return 1;
        }
        if (isnan(score)) {
            snprintf(reason, rsize, "score column '%s' is NaN, which a sorted set cannot hold",
                     s->schema->columns[s->score].name);
            return 1;
        }
        char num[40];
        if (sc->type == SLUICE_TYPE_BIGINT) snprintf(num, sizeof num, "%" PRId64, sc->u.i);
        else snprintf(num, sizeof num, "%.17g", score);
        val->len = 0;
        if (sb_value(val, m)) return -1;
        if (s->replace) {
            int fresh = key_note(s, key->p, key->len);
            if (fresh < 0) return -1;
            const char *d[] = {"DEL", key->p};
            size_t dl[] = {3, key->len};
            if (fresh && add_cmd(s, 2, d, dl)) return -1;
        }
        const char *a[] = {"ZADD", key->p, num, val->p};
        size_t l[] = {4, key->len, strlen(num), val->len};
        if (add_cmd(s, 4, a, l) || add_ttl(s, key->p, key->len)) return -1;
    }
    if (s->complete && key_note(s, key->p, key->len) < 0) return -1;
    return 0;
}

/* Append the commands that retract one row (a delete, or an update-before;
 * see the top of this file); 0, or -1 out of memory. */
static int retract_commands(redis_sink *s, const sluice_value *row, sluice_row_kind kind, sbuf *key, sbuf *val) {
    if (s->shape != SHAPE_ZSET && kind == SLUICE_ROW_UPDATE_BEFORE) return 0;
    char reason[400];
    int r = render_key(s, row, key, reason, sizeof reason);
    if (r) return r < 0 ? -1 : 0; /* a NULL key column: no key was written for it */
    if (s->shape != SHAPE_ZSET) {
        const char *d[] = {"DEL", key->p};
        size_t dl[] = {3, key->len};
        return add_cmd(s, 2, d, dl);
    }
    const sluice_value *m = &row[s->member];
    if (m->type == SLUICE_TYPE_NULL) return 0;
    val->len = 0;
    if (sb_value(val, m)) return -1;
    const char *a[] = {"ZREM", key->p, val->p};
    size_t l[] = {4, key->len, val->len};
    return add_cmd(s, 3, a, l);
}

/* Build the epoch's commands (without MULTI/EXEC and the commit record)
 * into s->cmds, setting rows aside.  Once per epoch: a retry re-sends the
 * same commands and sets nothing aside twice. */
static sluice_err_t build_epoch(redis_sink *s, char *errstr, size_t errstr_size) {
    s->cmds.len = 0;
    s->ncmds = 0;
    keys_clear(s);
    sbuf key = {0}, val = {0};
    sluice_err_t err = SLUICE_OK;
    for (size_t i = 0; i < s->nrows && !err; i++) {
        const sluice_value *row = s->rows + i * s->ncols;
        char reason[400];
        size_t mark = s->cmds.len, nmark = s->ncmds;
        sluice_row_kind kind = (sluice_row_kind)s->kinds[i];
        int r = kind == SLUICE_ROW_DELETE || kind == SLUICE_ROW_UPDATE_BEFORE
                    ? retract_commands(s, row, kind, &key, &val)
                    : row_commands(s, row, &key, &val, reason, sizeof reason);
        if (r < 0) err = oom(s, errstr, errstr_size);
        else if (r > 0) {
            s->cmds.len = mark;
            s->ncmds = nmark;
            err = sluice_module_reject(&s->cfg, s->pending_epoch, row, NULL, 0, reason, errstr, errstr_size);
        }
    }
    free(key.p);
    free(val.p);
    return err;
}

/* ---------------- commit ---------------- */

/* Send MULTI, the epoch's commands framed by the COMPLETE mode's key
 * replacement and the commit record, EXEC; check every reply. */
static int step_commit(void *ctx) {
    redis_sink *s = ctx;
    int64_t done = -1;
    int e = read_committed(s, &done);
    if (e) return e;
    if (done >= s->pending_epoch) { /* committed before the connection was lost */
        s->last_committed = done;
        return SLUICE_REDIS_OK;
    }
    redisReply *old = NULL;
    /* COMPLETE mode: an epoch with rows is the whole result; one without
     * (nothing changed) keeps the keys, as the mysql sink keeps its rows */
    int replace_all = s->complete && s->nrows > 0;
    if (replace_all) {
        const char *a[] = {"SMEMBERS", s->keys_key};
        old = sluice_redis_command(&s->conn, 2, a, NULL);
        if ((e = sluice_redis_reply_error(&s->conn, old, "SMEMBERS the sink's keys"))) {
            freeReplyObject(old);
            return e;
        }
    }
    size_t n = 0; /* commands queued, MULTI and EXEC included */
    const char *multi[] = {"MULTI"};
    int bad = redisAppendCommandArgv(s->conn.c, 1, multi, NULL) != REDIS_OK;
    n++;
    if (old && old->type == REDIS_REPLY_ARRAY) {
        for (size_t i = 0; i < old->elements && !bad; i++) {
            const char *a[] = {"DEL", old->element[i]->str};
            size_t l[] = {3, old->element[i]->len};
            bad = redisAppendCommandArgv(s->conn.c, 2, a, l) != REDIS_OK;
            n++;
        }
        const char *a[] = {"DEL", s->keys_key};
        bad = bad || redisAppendCommandArgv(s->conn.c, 2, a, NULL) != REDIS_OK;
        n++;
    }
    freeReplyObject(old);
    if (!bad && s->cmds.len) bad = redisAppendFormattedCommand(s->conn.c, s->cmds.p, s->cmds.len) != REDIS_OK;
    n += s->ncmds;
    if (replace_all)
        for (size_t i = 0; i < s->nkeys && !bad; i++) {
            const char *a[] = {"SADD", s->keys_key, s->keys[i]};
            size_t l[] = {4, strlen(s->keys_key), s->key_lens[i]};
            bad = redisAppendCommandArgv(s->conn.c, 3, a, l) != REDIS_OK;
            n++;
        }
    char epoch[32];
    snprintf(epoch, sizeof epoch, "%" PRId64, s->pending_epoch);
    const char *set[] = {"SET", s->commits_key, epoch};
    const char *exec[] = {"EXEC"};
    bad = bad || redisAppendCommandArgv(s->conn.c, 3, set, NULL) != REDIS_OK ||
          redisAppendCommandArgv(s->conn.c, 1, exec, NULL) != REDIS_OK;
    n += 2;
    if (bad) return SLUICE_REDIS_NOMEM;
    /* replies: +OK, +QUEUED per command (or an error refusing it), then EXEC */
    int first_err = SLUICE_REDIS_OK;
    for (size_t i = 0; i < n; i++) {
        void *rv = NULL;
        if (redisGetReply(s->conn.c, &rv) != REDIS_OK) {
            sluice_redis_conn_lost(&s->conn);
            return SLUICE_REDIS_CONN;
        }
        redisReply *r = rv;
        if (i + 1 < n) {
            if (!first_err) first_err = sluice_redis_reply_error(&s->conn, r, "MULTI refused a command");
        } else if (r->type == REDIS_REPLY_ERROR) { /* EXECABORT: nothing applied */
            if (!first_err) first_err = sluice_redis_reply_error(&s->conn, r, "EXEC");
        } else if (r->type != REDIS_REPLY_ARRAY) {
            snprintf(s->conn.err, sizeof s->conn.err, "EXEC: the transaction was aborted");
            first_err = SLUICE_REDIS_SERVER;
        } else {
            /* a command failing inside EXEC (WRONGTYPE) does not undo the
             * others: report it, the run fails */
            for (size_t k = 0; k < r->elements && !first_err; k++)
                if (r->element[k]->type == REDIS_REPLY_ERROR) {
                    snprintf(s->conn.err, sizeof s->conn.err,
                             "EXEC: command %zu of the transaction failed (the others were applied): %s", k + 1,
                             r->element[k]->str);
                    first_err = SLUICE_REDIS_SERVER;
                }
            if (!first_err) s->last_committed = s->pending_epoch;
        }
        freeReplyObject(r);
    }
    return first_err;
}

static void clear_pending(redis_sink *s) {
    s->has_pending = 0;
    s->nrows = 0;
    keys_clear(s);
    sluice_arena_reset(s->strings);
}

static sluice_err_t redis_sink_commit(sluice_sink *sink, int64_t epoch, char *errstr, size_t errstr_size) {
    redis_sink *s = (redis_sink *)sink;
    if (epoch <= s->last_committed) {
        if (s->has_pending && s->pending_epoch <= s->last_committed) clear_pending(s);
        return SLUICE_OK;
    }
    if (s->has_pending && s->pending_epoch != epoch) {
        sluice_err_t err = redis_sink_commit(sink, s->pending_epoch, errstr, errstr_size);
        if (err) return err;
    }
    if (!s->has_pending) { /* an epoch without write(): record it all the same */
        clear_pending(s);
        s->has_pending = 1;
        s->pending_epoch = epoch;
    }
    sluice_err_t err = build_epoch(s, errstr, errstr_size);
    if (!err) {
        char what[64];
        snprintf(what, sizeof what, "epoch %" PRId64, epoch);
        err = sluice_redis_retry(&s->conn, step_commit, s, s->pipeline, what, errstr, errstr_size);
    }
    if (!err) clear_pending(s);
    return err;
}

/** The "redis" sink connector (see the top of this file). */
const sluice_sink_ops sluice_redis_sink_ops = {
    .version = SLUICE_MODULE_VERSION,
    .name = "redis",
    .option_specs = redis_sink_specs,
    .open = redis_sink_open,
    .write = redis_sink_write,
    .commit = redis_sink_commit,
    .committed_epoch = redis_sink_committed_epoch,
    .report = NULL,
    .close = redis_sink_close,
    .shared_section = "redis",
    .shared_specs = sluice_redis_shared_specs,
};
