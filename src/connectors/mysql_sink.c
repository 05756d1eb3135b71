/*
 * The "mysql" sink: result tables in MySQL or MariaDB, written through the
 * libmysqlclient API (MariaDB Connector/C).
 *
 * One transaction per epoch (docs/checkpoints.md, "Commit the sinks"):
 *
 *   START TRANSACTION;
 *   SELECT epoch FROM sluice_commits WHERE pipeline = P AND sink = S AND target = T FOR UPDATE;
 *       -- epoch already there: ROLLBACK, nothing to do
 *   DELETE FROM t;                                  -- COMPLETE mode only
 *   INSERT INTO t (...) VALUES (...),(...) ON DUPLICATE KEY UPDATE c = VALUES(c), ...;
 *   INSERT INTO sluice_commits (pipeline, sink, target, epoch) VALUES (P, S, T, e)
 *       ON DUPLICATE KEY UPDATE epoch = VALUES(epoch);
 *   COMMIT;
 *
 * The rows are a changelog (sluice/changelog.h).  With a PRIMARY KEY, a
 * key written several times in one epoch is collapsed to its last row that
 * is not an update-before (the update-after that follows replaces the
 * row); an insert or update-after is upserted with absolute values, sorted
 * by key; a delete becomes
 *
 *   DELETE FROM t WHERE (k1, k2) IN ((v1, v2), ...);
 *
 * in the same transaction, after the upserts.  Without a key the rows are
 * applied in arrival order: inserts and update-afters inserted, an
 * update-before or a delete removing one row equal in every column
 * (DELETE ... WHERE c1 <=> v1 AND ... LIMIT 1), as a retract sink does.  Statements are bounded in bytes
 * (`batch_bytes`, at most max_allowed_packet).  With checkpointing, an epoch
 * at or below the one recorded in sluice_commits is skipped: it was
 * committed before a crash.  Without, a run starts a new epoch sequence: its
 * row in sluice_commits is reset to -1 at open.
 *
 * Rows the table cannot store (the sink's on_error, sluice_module_config's
 * reject()): at open the sink reads what each column holds from
 * information_schema (mysql_columns.h); before an epoch is sent, its rows
 * (after a key's rows are collapsed) are checked against it and the bad
 * ones set aside.  The session is in strict mode, so the server truncates
 * nothing: a multi-row statement it still refuses for a row's data is
 * rolled back by itself (the transaction stays open) and sent again row by
 * row, the rows refused alone set aside.  A row set aside is never sent
 * again in a retry of the epoch.
 *
 * write() copies the epoch's rows; commit() sends them.  A lost connection
 * (reconnect) or a deadlock / lock wait timeout is retried with exponential
 * backoff, the whole epoch re-sent in a new transaction, until
 * `retry_timeout`; meanwhile execute() is blocked, so nothing more is read.
 *
 * Options of [sink NAME]: `table` (default: the sink name), `create_table`
 * (default true), `varchar_length` (VARCHAR length of key columns; default
 * the share of InnoDB's 3072-byte key limit, see default_varchar_length()),
 * `batch_bytes` (statement size, default 1 MiB), `retry_timeout`
 * (default 60s).  Options of [mysql]: host, port, socket, user, password,
 * database (required), ssl_mode (disabled | preferred | required |
 * verify_ca | verify_identity), ssl_ca, ssl_capath, ssl_cert, ssl_key,
 * ssl_cipher, ssl_crl, connect_timeout, read_timeout, write_timeout (default
 * 10s, 60s, 60s), retry_timeout.  The password never appears in messages.
 */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <errmsg.h>
#include <mysql.h>
#include <mysqld_error.h>

#include "connectors/connectors.h"
#include "connectors/connectors_int.h"
#include "connectors/mysql_columns.h"
#include "connectors/mysql_common.h"
#include "connectors/mysql_sql.h"
#include "base/clock.h"
#include "base/stop.h"
#include "base/config.h"
#include "base/log.h"
#include "format/format.h"

/* The option table (sluice/module.h): checked before open(), printed by
 * `sluice connectors`.  parse_options() keeps the limits a type cannot
 * say (varchar_length's maximum, with its own message). */
static const sluice_option_spec mysql_sink_specs[] = {
    {"table", SLUICE_OPT_STRING, NULL, "the result table, at most 64 characters; default: the sink's name", NULL, 0,
     0, 0},
    {"create_table", SLUICE_OPT_BOOL, "true",
     "create the table from the query's output when it does not exist (CREATE TABLE IF NOT EXISTS)", NULL, 0, 0, 0},
    {"varchar_length", SLUICE_OPT_INT, NULL,
     "characters of the key VARCHAR columns, at most 16383; default: what InnoDB's 3072-byte key limit allows "
     "(768 for a key of one VARCHAR column)",
     NULL, 1, 0, 0},
    {"batch_bytes", SLUICE_OPT_INT, "1048576", "size of one INSERT or DELETE statement, at most, in bytes", NULL,
     1024, 0, 0},
    {"retry_timeout", SLUICE_OPT_DURATION, NULL,
     "how long a lost connection, a deadlock or a lock wait timeout is retried before the run fails; default: "
     "`[mysql] retry_timeout`",
     NULL, 0, 0, 0},
    {NULL, 0, NULL, NULL, NULL, 0, 0, 0},
};

#define COMMITS_TABLE "sluice_commits"
/* keyed by everything that identifies the target: the pipeline, the sink
 * and the table it writes (the table is in the same database) */
#define COMMITS_COLUMNS "(pipeline, sink, target, epoch)"
#define DEFAULT_BATCH_BYTES (1u << 20)
typedef struct mysql_sink {
    sluice_sink base;
    const char *instance;
    const char *pipeline;
    const sluice_schema *schema;
    size_t ncols;
    int complete;                  /* COMPLETE output mode: replace all rows */

    sluice_mysql_conn conn;        /* [mysql] settings and the connection */

    /* table */
    const char *table;
    int create_table;
    int64_t varchar_length;
    size_t batch_bytes;
    sbuf qtable;                   /* `table` */
    sbuf insert_head;              /* INSERT INTO `t` (`a`,`b`) VALUES  */
    sbuf upsert_tail;              /*  ON DUPLICATE KEY UPDATE ...  */
    sbuf commits_where;            /* pipeline = '..' AND sink = '..' AND target = '..' */
    sbuf commits_values;           /* '..','..','..' */
    int commits_bad;               /* read_committed() found an invalid epoch */

    /* the epoch being collected */
    int64_t last_committed;        /* -1: none recorded */
    int64_t opened_committed;      /* last_committed as read at open */
    int64_t pending_epoch;
    int has_pending;
    sluice_value *rows;            /* nrows * ncols */
    uint8_t *kinds;                /* nrows change kinds (sluice_row_kind) */
    size_t nrows, cap;
    sluice_arena *strings;         /* VARCHAR bytes of rows */
    size_t *order;                 /* row indexes to send */
    sbuf sql;                      /* statement being built */
    int skip_noted;

    /* rows the table cannot store (on_error) */
    sluice_module_config cfg;      /* a copy: its reject() callback */
    sluice_mysql_column *cols;     /* per output column: what the table's holds */
    int created;                   /* the table was created by this open */
    unsigned char *rejected;       /* per row of the epoch: set aside */
    size_t rejected_cap;
    sluice_err_t reject_err;       /* on_error = fail: the error ... */
    char reject_msg[1024];         /* ... and its message, out of commit_attempt */
} mysql_sink;

