/*
 * sluice SQL — lexer.  See parser.h for the contract.
 */
#include <ctype.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "sql/parser.h"

/* Reserved words: kept small so that common column names stay usable.
 * Every other word is an identifier that the parser reads by context. */
static const char *const reserved[] = {
    "AND", "AS", "ASC", "BETWEEN", "BY", "CASE", "CAST", "CREATE", "DESC",
    "ELSE", "EMIT", "END", "FALSE", "FOR", "FROM", "GROUP", "HAVING", "IN",
    "INTERVAL", "IS", "LIKE", "LIMIT", "NOT", "NULL", "OR", "ORDER",
    "PRIMARY", "SELECT", "SINK", "SOURCE", "THEN", "TRUE", "WATERMARK", "WHEN",
    "WHERE",
};

typedef struct lexer {
    const char *src;
    size_t len, pos;
    int line, col;
    sluice_arena *arena;
    sluice_token *toks;
    size_t ntoks, cap;
} lexer;

static int is_ident_start(unsigned char c) { return isalpha(c) || c == '_'; }
static int is_ident_char(unsigned char c) { return isalnum(c) || c == '_'; }

static int peek(const lexer *lx, size_t ahead) {
    return lx->pos + ahead < lx->len ? (unsigned char)lx->src[lx->pos + ahead] : -1;
}

/* Advance one byte, keeping line and column. */
static void advance(lexer *lx) {
    if (lx->src[lx->pos] == '\n') {
        lx->line++;
        lx->col = 1;
    } else {
        lx->col++;
    }
    lx->pos++;
}

/* Append a token whose text (len bytes) is copied into the arena. */
static sluice_err_t push(lexer *lx, sluice_token_kind kind, const char *text, size_t len,
                         int line, int col) {
    if (lx->ntoks == lx->cap) {
        size_t cap = lx->cap ? lx->cap * 2 : 256;
        sluice_token *t = sluice_arena_alloc(lx->arena, cap * sizeof *t);
        if (!t) return SLUICE_ERR_NOMEM;
        if (lx->ntoks) memcpy(t, lx->toks, lx->ntoks * sizeof *t);
        lx->toks = t;
        lx->cap = cap;
    }
    char *copy = sluice_arena_strndup(lx->arena, text, len);
    if (!copy) return SLUICE_ERR_NOMEM;
    sluice_token *t = &lx->toks[lx->ntoks++];
    t->kind = kind;
    t->text = copy;
    t->len = len;
    t->line = line;
    t->col = col;
    return SLUICE_OK;
}

static sluice_err_t push_error(lexer *lx, int line, int col, const char *fmt, const char *arg) {
    char msg[128];
    snprintf(msg, sizeof msg, fmt, arg);
    return push(lx, SLUICE_TOK_ERROR, msg, strlen(msg), line, col);
}

static sluice_token_kind word_kind(char *upper, size_t len) {
    for (size_t i = 0; i < sizeof reserved / sizeof reserved[0]; i++)
        if (strlen(reserved[i]) == len && memcmp(reserved[i], upper, len) == 0)
            return SLUICE_TOK_KEYWORD;
    return SLUICE_TOK_IDENT;
}

static sluice_err_t lex_word(lexer *lx, int line, int col) {
    size_t start = lx->pos;
    while (lx->pos < lx->len && is_ident_char((unsigned char)lx->src[lx->pos])) advance(lx);
    size_t n = lx->pos - start;
    char upper[16];
    if (n < sizeof upper) {
        for (size_t i = 0; i < n; i++) upper[i] = (char)toupper((unsigned char)lx->src[start + i]);
        if (word_kind(upper, n) == SLUICE_TOK_KEYWORD)
            return push(lx, SLUICE_TOK_KEYWORD, upper, n, line, col);
    }
    return push(lx, SLUICE_TOK_IDENT, lx->src + start, n, line, col);
}

/* A quoted run ('string' or `identifier`) with the quote doubled as its
 * escape, starting at the opening quote.  On success *out holds the
 * unescaped text in the arena and the position is past the closing quote.
 * Returns 0, 1 if unterminated, or SLUICE_ERR_NOMEM. */
static int lex_quoted(lexer *lx, char quote, char **out, size_t *outlen) {
    advance(lx);
    size_t start = lx->pos, n = 0;
    for (;;) {
        if (lx->pos >= lx->len) return 1;
        if (lx->src[lx->pos] == quote) {
            if (peek(lx, 1) != quote) break;
            advance(lx);
        }
        advance(lx);
        n++;
    }
    size_t end = lx->pos;
    advance(lx);
    char *buf = sluice_arena_alloc(lx->arena, n + 1);
    if (!buf) return SLUICE_ERR_NOMEM;
    n = 0;
    for (size_t i = start; i < end; i++) {
        buf[n++] = lx->src[i];
        if (lx->src[i] == quote) i++;
    }
    buf[n] = '\0';
    *out = buf;
    *outlen = n;
    return 0;
}

