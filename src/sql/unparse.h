/*
 * sluice SQL — SQL text from a parsed pipeline (the parser's inverse).
 *
 * The text parses back to the same tree (sluice_sql_parse()), so the
 * planner builds the same plan from it; the fuzz target and the unit test
 * test/unit/test_unparse.c hold the parser, the planner and this file to
 * that.  The text is canonical rather than as written: every name
 * back-quoted, keywords upper-case, parentheses only where precedence needs
 * them, sources before sinks, TIMESTAMP 'x' as CAST('x' AS TIMESTAMP),
 * intervals in milliseconds, comments and VARCHAR(n) lengths left out.
 */
#ifndef SLUICE_SQL_UNPARSE_H
#define SLUICE_SQL_UNPARSE_H

#include <stddef.h>
#include <stdio.h>

#include "sql/ast.h"

/** The SQL text of pipeline `pl`: every CREATE SOURCE, then every CREATE
 *  SINK, each ended by ";\n".  Returns a NUL-terminated string the caller
 *  frees with free(), its length in *len when len is not NULL (a VARCHAR
 *  literal may hold NUL bytes); NULL when out of memory. */
char *sluice_sql_unparse(const sluice_ast_pipeline *pl, size_t *len);

/** Append the SQL text of expression `e` to the open memory stream `out`
 *  (open_memstream() or any FILE). */
void sluice_sql_unparse_expr(const sluice_ast *e, FILE *out);

#endif