/* commit_attempt's code for "reject() failed the run" (not a server error) */
#define REJECT_FAILED 0x7fff0001u

/* ---------------- small helpers ---------------- */

static int is_key_column(const sluice_schema *s, size_t c) {
    for (size_t k = 0; k < s->npk; k++)
        if (s->pk[k] == c) return 1;
    return 0;
}

/* "sink NAME (mysql): table 'T': WHAT: <server message> (error N)" */
static sluice_err_t db_error(mysql_sink *s, sluice_err_t code, const char *what, char *errstr, size_t errstr_size) {
    char msg[600];
    sluice_mysql_conn_scrub(&s->conn, s->conn.db ? mysql_error(s->conn.db) : "not connected", msg, sizeof msg);
    return sluice_seterr(errstr, errstr_size, code, "sink %s (mysql): table '%s': %s: %s (error %u)", s->instance,
                         s->table, what, msg, s->conn.db ? mysql_errno(s->conn.db) : 0u);
}

static int err_is_lock(unsigned e) {
    return e == ER_LOCK_DEADLOCK || e == ER_LOCK_WAIT_TIMEOUT;
}

/* ---------------- connection ---------------- */

/* Run one statement that returns no rows.  Returns 0 or the error number. */
static unsigned db_exec(mysql_sink *s, const char *sql, size_t len) {
    if (mysql_real_query(s->conn.db, sql, (unsigned long)len) != 0) return mysql_errno(s->conn.db) ? mysql_errno(s->conn.db) : CR_UNKNOWN_ERROR;
    MYSQL_RES *r = mysql_store_result(s->conn.db);
    if (r) mysql_free_result(r);
    return 0;
}

static unsigned db_exec_str(mysql_sink *s, const char *sql) {
    return db_exec(s, sql, strlen(sql));
}

/* The statement size limit in bytes. */
static size_t batch_limit(const mysql_sink *s) {
    size_t lim = s->batch_bytes;
    if (s->conn.max_packet > 4096 && lim > s->conn.max_packet - 1024) lim = s->conn.max_packet - 1024;
    return lim;
}

/* ---------------- tables ---------------- */

/* Column type in CREATE TABLE. */
static int sb_column_type(mysql_sink *s, sbuf *b, size_t c) {
    int key = is_key_column(s->schema, c);
    switch (s->schema->columns[c].type) {
    case SLUICE_TYPE_BIGINT:
    case SLUICE_TYPE_INTERVAL: return sb_str(b, "BIGINT");
    case SLUICE_TYPE_DOUBLE: return sb_str(b, "DOUBLE");
    case SLUICE_TYPE_BOOLEAN: return sb_str(b, "BOOLEAN");
    case SLUICE_TYPE_TIMESTAMP: return sb_str(b, "DATETIME(3)");
    case SLUICE_TYPE_VARCHAR:
    default:
        /* the engine's strings have no length limit: LONGTEXT holds more
         * than any statement carries; a key column must be indexable */
        return key ? sluice_sb_printf(b, "VARCHAR(%" PRId64 ")", s->varchar_length) : sb_str(b, "LONGTEXT");
    }
}

/* InnoDB's index key limit (bytes; DYNAMIC rows, innodb_large_prefix),
 * the PRIMARY KEY's columns together */
#define INNODB_MAX_KEY_BYTES 3072
/* utf8mb4: at most 4 bytes a character */
#define UTF8MB4_MAX_BYTES 4

/* Bytes an index entry of a non-VARCHAR key column takes (storage sizes of
 * the MariaDB manual: BIGINT and DOUBLE 8, BOOLEAN 1, DATETIME(3) 7). */
static int64_t fixed_key_bytes(sluice_type_t t) {
    static const struct {
        sluice_type_t t;
        int64_t bytes;
    } sizes[] = {{SLUICE_TYPE_BIGINT, 8}, {SLUICE_TYPE_INTERVAL, 8}, {SLUICE_TYPE_DOUBLE, 8},
                 {SLUICE_TYPE_BOOLEAN, 1}, {SLUICE_TYPE_TIMESTAMP, 7}};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++)
        if (sizes[i].t == t) return sizes[i].bytes;
    return 8;
}

/* The default length of key VARCHAR columns: the PRIMARY KEY's share of
 * InnoDB's 3072-byte index limit left by its other columns, split evenly
 * among its VARCHAR columns, at 4 bytes a utf8mb4 character (768 for a key
 * of one VARCHAR column). */
static int64_t default_varchar_length(const sluice_schema *sc) {
    int64_t budget = INNODB_MAX_KEY_BYTES, nvarchar = 0;
    for (size_t k = 0; sc && k < sc->npk; k++) {
        sluice_type_t t = sc->columns[sc->pk[k]].type;
        if (t == SLUICE_TYPE_VARCHAR) nvarchar++;
        else budget -= fixed_key_bytes(t);
    }
    if (nvarchar == 0 || budget < UTF8MB4_MAX_BYTES * nvarchar) return 255;
    return budget / UTF8MB4_MAX_BYTES / nvarchar;
}

/* Log the output columns the table cannot hold in full: their rows beyond
 * the column's limits will be set aside (on_error). */
static void warn_limits(mysql_sink *s) {
    char list[1024] = "";
    for (size_t c = 0; c < s->ncols; c++) {
        if (sluice_mysql_column_holds_all(&s->cols[c], s->schema->columns[c].type)) continue;
        size_t n = strlen(list);
        snprintf(list + n, sizeof list - n, "%s'%s' (%s)", n ? ", " : "", s->schema->columns[c].name,
                 s->cols[c].type);
    }
    if (!list[0]) return;
    sluice_log(s->created ? SLUICE_LOG_INFO : SLUICE_LOG_WARN, s->pipeline, "mysql", s->instance,
               "table '%s' cannot hold every value of column(s) %s: rows with longer text or values out of the "
               "column's range are set aside by on_error (dead letter by default)",
               s->table, list);
}

/* Does the server's DATA_TYPE fit a column of type t? */
static int type_compatible(sluice_type_t t, const char *dt) {
    static const char *const ints[] = {"bigint", NULL};
    static const char *const dbls[] = {"double", "decimal", NULL};
    static const char *const strs[] = {"varchar", "char", "text", "tinytext", "mediumtext", "longtext", NULL};
    static const char *const bools[] = {"tinyint", "smallint", "mediumint", "int", "bigint", "bit", NULL};
    static const char *const times[] = {"datetime", "timestamp", NULL};
    const char *const *ok;
    switch (t) {
    case SLUICE_TYPE_BIGINT:
    case SLUICE_TYPE_INTERVAL: ok = ints; break;
    case SLUICE_TYPE_DOUBLE: ok = dbls; break;
    case SLUICE_TYPE_BOOLEAN: ok = bools; break;
    case SLUICE_TYPE_TIMESTAMP: ok = times; break;
    default: ok = strs; break;
    }
    for (; *ok; ok++)
        if (strcasecmp(*ok, dt) == 0) return 1;
    return 0;
}

