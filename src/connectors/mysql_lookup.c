/*
 * Lookup table `mysql` (connectors/lookup.h): the rows of a MySQL/MariaDB table asked
 * per batch, as Flink's JDBC lookup source does:
 *
 *   SELECT `c1`, `c2`, ... FROM `table` WHERE `k` IN (v1, v2, ...)
 *   SELECT ... WHERE (`k1`, `k2`) IN ((a1, a2), (b1, b2), ...)
 *
 * for the keys of a batch that the cache does not hold (at most
 * KEYS_PER_QUERY per statement), the columns being the CREATE TABLE's,
 * by name.  The connection is the `[mysql]` section's, as for the mysql
 * source and sink.
 *
 * Cache (Flink's lookup.cache.max-rows / lookup.cache.ttl, and its
 * caching of missing keys): the rows of up to `cache_rows` keys (0: no
 * cache), a key with no row included, each kept `cache_ttl` after it was
 * read; beyond cache_rows the oldest keys are dropped first.  Values read
 * are converted to the declared column types (text protocol): a value
 * that does not convert is NULL.  The rows returned are matched to the
 * keys asked by exact equality of the converted values, so a key that the
 * table's collation calls equal but that differs in case or trailing
 * spaces finds no row.  A lost connection is reconnected (retry_timeout)
 * and the statement sent again.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mysql.h>

#include "base/config.h"
#include "connectors/lookup.h"
#include "connectors/mysql_common.h"
#include "connectors/mysql_sql.h"
#include "format/format.h"

static const sluice_option_spec lookup_mysql_specs[] = {
    {"connector", SLUICE_OPT_ENUM, NULL, "the lookup table's connector", "mysql", 0, 0, SLUICE_OPT_REQUIRED},
    {"table", SLUICE_OPT_STRING, NULL, "the table to look rows up in (its columns: the CREATE TABLE's, by name)",
     NULL, 0, 0, SLUICE_OPT_REQUIRED},
    {"cache_rows", SLUICE_OPT_INT, "10000",
     "keys whose rows are cached, at most (a key without rows counts too); 0: no cache (Flink's "
     "lookup.cache.max-rows)",
     NULL, 0, 0, 0},
    {"cache_ttl", SLUICE_OPT_DURATION, "60s", "how long the rows of a key are cached after they are read (Flink's "
     "lookup.cache.ttl)", NULL, 0, 0, 0},
    {"retry_timeout", SLUICE_OPT_DURATION, NULL,
     "how long a lost connection is retried before the run fails; default: `[mysql] retry_timeout`", NULL, 0, 0, 0},
    {NULL, 0, NULL, NULL, NULL, 0, 0, 0},
};

#define KEYS_PER_QUERY 1000
#define MAX_KEYS 16

/* The rows of one key: keys (nkeys values), then nrows rows of width
 * values; the strings of both after them, in the same block. */
typedef struct cache_entry {
    struct cache_entry *hnext;          /* hash chain */
    struct cache_entry *older, *newer;  /* age list */
    uint64_t hash;
    int64_t read_at;                    /* processing time it was read */
    size_t nrows;
    sluice_value *keys, *rows;
    size_t key_cols[MAX_KEYS];          /* which columns keys are (a set of key columns) */
    size_t nkeys;
} cache_entry;

typedef struct mysql_table {
    sluice_lookup_table base;
    const sluice_lookup_plan *lp;
    sluice_mysql_conn conn;
    sluice_module_config mc;
    const char *table;
    int64_t cache_rows, ttl_ms;
    cache_entry **buckets;
    size_t nbuckets, nentries;
    cache_entry *oldest, *newest;
    cache_entry **fresh;                /* entries made by the last lookup (no cache: freed at the next) */
    size_t nfresh, fresh_cap;
    sbuf sql;
} mysql_table;

static uint64_t keys_hash(const sluice_value *keys, size_t n, const size_t *cols) {
    uint64_t h = 0x6d7973716cULL;
    for (size_t k = 0; k < n; k++) h = sluice_value_hash(&keys[k], h ^ cols[k]);
    return h;
}

static int values_equal(const sluice_value *a, const sluice_value *b, size_t n) {
    for (size_t k = 0; k < n; k++)
        if (!sluice_value_equal(&a[k], &b[k])) return 0;
    return 1;
}

static int same_key(const cache_entry *e, const sluice_value *keys, size_t n, const size_t *cols) {
    if (e->nkeys != n || memcmp(e->key_cols, cols, n * sizeof *cols) != 0) return 0;
    for (size_t k = 0; k < n; k++)
        if (!sluice_value_equal(&e->keys[k], &keys[k])) return 0;
    return 1;
}