static sluice_err_t lex_number(lexer *lx, int line, int col) {
    size_t start = lx->pos;
    sluice_token_kind kind = SLUICE_TOK_INTEGER;
    while (lx->pos < lx->len && isdigit((unsigned char)lx->src[lx->pos])) advance(lx);
    if (peek(lx, 0) == '.') {
        kind = SLUICE_TOK_DECIMAL;
        advance(lx);
        while (lx->pos < lx->len && isdigit((unsigned char)lx->src[lx->pos])) advance(lx);
    }
    if (peek(lx, 0) == 'e' || peek(lx, 0) == 'E') {
        size_t digits = (peek(lx, 1) == '+' || peek(lx, 1) == '-') ? 2 : 1;
        if (peek(lx, digits) >= 0 && isdigit(peek(lx, digits))) {
            kind = SLUICE_TOK_DECIMAL;
            for (size_t i = 0; i < digits; i++) advance(lx);
            while (lx->pos < lx->len && isdigit((unsigned char)lx->src[lx->pos])) advance(lx);
        }
    }
    int next = peek(lx, 0);
    if (next >= 0 && (is_ident_char((unsigned char)next) || next == '.')) {
        char text[64];
        size_t n = lx->pos - start + 1;
        if (n >= sizeof text) n = sizeof text - 1;
        memcpy(text, lx->src + start, n);
        text[n] = '\0';
        return push_error(lx, line, col, "malformed number '%s'", text);
    }
    return push(lx, kind, lx->src + start, lx->pos - start, line, col);
}

/* Length of the operator at the current position, or 0 if there is none. */
static size_t operator_length(const lexer *lx) {
    int c = peek(lx, 0), d = peek(lx, 1);
    if ((c == '<' && (d == '=' || d == '>')) || (c == '>' && d == '=') || (c == '!' && d == '=') ||
        (c == '|' && d == '|'))
        return 2;
    return c > 0 && strchr("(),;.*+-/%=<>[]", c) ? 1 : 0;
}

static sluice_err_t lex_stray(lexer *lx, int line, int col) {
    unsigned char c = (unsigned char)lx->src[lx->pos];
    char arg[8];
    if (c >= 0x80) {
        snprintf(arg, sizeof arg, "0x%02X", c);
        return push_error(lx, line, col, "unexpected byte %s (back-quote names that are not ASCII)", arg);
    }
    if (!isgraph(c)) {
        snprintf(arg, sizeof arg, "0x%02X", c);
        return push_error(lx, line, col, "unexpected byte %s", arg);
    }
    arg[0] = (char)c;
    arg[1] = '\0';
    return push_error(lx, line, col, "unexpected character '%s'", arg);
}

/* Lex one token at the current position (white space already skipped).
 * Returns SLUICE_OK (the token may be an error token) or SLUICE_ERR_NOMEM. */
static sluice_err_t lex_token(lexer *lx) {
    int line = lx->line, col = lx->col;
    int c = peek(lx, 0);
    if (is_ident_start((unsigned char)c)) return lex_word(lx, line, col);
    if (isdigit(c) || (c == '.' && peek(lx, 1) >= 0 && isdigit(peek(lx, 1))))
        return lex_number(lx, line, col);
    if (c == '\'' || c == '`') {
        char *text;
        size_t n;
        int r = lex_quoted(lx, (char)c, &text, &n);
        if (r < 0) return SLUICE_ERR_NOMEM;
        if (r > 0)
            return push_error(lx, line, col, "%s",
                              c == '\'' ? "unterminated string" : "unterminated back-quoted identifier");
        if (c == '`' && memchr(text, '\0', n))
            return push_error(lx, line, col, "%s", "NUL byte in back-quoted identifier");
        return push(lx, c == '\'' ? SLUICE_TOK_STRING : SLUICE_TOK_QIDENT, text, n, line, col);
    }
    size_t n = operator_length(lx);
    if (n > 0) {
        const char *text = lx->src + lx->pos;
        for (size_t i = 0; i < n; i++) advance(lx);
        return push(lx, SLUICE_TOK_OP, text, n, line, col);
    }
    return lex_stray(lx, line, col);
}

sluice_err_t sluice_sql_tokenize(const char *src, size_t len, sluice_arena *arena,
                                 sluice_token **out, size_t *ntokens) {
    lexer lx = {.src = src, .len = len, .line = 1, .col = 1, .arena = arena};
    sluice_err_t err = SLUICE_OK;
    if (len >= INT_MAX)
        err = push_error(&lx, 1, 1, "%s", "input too large (more than 2 GiB)");
    while (err == SLUICE_OK && (lx.ntoks == 0 || lx.toks[lx.ntoks - 1].kind != SLUICE_TOK_ERROR)) {
        int c = peek(&lx, 0);
        if (c < 0) {
            err = push(&lx, SLUICE_TOK_EOF, "", 0, lx.line, lx.col);
            break;
        }
        if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v') {
            advance(&lx);
        } else if (c == '-' && peek(&lx, 1) == '-') {
            while (lx.pos < lx.len && lx.src[lx.pos] != '\n') advance(&lx);
        } else {
            err = lex_token(&lx);
        }
    }
    if (err != SLUICE_OK) return err;
    *out = lx.toks;
    *ntokens = lx.ntoks;
    return SLUICE_OK;
}