static const char *expected_type(sluice_type_t t) {
    switch (t) {
    case SLUICE_TYPE_BIGINT:
    case SLUICE_TYPE_INTERVAL: return "bigint";
    case SLUICE_TYPE_DOUBLE: return "double or decimal";
    case SLUICE_TYPE_BOOLEAN: return "an integer type (boolean)";
    case SLUICE_TYPE_TIMESTAMP: return "datetime or timestamp";
    default: return "a char, varchar or text type";
    }
}

/* Run a SELECT; *out is the stored result (free it), NULL on error. */
static unsigned db_select(mysql_sink *s, const char *sql, size_t len, MYSQL_RES **out) {
    *out = NULL;
    if (mysql_real_query(s->conn.db, sql, (unsigned long)len) != 0) return mysql_errno(s->conn.db);
    *out = mysql_store_result(s->conn.db);
    return *out ? 0 : (mysql_errno(s->conn.db) ? mysql_errno(s->conn.db) : CR_UNKNOWN_ERROR);
}

/* Check an existing table against the schema; *exists = 0 when there is
 * no such table. */
static sluice_err_t check_table(mysql_sink *s, int *exists, char *errstr, size_t errstr_size) {
    sbuf q = {0};
    MYSQL_RES *r = NULL;
    sluice_err_t err = SLUICE_OK;
    char *seen = calloc(s->ncols + 1, 1);
    if (!seen || sb_str(&q, "SELECT COLUMN_NAME, DATA_TYPE, COLUMN_TYPE, CHARACTER_MAXIMUM_LENGTH, "
                            "CHARACTER_OCTET_LENGTH, CHARACTER_SET_NAME FROM information_schema.COLUMNS WHERE "
                            "TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ") ||
        sluice_sb_literal(&q, s->conn.db, s->table, strlen(s->table))) {
        err = SLUICE_ERR_NOMEM;
        goto out;
    }
    if (db_select(s, q.p, q.len, &r)) {
        err = db_error(s, SLUICE_ERR_IO, "cannot read the table's columns", errstr, errstr_size);
        goto out;
    }
    *exists = mysql_num_rows(r) > 0;
    MYSQL_ROW row;
    while ((row = mysql_fetch_row(r))) {
        for (size_t c = 0; c < s->ncols; c++) {
            if (!row[0] || strcasecmp(row[0], s->schema->columns[c].name) != 0) continue;
            seen[c] = 1;
            sluice_mysql_column_read(&s->cols[c], row[1], row[2], row[3], row[4], row[5]);
            if (!type_compatible(s->schema->columns[c].type, row[1] ? row[1] : "")) {
                err = sluice_seterr(errstr, errstr_size, SLUICE_ERR_CONFIG,
                                    "sink %s (mysql): table '%s': column '%s' is %s, but the query gives %s "
                                    "(expected %s)",
                                    s->instance, s->table, s->schema->columns[c].name, row[1] ? row[1] : "?",
                                    sluice_type_name(s->schema->columns[c].type),
                                    expected_type(s->schema->columns[c].type));
                goto out;
            }
        }
    }
    if (!*exists) goto out;
    for (size_t c = 0; c < s->ncols; c++)
        if (!seen[c]) {
            err = sluice_seterr(errstr, errstr_size, SLUICE_ERR_CONFIG,
                                "sink %s (mysql): table '%s' has no column '%s' (%s) of the query's output", s->instance,
                                s->table, s->schema->columns[c].name, sluice_type_name(s->schema->columns[c].type));
            goto out;
        }
    if (s->schema->npk == 0) goto out;
    mysql_free_result(r);
    r = NULL;
    q.len = 0;
    if (sb_str(&q, "SELECT COLUMN_NAME FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = DATABASE() AND "
                   "INDEX_NAME = 'PRIMARY' AND TABLE_NAME = ") ||
        sluice_sb_literal(&q, s->conn.db, s->table, strlen(s->table))) {
        err = SLUICE_ERR_NOMEM;
        goto out;
    }
    if (db_select(s, q.p, q.len, &r)) {
        err = db_error(s, SLUICE_ERR_IO, "cannot read the table's primary key", errstr, errstr_size);
        goto out;
    }
    size_t matched = 0, total = 0;
    while ((row = mysql_fetch_row(r))) {
        total++;
        for (size_t k = 0; k < s->schema->npk; k++)
            if (row[0] && strcasecmp(row[0], s->schema->columns[s->schema->pk[k]].name) == 0) matched++;
    }
    if (matched != s->schema->npk || total != s->schema->npk) {
        char want[512] = "";
        for (size_t k = 0; k < s->schema->npk; k++) {
            if (k) strncat(want, ", ", sizeof want - strlen(want) - 1);
            strncat(want, s->schema->columns[s->schema->pk[k]].name, sizeof want - strlen(want) - 1);
        }
        err = sluice_seterr(errstr, errstr_size, SLUICE_ERR_CONFIG,
                            "sink %s (mysql): table '%s': its PRIMARY KEY is not (%s), the query's key; an upsert "
                            "needs exactly that key",
                            s->instance, s->table, want);
    }
out:
    if (r) mysql_free_result(r);
    sluice_sb_free(&q);
    free(seen);
    return err;
}

/* A binary, no-pad collation: keys 'a', 'A' and 'a ' stay distinct, as in
 * the engine. */
static const char *binary_collation(MYSQL *db) {
    const char *info = mysql_get_server_info(db);
    if (info && strstr(info, "MariaDB")) return "utf8mb4_nopad_bin";
    return mysql_get_server_version(db) >= 80017 ? "utf8mb4_0900_bin" : "utf8mb4_bin";
}

/* sluice_commits of earlier versions has no `target` column (its key was
 * (pipeline, sink)): add it, and take a row of this pipeline and sink
 * without a target as this table's — the only table that version could
 * have recorded under that name — so that nothing committed is forgotten. */
static sluice_err_t upgrade_commits_table(mysql_sink *s, char *errstr, size_t errstr_size) {
    MYSQL_RES *r = NULL;
    static const char has_target[] = "SELECT COUNT(*) FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() "
                                     "AND TABLE_NAME = '" COMMITS_TABLE "' AND COLUMN_NAME = 'target'";
    if (db_select(s, has_target, sizeof has_target - 1, &r))
        return db_error(s, SLUICE_ERR_IO, "cannot read the columns of '" COMMITS_TABLE "'", errstr, errstr_size);
    MYSQL_ROW row = mysql_fetch_row(r);
    int present = row && row[0] && strcmp(row[0], "0") != 0;
    mysql_free_result(r);
    if (!present) {
        if (db_exec_str(s, "ALTER TABLE `" COMMITS_TABLE "` ADD COLUMN target VARCHAR(255) NOT NULL DEFAULT '' "
                           "AFTER sink, DROP PRIMARY KEY, ADD PRIMARY KEY (pipeline, sink, target)"))
            return db_error(s, SLUICE_ERR_IO, "cannot add the column 'target' to '" COMMITS_TABLE "'", errstr,
                            errstr_size);
        sluice_log(SLUICE_LOG_INFO, s->pipeline, "mysql", s->instance,
                   "added the column 'target' (the table written) to '" COMMITS_TABLE "'");
    }
    sbuf q = {0};
    if (sb_str(&q, "UPDATE `" COMMITS_TABLE "` SET target = ") ||
        sluice_sb_literal(&q, s->conn.db, s->table, strlen(s->table)) || sb_str(&q, " WHERE pipeline = ") ||
        sluice_sb_literal(&q, s->conn.db, s->pipeline, strlen(s->pipeline)) || sb_str(&q, " AND sink = ") ||
        sluice_sb_literal(&q, s->conn.db, s->instance, strlen(s->instance)) || sb_str(&q, " AND target = ''")) {
        sluice_sb_free(&q);
        return SLUICE_ERR_NOMEM;
    }
    unsigned e = db_exec(s, q.p, q.len);
    sluice_sb_free(&q);
    if (e) return db_error(s, SLUICE_ERR_IO, "cannot update '" COMMITS_TABLE "'", errstr, errstr_size);
    if (mysql_affected_rows(s->conn.db) > 0)
        sluice_log(SLUICE_LOG_INFO, s->pipeline, "mysql", s->instance,
                   "took the '" COMMITS_TABLE "' row of an earlier version (no target) as table '%s''s", s->table);
    return SLUICE_OK;
}