static void unlink_entry(mysql_table *t, cache_entry *e) {
    cache_entry **p = &t->buckets[e->hash & (t->nbuckets - 1)];
    while (*p && *p != e) p = &(*p)->hnext;
    if (*p) *p = e->hnext;
    if (e->older) e->older->newer = e->newer;
    else t->oldest = e->newer;
    if (e->newer) e->newer->older = e->older;
    else t->newest = e->older;
    t->nentries--;
    free(e);
}

static cache_entry *find(mysql_table *t, const sluice_value *keys, size_t n, const size_t *cols, uint64_t h) {
    for (cache_entry *e = t->buckets[h & (t->nbuckets - 1)]; e; e = e->hnext)
        if (e->hash == h && same_key(e, keys, n, cols)) return e;
    return NULL;
}

/* Copy a VARCHAR's bytes to *strs (advanced). */
static void move_string(sluice_value *v, char **strs) {
    if (v->type != SLUICE_TYPE_VARCHAR) return;
    memcpy(*strs, v->u.s, v->len);
    v->u.s = *strs;
    *strs += v->len;
}

static size_t string_bytes(const sluice_value *v, size_t n) {
    size_t b = 0;
    for (size_t i = 0; i < n; i++)
        if (v[i].type == SLUICE_TYPE_VARCHAR) b += v[i].len;
    return b;
}

/* A new entry for keys with the nrows rows at rows (borrowed; copied). */
static cache_entry *entry_new(const sluice_value *keys, size_t nkeys, const size_t *cols, uint64_t h,
                              const sluice_value *rows, size_t nrows, size_t width, int64_t now) {
    size_t nv = nkeys + nrows * width;
    size_t sb = string_bytes(keys, nkeys) + string_bytes(rows, nrows * width);
    cache_entry *e = malloc(sizeof *e + nv * sizeof(sluice_value) + sb + 1);
    if (!e) return NULL;
    memset(e, 0, sizeof *e);
    e->hash = h;
    e->read_at = now;
    e->nrows = nrows;
    e->nkeys = nkeys;
    memcpy(e->key_cols, cols, nkeys * sizeof *cols);
    e->keys = (sluice_value *)(e + 1);
    e->rows = e->keys + nkeys;
    memcpy(e->keys, keys, nkeys * sizeof *keys);
    if (nrows) memcpy(e->rows, rows, nrows * width * sizeof *rows);
    char *strs = (char *)(e->keys + nv);
    for (size_t i = 0; i < nv; i++) move_string(&e->keys[i], &strs);
    return e;
}

static int add_fresh(mysql_table *t, cache_entry *e) {
    if (t->nfresh == t->fresh_cap) {
        size_t cap = t->fresh_cap ? 2 * t->fresh_cap : 64;
        cache_entry **f = realloc(t->fresh, cap * sizeof *f);
        if (!f) return -1;
        t->fresh = f;
        t->fresh_cap = cap;
    }
    t->fresh[t->nfresh++] = e;
    return 0;
}

/* Cache e (the newest), or keep it for this lookup only without a cache. */
static int keep(mysql_table *t, cache_entry *e) {
    if (t->cache_rows <= 0) return add_fresh(t, e);
    size_t b = e->hash & (t->nbuckets - 1);
    e->hnext = t->buckets[b];
    t->buckets[b] = e;
    e->older = t->newest;
    if (t->newest) t->newest->newer = e;
    else t->oldest = e;
    t->newest = e;
    t->nentries++;
    return 0;
}

/* Before a lookup (when no row handed out is in use any more): drop the
 * entries of the last lookup without a cache, the expired ones, and the
 * oldest beyond cache_rows. */
static void trim(mysql_table *t, int64_t now) {
    for (size_t i = 0; i < t->nfresh; i++) free(t->fresh[i]);
    t->nfresh = 0;
    while (t->oldest && ((int64_t)t->nentries > t->cache_rows || now - t->oldest->read_at >= t->ttl_ms))
        unlink_entry(t, t->oldest);
}

