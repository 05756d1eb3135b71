/*
 * sluice SQL — lexer and parser (private).
 */
#ifndef SLUICE_SQL_PARSER_H
#define SLUICE_SQL_PARSER_H

#include <stddef.h>

#include "sluice/arena.h"
#include "sluice/error.h"
#include "sql/ast.h"

typedef enum sluice_token_kind {
    SLUICE_TOK_EOF = 0,
    SLUICE_TOK_IDENT,       /**< bare identifier (text as written) */
    SLUICE_TOK_QIDENT,      /**< `back-quoted` identifier (text without quotes, `` unescaped) */
    SLUICE_TOK_KEYWORD,     /**< reserved word; text upper-cased */
    SLUICE_TOK_INTEGER,     /**< 42 */
    SLUICE_TOK_DECIMAL,     /**< 4.2, 1e3, .5 */
    SLUICE_TOK_STRING,      /**< 'text' (text unescaped: '' -> ') */
    SLUICE_TOK_OP,          /**< ( ) , ; . * + - / % = <> != < <= > >= */
    SLUICE_TOK_ERROR        /**< unterminated string / bad character; text = message */
} sluice_token_kind;

typedef struct sluice_token {
    sluice_token_kind kind;
    const char *text;       /**< NUL-terminated, in the arena */
    size_t len;
    int line, col;          /**< 1-based, of the first character */
} sluice_token;

/** Split `src` (len bytes) into tokens, skipping white space and `--`
 *  comments.  The array ends with one SLUICE_TOK_EOF token; on a lexical
 *  error it ends with a SLUICE_TOK_ERROR token instead.  Everything lives
 *  in `arena`.  Returns SLUICE_ERR_NOMEM only when allocation fails. */
sluice_err_t sluice_sql_tokenize(const char *src, size_t len, sluice_arena *arena,
                                 sluice_token **out, size_t *ntokens);

/** Parse a whole pipeline file.  filename is used in messages only.  On a
 *  syntax error returns SLUICE_ERR_SQL with errstr
 *  "FILE:LINE:COL: syntax error at 'TOKEN': expected WHAT" (at end of
 *  input the token is "end of input").  The AST lives in `arena`. */
sluice_err_t sluice_sql_parse(const char *src, size_t len, const char *filename,
                              sluice_arena *arena, sluice_ast_pipeline **out,
                              char *errstr, size_t errstr_size);

/** Parse a duration INTERVAL literal's parts: number text ('5', '1.5')
 *  and unit word (MILLISECOND(S), SECOND(S), MINUTE(S), HOUR(S), DAY(S),
 *  case-insensitive) into milliseconds.  Returns 0 on success, -1 if the
 *  unit or number is not valid. */
int sluice_sql_interval_ms(const char *number, const char *unit, int64_t *ms);

#endif