static sluice_err_t create_tables(mysql_sink *s, char *errstr, size_t errstr_size) {
    sbuf q = {0};
    sluice_err_t err = SLUICE_OK;
    const char *coll = binary_collation(s->conn.db);
    if (sluice_sb_printf(&q,
                  "CREATE TABLE IF NOT EXISTS `" COMMITS_TABLE "` (pipeline VARCHAR(255) NOT NULL, sink VARCHAR(255) "
                  "NOT NULL, target VARCHAR(255) NOT NULL DEFAULT '', epoch BIGINT NOT NULL, PRIMARY KEY (pipeline, "
                  "sink, target)) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=%s",
                  coll))
        return SLUICE_ERR_NOMEM;
    if (db_exec(s, q.p, q.len)) {
        err = db_error(s, SLUICE_ERR_IO, "cannot create table '" COMMITS_TABLE "'", errstr, errstr_size);
        goto out;
    }
    if ((err = upgrade_commits_table(s, errstr, errstr_size))) goto out;
    int exists = 0;
    if ((err = check_table(s, &exists, errstr, errstr_size))) goto out;
    if (exists) goto out;
    if (!s->create_table) {
        err = sluice_seterr(errstr, errstr_size, SLUICE_ERR_CONFIG,
                            "sink %s (mysql): table '%s' does not exist in database '%s' (create_table = false)",
                            s->instance, s->table, s->conn.database);
        goto out;
    }
    q.len = 0;
    int bad = sb_str(&q, "CREATE TABLE IF NOT EXISTS ") || sb_add(&q, s->qtable.p, s->qtable.len) || sb_str(&q, " (");
    for (size_t c = 0; c < s->ncols && !bad; c++) {
        bad = (c && sb_str(&q, ", ")) || sluice_sb_ident(&q, s->schema->columns[c].name) || sb_str(&q, " ") ||
              sb_column_type(s, &q, c) || (is_key_column(s->schema, c) && sb_str(&q, " NOT NULL"));
    }
    if (!bad && s->schema->npk) {
        bad = sb_str(&q, ", PRIMARY KEY (");
        for (size_t k = 0; k < s->schema->npk && !bad; k++)
            bad = (k && sb_str(&q, ", ")) || sluice_sb_ident(&q, s->schema->columns[s->schema->pk[k]].name);
        bad = bad || sb_str(&q, ")");
    }
    bad = bad || sluice_sb_printf(&q, ") ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=%s", coll);
    if (bad) {
        err = SLUICE_ERR_NOMEM;
        goto out;
    }
    if (db_exec(s, q.p, q.len)) {
        err = db_error(s, SLUICE_ERR_CONFIG, "cannot create the table", errstr, errstr_size);
        goto out;
    }
    s->created = 1;
    err = check_table(s, &exists, errstr, errstr_size);
out:
    sluice_sb_free(&q);
    return err;
}

/* Read the last committed epoch into *epoch (-1 when none).  with_lock:
 * SELECT ... FOR UPDATE inside the epoch's transaction. */
static unsigned read_committed(mysql_sink *s, int with_lock, int64_t *epoch) {
    sbuf q = {0};
    *epoch = -1;
    if (sb_str(&q, "SELECT epoch FROM `" COMMITS_TABLE "` WHERE ") ||
        sb_add(&q, s->commits_where.p, s->commits_where.len) || (with_lock && sb_str(&q, " FOR UPDATE"))) {
        sluice_sb_free(&q);
        return CR_OUT_OF_MEMORY;
    }
    MYSQL_RES *r = NULL;
    unsigned e = db_select(s, q.p, q.len, &r);
    sluice_sb_free(&q);
    if (e) return e;
    MYSQL_ROW row = mysql_fetch_row(r);
    if (row && row[0]) {
        /* validated, not trusted: an integer >= -1 (-1: reset) */
        char *end = NULL;
        errno = 0;
        long long v = strtoll(row[0], &end, 10);
        if (errno || end == row[0] || *end || v < -1) s->commits_bad = 1;
        else *epoch = v;
    }
    mysql_free_result(r);
    return 0;
}

/* Statement parts that depend only on the schema and the names. */
static int build_fixed_parts(mysql_sink *s) {
    sbuf *h = &s->insert_head, *t = &s->upsert_tail;
    if (sluice_sb_ident(&s->qtable, s->table) || sb_str(h, "INSERT INTO ") || sb_add(h, s->qtable.p, s->qtable.len) ||
        sb_str(h, " ("))
        return -1;
    for (size_t c = 0; c < s->ncols; c++)
        if ((c && sb_str(h, ",")) || sluice_sb_ident(h, s->schema->columns[c].name)) return -1;
    if (sb_str(h, ") VALUES ")) return -1;
    if (s->schema->npk == 0) return 0;
    if (sb_str(t, " ON DUPLICATE KEY UPDATE ")) return -1;
    int first = 1;
    for (size_t c = 0; c < s->ncols; c++) {
        if (is_key_column(s->schema, c)) continue;
        if ((!first && sb_str(t, ",")) || sluice_sb_ident(t, s->schema->columns[c].name) || sb_str(t, "=VALUES(") ||
            sluice_sb_ident(t, s->schema->columns[c].name) || sb_str(t, ")"))
            return -1;
        first = 0;
    }
    if (first) { /* every column is a key column: nothing to update */
        const char *k = s->schema->columns[s->schema->pk[0]].name;
        if (sluice_sb_ident(t, k) || sb_str(t, "=") || sluice_sb_ident(t, k)) return -1;
    }
    return 0;
}

static int build_commit_parts(mysql_sink *s) {
    s->commits_where.len = s->commits_values.len = 0;
    return sb_str(&s->commits_where, "pipeline = ") ||
           sluice_sb_literal(&s->commits_where, s->conn.db, s->pipeline, strlen(s->pipeline)) ||
           sb_str(&s->commits_where, " AND sink = ") ||
           sluice_sb_literal(&s->commits_where, s->conn.db, s->instance, strlen(s->instance)) ||
           sb_str(&s->commits_where, " AND target = ") ||
           sluice_sb_literal(&s->commits_where, s->conn.db, s->table, strlen(s->table)) ||
           sluice_sb_literal(&s->commits_values, s->conn.db, s->pipeline, strlen(s->pipeline)) ||
           sb_str(&s->commits_values, ",") ||
           sluice_sb_literal(&s->commits_values, s->conn.db, s->instance, strlen(s->instance)) ||
           sb_str(&s->commits_values, ",") ||
           sluice_sb_literal(&s->commits_values, s->conn.db, s->table, strlen(s->table));
}