/* The value of text field (len bytes) as column type ty; strings borrowed. */
static sluice_value convert(const char *text, unsigned long len, sluice_type_t ty) {
    if (!text) return sluice_value_null();
    char buf[64];
    switch (ty) {
    case SLUICE_TYPE_VARCHAR: return sluice_value_varchar(text, len);
    case SLUICE_TYPE_BIGINT:
    case SLUICE_TYPE_DOUBLE:
    case SLUICE_TYPE_BOOLEAN: {
        if (len >= sizeof buf) return sluice_value_null();
        memcpy(buf, text, len);
        buf[len] = '\0';
        char *end;
        errno = 0;
        if (ty == SLUICE_TYPE_DOUBLE) {
            double d = strtod(buf, &end);
            return *end || end == buf ? sluice_value_null() : sluice_value_double(d);
        }
        long long v = strtoll(buf, &end, 10);
        if (*end || end == buf || errno) return sluice_value_null();
        return ty == SLUICE_TYPE_BIGINT ? sluice_value_bigint(v) : sluice_value_bool(v != 0);
    }
    case SLUICE_TYPE_TIMESTAMP: {
        int64_t ms;
        return sluice_ts_parse(NULL, text, len, &ms) == 0 ? sluice_value_timestamp(ms) : sluice_value_null();
    }
    default: break;
    }
    return sluice_value_null();
}

/* The statement for keys miss[0 .. n) (nkeys values each). */
static int build_sql(mysql_table *t, const size_t *key_cols, size_t nkeys, const sluice_value *const *miss, size_t n) {
    const sluice_source_plan *sp = t->lp->table;
    sbuf *b = &t->sql;
    b->len = 0;
    if (sb_str(b, "SELECT ")) return -1;
    for (size_t i = 0; i < t->base.width; i++)
        if ((i && sb_str(b, ", ")) || sluice_sb_ident(b, sp->columns[i].name)) return -1;
    if (sb_str(b, " FROM ") || sluice_sb_ident(b, t->table) || sb_str(b, " WHERE ")) return -1;
    if (nkeys > 1 && sb_str(b, "(")) return -1;
    for (size_t k = 0; k < nkeys; k++)
        if ((k && sb_str(b, ", ")) || sluice_sb_ident(b, sp->columns[key_cols[k]].name)) return -1;
    if (sb_str(b, nkeys > 1 ? ") IN (" : " IN (")) return -1;
    for (size_t i = 0; i < n; i++) {
        if ((i && sb_str(b, ", ")) || (nkeys > 1 && sb_str(b, "("))) return -1;
        for (size_t k = 0; k < nkeys; k++)
            if ((k && sb_str(b, ", ")) || sluice_sb_value(b, t->conn.db, &miss[i][k])) return -1;
        if (nkeys > 1 && sb_str(b, ")")) return -1;
    }
    return sb_str(b, ")");
}

/* Send t->sql, reconnecting once per lost connection (within
 * retry_timeout).  The result, or NULL with err set. */
static MYSQL_RES *run(mysql_table *t, sluice_err_t *code, char *err, size_t err_size) {
    for (int attempt = 0;; attempt++) {
        if (!t->conn.db && (*code = sluice_mysql_conn_connect_retry(&t->conn, err, err_size)) != SLUICE_OK)
            return NULL;
        if (mysql_real_query(t->conn.db, t->sql.p, (unsigned long)t->sql.len) == 0) {
            MYSQL_RES *r = mysql_store_result(t->conn.db);
            if (r) return r;
        }
        unsigned e = mysql_errno(t->conn.db);
        char msg[512];
        sluice_mysql_conn_scrub(&t->conn, mysql_error(t->conn.db), msg, sizeof msg);
        if (sluice_mysql_err_is_connection(e) && attempt < 3) {
            sluice_mysql_conn_drop(&t->conn);
            continue;
        }
        *code = sluice_mysql_err_is_connection(e) ? SLUICE_ERR_IO : SLUICE_ERR_RUNTIME;
        snprintf(err, err_size, "table %s: %s (error %u)", t->table, msg, e);
        return NULL;
    }
}

