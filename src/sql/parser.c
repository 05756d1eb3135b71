/*
 * sluice SQL — recursive-descent parser.  See parser.h for the contract
 * and docs/sql.md for the language.
 *
 * A syntax error longjmps from the point of detection back to
 * sluice_sql_parse(); everything allocated so far lives in the caller's
 * arena, so nothing has to be unwound.
 */
#include <ctype.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "sql/parser.h"

/* Deepest expression accepted: both the parser's own recursion (parentheses,
 * calls, NOT, signs) and the height of the tree it builds (a left-associative
 * chain such as 1+1+...+1 is a tree as tall as it is long).  Bounding the
 * height bounds every later recursion over the expression (planning,
 * evaluation, printing, freeing), so no input can overflow the stack. */
#define MAX_DEPTH 256

/* Longest token quoted in an error message, in bytes after escaping. */
#define MAX_QUOTE 36

#define TYPE_LIST "a column type (BIGINT, DOUBLE, VARCHAR, BOOLEAN, TIMESTAMP)"
#define UNIT_LIST "a unit (MILLISECOND, SECOND, MINUTE, HOUR, DAY)"

typedef struct parser {
    const sluice_token *toks;
    size_t ntoks, pos;
    sluice_arena *arena;
    const char *filename;
    char *errstr;
    size_t errstr_size;
    int depth;
    sluice_err_t err;
    jmp_buf fail;
} parser;

/* A growable array in the arena (old copies are left to the arena). */
typedef struct vec {
    void *data;
    size_t n, cap;
} vec;

/* ---- errors and allocation ------------------------------------------------ */

/* Append one byte of a quoted token to out (escaping control bytes).
 * Returns 0, or -1 (appending nothing) when it would pass MAX_QUOTE. */
static int quote_byte(char *out, size_t *n, unsigned char c) {
    char piece[8];
    if (c == '\n') snprintf(piece, sizeof piece, "\\n");
    else if (c == '\t') snprintf(piece, sizeof piece, "\\t");
    else if (c < 0x20 || c == 0x7f) snprintf(piece, sizeof piece, "\\x%02X", c);
    else snprintf(piece, sizeof piece, "%c", c);
    size_t m = strlen(piece);
    if (*n + m > MAX_QUOTE) return -1;
    memcpy(out + *n, piece, m);
    *n += m;
    return 0;
}

/* Quote a token as written ('string', `name`, others bare), escaping
 * control bytes and cutting it with "..." after MAX_QUOTE bytes.
 * out must hold MAX_QUOTE + 4 bytes. */
static void render_token(const sluice_token *t, char *out) {
    unsigned char quote = t->kind == SLUICE_TOK_STRING ? '\'' : t->kind == SLUICE_TOK_QIDENT ? '`' : 0;
    size_t n = 0;
    int ok = !quote || quote_byte(out, &n, quote) == 0;
    for (size_t i = 0; ok && i < t->len; i++) ok = quote_byte(out, &n, (unsigned char)t->text[i]) == 0;
    if (ok && quote) ok = quote_byte(out, &n, quote) == 0;
    if (!ok) {
        memcpy(out + n, "...", 3);
        n += 3;
    }
    out[n] = '\0';
}

/* Report a syntax error at token t: "FILE:LINE:COL: syntax error at 'TOKEN':
 * expected WHAT", or the lexer's message if t is a lexical error. */