/* ---------------- open / close ---------------- */

static void mysql_sink_close(sluice_sink *sink) {
    if (!sink) return;
    mysql_sink *s = (mysql_sink *)sink;
    sluice_mysql_conn_drop(&s->conn);
    sluice_sb_free(&s->qtable);
    sluice_sb_free(&s->insert_head);
    sluice_sb_free(&s->upsert_tail);
    sluice_sb_free(&s->commits_where);
    sluice_sb_free(&s->commits_values);
    sluice_sb_free(&s->sql);
    free(s->rows);
    free(s->kinds);
    free(s->order);
    free(s->cols);
    free(s->rejected);
    sluice_arena_destroy(s->strings);
    free(s);
}

static sluice_err_t parse_options(mysql_sink *s, const sluice_module_config *cfg, char *errstr, size_t errstr_size) {
    sluice_err_t err = sluice_conn_check_specs(cfg, mysql_sink_specs, "sink", "mysql", errstr, errstr_size);
    if (err) return err;
    if ((err = sluice_mysql_conn_parse(&s->conn, cfg, "sink", "the database of the result tables", errstr,
                                       errstr_size)))
        return err;

    const char *table = sluice_module_config_get(cfg, "table");
    if (table && !table[0])
        return sluice_conn_bad_option(cfg, "table", "sink", "mysql", "a table name cannot be empty", errstr,
                                      errstr_size);
    if (table && strlen(table) > 64)
        return sluice_conn_bad_option(cfg, "table", "sink", "mysql", "a table name has at most 64 characters",
                                      errstr, errstr_size);
    s->table = table ? table : s->instance;
    s->conn.table = s->table;
    s->create_table = 1;
    if ((err = sluice_conn_opt_bool(cfg, "create_table", "sink", "mysql", &s->create_table, errstr, errstr_size)))
        return err;
    s->varchar_length = default_varchar_length(s->schema);
    if ((err = sluice_conn_opt_posint(cfg, "varchar_length", "sink", "mysql", &s->varchar_length, errstr,
                                      errstr_size)))
        return err;
    if (s->varchar_length > 16383)
        return sluice_conn_bad_option(cfg, "varchar_length", "sink", "mysql",
                                      "at most 16383 characters (utf8mb4 VARCHAR)", errstr, errstr_size);
    int64_t bb = DEFAULT_BATCH_BYTES;
    if ((err = sluice_conn_opt_posint(cfg, "batch_bytes", "sink", "mysql", &bb, errstr, errstr_size))) return err;
    if (bb < 1024)
        return sluice_conn_bad_option(cfg, "batch_bytes", "sink", "mysql", "at least 1024 bytes", errstr,
                                      errstr_size);
    s->batch_bytes = (size_t)bb;
    return SLUICE_OK;
}

/* sluice check: the options and the [mysql] section, without connecting. */
static sluice_err_t mysql_sink_validate(const sluice_module_config *cfg, char *errstr, size_t errstr_size) {
    mysql_sink *s = calloc(1, sizeof *s);
    if (!s) return SLUICE_ERR_NOMEM;
    s->base.ops = &sluice_mysql_sink_ops;
    s->instance = cfg->instance ? cfg->instance : "?";
    s->pipeline = cfg->pipeline ? cfg->pipeline : "?";
    s->schema = cfg->schema; /* the key columns size the default varchar_length */
    sluice_err_t err = parse_options(s, cfg, errstr, errstr_size);
    mysql_sink_close(&s->base);
    return err;
}

static sluice_err_t mysql_sink_open(const sluice_module_config *cfg, sluice_sink **out, char *errstr,
                                    size_t errstr_size) {
    const char *inst = cfg->instance ? cfg->instance : "?";
    if (!cfg->schema || cfg->schema->ncolumns == 0)
        return sluice_seterr(errstr, errstr_size, SLUICE_ERR_INVALID, "sink %s (mysql): no schema", inst);
    mysql_sink *s = calloc(1, sizeof *s);
    if (!s) return SLUICE_ERR_NOMEM;
    s->base.ops = &sluice_mysql_sink_ops;
    s->instance = inst;
    s->pipeline = cfg->pipeline ? cfg->pipeline : "?";
    s->schema = cfg->schema;
    s->ncols = cfg->schema->ncolumns;
    s->complete = cfg->output_mode == SLUICE_OUTPUT_COMPLETE;
    s->last_committed = -1;
    s->cfg = *cfg;
    sluice_err_t err = parse_options(s, cfg, errstr, errstr_size);
    if (err) goto fail;
    s->strings = sluice_arena_new(0);
    s->cols = calloc(s->ncols, sizeof *s->cols);
    if (!s->strings || !s->cols || build_fixed_parts(s)) {
        err = SLUICE_ERR_NOMEM;
        goto fail;
    }
    if (sluice_mysql_library_init() != 0) {
        err = sluice_seterr(errstr, errstr_size, SLUICE_ERR_RUNTIME,
                            "sink %s (mysql): cannot initialise the client library", inst);
        goto fail;
    }
    if ((err = sluice_mysql_conn_connect_retry(&s->conn, errstr, errstr_size))) goto fail;
    if (build_commit_parts(s)) {
        err = SLUICE_ERR_NOMEM;
        goto fail;
    }
    if ((err = create_tables(s, errstr, errstr_size))) goto fail;
    warn_limits(s);
    if (!cfg->checkpointing) {
        /* no checkpoint: this run numbers its epochs from 0 again, and what an
         * earlier run recorded says nothing about them */
        sbuf q = {0};
        int bad = sb_str(&q, "INSERT INTO `" COMMITS_TABLE "` " COMMITS_COLUMNS " VALUES (") ||
                  sb_add(&q, s->commits_values.p, s->commits_values.len) ||
                  sb_str(&q, ",-1) ON DUPLICATE KEY UPDATE epoch = -1");
        unsigned e = bad ? CR_OUT_OF_MEMORY : db_exec(s, q.p, q.len);
        sluice_sb_free(&q);
        if (e) {
            err = db_error(s, SLUICE_ERR_IO, "cannot reset its epoch in '" COMMITS_TABLE "'", errstr, errstr_size);
            goto fail;
        }
    }
    if (read_committed(s, 0, &s->last_committed)) {
        err = db_error(s, SLUICE_ERR_IO, "cannot read '" COMMITS_TABLE "'", errstr, errstr_size);
        goto fail;
    }
    s->opened_committed = s->last_committed;
    if (s->commits_bad) {
        err = sluice_seterr(errstr, errstr_size, SLUICE_ERR_CONFIG,
                            "sink %s (mysql): its row in '" COMMITS_TABLE "' (pipeline '%s', sink '%s', target '%s') "
                            "holds an invalid epoch, so what it committed is unknown; delete that row and reset the "
                            "checkpoint (sluice checkpoint reset DIR) to start over",
                            inst, s->pipeline, inst, s->table);
        goto fail;
    }
    *out = &s->base;
    return SLUICE_OK;
fail:
    if (err == SLUICE_ERR_NOMEM && errstr && errstr_size && !errstr[0])
        sluice_seterr(errstr, errstr_size, err, "sink %s (mysql): out of memory", inst);
    mysql_sink_close(&s->base);
    return err;
}