static sluice_err_t table_lookup(sluice_lookup_table *base, const size_t *key_cols, size_t nkeys,
                                 const sluice_value *keys, size_t n, int64_t now_ms, sluice_lookup_result *out,
                                 char *err, size_t err_size) {
    mysql_table *t = (mysql_table *)base;
    size_t w = base->width;
    if (nkeys > MAX_KEYS) return sluice_seterr(err, err_size, SLUICE_ERR_INVALID, "more than %d key columns", MAX_KEYS);
    trim(t, now_ms);
    out->nrows = 0;
    if (sluice_lookup_result_reserve(out, n, 0) != 0) return SLUICE_ERR_NOMEM;
    /* per key: its entry, once known; the keys to ask (distinct) */
    cache_entry **found = calloc(n + 1, sizeof *found);
    const sluice_value **miss = calloc(n + 1, sizeof *miss);
    uint64_t *hashes = calloc(n + 1, sizeof *hashes);
    sluice_value *rowbuf = NULL;
    sluice_err_t code = SLUICE_OK;
    if (!found || !miss || !hashes) {
        code = SLUICE_ERR_NOMEM;
        goto done;
    }
    size_t nmiss = 0;
    for (size_t i = 0; i < n; i++) {
        hashes[i] = keys_hash(keys + i * nkeys, nkeys, key_cols);
        found[i] = find(t, keys + i * nkeys, nkeys, key_cols, hashes[i]);
        if (found[i]) continue;
        size_t j = 0;
        while (j < nmiss && !values_equal(miss[j], keys + i * nkeys, nkeys)) j++;
        if (j == nmiss) miss[nmiss++] = keys + i * nkeys;
    }
    for (size_t m0 = 0; m0 < nmiss; m0 += KEYS_PER_QUERY) {
        size_t m1 = m0 + KEYS_PER_QUERY < nmiss ? m0 + KEYS_PER_QUERY : nmiss;
        if (!t->conn.db && (code = sluice_mysql_conn_connect_retry(&t->conn, err, err_size)) != SLUICE_OK) goto done;
        if (build_sql(t, key_cols, nkeys, miss + m0, m1 - m0) != 0) {
            code = SLUICE_ERR_NOMEM;
            goto done;
        }
        MYSQL_RES *r = run(t, &code, err, err_size);
        if (!r) goto done;
        size_t nr = (size_t)mysql_num_rows(r);
        free(rowbuf);
        rowbuf = malloc((nr + 1) * (w ? w : 1) * sizeof *rowbuf);
        size_t *owner = malloc((nr + 1) * sizeof *owner);
        if (!rowbuf || !owner) {
            free(owner);
            mysql_free_result(r);
            code = SLUICE_ERR_NOMEM;
            goto done;
        }
        /* convert every row and find which key asked it */
        MYSQL_ROW row;
        size_t k = 0;
        sluice_value rk[MAX_KEYS];
        while ((row = mysql_fetch_row(r)) != NULL && k < nr) {
            unsigned long *lens = mysql_fetch_lengths(r);
            sluice_value *v = rowbuf + k * w;
            for (size_t c = 0; c < w; c++) v[c] = convert(row[c], lens[c], t->lp->table_types[c]);
            for (size_t c = 0; c < nkeys; c++) rk[c] = v[key_cols[c]];
            owner[k] = SIZE_MAX;
            for (size_t j = m0; j < m1 && owner[k] == SIZE_MAX; j++)
                if (values_equal(miss[j], rk, nkeys)) owner[k] = j;
            k++;
        }
        /* one entry per key asked, with its rows in the order read */
        sluice_value *mine = malloc((k + 1) * (w ? w : 1) * sizeof *mine);
        if (!mine) {
            free(owner);
            mysql_free_result(r);
            code = SLUICE_ERR_NOMEM;
            goto done;
        }
        for (size_t j = m0; j < m1 && code == SLUICE_OK; j++) {
            size_t cnt = 0;
            for (size_t q = 0; q < k; q++)
                if (owner[q] == j) memcpy(mine + cnt++ * w, rowbuf + q * w, w * sizeof *mine);
            uint64_t h = keys_hash(miss[j], nkeys, key_cols);
            cache_entry *e = entry_new(miss[j], nkeys, key_cols, h, mine, cnt, w, now_ms);
            if (!e || keep(t, e) != 0) {
                free(e);
                code = SLUICE_ERR_NOMEM;
            }
        }
        free(mine);
        free(owner);
        mysql_free_result(r);
        if (code) goto done;
    }
    /* every key's entry is cached now (or fresh) */
    for (size_t i = 0; i < n; i++) {
        cache_entry *e = found[i];
        if (!e && t->cache_rows > 0) e = find(t, keys + i * nkeys, nkeys, key_cols, hashes[i]);
        for (size_t f = 0; !e && f < t->nfresh; f++)
            if (t->fresh[f]->hash == hashes[i] && same_key(t->fresh[f], keys + i * nkeys, nkeys, key_cols))
                e = t->fresh[f];
        out->first[i] = out->nrows;
        out->count[i] = 0;
        if (!e) continue;
        if (sluice_lookup_result_reserve(out, n, e->nrows) != 0) {
            code = SLUICE_ERR_NOMEM;
            goto done;
        }
        for (size_t r = 0; r < e->nrows; r++) out->rows[out->nrows++] = e->rows + r * w;
        out->count[i] = e->nrows;
    }
done:
    free(found);
    free(miss);
    free(hashes);
    free(rowbuf);
    return code;
}