static _Noreturn void fail_at(parser *p, const sluice_token *t, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static _Noreturn void fail_at(parser *p, const sluice_token *t, const char *fmt, ...) {
    char what[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    if (t->kind == SLUICE_TOK_ERROR) {
        sluice_seterr(p->errstr, p->errstr_size, SLUICE_ERR_SQL, "%s:%d:%d: syntax error: %s",
                      p->filename, t->line, t->col, t->text);
    } else if (t->kind == SLUICE_TOK_EOF) {
        sluice_seterr(p->errstr, p->errstr_size, SLUICE_ERR_SQL,
                      "%s:%d:%d: syntax error at end of input: expected %s", p->filename, t->line,
                      t->col, what);
    } else {
        char tok[MAX_QUOTE + 4];
        render_token(t, tok);
        sluice_seterr(p->errstr, p->errstr_size, SLUICE_ERR_SQL,
                      "%s:%d:%d: syntax error at '%s': expected %s", p->filename, t->line, t->col,
                      tok, what);
    }
    p->err = SLUICE_ERR_SQL;
    longjmp(p->fail, 1);
}

static void *alloc(parser *p, size_t size) {
    void *m = sluice_arena_alloc(p->arena, size);
    if (!m) {
        p->err = sluice_seterr(p->errstr, p->errstr_size, SLUICE_ERR_NOMEM,
                               "%s: out of memory while parsing", p->filename);
        longjmp(p->fail, 1);
    }
    memset(m, 0, size);
    return m;
}

/* Append one zeroed element of `size` bytes to v and return it. */
static void *vec_push(parser *p, vec *v, size_t size) {
    if (v->n == v->cap) {
        size_t cap = v->cap ? v->cap * 2 : 4;
        void *data = alloc(p, cap * size);
        if (v->n) memcpy(data, v->data, v->n * size);
        v->data = data;
        v->cap = cap;
    }
    return (char *)v->data + v->n++ * size;
}

/* ---- tokens ------------------------------------------------------------------ */

static const sluice_token *cur(const parser *p) { return &p->toks[p->pos]; }

static const sluice_token *peek(const parser *p, size_t ahead) {
    size_t i = p->pos + ahead;
    return &p->toks[i < p->ntoks ? i : p->ntoks - 1];
}

/* Consume the current token (never past the last one) and return it. */
static const sluice_token *next(parser *p) {
    const sluice_token *t = cur(p);
    if (p->pos + 1 < p->ntoks) p->pos++;
    return t;
}

static int is_op(const sluice_token *t, const char *op) {
    return t->kind == SLUICE_TOK_OP && strcmp(t->text, op) == 0;
}

static int is_kw(const sluice_token *t, const char *kw) {
    return t->kind == SLUICE_TOK_KEYWORD && strcmp(t->text, kw) == 0;
}

/* An unreserved word of the grammar (FORMAT, APPEND, ...), any case. */
static int is_word(const sluice_token *t, const char *word) {
    return t->kind == SLUICE_TOK_IDENT && strcasecmp(t->text, word) == 0;
}

static int accept_kw(parser *p, const char *kw) {
    if (!is_kw(cur(p), kw)) return 0;
    next(p);
    return 1;
}

static const sluice_token *expect_kw(parser *p, const char *kw) {
    if (!is_kw(cur(p), kw)) fail_at(p, cur(p), "%s", kw);
    return next(p);
}

static void expect_op(parser *p, const char *op) {
    if (!is_op(cur(p), op)) fail_at(p, cur(p), "'%s'", op);
    next(p);
}

/* An identifier, bare or back-quoted; `what` names it in the error. */
static const char *expect_name(parser *p, const char *what) {
    const sluice_token *t = cur(p);
    if (t->kind != SLUICE_TOK_IDENT && t->kind != SLUICE_TOK_QIDENT) fail_at(p, t, "%s", what);
    return next(p)->text;
}

static const char *expect_string(parser *p) {
    if (cur(p)->kind != SLUICE_TOK_STRING) fail_at(p, cur(p), "a quoted string");
    return next(p)->text;
}

/* Decimal digits only, into a non-negative int64.  Returns -1 on overflow
 * or a non-digit. */
static int parse_int64(const char *s, int64_t *out) {
    int64_t v = 0;
    if (!*s) return -1;
    for (; *s; s++) {
        if (!isdigit((unsigned char)*s)) return -1;
        int d = *s - '0';
        if (v > (INT64_MAX - d) / 10) return -1;
        v = v * 10 + d;
    }
    *out = v;
    return 0;
}

static char *upper_dup(parser *p, const char *s) {
    size_t n = strlen(s);
    char *u = alloc(p, n + 1);
    for (size_t i = 0; i < n; i++) u[i] = (char)toupper((unsigned char)s[i]);
    return u;
}

/* ---- types and intervals ----------------------------------------------------- */

static const struct {
    const char *name;
    sluice_type_t type;
} type_names[] = {
    {"BIGINT", SLUICE_TYPE_BIGINT},   {"INT", SLUICE_TYPE_BIGINT},
    {"INTEGER", SLUICE_TYPE_BIGINT},  {"DOUBLE", SLUICE_TYPE_DOUBLE},
    {"FLOAT", SLUICE_TYPE_DOUBLE},    {"REAL", SLUICE_TYPE_DOUBLE},
    {"VARCHAR", SLUICE_TYPE_VARCHAR}, {"STRING", SLUICE_TYPE_VARCHAR},
    {"TEXT", SLUICE_TYPE_VARCHAR},    {"BOOLEAN", SLUICE_TYPE_BOOLEAN},
    {"BOOL", SLUICE_TYPE_BOOLEAN},    {"TIMESTAMP", SLUICE_TYPE_TIMESTAMP},
};

/* type := BIGINT | DOUBLE | VARCHAR ['(' n ')'] | BOOLEAN | TIMESTAMP | alias
 *         | ARRAY '<' type '>'   (only where elem is not NULL: a source column)
 * ARRAY<T> (Flink's and Trino's spelling) sets *elem to T; elements are scalars. */
static sluice_type_t parse_type(parser *p, sluice_type_t *elem) {
    const sluice_token *t = cur(p);
    if (elem && is_word(t, "ARRAY")) {
        next(p);
        expect_op(p, "<");
        if (is_word(cur(p), "ARRAY")) fail_at(p, cur(p), "an element type (arrays of arrays are not supported)");
        *elem = parse_type(p, NULL);
        expect_op(p, ">");
        return SLUICE_TYPE_ARRAY;
    }
    for (size_t i = 0; t->kind == SLUICE_TOK_IDENT && i < sizeof type_names / sizeof type_names[0]; i++) {
        if (strcasecmp(t->text, type_names[i].name) != 0) continue;
        next(p);
        if ((is_word(t, "VARCHAR") || is_word(t, "TIMESTAMP")) && is_op(cur(p), "(")) {
            next(p);
            if (cur(p)->kind != SLUICE_TOK_INTEGER) fail_at(p, cur(p), "a length");
            next(p);
            expect_op(p, ")");
        }
        return type_names[i].type;
    }
    fail_at(p, t, TYPE_LIST);
}

/* Milliseconds in one unit (singular or plural, any case), or 0. */
static int64_t unit_ms(const char *unit) {
    static const struct {
        const char *name;
        int64_t ms;
    } units[] = {
        {"MILLISECOND", 1}, {"SECOND", 1000}, {"MINUTE", 60000}, {"HOUR", 3600000}, {"DAY", 86400000},
    };
    size_t n = strlen(unit);
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++) {
        size_t m = strlen(units[i].name);
        if ((n == m || (n == m + 1 && toupper((unsigned char)unit[m]) == 'S')) &&
            strncasecmp(unit, units[i].name, m) == 0)
            return units[i].ms;
    }
    return 0;
}

static int64_t gcd64(int64_t a, int64_t b) {
    while (b) {
        int64_t r = a % b;
        a = b;
        b = r;
    }
    return a;
}

int sluice_sql_interval_ms(const char *number, const char *unit, int64_t *ms) {
    int64_t u = unit_ms(unit);
    if (!u) return -1;
    const char *s = number;
    int64_t whole = 0;
    size_t digits = 0;
    for (; isdigit((unsigned char)*s); s++, digits++) {
        int d = *s - '0';
        if (whole > (INT64_MAX - d) / 10) return -1;
        whole = whole * 10 + d;
    }
    const char *frac = "";
    size_t nfrac = 0;
    if (*s == '.') {
        frac = ++s;
        for (; isdigit((unsigned char)*s); s++, digits++) nfrac++;
    }
    if (*s || digits == 0) return -1;
    while (nfrac > 0 && frac[nfrac - 1] == '0') nfrac--;
    /* A unit is at most 2^10 * 3^3 * 5^5 ms, so a fraction with more than
     * ten significant decimals never gives whole milliseconds. */
    if (nfrac > 10) return -1;
    int64_t f = 0, scale = 1;
    for (size_t i = 0; i < nfrac; i++) {
        f = f * 10 + (frac[i] - '0');
        scale *= 10;
    }
    int64_t g = gcd64(u, scale);
    if (f % (scale / g) != 0) return -1;
    int64_t part = f / (scale / g) * (u / g);
    if (whole > (INT64_MAX - part) / u) return -1;
    *ms = whole * u + part;
    return 0;
}

/* ---- expressions --------------------------------------------------------------- */

static sluice_ast *parse_expr(parser *p);
static sluice_ast *parse_column(parser *p);

static sluice_ast *new_node(parser *p, sluice_ast_kind kind, int line, int col) {
    sluice_ast *e = alloc(p, sizeof *e);
    e->kind = kind;
    e->line = line;
    e->col = col;
    e->height = 1;
    return e;
}

static sluice_ast *node_at(parser *p, sluice_ast_kind kind, const sluice_token *t) {
    return new_node(p, kind, t->line, t->col);
}

static void push_arg(parser *p, vec *args, sluice_ast *e) {
    *(sluice_ast **)vec_push(p, args, sizeof e) = e;
}

/* Give e its operands; fail at the last token read when that makes the tree
 * taller than MAX_DEPTH. */
static void set_args(parser *p, sluice_ast *e, const vec *args) {
    e->args = args->data;
    e->nargs = args->n;
    for (size_t i = 0; i < e->nargs; i++)
        if (e->args[i]->height >= e->height) e->height = e->args[i]->height + 1;
    if (e->height > MAX_DEPTH)
        fail_at(p, &p->toks[p->pos ? p->pos - 1 : 0], "an expression nested at most %d deep", MAX_DEPTH);
}

/* A node over operands a (and b when not NULL), at a's position unless t. */
static sluice_ast *operator_node(parser *p, sluice_ast_kind kind, sluice_ast_op op,
                                 const sluice_token *t, sluice_ast *a, sluice_ast *b) {
    sluice_ast *e = t ? node_at(p, kind, t) : new_node(p, kind, a->line, a->col);
    vec args = {0};
    push_arg(p, &args, a);
    if (b) push_arg(p, &args, b);
    e->op = op;
    set_args(p, e, &args);
    return e;
}

/* Enter one more level of nesting, failing at the current token if too deep. */
static void nest(parser *p) {
    if (++p->depth > MAX_DEPTH) fail_at(p, cur(p), "an expression nested at most %d deep", MAX_DEPTH);
}

/* INTERVAL 'n' UNIT | INTERVAL n UNIT (the INTERVAL keyword is current). */
static sluice_ast *parse_interval(parser *p) {
    const sluice_token *kw = next(p);
    const sluice_token *num = cur(p);
    if (num->kind != SLUICE_TOK_STRING && num->kind != SLUICE_TOK_INTEGER &&
        num->kind != SLUICE_TOK_DECIMAL)
        fail_at(p, num, "a number of units");
    next(p);
    const sluice_token *unit = cur(p);
    if (unit->kind != SLUICE_TOK_IDENT || !unit_ms(unit->text)) fail_at(p, unit, UNIT_LIST);
    next(p);
    sluice_ast *e = node_at(p, SLUICE_AST_INTERVAL, kw);
    e->lit.type = SLUICE_TYPE_INTERVAL;
    if (sluice_sql_interval_ms(num->text, unit->text, &e->lit.u.i) != 0)
        fail_at(p, num, "a non-negative number of whole milliseconds");
    return e;
}

/* CAST '(' expr AS type ')' */
static sluice_ast *parse_cast(parser *p) {
    sluice_ast *e = node_at(p, SLUICE_AST_CAST, next(p));
    expect_op(p, "(");
    vec args = {0};
    push_arg(p, &args, parse_expr(p));
    expect_kw(p, "AS");
    e->cast_type = parse_type(p, NULL);
    expect_op(p, ")");
    set_args(p, e, &args);
    return e;
}

/* CASE [operand] WHEN w THEN t {WHEN w THEN t} [ELSE e] END */
static sluice_ast *parse_case(parser *p) {
    sluice_ast *e = node_at(p, SLUICE_AST_CASE, next(p));
    vec args = {0};
    if (is_kw(cur(p), "THEN") || is_kw(cur(p), "ELSE") || is_kw(cur(p), "END")) fail_at(p, cur(p), "WHEN");
    if (!is_kw(cur(p), "WHEN")) {
        e->has_operand = 1;
        push_arg(p, &args, parse_expr(p));
        if (!is_kw(cur(p), "WHEN")) fail_at(p, cur(p), "WHEN");
    }
    while (accept_kw(p, "WHEN")) {
        push_arg(p, &args, parse_expr(p));
        expect_kw(p, "THEN");
        push_arg(p, &args, parse_expr(p));
        e->nwhen++;
    }
    if (accept_kw(p, "ELSE")) {
        e->has_else = 1;
        push_arg(p, &args, parse_expr(p));
        expect_kw(p, "END");
    } else if (!accept_kw(p, "END")) {
        fail_at(p, cur(p), "WHEN, ELSE or END");
    }
    set_args(p, e, &args);
    return e;
}

/* The aggregate clause after a call: FILTER '(' WHERE expr ')' (SQL:2003,
 * PostgreSQL, Flink).  FILTER is not reserved: only FILTER followed by '('
 * starts the clause. */
static void parse_filter(parser *p, sluice_ast *e) {
    if (!is_word(cur(p), "FILTER") || !is_op(peek(p, 1), "(")) return;
    next(p);
    next(p);
    expect_kw(p, "WHERE");
    e->filter = parse_expr(p);
    if (e->filter->height >= e->height) e->height = e->filter->height + 1;
    if (e->height > MAX_DEPTH) fail_at(p, cur(p), "an expression nested at most %d deep", MAX_DEPTH);
    expect_op(p, ")");
}

/* name '(' [ '*' | [DISTINCT] expr {, expr} ] ')' [FILTER '(' WHERE expr ')']
 * (the name is current). */
static sluice_ast *parse_call(parser *p) {
    const sluice_token *name = next(p);
    sluice_ast *e = node_at(p, SLUICE_AST_FUNC, name);
    e->name = upper_dup(p, name->text);
    next(p);
    if (is_op(cur(p), ")")) {
        next(p);
        parse_filter(p, e);
        return e;
    }
    if (is_op(cur(p), "*")) {
        if (strcmp(e->name, "COUNT") != 0) fail_at(p, cur(p), "an expression (only COUNT takes *)");
        next(p);
        expect_op(p, ")");
        e->star = 1;
        parse_filter(p, e);
        return e;
    }
    /* DISTINCT x, but not a column called distinct (`distinct + 1`, `distinct)`) */
    const sluice_token *after = peek(p, 1);
    if (is_word(cur(p), "DISTINCT") && (after->kind != SLUICE_TOK_OP || is_op(after, "(") || is_op(after, "-"))) {
        next(p);
        e->distinct = 1;
    }
    vec args = {0};
    for (;;) {
        push_arg(p, &args, parse_expr(p));
        if (is_op(cur(p), ")")) break;
        if (!is_op(cur(p), ",")) fail_at(p, cur(p), "')' or ','");
        next(p);
    }
    next(p);
    set_args(p, e, &args);
    parse_filter(p, e);
    return e;
}

/* EXTRACT '(' unit FROM expr ')', the SQL standard's form (EXTRACT is
 * current): the call EXTRACT(unit, expr), the unit as a column node that
 * the planner reads as a word. */
static sluice_ast *parse_extract(parser *p) {
    sluice_ast *e = node_at(p, SLUICE_AST_FUNC, next(p));
    e->name = "EXTRACT";
    next(p);
    vec args = {0};
    push_arg(p, &args, parse_column(p));
    expect_kw(p, "FROM");
    push_arg(p, &args, parse_expr(p));
    expect_op(p, ")");
    set_args(p, e, &args);
    return e;
}

/* A column reference, name or qualifier.name (the identifier is current). */
static sluice_ast *parse_column(parser *p) {
    sluice_ast *e = node_at(p, SLUICE_AST_COLUMN, cur(p));
    e->name = next(p)->text;
    if (is_op(cur(p), ".")) {
        next(p);
        e->qualifier = e->name;
        e->name = expect_name(p, "a column name after the qualifier");
    }
    return e;
}

/* fn() OVER '(' [PARTITION BY expr {, expr}] ORDER BY expr [ASC|DESC] {, ...} ')'
 * with OVER current; e is the call. */
/* The frame of OVER after ORDER BY, with ROWS or RANGE current:
 *   ROWS|RANGE BETWEEN (UNBOUNDED | n | INTERVAL 'x' unit) PRECEDING AND CURRENT ROW
 * (the SQL standard's frames that end at the current row, as Flink
 * supports them). */
static void parse_frame(parser *p, sluice_ast *over) {
    over->frame = is_word(cur(p), "ROWS") ? 1 : 2;
    next(p);
    if (!accept_kw(p, "BETWEEN")) fail_at(p, cur(p), "BETWEEN");
    const sluice_token *t = cur(p);
    if (is_word(t, "UNBOUNDED")) {
        next(p);
        over->preceding = -1;
    } else if (over->frame == 1) {
        if (t->kind != SLUICE_TOK_INTEGER || parse_int64(t->text, &over->preceding) != 0)
            fail_at(p, t, "UNBOUNDED or a number of rows");
        next(p);
    } else {
        if (!is_kw(t, "INTERVAL")) fail_at(p, t, "UNBOUNDED or an INTERVAL");
        sluice_ast *iv = parse_interval(p);
        over->preceding = iv->lit.u.i;
    }
    if (!is_word(cur(p), "PRECEDING")) fail_at(p, cur(p), "PRECEDING");
    next(p);
    expect_kw(p, "AND");
    if (!is_word(cur(p), "CURRENT")) fail_at(p, cur(p), "CURRENT ROW (frames end at the current row)");
    next(p);
    if (!is_word(cur(p), "ROW")) fail_at(p, cur(p), "ROW");
    next(p);
}

static sluice_ast *parse_over(parser *p, sluice_ast *call) {
    next(p);
    expect_op(p, "(");
    call->kind = SLUICE_AST_OVER;
    call->call_args = call->args;
    call->ncall_args = call->nargs;
    call->args = NULL;
    call->nargs = 0;
    vec args = {0}, desc = {0};
    if (is_word(cur(p), "PARTITION")) {
        next(p);
        expect_kw(p, "BY");
        for (;;) {
            push_arg(p, &args, parse_expr(p));
            if (!is_op(cur(p), ",")) break;
            next(p);
        }
        call->npartition = args.n;
    }
    expect_kw(p, "ORDER");
    expect_kw(p, "BY");
    for (;;) {
        push_arg(p, &args, parse_expr(p));
        int d = 0;
        if (accept_kw(p, "DESC")) d = 1;
        else accept_kw(p, "ASC");
        *(int *)vec_push(p, &desc, sizeof(int)) = d;
        if (!is_op(cur(p), ",")) break;
        next(p);
    }
    if (is_word(cur(p), "ROWS") || is_word(cur(p), "RANGE")) parse_frame(p, call);
    expect_op(p, ")");
    set_args(p, call, &args);
    call->order_desc = desc.data;
    return call;
}

static sluice_ast *parse_primary(parser *p) {
    const sluice_token *t = cur(p);
    sluice_ast *e;
    switch (t->kind) {
    case SLUICE_TOK_INTEGER:
        e = node_at(p, SLUICE_AST_LITERAL, t);
        if (parse_int64(t->text, &e->lit.u.i) != 0) fail_at(p, t, "an integer that fits in BIGINT");
        e->lit.type = SLUICE_TYPE_BIGINT;
        next(p);
        return e;
    case SLUICE_TOK_DECIMAL:
        e = node_at(p, SLUICE_AST_LITERAL, t);
        e->lit = sluice_value_double(strtod(t->text, NULL));
        if (isinf(e->lit.u.d)) fail_at(p, t, "a number that fits in DOUBLE");
        next(p);
        return e;
    case SLUICE_TOK_STRING:
        e = node_at(p, SLUICE_AST_LITERAL, t);
        e->lit = sluice_value_varchar(t->text, t->len);
        next(p);
        return e;
    case SLUICE_TOK_KEYWORD:
        if (is_kw(t, "TRUE") || is_kw(t, "FALSE") || is_kw(t, "NULL")) {
            e = node_at(p, SLUICE_AST_LITERAL, next(p));
            if (!is_kw(t, "NULL")) e->lit = sluice_value_bool(is_kw(t, "TRUE"));
            return e;
        }
        if (is_kw(t, "INTERVAL")) return parse_interval(p);
        if (is_kw(t, "CAST")) return parse_cast(p);
        if (is_kw(t, "CASE")) return parse_case(p);
        break;
    case SLUICE_TOK_OP:
        if (is_op(t, "(")) {
            next(p);
            e = parse_expr(p);
            expect_op(p, ")");
            return e;
        }
        break;
    case SLUICE_TOK_IDENT:
        if (is_word(t, "TIMESTAMP") && peek(p, 1)->kind == SLUICE_TOK_STRING) {
            /* TIMESTAMP 'text' is CAST('text' AS TIMESTAMP); the planner folds it. */
            next(p);
            const sluice_token *text = next(p);
            sluice_ast *lit = node_at(p, SLUICE_AST_LITERAL, text);
            lit->lit = sluice_value_varchar(text->text, text->len);
            e = operator_node(p, SLUICE_AST_CAST, SLUICE_OP_NONE, t, lit, NULL);
            e->cast_type = SLUICE_TYPE_TIMESTAMP;
            return e;
        }
        if (is_word(t, "EXTRACT") && is_op(peek(p, 1), "(") &&
            (peek(p, 2)->kind == SLUICE_TOK_IDENT || peek(p, 2)->kind == SLUICE_TOK_QIDENT) &&
            is_kw(peek(p, 3), "FROM"))
            return parse_extract(p);
        if (is_op(peek(p, 1), "(")) {
            e = parse_call(p);
            if (is_word(cur(p), "OVER")) return parse_over(p, e);
            return e;
        }
        if (is_word(t, "CURRENT_TIMESTAMP") || is_word(t, "LOCALTIMESTAMP")) {
            /* the SQL standard's niladic form, without parentheses */
            e = node_at(p, SLUICE_AST_FUNC, next(p));
            e->name = upper_dup(p, t->text);
            return e;
        }
        return parse_column(p);
    case SLUICE_TOK_QIDENT:
        return parse_column(p);
    case SLUICE_TOK_EOF:
    case SLUICE_TOK_ERROR:
        break;
    }
    fail_at(p, t, "an expression");
}

/* postfix := primary { '[' expr ']' }: ARRAY element access, 1-based (the
 * SQL standard's, Flink's and PostgreSQL's a[i]) */
static sluice_ast *parse_postfix(parser *p) {
    sluice_ast *e = parse_primary(p);
    while (is_op(cur(p), "[")) {
        nest(p);
        next(p);
        sluice_ast *index = parse_expr(p);
        expect_op(p, "]");
        p->depth--;
        e = operator_node(p, SLUICE_AST_SUBSCRIPT, SLUICE_OP_NONE, NULL, e, index);
    }
    return e;
}

/* unary := ('-' | '+') unary | postfix */
static sluice_ast *parse_unary(parser *p) {
    const sluice_token *t = cur(p);
    if (!is_op(t, "-") && !is_op(t, "+")) return parse_postfix(p);
    nest(p);
    next(p);
    sluice_ast *e = operator_node(p, SLUICE_AST_UNARY, is_op(t, "-") ? SLUICE_OP_NEG : SLUICE_OP_PLUS,
                                  t, parse_unary(p), NULL);
    p->depth--;
    return e;
}

/* Operator tokens of one left-associative binary level. */
typedef struct binop {
    const char *text;
    sluice_ast_op op;
} binop;

static const binop mul_ops[] = {{"*", SLUICE_OP_MUL}, {"/", SLUICE_OP_DIV}, {"%", SLUICE_OP_MOD}, {0}};
static const binop add_ops[] = {{"+", SLUICE_OP_ADD}, {"-", SLUICE_OP_SUB}, {0}};
static const binop cmp_ops[] = {
    {"=", SLUICE_OP_EQ}, {"<>", SLUICE_OP_NE}, {"!=", SLUICE_OP_NE}, {"<", SLUICE_OP_LT},
    {"<=", SLUICE_OP_LE}, {">", SLUICE_OP_GT}, {">=", SLUICE_OP_GE}, {0},
};

static sluice_ast_op match_op(const sluice_token *t, const binop *ops) {
    for (; ops->text; ops++)
        if (is_op(t, ops->text)) return ops->op;
    return SLUICE_OP_NONE;
}

/* mul := unary { ('*' | '/' | '%' | '||') unary }: || (string
 * concatenation) binds as * does, as in Calcite and so Flink; a || b is the
 * call CONCAT(a, b). */
static sluice_ast *parse_mul(parser *p) {
    sluice_ast *e = parse_unary(p);
    sluice_ast_op op;
    for (;;) {
        const sluice_token *t = cur(p);
        if (is_op(t, "||")) {
            next(p);
            e = operator_node(p, SLUICE_AST_FUNC, SLUICE_OP_NONE, NULL, e, parse_unary(p));
            e->name = "CONCAT";
            continue;
        }
        if ((op = match_op(t, mul_ops)) == SLUICE_OP_NONE) break;
        next(p);
        e = operator_node(p, SLUICE_AST_BINARY, op, NULL, e, parse_unary(p));
    }
    return e;
}

static sluice_ast *parse_add(parser *p) {
    sluice_ast *e = parse_mul(p);
    sluice_ast_op op;
    while ((op = match_op(cur(p), add_ops)) != SLUICE_OP_NONE) {
        next(p);
        e = operator_node(p, SLUICE_AST_BINARY, op, NULL, e, parse_mul(p));
    }
    return e;
}

/* [NOT] IN '(' expr {, expr} ')' with the IN keyword current. */
static sluice_ast *parse_in(parser *p, sluice_ast *lhs) {
    next(p);
    expect_op(p, "(");
    sluice_ast *e = new_node(p, SLUICE_AST_IN, lhs->line, lhs->col);
    vec args = {0};
    push_arg(p, &args, lhs);
    for (;;) {
        push_arg(p, &args, parse_expr(p));
        if (is_op(cur(p), ")")) break;
        if (!is_op(cur(p), ",")) fail_at(p, cur(p), "')' or ','");
        next(p);
    }
    next(p);
    set_args(p, e, &args);
    return e;
}

/* comparison := add { cmp-op add | IS [NOT] NULL | [NOT] IN (...)
 *                    | [NOT] BETWEEN add AND add | [NOT] LIKE add } */
static sluice_ast *parse_comparison(parser *p) {
    sluice_ast *e = parse_add(p);
    for (;;) {
        const sluice_token *t = cur(p);
        sluice_ast_op op = match_op(t, cmp_ops);
        if (op != SLUICE_OP_NONE) {
            next(p);
            e = operator_node(p, SLUICE_AST_BINARY, op, NULL, e, parse_add(p));
            continue;
        }
        if (is_kw(t, "IS")) {
            next(p);
            int negated = accept_kw(p, "NOT");
            if (!accept_kw(p, "NULL")) fail_at(p, cur(p), "NULL or NOT NULL");
            e = operator_node(p, SLUICE_AST_IS_NULL, SLUICE_OP_NONE, NULL, e, NULL);
            e->negated = negated;
            continue;
        }
        int negated = is_kw(t, "NOT");
        if (negated) {
            next(p);
            t = cur(p);
            if (!is_kw(t, "IN") && !is_kw(t, "BETWEEN") && !is_kw(t, "LIKE"))
                fail_at(p, t, "IN, BETWEEN or LIKE");
        }
        if (is_kw(t, "IN")) {
            e = parse_in(p, e);
        } else if (is_kw(t, "BETWEEN")) {
            next(p);
            sluice_ast *b = new_node(p, SLUICE_AST_BETWEEN, e->line, e->col);
            vec args = {0};
            push_arg(p, &args, e);
            push_arg(p, &args, parse_add(p));
            expect_kw(p, "AND");
            push_arg(p, &args, parse_add(p));
            set_args(p, b, &args);
            e = b;
        } else if (is_kw(t, "LIKE")) {
            next(p);
            e = operator_node(p, SLUICE_AST_LIKE, SLUICE_OP_NONE, NULL, e, parse_add(p));
        } else {
            return e;
        }
        e->negated = negated;
    }
}

/* not := NOT not | comparison */
static sluice_ast *parse_not(parser *p) {
    const sluice_token *t = cur(p);
    if (!is_kw(t, "NOT")) return parse_comparison(p);
    nest(p);
    next(p);
    sluice_ast *e = operator_node(p, SLUICE_AST_UNARY, SLUICE_OP_NOT, t, parse_not(p), NULL);
    p->depth--;
    return e;
}

static sluice_ast *parse_and(parser *p) {
    sluice_ast *e = parse_not(p);
    while (accept_kw(p, "AND")) e = operator_node(p, SLUICE_AST_BINARY, SLUICE_OP_AND, NULL, e, parse_not(p));
    return e;
}

/* expr := and {OR and} */
static sluice_ast *parse_expr(parser *p) {
    nest(p);
    sluice_ast *e = parse_and(p);
    while (accept_kw(p, "OR")) e = operator_node(p, SLUICE_AST_BINARY, SLUICE_OP_OR, NULL, e, parse_and(p));
    p->depth--;
    return e;
}

/* ---- CREATE SOURCE ------------------------------------------------------------- */

/* name type { FORMAT 'f' | PATH 'p' | METADATA FROM 'm' } */
static void parse_column_def(parser *p, sluice_ast_column_def *c) {
    c->line = cur(p)->line;
    c->col = cur(p)->col;
    c->name = expect_name(p, "a column name");
    c->type = parse_type(p, &c->elem_type);
    for (;;) {
        const sluice_token *t = cur(p);
        const char **slot;
        if (is_word(t, "FORMAT")) slot = &c->format;
        else if (is_word(t, "PATH")) slot = &c->path;
        else if (is_word(t, "METADATA")) slot = &c->metadata;
        else return;
        if (*slot) fail_at(p, t, "at most one %s per column", upper_dup(p, t->text));
        next(p);
        if (slot == &c->metadata) expect_kw(p, "FROM");
        *slot = expect_string(p);
    }
}

/* WATERMARK FOR col AS expr, with WATERMARK current; at most one per
 * source or table (`what`). */
static void parse_watermark(parser *p, sluice_ast_source *s, const char *what) {
    if (s->has_watermark) fail_at(p, cur(p), "at most one WATERMARK per %s", what);
    next(p);
    expect_kw(p, "FOR");
    s->watermark_line = cur(p)->line;
    s->watermark_col = cur(p)->col;
    s->watermark_column = expect_name(p, "a column name");
    expect_kw(p, "AS");
    s->watermark_expr = parse_expr(p);
    s->has_watermark = 1;
}

/* CREATE SOURCE name '(' item {, item} ')' where an item is a column
 * definition or, once, WATERMARK FOR col AS expr.  CREATE SOURCE is read. */
static void parse_source(parser *p, sluice_ast_source *s) {
    s->line = cur(p)->line;
    s->col = cur(p)->col;
    s->name = expect_name(p, "a source name");
    expect_op(p, "(");
    vec columns = {0};
    for (;;) {
        const sluice_token *t = cur(p);
        if (is_kw(t, "WATERMARK")) {
            parse_watermark(p, s, "source");
        } else {
            parse_column_def(p, vec_push(p, &columns, sizeof(sluice_ast_column_def)));
        }
        if (is_op(cur(p), ")")) break;
        if (!is_op(cur(p), ",")) fail_at(p, cur(p), "',' or ')'");
        next(p);
    }
    next(p);
    s->columns = columns.data;
    s->ncolumns = columns.n;
}

/* ---- CREATE SINK ------------------------------------------------------------------ */

/* The clauses after FROM, in their order. */
static const char *const clause_names[] = {"WHERE", "GROUP BY", "HAVING", "ORDER BY", "LIMIT", "EMIT"};
#define NCLAUSES (sizeof clause_names / sizeof clause_names[0])

/* Fail at the current token, listing the clauses from `first` on and ';'. */
static _Noreturn void fail_clause(parser *p, size_t first) {
    char list[128] = "";
    for (size_t i = first; i < NCLAUSES; i++) {
        strcat(list, clause_names[i]);
        strcat(list, i + 1 < NCLAUSES ? ", " : " or ");
    }
    fail_at(p, cur(p), "%s';'", list);
}

static void parse_limit(parser *p, sluice_ast_sink *k) {
    const sluice_token *t = next(p);
    k->limit_line = t->line;
    k->limit_col = t->col;
    if (cur(p)->kind != SLUICE_TOK_INTEGER || parse_int64(cur(p)->text, &k->limit) != 0)
        fail_at(p, cur(p), "a non-negative integer");
    next(p);
}

static void parse_emit(parser *p, sluice_ast_sink *k) {
    next(p);
    const sluice_token *t = cur(p);
    if (is_word(t, "APPEND")) k->emit = SLUICE_EMIT_APPEND;
    else if (is_word(t, "UPDATE")) k->emit = SLUICE_EMIT_UPDATE;
    else if (is_word(t, "COMPLETE")) k->emit = SLUICE_EMIT_COMPLETE;
    else fail_at(p, t, "APPEND, UPDATE or COMPLETE");
    k->emit_line = t->line;
    k->emit_col = t->col;
    next(p);
}

/* PRIMARY KEY '(' col {, col} ')' with PRIMARY current. */
static void parse_primary_key(parser *p, sluice_ast_sink *k) {
    const sluice_token *t = next(p);
    k->pk_line = t->line;
    k->pk_col = t->col;
    if (!is_word(cur(p), "KEY")) fail_at(p, cur(p), "KEY");
    next(p);
    expect_op(p, "(");
    vec names = {0}, lines = {0}, cols = {0};
    for (;;) {
        *(int *)vec_push(p, &lines, sizeof(int)) = cur(p)->line;
        *(int *)vec_push(p, &cols, sizeof(int)) = cur(p)->col;
        *(const char **)vec_push(p, &names, sizeof(const char *)) = expect_name(p, "a column name");
        if (is_op(cur(p), ")")) break;
        if (!is_op(cur(p), ",")) fail_at(p, cur(p), "')' or ','");
        next(p);
    }
    next(p);
    k->primary_key = names.data;
    k->nprimary_key = names.n;
    k->pk_lines = lines.data;
    k->pk_cols = cols.data;
}

/* Unreserved words that may follow a FROM item or a SELECT item where an
 * alias could stand: they are never taken as an implicit alias. */
static int is_alias_stop(const sluice_token *t) {
    static const char *const words[] = {"JOIN", "INNER", "LEFT",  "RIGHT", "FULL", "CROSS",
                                        "ON",   "UNION", "OUTER", "FOR",   "OVER"};
    if (t->kind == SLUICE_TOK_QIDENT) return 0;
    if (t->kind != SLUICE_TOK_IDENT) return 1;
    for (size_t i = 0; i < sizeof words / sizeof words[0]; i++)
        if (strcasecmp(t->text, words[i]) == 0) return 1;
    return 0;
}

/* [AS] alias, or NULL when none is written. */
static const char *parse_alias(parser *p) {
    if (accept_kw(p, "AS")) return expect_name(p, "an alias");
    if (!is_alias_stop(cur(p))) return next(p)->text;
    return NULL;
}

/* item {, item} FROM, with item := * | q.* | expr [[AS] alias]; SELECT is read. */
static void parse_select_list(parser *p, sluice_ast_sink *k) {
    vec items = {0};
    for (;;) {
        sluice_ast_select_item *it = vec_push(p, &items, sizeof *it);
        it->line = cur(p)->line;
        it->col = cur(p)->col;
        if (is_op(cur(p), "*")) {
            next(p);
            it->star = 1;
        } else if ((cur(p)->kind == SLUICE_TOK_IDENT || cur(p)->kind == SLUICE_TOK_QIDENT) && is_op(peek(p, 1), ".") &&
                   is_op(peek(p, 2), "*")) {
            it->star = 1;
            it->star_qualifier = next(p)->text;
            next(p);
            next(p);
        } else {
            it->expr = parse_expr(p);
            it->alias = parse_alias(p);
        }
        if (is_kw(cur(p), "FROM")) break;
        if (!is_op(cur(p), ",")) fail_at(p, cur(p), "',' or FROM");
        next(p);
    }
    next(p);
    k->items = items.data;
    k->nitems = items.n;
}

/* An unreserved word of the grammar, or fail. */
static const sluice_token *expect_word(parser *p, const char *word) {
    if (!is_word(cur(p), word)) fail_at(p, cur(p), "%s", word);
    return next(p);
}

/* CROSS JOIN UNNEST '(' expr ')' [WITH ORDINALITY] [AS] alias '(' column [, ordinality] ')'
 * (Flink's, Trino's and PostgreSQL's form), with CROSS current.  WITH
 * ORDINALITY needs the second column name, and only then is one allowed. */
static void parse_unnest(parser *p, sluice_ast_sink *k) {
    next(p);
    expect_word(p, "JOIN");
    const sluice_token *u = expect_word(p, "UNNEST");
    k->unnest_line = u->line;
    k->unnest_col = u->col;
    expect_op(p, "(");
    k->unnest = parse_expr(p);
    expect_op(p, ")");
    if (is_word(cur(p), "WITH")) {
        next(p);
        expect_word(p, "ORDINALITY");
        k->with_ordinality = 1;
    }
    accept_kw(p, "AS");
    k->unnest_alias = expect_name(p, "a table alias for UNNEST (AS t(column))");
    expect_op(p, "(");
    k->unnest_column_line = cur(p)->line;
    k->unnest_column_col = cur(p)->col;
    k->unnest_column = expect_name(p, "a column name for the array's elements");
    if (k->with_ordinality) {
        if (!is_op(cur(p), ",")) fail_at(p, cur(p), "',' and a second column name for WITH ORDINALITY's position");
        next(p);
        k->unnest_ordinality_line = cur(p)->line;
        k->unnest_ordinality_col = cur(p)->col;
        k->unnest_ordinality = expect_name(p, "a column name for the position");
    } else if (is_op(cur(p), ",")) {
        fail_at(p, cur(p), "')' (a second column needs WITH ORDINALITY)");
    }
    expect_op(p, ")");
}

static void parse_select_body(parser *p, sluice_ast_sink *k, int nested);
static sluice_ast_from *parse_from(parser *p);

/* '(' SELECT ... ')' with '(' current. */
static sluice_ast_sink *parse_subquery(parser *p) {
    nest(p);
    next(p);
    const sluice_token *t = expect_kw(p, "SELECT");
    sluice_ast_sink *q = alloc(p, sizeof *q);
    q->line = t->line;
    q->col = t->col;
    parse_select_body(p, q, 1);
    expect_op(p, ")");
    p->depth--;
    return q;
}

/* TABLE '(' fn '(' TABLE name-or-subquery ',' DESCRIPTOR '(' col ')' {, expr} ')' ')'
 * (Flink's window table-valued functions), with TABLE current. */
static sluice_ast_from *parse_window_tvf(parser *p, sluice_ast_from *f) {
    next(p);
    expect_op(p, "(");
    f->kind = SLUICE_FROM_WINDOW;
    const sluice_token *fn = cur(p);
    if (!is_word(fn, "TUMBLE") && !is_word(fn, "HOP") && !is_word(fn, "CUMULATE") && !is_word(fn, "SESSION"))
        fail_at(p, fn, "a window function (TUMBLE, HOP, CUMULATE or SESSION)");
    f->window = upper_dup(p, next(p)->text);
    expect_op(p, "(");
    if (!is_word(cur(p), "TABLE")) fail_at(p, cur(p), "TABLE and the table the windows are assigned over");
    next(p);
    sluice_ast_from *t = alloc(p, sizeof *t);
    t->line = cur(p)->line;
    t->col = cur(p)->col;
    if (is_op(cur(p), "(")) {
        t->kind = SLUICE_FROM_SUBQUERY;
        t->query = parse_subquery(p);
    } else {
        t->kind = SLUICE_FROM_TABLE;
        t->name = expect_name(p, "a table name");
    }
    f->table = t;
    if (is_word(cur(p), "PARTITION")) { /* SESSION(TABLE t PARTITION BY k, ...) */
        next(p);
        expect_kw(p, "BY");
        vec keys = {0};
        for (;;) {
            *(const char **)vec_push(p, &keys, sizeof(const char *)) = expect_name(p, "a column name");
            if (!is_op(cur(p), ",") || !(peek(p, 1)->kind == SLUICE_TOK_IDENT || peek(p, 1)->kind == SLUICE_TOK_QIDENT) ||
                is_word(peek(p, 1), "DESCRIPTOR"))
                break;
            next(p);
        }
        f->partition_keys = keys.data;
        f->npartition_keys = keys.n;
    }
    expect_op(p, ",");
    if (!is_word(cur(p), "DESCRIPTOR")) fail_at(p, cur(p), "DESCRIPTOR(time column)");
    next(p);
    expect_op(p, "(");
    f->descriptor_line = cur(p)->line;
    f->descriptor_col = cur(p)->col;
    f->descriptor = expect_name(p, "the time column");
    expect_op(p, ")");
    vec args = {0};
    while (is_op(cur(p), ",")) {
        next(p);
        push_arg(p, &args, parse_expr(p));
    }
    expect_op(p, ")");
    expect_op(p, ")");
    f->window_args = args.data;
    f->nwindow_args = args.n;
    return f;
}

/* One FROM item without joins: name [FOR SYSTEM_TIME AS OF expr] [[AS] alias]
 * | '(' SELECT ... ')' [[AS] alias] | TABLE(window function) [[AS] alias]. */
static sluice_ast_from *parse_from_primary(parser *p) {
    sluice_ast_from *f = alloc(p, sizeof *f);
    f->line = cur(p)->line;
    f->col = cur(p)->col;
    if (is_op(cur(p), "(")) {
        f->kind = SLUICE_FROM_SUBQUERY;
        f->query = parse_subquery(p);
    } else if (is_word(cur(p), "TABLE") && is_op(peek(p, 1), "(")) {
        parse_window_tvf(p, f);
    } else {
        f->kind = SLUICE_FROM_TABLE;
        f->name = expect_name(p, "a source, table or view name");
        if (is_kw(cur(p), "FOR")) {
            next(p);
            if (!is_word(cur(p), "SYSTEM_TIME")) fail_at(p, cur(p), "SYSTEM_TIME");
            next(p);
            expect_kw(p, "AS");
            if (!is_word(cur(p), "OF")) fail_at(p, cur(p), "OF");
            next(p);
            f->as_of = parse_expr(p);
        }
    }
    f->alias = parse_alias(p);
    return f;
}

/* The join words before JOIN, with the first one current; sets *kind.
 * Returns 0 when the current token starts no join. */
static int parse_join_words(parser *p, sluice_ast_join_kind *kind) {
    const sluice_token *t = cur(p);
    if (is_word(t, "JOIN")) *kind = SLUICE_AST_JOIN_INNER;
    else if (is_word(t, "INNER")) *kind = SLUICE_AST_JOIN_INNER;
    else if (is_word(t, "LEFT")) *kind = SLUICE_AST_JOIN_LEFT;
    else if (is_word(t, "RIGHT")) *kind = SLUICE_AST_JOIN_RIGHT;
    else if (is_word(t, "FULL")) *kind = SLUICE_AST_JOIN_FULL;
    else if (is_word(t, "CROSS") && !is_word(peek(p, 2), "UNNEST")) *kind = SLUICE_AST_JOIN_CROSS;
    else return 0;
    if (!is_word(t, "JOIN")) {
        next(p);
        if ((*kind == SLUICE_AST_JOIN_LEFT || *kind == SLUICE_AST_JOIN_RIGHT || *kind == SLUICE_AST_JOIN_FULL) &&
            is_word(cur(p), "OUTER"))
            next(p);
    }
    expect_word(p, "JOIN");
    return 1;
}

/* from := primary { ',' primary | join-words JOIN primary [ON expr] } */
static sluice_ast_from *parse_from(parser *p) {
    sluice_ast_from *left = parse_from_primary(p);
    for (;;) {
        sluice_ast_join_kind kind;
        const sluice_token *t = cur(p);
        if (is_op(t, ",")) {
            next(p);
            kind = SLUICE_AST_JOIN_CROSS;
        } else if (!parse_join_words(p, &kind)) {
            return left;
        }
        sluice_ast_from *j = alloc(p, sizeof *j);
        j->kind = SLUICE_FROM_JOIN;
        j->line = t->line;
        j->col = t->col;
        j->join = kind;
        j->left = left;
        j->right = parse_from_primary(p);
        if (kind != SLUICE_AST_JOIN_CROSS) {
            if (!is_word(cur(p), "ON")) fail_at(p, cur(p), "ON and the join condition");
            next(p);
            j->on = parse_expr(p);
        }
        left = j;
    }
}

/* The SELECT statement after SELECT: items, FROM, [CROSS JOIN UNNEST],
 * clauses, [UNION ALL SELECT ...].  Stops before ';', ')' (nested) or the
 * end of input. */
static void parse_select_body(parser *p, sluice_ast_sink *k, int nested) {
    k->limit = -1;
    if (is_word(cur(p), "DISTINCT") && !is_op(peek(p, 1), ",") && !is_kw(peek(p, 1), "FROM") &&
        !is_kw(peek(p, 1), "AS")) {
        next(p);
        k->select_distinct = 1;
    } else if (is_word(cur(p), "ALL") && !is_op(peek(p, 1), ",") && !is_kw(peek(p, 1), "FROM") &&
               !is_kw(peek(p, 1), "AS")) {
        next(p);
    }
    parse_select_list(p, k);
    k->from_line = cur(p)->line;
    k->from_col = cur(p)->col;
    k->from_item = parse_from(p);
    if (k->from_item->kind == SLUICE_FROM_TABLE && !k->from_item->as_of) {
        k->from = k->from_item->name;
        k->from_alias = k->from_item->alias;
    }
    if (is_word(cur(p), "CROSS")) parse_unnest(p, k);
    size_t stage = 0; /* index in clause_names of the first clause still allowed */
    if (accept_kw(p, "WHERE")) {
        k->where = parse_expr(p);
        stage = 1;
    }
    if (accept_kw(p, "GROUP")) {
        expect_kw(p, "BY");
        vec keys = {0};
        push_arg(p, &keys, parse_expr(p));
        while (is_op(cur(p), ",")) {
            next(p);
            push_arg(p, &keys, parse_expr(p));
        }
        k->group_by = keys.data;
        k->ngroup_by = keys.n;
        stage = 2;
    }
    if (accept_kw(p, "HAVING")) {
        k->having = parse_expr(p);
        stage = 3;
    }
    if (accept_kw(p, "ORDER")) {
        expect_kw(p, "BY");
        k->order_by = parse_expr(p);
        if (accept_kw(p, "DESC")) k->order_desc = 1;
        else accept_kw(p, "ASC");
        stage = 4;
    }
    if (is_kw(cur(p), "LIMIT")) {
        parse_limit(p, k);
        stage = 5;
    }
    if (is_kw(cur(p), "EMIT")) {
        parse_emit(p, k);
        stage = 6;
    }
    if (is_word(cur(p), "UNION")) {
        next(p);
        expect_word(p, "ALL");
        const sluice_token *t = expect_kw(p, "SELECT");
        sluice_ast_sink *u = alloc(p, sizeof *u);
        u->line = t->line;
        u->col = t->col;
        nest(p);
        parse_select_body(p, u, nested);
        p->depth--;
        k->union_all = u;
        return;
    }
    if (nested ? is_op(cur(p), ")") : (is_op(cur(p), ";") || cur(p)->kind == SLUICE_TOK_EOF)) return;
    if (nested && stage == 6) fail_at(p, cur(p), "')'");
    fail_clause(p, stage);
}

/* CREATE SINK name [PRIMARY KEY (...)] AS SELECT ...; CREATE SINK is read.
 * Stops before ';' or the end of input. */
static void parse_sink(parser *p, sluice_ast_sink *k) {
    k->line = cur(p)->line;
    k->col = cur(p)->col;
    k->name = expect_name(p, "a sink name");
    if (is_kw(cur(p), "PRIMARY")) parse_primary_key(p, k);
    expect_kw(p, "AS");
    expect_kw(p, "SELECT");
    parse_select_body(p, k, 0);
}

/* INSERT INTO name SELECT ...; INSERT is read (Flink's statement: the
 * SELECT's columns fill the table's by position). */
static void parse_insert(parser *p, sluice_ast_sink *k) {
    expect_word(p, "INTO");
    k->line = cur(p)->line;
    k->col = cur(p)->col;
    k->name = expect_name(p, "a sink or table name");
    k->insert = 1;
    expect_kw(p, "SELECT");
    parse_select_body(p, k, 0);
}

/* CREATE VIEW name AS SELECT ...; CREATE VIEW is read. */
static void parse_view(parser *p, sluice_ast_view *v) {
    v->line = cur(p)->line;
    v->col = cur(p)->col;
    v->name = expect_name(p, "a view name");
    expect_kw(p, "AS");
    const sluice_token *t = expect_kw(p, "SELECT");
    v->query = alloc(p, sizeof *v->query);
    v->query->line = t->line;
    v->query->col = t->col;
    v->query->name = v->name;
    parse_select_body(p, v->query, 0);
}

/* CREATE TABLE name '(' column | WATERMARK FOR c AS expr | PRIMARY KEY '(' c
 * {, c} ')' [NOT ENFORCED] {, ...} ')' [WITH '(' 'key' = 'value' {, ...} ')']
 * (Flink's DDL); CREATE TABLE is read.  The WITH options are read and
 * ignored: the profile binds the connector. */
static void parse_table(parser *p, sluice_ast_source *s) {
    s->is_table = 1;
    s->line = cur(p)->line;
    s->col = cur(p)->col;
    s->name = expect_name(p, "a table name");
    expect_op(p, "(");
    vec columns = {0}, pk = {0};
    for (;;) {
        const sluice_token *t = cur(p);
        if (is_kw(t, "WATERMARK")) {
            parse_watermark(p, s, "table");
        } else if (is_kw(t, "PRIMARY")) {
            next(p);
            if (!is_word(cur(p), "KEY")) fail_at(p, cur(p), "KEY");
    next(p);
            expect_op(p, "(");
            for (;;) {
                *(const char **)vec_push(p, &pk, sizeof(const char *)) = expect_name(p, "a column name");
                if (is_op(cur(p), ")")) break;
                expect_op(p, ",");
            }
            next(p);
            if (accept_kw(p, "NOT")) expect_word(p, "ENFORCED");
        } else {
            parse_column_def(p, vec_push(p, &columns, sizeof(sluice_ast_column_def)));
        }
        if (is_op(cur(p), ")")) break;
        if (!is_op(cur(p), ",")) fail_at(p, cur(p), "',' or ')'");
        next(p);
    }
    next(p);
    s->columns = columns.data;
    s->ncolumns = columns.n;
    s->primary_key = pk.data;
    s->nprimary_key = pk.n;
    if (is_word(cur(p), "WITH")) {
        next(p);
        expect_op(p, "(");
        for (;;) {
            expect_string(p);
            expect_op(p, "=");
            expect_string(p);
            if (is_op(cur(p), ")")) break;
            expect_op(p, ",");
        }
        next(p);
    }
}

/* ---- CREATE FUNCTION ------------------------------------------------------------ */

/* CREATE FUNCTION name '(' [arg type {, arg type}] ')' RETURNS type
 * [DETERMINISTIC]; CREATE FUNCTION is read.  FUNCTION, RETURNS and
 * DETERMINISTIC are words read by context, not reserved. */
static void parse_function(parser *p, sluice_ast_function *f) {
    f->line = cur(p)->line;
    f->col = cur(p)->col;
    f->name = expect_name(p, "a function name");
    expect_op(p, "(");
    vec names = {0}, types = {0};
    if (!is_op(cur(p), ")")) {
        for (;;) {
            *(const char **)vec_push(p, &names, sizeof(const char *)) = expect_name(p, "an argument name");
            *(sluice_type_t *)vec_push(p, &types, sizeof(sluice_type_t)) = parse_type(p, NULL);
            if (is_op(cur(p), ")")) break;
            if (!is_op(cur(p), ",")) fail_at(p, cur(p), "')' or ','");
            next(p);
        }
    }
    next(p);
    f->arg_names = names.data;
    f->arg_types = types.data;
    f->nargs = names.n;
    if (!is_word(cur(p), "RETURNS")) fail_at(p, cur(p), "RETURNS");
    next(p);
    f->returns = parse_type(p, NULL);
    if (is_word(cur(p), "DETERMINISTIC")) {
        next(p);
        f->deterministic = 1;
    }
}

/* ---- pipeline -------------------------------------------------------------------- */

static void parse_pipeline(parser *p, sluice_ast_pipeline *pl) {
    vec sources = {0}, tables = {0}, sinks = {0}, functions = {0}, views = {0};
    for (;;) {
        while (is_op(cur(p), ";")) next(p);
        if (cur(p)->kind == SLUICE_TOK_EOF && sources.n + tables.n + sinks.n + functions.n + views.n > 0) break;
        if (is_word(cur(p), "INSERT")) {
            next(p);
            parse_insert(p, vec_push(p, &sinks, sizeof(sluice_ast_sink)));
        } else {
            if (!is_kw(cur(p), "CREATE")) fail_at(p, cur(p), "CREATE or INSERT");
            next(p);
            if (is_word(cur(p), "TEMPORARY")) next(p);
            if (accept_kw(p, "SOURCE")) parse_source(p, vec_push(p, &sources, sizeof(sluice_ast_source)));
            else if (accept_kw(p, "SINK")) parse_sink(p, vec_push(p, &sinks, sizeof(sluice_ast_sink)));
            else if (is_word(cur(p), "FUNCTION") && (next(p), 1))
                parse_function(p, vec_push(p, &functions, sizeof(sluice_ast_function)));
            else if (is_word(cur(p), "VIEW") && (next(p), 1))
                parse_view(p, vec_push(p, &views, sizeof(sluice_ast_view)));
            else if (is_word(cur(p), "TABLE") && (next(p), 1))
                parse_table(p, vec_push(p, &tables, sizeof(sluice_ast_source)));
            else fail_at(p, cur(p), "SOURCE, SINK, VIEW, TABLE or FUNCTION");
        }
        if (cur(p)->kind == SLUICE_TOK_EOF) break;
        expect_op(p, ";");
    }
    /* tables after the sources, in one array */
    for (size_t i = 0; i < tables.n; i++)
        *(sluice_ast_source *)vec_push(p, &sources, sizeof(sluice_ast_source)) = ((sluice_ast_source *)tables.data)[i];
    pl->sources = sources.data;
    pl->nsources = sources.n;
    pl->views = views.data;
    pl->nviews = views.n;
    pl->sinks = sinks.data;
    pl->nsinks = sinks.n;
    pl->functions = functions.data;
    pl->nfunctions = functions.n;
}

sluice_err_t sluice_sql_parse(const char *src, size_t len, const char *filename,
                              sluice_arena *arena, sluice_ast_pipeline **out,
                              char *errstr, size_t errstr_size) {
    parser p = {.arena = arena, .filename = filename, .errstr = errstr, .errstr_size = errstr_size};
    sluice_token *toks;
    if (sluice_sql_tokenize(src, len, arena, &toks, &p.ntoks) != SLUICE_OK)
        return sluice_seterr(errstr, errstr_size, SLUICE_ERR_NOMEM,
                             "%s: out of memory while reading", filename);
    p.toks = toks;
    if (setjmp(p.fail)) return p.err;
    sluice_ast_pipeline *pl = alloc(&p, sizeof *pl);
    char *name = alloc(&p, strlen(filename) + 1);
    pl->filename = memcpy(name, filename, strlen(filename));
    parse_pipeline(&p, pl);
    *out = pl;
    return SLUICE_OK;
}