/* ---------------- write / commit ---------------- */

static sluice_err_t commit_pending(mysql_sink *s, char *errstr, size_t errstr_size);

static sluice_err_t mysql_sink_write(sluice_sink *sink, int64_t epoch, const sluice_row_batch *rows, char *errstr,
                                     size_t errstr_size) {
    mysql_sink *s = (mysql_sink *)sink;
    if (epoch <= s->last_committed) {
        if (!s->skip_noted)
            sluice_log(SLUICE_LOG_INFO, s->pipeline, "mysql", s->instance,
                       "epoch %" PRId64 " is already committed in table '%s' (last committed epoch %" PRId64
                       "): skipped, as every epoch up to %" PRId64,
                       epoch, s->table, s->last_committed, s->last_committed);
        s->skip_noted = 1;
        return SLUICE_OK;
    }
    if (s->has_pending && s->pending_epoch != epoch) {
        sluice_err_t err = commit_pending(s, errstr, errstr_size);
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
        if (!v) return sluice_seterr(errstr, errstr_size, SLUICE_ERR_NOMEM, "sink %s (mysql): out of memory", s->instance);
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
        if (!copy) return sluice_seterr(errstr, errstr_size, SLUICE_ERR_NOMEM, "sink %s (mysql): out of memory", s->instance);
        memcpy(copy, dst[i].u.s, dst[i].len);
        dst[i].u.s = copy;
    }
    s->nrows += rows->nrows;
    return SLUICE_OK;
}

static int key_compare(const void *a, const void *b, void *ctx) {
    const mysql_sink *s = ctx;
    size_t ia = *(const size_t *)a, ib = *(const size_t *)b;
    const sluice_value *ra = s->rows + ia * s->ncols, *rb = s->rows + ib * s->ncols;
    for (size_t k = 0; k < s->schema->npk; k++) {
        int c = sluice_value_compare(&ra[s->schema->pk[k]], &rb[s->schema->pk[k]]);
        if (c) return c;
    }
    return ia < ib ? -1 : ia > ib;
}

static int same_key(const mysql_sink *s, size_t ia, size_t ib) {
    const sluice_value *ra = s->rows + ia * s->ncols, *rb = s->rows + ib * s->ncols;
    for (size_t k = 0; k < s->schema->npk; k++)
        if (sluice_value_compare(&ra[s->schema->pk[k]], &rb[s->schema->pk[k]]) != 0) return 0;
    return 1;
}

/* Row idx takes a row out of the table: a delete, or without a key (a
 * retract table) also an update-before. */
static int is_retract(const mysql_sink *s, size_t idx) {
    return s->kinds[idx] == SLUICE_ROW_DELETE || (s->schema->npk == 0 && s->kinds[idx] == SLUICE_ROW_UPDATE_BEFORE);
}

/* Fill s->order with the rows to send: with a key, per key its last row
 * that is not an update-before, the upserts sorted by key and then the
 * deletes sorted by key; without a key, all rows in arrival order.
 * Returns the count, or (size_t)-1 when out of memory. */
static size_t plan_rows(mysql_sink *s) {
    free(s->order);
    s->order = malloc((s->nrows + 1) * sizeof *s->order);
    if (!s->order) return (size_t)-1;
    for (size_t i = 0; i < s->nrows; i++) s->order[i] = i;
    if (s->schema->npk == 0) return s->nrows;
    qsort_r(s->order, s->nrows, sizeof *s->order, key_compare, s);
    size_t n = 0, ndel = 0;
    for (size_t i = 0; i < s->nrows;) {
        size_t j = i, last = SIZE_MAX;
        for (; j < s->nrows && same_key(s, s->order[i], s->order[j]); j++)
            if (s->kinds[s->order[j]] != SLUICE_ROW_UPDATE_BEFORE) last = s->order[j];
        if (last != SIZE_MAX) { /* n <= i: the group is read before it is overwritten */
            s->order[n++] = last;
            ndel += s->kinds[last] == SLUICE_ROW_DELETE;
        }
        i = j;
    }
    if (ndel) { /* stable: the upserts first, then the deletes */
        size_t *tmp = malloc(n * sizeof *tmp);
        if (!tmp) return (size_t)-1;
        size_t u = 0, d = n - ndel;
        for (size_t i = 0; i < n; i++) tmp[is_retract(s, s->order[i]) ? d++ : u++] = s->order[i];
        memcpy(s->order, tmp, n * sizeof *tmp);
        free(tmp);
    }
    return n;
}

/* Set row `idx` of the epoch aside through the sink's on_error (reject());
 * 0, or REJECT_FAILED with the error kept in s->reject_err/reject_msg. */
static unsigned reject_row(mysql_sink *s, size_t idx, const char *reason) {
    s->rejected[idx] = 1;
    s->reject_err = sluice_module_reject(&s->cfg, s->pending_epoch, s->rows + idx * s->ncols, NULL, 0, reason,
                                         s->reject_msg, sizeof s->reject_msg);
    return s->reject_err ? REJECT_FAILED : 0;
}

/* Append rows order[from..to) to a statement in s->sql (INSERT head, rows,
 * upsert tail), at least one row and, past the first, at most `limit`
 * bytes; returns the index after the last row taken, or (size_t)-1 when out
 * of memory.  Rows set aside (s->rejected) are left out. */
static size_t build_statement(mysql_sink *s, size_t from, size_t to, size_t limit) {
    sbuf *q = &s->sql;
    q->len = 0;
    if (sb_add(q, s->insert_head.p, s->insert_head.len)) return (size_t)-1;
    size_t in_stmt = 0, i = from;
    for (; i < to; i++) {
        if (s->rejected[s->order[i]]) continue;
        size_t mark = q->len;
        const sluice_value *row = s->rows + s->order[i] * s->ncols;
        int bad = (in_stmt && sb_add(q, ",", 1)) || sb_add(q, "(", 1);
        for (size_t c = 0; c < s->ncols && !bad; c++)
            bad = (c && sb_add(q, ",", 1)) || sluice_sb_value(q, s->conn.db, &row[c]);
        if (bad || sb_add(q, ")", 1)) return (size_t)-1;
        if (in_stmt && q->len + s->upsert_tail.len > limit) {
            q->len = mark;
            break;
        }
        in_stmt++;
    }
    if (in_stmt == 0) q->len = 0; /* every row of the range was set aside */
    else if (sb_add(q, s->upsert_tail.p, s->upsert_tail.len)) return (size_t)-1;
    return i;
}

/* Send rows order[i..nsend) in multi-row statements of at most
 * batch_limit() bytes.  A statement the server refuses for a row's data
 * (strict mode: too long, not convertible, out of range) is rolled back by
 * itself, the transaction staying open (InnoDB's statement rollback); its
 * rows are then sent one by one to set aside the ones refused.  Returns 0,
 * a server error, or REJECT_FAILED. */