static void table_close(sluice_lookup_table *base) {
    mysql_table *t = (mysql_table *)base;
    t->cache_rows = 0;
    t->ttl_ms = 0;
    while (t->oldest) unlink_entry(t, t->oldest);
    for (size_t i = 0; i < t->nfresh; i++) free(t->fresh[i]);
    free(t->fresh);
    free(t->buckets);
    sluice_mysql_conn_drop(&t->conn);
    sluice_sb_free(&t->sql);
    free(t);
}

static sluice_err_t table_open(const sluice_lookup_plan *lp, const sluice_option *opts, size_t n,
                               const char *const *shared, const char *pipeline, sluice_dead_letter *dlq,
                               sluice_lookup_table **out, char *errstr, size_t errstr_size) {
    (void)dlq;
    mysql_table *t = calloc(1, sizeof *t);
    if (!t) return SLUICE_ERR_NOMEM;
    t->base.name = lp->table_name;
    t->base.width = lp->table_width;
    t->base.lookup = table_lookup;
    t->base.close = table_close;
    t->lp = lp;
    t->cache_rows = 10000;
    t->ttl_ms = 60000;
    const sluice_option *o;
    if ((o = sluice_lookup_option(opts, n, "table"))) t->table = o->value;
    if ((o = sluice_lookup_option(opts, n, "cache_rows"))) t->cache_rows = strtoll(o->value, NULL, 10);
    if ((o = sluice_lookup_option(opts, n, "cache_ttl"))) sluice_parse_duration_ms(o->value, &t->ttl_ms);
    for (size_t i = 0; i < lp->table_width; i++)
        if (lp->table_types[i] == SLUICE_TYPE_ARRAY) {
            table_close(&t->base);
            return sluice_seterr(errstr, errstr_size, SLUICE_ERR_CONFIG,
                                 "lookup table %s (mysql): column %s is an ARRAY, which a MySQL column cannot hold",
                                 lp->table_name, lp->table->columns[i].name);
        }
    t->nbuckets = 64;
    while ((int64_t)t->nbuckets < 2 * t->cache_rows && t->nbuckets < ((size_t)1 << 24)) t->nbuckets *= 2;
    t->buckets = calloc(t->nbuckets, sizeof *t->buckets);
    if (!t->buckets) {
        table_close(&t->base);
        return SLUICE_ERR_NOMEM;
    }
    t->mc.pipeline = pipeline;
    t->mc.instance = lp->table_name;
    t->mc.options = opts;
    t->mc.noptions = n;
    t->mc.shared = shared;
    sluice_err_t err =
        sluice_mysql_conn_parse(&t->conn, &t->mc, "lookup table", "the database of the table", errstr, errstr_size);
    if (!err && sluice_mysql_library_init() != 0)
        err = sluice_seterr(errstr, errstr_size, SLUICE_ERR_RUNTIME,
                            "lookup table %s (mysql): cannot initialise the client library", lp->table_name);
    t->conn.table = t->table;
    if (!err) err = sluice_mysql_conn_connect_retry(&t->conn, errstr, errstr_size);
    if (!err) {
        /* the table and its columns exist: ask for no key */
        sbuf *b = &t->sql;
        b->len = 0;
        int bad = sb_str(b, "SELECT ");
        for (size_t i = 0; i < t->base.width && !bad; i++)
            bad = (i && sb_str(b, ", ")) || sluice_sb_ident(b, lp->table->columns[i].name);
        if (bad || sb_str(b, " FROM ") || sluice_sb_ident(b, t->table) || sb_str(b, " LIMIT 0")) {
            err = SLUICE_ERR_NOMEM;
        } else {
            char why[512];
            MYSQL_RES *r = run(t, &err, why, sizeof why);
            if (r) mysql_free_result(r);
            else
                err = sluice_seterr(errstr, errstr_size, err == SLUICE_ERR_IO ? SLUICE_ERR_IO : SLUICE_ERR_CONFIG,
                                    "lookup table %s (mysql): %s", lp->table_name, why);
        }
    }
    if (err) {
        table_close(&t->base);
        return err;
    }
    *out = &t->base;
    return SLUICE_OK;
}

const sluice_lookup_connector sluice_lookup_mysql = {
    .name = "mysql",
    .description = "rows of a MySQL or MariaDB table, asked per batch for the keys the cache does not hold",
    .option_specs = lookup_mysql_specs,
    .shared_section = "mysql",
    .open = table_open,
};