static unsigned write_rows(mysql_sink *s, size_t i, size_t nsend) {
    size_t limit = batch_limit(s);
    unsigned e;
    while (i < nsend) {
        size_t from = i;
        if ((i = build_statement(s, from, nsend, limit)) == (size_t)-1) return CR_OUT_OF_MEMORY;
        if (s->sql.len == 0) continue;
        e = db_exec(s, s->sql.p, s->sql.len);
        if (!e) continue;
        if (!sluice_mysql_err_is_row_data(e)) return e;
        for (size_t r = from; r < i; r++) {
            if (s->rejected[s->order[r]]) continue;
            if (build_statement(s, r, r + 1, limit) == (size_t)-1) return CR_OUT_OF_MEMORY;
            if (!(e = db_exec(s, s->sql.p, s->sql.len))) continue;
            if (!sluice_mysql_err_is_row_data(e)) return e;
            char reason[700], msg[600];
            sluice_mysql_conn_scrub(&s->conn, mysql_error(s->conn.db), msg, sizeof msg);
            snprintf(reason, sizeof reason, "table '%s' refused the row: %s (error %u)", s->table, msg, e);
            if ((e = reject_row(s, s->order[r], reason))) return e;
        }
    }
    return 0;
}

/* Remove the rows order[from..to) (all retractions) from the table.  With
 * a key: DELETE ... WHERE (k1, k2) IN ((v1, v2), ...), statements of at
 * most batch_limit() bytes; without: one row equal in every column each
 * (NULL-safe <=>), LIMIT 1.  Returns 0 or a server error. */
static unsigned delete_rows(mysql_sink *s, size_t from, size_t to) {
    const sluice_schema *sc = s->schema;
    size_t limit = batch_limit(s);
    sbuf *q = &s->sql;
    for (size_t i = from; i < to;) {
        q->len = 0;
        if (sb_str(q, "DELETE FROM ") || sb_add(q, s->qtable.p, s->qtable.len) || sb_str(q, " WHERE "))
            return CR_OUT_OF_MEMORY;
        if (sc->npk == 0) {
            const sluice_value *row = s->rows + s->order[i] * s->ncols;
            for (size_t c = 0; c < s->ncols; c++)
                if ((c && sb_str(q, " AND ")) || sluice_sb_ident(q, sc->columns[c].name) || sb_str(q, " <=> ") ||
                    sluice_sb_value(q, s->conn.db, &row[c]))
                    return CR_OUT_OF_MEMORY;
            if (sb_str(q, " LIMIT 1")) return CR_OUT_OF_MEMORY;
            i++;
        } else {
            if (sb_str(q, "(")) return CR_OUT_OF_MEMORY;
            for (size_t k = 0; k < sc->npk; k++)
                if ((k && sb_str(q, ",")) || sluice_sb_ident(q, sc->columns[sc->pk[k]].name)) return CR_OUT_OF_MEMORY;
            if (sb_str(q, ") IN (")) return CR_OUT_OF_MEMORY;
            for (size_t in_stmt = 0; i < to; i++, in_stmt++) {
                size_t mark = q->len;
                const sluice_value *row = s->rows + s->order[i] * s->ncols;
                if ((in_stmt && sb_str(q, ",")) || sb_str(q, "(")) return CR_OUT_OF_MEMORY;
                for (size_t k = 0; k < sc->npk; k++)
                    if ((k && sb_str(q, ",")) || sluice_sb_value(q, s->conn.db, &row[sc->pk[k]])) return CR_OUT_OF_MEMORY;
                if (sb_str(q, ")")) return CR_OUT_OF_MEMORY;
                if (in_stmt && q->len + 1 > limit) {
                    q->len = mark;
                    break;
                }
            }
            if (sb_str(q, ")")) return CR_OUT_OF_MEMORY;
        }
        unsigned e = db_exec(s, q->p, q->len);
        if (e) return e;
    }
    return 0;
}

/* Apply rows order[0..nsend) in their order: runs of upserts by
 * write_rows(), runs of retractions by delete_rows(). */
static unsigned write_changes(mysql_sink *s, size_t nsend) {
    for (size_t i = 0; i < nsend;) {
        size_t j = i;
        while (j < nsend && !is_retract(s, s->order[j])) j++;
        unsigned e = j > i ? write_rows(s, i, j) : 0;
        if (e) return e;
        size_t k = j;
        while (k < nsend && is_retract(s, s->order[k])) k++;
        if (k > j && (e = delete_rows(s, j, k))) return e;
        i = k;
    }
    return 0;
}

/* Check the rows to send against the table's columns before anything is
 * sent, setting aside those it cannot store, and drop them from s->order.
 * Returns the rows left to send, or (size_t)-1 with the error in errstr
 * (on_error = fail, or out of memory). */
static size_t check_rows(mysql_sink *s, size_t nsend, sluice_err_t *err, char *errstr, size_t errstr_size) {
    if (s->nrows > s->rejected_cap) {
        unsigned char *r = realloc(s->rejected, s->nrows);
        if (!r) {
            *err = sluice_seterr(errstr, errstr_size, SLUICE_ERR_NOMEM, "sink %s (mysql): out of memory", s->instance);
            return (size_t)-1;
        }
        s->rejected = r;
        s->rejected_cap = s->nrows;
    }
    if (s->nrows) memset(s->rejected, 0, s->nrows);
    size_t n = 0;
    for (size_t i = 0; i < nsend; i++) {
        size_t idx = s->order[i];
        if (is_retract(s, idx)) { /* a row that cannot be stored is not there to remove: nothing to refuse */
            s->order[n++] = idx;
            continue;
        }
        const sluice_value *row = s->rows + idx * s->ncols;
        char reason[600];
        int bad = 0;
        for (size_t k = 0; k < s->schema->npk && !bad; k++)
            if (row[s->schema->pk[k]].type == SLUICE_TYPE_NULL) {
                snprintf(reason, sizeof reason,
                         "key column '%s' is NULL, which a MySQL PRIMARY KEY cannot hold (filter NULL keys out in "
                         "the query)",
                         s->schema->columns[s->schema->pk[k]].name);
                bad = 1;
            }
        for (size_t c = 0; c < s->ncols && !bad; c++)
            bad = sluice_mysql_value_unfit(&s->cols[c], s->schema->columns[c].name, &row[c], reason, sizeof reason);
        if (!bad) {
            s->order[n++] = idx;
            continue;
        }
        char full[700];
        snprintf(full, sizeof full, "table '%s': %s", s->table, reason);
        if (reject_row(s, idx, full)) {
            *err = sluice_seterr(errstr, errstr_size, s->reject_err, "%s", s->reject_msg);
            return (size_t)-1;
        }
    }
    return n;
}

/* One attempt to commit the pending epoch in one transaction.  Returns 0
 * or the server/client error number; *what says which step failed. */
static unsigned commit_attempt(mysql_sink *s, size_t nsend, const char **what) {
    unsigned e;
    *what = "cannot start a transaction";
    if ((e = db_exec_str(s, "START TRANSACTION"))) return e;
    int64_t done = -1;
    *what = "cannot read '" COMMITS_TABLE "'";
    if ((e = read_committed(s, 1, &done))) return e;
    if (done >= s->pending_epoch) { /* committed before the connection was lost */
        s->last_committed = done;
        *what = "cannot roll back";
        return db_exec_str(s, "ROLLBACK");
    }
    if (s->complete && nsend > 0) {
        sbuf *q = &s->sql;
        q->len = 0;
        if (sb_str(q, "DELETE FROM ") || sb_add(q, s->qtable.p, s->qtable.len)) return CR_OUT_OF_MEMORY;
        *what = "cannot delete the previous rows (COMPLETE mode)";
        if ((e = db_exec(s, q->p, q->len))) return e;
    }
    *what = "cannot write rows";
    if ((e = write_changes(s, nsend))) return e;
    sbuf *q = &s->sql;
    q->len = 0;
    if (sb_str(q, "INSERT INTO `" COMMITS_TABLE "` " COMMITS_COLUMNS " VALUES (") ||
        sb_add(q, s->commits_values.p, s->commits_values.len) ||
        sluice_sb_printf(q, ",%" PRId64 ") ON DUPLICATE KEY UPDATE epoch = VALUES(epoch)", s->pending_epoch))
        return CR_OUT_OF_MEMORY;
    *what = "cannot record the epoch in '" COMMITS_TABLE "'";
    if ((e = db_exec(s, q->p, q->len))) return e;
    *what = "cannot commit";
    if ((e = db_exec_str(s, "COMMIT"))) return e;
    s->last_committed = s->pending_epoch;
    return 0;
}

static void clear_pending(mysql_sink *s) {
    s->has_pending = 0;
    s->nrows = 0;
    sluice_arena_reset(s->strings);
    if (s->sql.cap > 4 * (s->batch_bytes + 4096)) sluice_sb_free(&s->sql);
}

static sluice_err_t commit_pending(mysql_sink *s, char *errstr, size_t errstr_size) {
    if (!s->has_pending) return SLUICE_OK;
    if (s->pending_epoch <= s->last_committed) {
        clear_pending(s);
        return SLUICE_OK;
    }
    size_t nsend = plan_rows(s);
    if (nsend == (size_t)-1)
        return sluice_seterr(errstr, errstr_size, SLUICE_ERR_NOMEM, "sink %s (mysql): out of memory", s->instance);
    /* once per epoch, before any attempt: a retried epoch sets nothing
     * aside twice */
    sluice_err_t cerr = SLUICE_OK;
    if ((nsend = check_rows(s, nsend, &cerr, errstr, errstr_size)) == (size_t)-1) return cerr;
    int64_t start = sluice_clock_monotonic_ms(), delay = SLUICE_MYSQL_BACKOFF_FIRST_MS;
    char what_buf[200];
    for (int attempt = 1;; attempt++) {
        unsigned e;
        const char *what = "cannot connect";
        if (!s->conn.db) {
            e = sluice_mysql_conn_connect(&s->conn, errstr, errstr_size);
            if (!e) e = build_commit_parts(s) ? CR_OUT_OF_MEMORY : 0;
        } else {
            e = 0;
        }
        if (!e) {
            e = commit_attempt(s, nsend, &what);
            if (e) {
                snprintf(what_buf, sizeof what_buf, "epoch %" PRId64 ": %s", s->pending_epoch, what);
                db_error(s, SLUICE_ERR_IO, what_buf, errstr, errstr_size);
            }
        }
        if (!e) {
            clear_pending(s);
            return SLUICE_OK;
        }
        if (e == CR_OUT_OF_MEMORY)
            return sluice_seterr(errstr, errstr_size, SLUICE_ERR_NOMEM, "sink %s (mysql): out of memory", s->instance);
        if (e == REJECT_FAILED) { /* on_error = fail: nothing of the epoch is committed */
            if (s->conn.db) db_exec_str(s, "ROLLBACK");
            return sluice_seterr(errstr, errstr_size, s->reject_err, "%s", s->reject_msg);
        }
        int conn = sluice_mysql_err_is_connection(e), lock = err_is_lock(e);
        if (!conn && !lock) {
            if (s->conn.db) db_exec_str(s, "ROLLBACK");
            return SLUICE_ERR_IO;
        }
        int64_t elapsed = sluice_clock_monotonic_ms() - start;
        if (sluice_stop_requested()) {
            /* the epoch is abandoned: nothing of it was committed */
            size_t n = strlen(errstr);
            if (errstr_size > n) snprintf(errstr + n, errstr_size - n, "; stopped while retrying");
            if (conn) sluice_mysql_conn_drop(&s->conn);
            else if (db_exec_str(s, "ROLLBACK")) sluice_mysql_conn_drop(&s->conn);
            return SLUICE_ERR_STOPPED;
        }
        if (elapsed + delay > s->conn.retry_timeout_ms) {
            size_t n = strlen(errstr);
            if (errstr_size > n)
                snprintf(errstr + n, errstr_size - n, "; gave up after %d attempts in %.1fs (retry_timeout)", attempt,
                         elapsed / 1000.0);
            sluice_mysql_conn_drop(&s->conn);
            return SLUICE_ERR_IO;
        }
        sluice_log(SLUICE_LOG_WARN, s->pipeline, "mysql", s->instance, "%s; retrying the epoch in %" PRId64 "ms",
                   errstr, delay);
        if (conn) sluice_mysql_conn_drop(&s->conn);
        else if (db_exec_str(s, "ROLLBACK")) sluice_mysql_conn_drop(&s->conn);
        sluice_mysql_sleep_ms(delay);
        delay = delay * 2 > SLUICE_MYSQL_BACKOFF_MAX_MS ? SLUICE_MYSQL_BACKOFF_MAX_MS : delay * 2;
    }
}

static sluice_err_t mysql_sink_commit(sluice_sink *sink, int64_t epoch, char *errstr, size_t errstr_size) {
    mysql_sink *s = (mysql_sink *)sink;
    if (epoch <= s->last_committed) {
        if (s->has_pending && s->pending_epoch <= s->last_committed) clear_pending(s);
        return SLUICE_OK;
    }
    if (!s->has_pending || s->pending_epoch != epoch) {
        sluice_err_t err = commit_pending(s, errstr, errstr_size);
        if (err) return err;
        s->has_pending = 1; /* an epoch without write(): record it all the same */
        s->pending_epoch = epoch;
    }
    return commit_pending(s, errstr, errstr_size);
}

/** The "mysql" sink connector (see the top of this file). */
/* The epoch recorded in sluice_commits at open (checkpointing), so that
 * recovery can tell a record ahead of its checkpoint (a reset or lost
 * checkpoint) instead of skipping that many epochs here. */
static int64_t mysql_sink_committed_epoch(sluice_sink *sink) {
    return ((mysql_sink *)sink)->opened_committed;
}

const sluice_sink_ops sluice_mysql_sink_ops = {
    .version = SLUICE_MODULE_VERSION,
    .name = "mysql",
    .shared_section = "mysql",
    .option_specs = mysql_sink_specs,
    .shared_specs = sluice_mysql_shared_specs,
    .open = mysql_sink_open,
    .write = mysql_sink_write,
    .commit = mysql_sink_commit,
    .report = NULL,
    .close = mysql_sink_close,
    .validate = mysql_sink_validate,
    .committed_epoch = mysql_sink_committed_epoch,
};
