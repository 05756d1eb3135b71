/*
 * sluice SQL — abstract syntax tree (private to the engine).
 *
 * The parser (parser.h) builds it from a pipeline file; the planner binds
 * names and types and compiles it into a plan.  Every node and string is
 * allocated from the arena passed to the parser and lives as long as it.
 * Positions are 1-based line and column of the node's first token.
 */
#ifndef SLUICE_SQL_AST_H
#define SLUICE_SQL_AST_H

#include <stddef.h>
#include <stdint.h>

#include "plan/terms.h"
#include "sluice/value.h"

typedef enum sluice_ast_kind {
    SLUICE_AST_LITERAL,   /**< lit: BIGINT, DOUBLE, VARCHAR, BOOLEAN, NULL, TIMESTAMP */
    SLUICE_AST_INTERVAL,  /**< lit.type = SLUICE_TYPE_INTERVAL, lit.u.i = milliseconds */
    SLUICE_AST_COLUMN,    /**< name: identifier as written (quotes removed) */
    SLUICE_AST_UNARY,     /**< op: SLUICE_OP_NEG | SLUICE_OP_NOT | SLUICE_OP_PLUS; args[0] */
    SLUICE_AST_BINARY,    /**< op: arithmetic, comparison, AND, OR; args[0], args[1] */
    SLUICE_AST_IS_NULL,   /**< args[0] IS [NOT] NULL; negated = IS NOT NULL */
    SLUICE_AST_IN,        /**< args[0] [NOT] IN (args[1..nargs)) */
    SLUICE_AST_BETWEEN,   /**< args[0] [NOT] BETWEEN args[1] AND args[2] */
    SLUICE_AST_LIKE,      /**< args[0] [NOT] LIKE args[1] */
    SLUICE_AST_CASE,      /**< see below */
    SLUICE_AST_CAST,      /**< CAST(args[0] AS cast_type) */
    SLUICE_AST_FUNC,      /**< name (upper-cased) (args...), or COUNT(*) with star=1;
                               includes aggregates (with DISTINCT and FILTER),
                               TUMBLE/HOP/SESSION, PROCTIME */
    SLUICE_AST_SUBSCRIPT, /**< args[0] '[' args[1] ']': an ARRAY element, 1-based */
    SLUICE_AST_OVER       /**< name (ROW_NUMBER, RANK, DENSE_RANK) '(' ')' OVER (PARTITION BY
                               args[0..npartition) ORDER BY args[npartition..nargs)); order_desc per
                               ORDER BY key */
} sluice_ast_kind;

/** The operator as written in SQL ("+", "<>", "AND", ...); "?" for none.
 *  Static text. */
const char *sluice_ast_op_text(sluice_ast_op op);

/*
 * CASE: `has_operand` = 1 for `CASE x WHEN v THEN r ... END` (x is args[0]),
 * 0 for the searched form `CASE WHEN cond THEN r ... END`.  After the
 * optional operand come nwhen (when, then) pairs, then the ELSE expression
 * if has_else.  So args = [operand?] w1 t1 w2 t2 ... [else?].
 */
typedef struct sluice_ast {
    sluice_ast_kind kind;
    int line, col;
    sluice_ast_op op;
    int negated;            /**< NOT IN / NOT BETWEEN / NOT LIKE / IS NOT NULL */
    sluice_value lit;       /**< LITERAL / INTERVAL; VARCHAR bytes in the arena */
    const char *name;       /**< COLUMN, FUNC (upper-cased) */
    const char *qualifier;  /**< COLUMN: the table or alias in q.name, or NULL */
    size_t npartition;      /**< OVER: PARTITION BY expressions first in args */
    int *order_desc;        /**< OVER: per ORDER BY key, 1 = DESC */
    struct sluice_ast **call_args; /**< OVER: the function's own arguments (agg(x) OVER ...) */
    size_t ncall_args;
    int frame;              /**< OVER: 0 none written, 1 ROWS, 2 RANGE */
    int64_t preceding;      /**< OVER frame: rows (ROWS) or ms (RANGE) before the current row; -1 UNBOUNDED */
    sluice_type_t cast_type;/**< CAST target */
    int star;               /**< COUNT(*) */
    int distinct;           /**< FUNC: NAME(DISTINCT args) */
    struct sluice_ast *filter; /**< FUNC: NAME(...) FILTER (WHERE filter), or NULL */
    int has_operand, has_else;
    size_t nwhen;
    struct sluice_ast **args;
    size_t nargs;
    int height;             /**< levels of the tree rooted here (a leaf is 1); at most the parser's depth limit */
} sluice_ast;

typedef struct sluice_ast_source {
    const char *name;
    int line, col;
    sluice_ast_column_def *columns;
    size_t ncolumns;
    int has_watermark;
    const char *watermark_column;  /**< WATERMARK FOR <col> */
    sluice_ast *watermark_expr;    /**< AS <expr> (normally col - INTERVAL ...) */
    int watermark_line, watermark_col;
    int is_table;                  /**< CREATE TABLE (Flink's DDL): a source when a query reads
                                        it, the declaration of a sink when INSERT INTO writes it */
    const char **primary_key;      /**< CREATE TABLE ... PRIMARY KEY (...) NOT ENFORCED, or NULL */
    size_t nprimary_key;
} sluice_ast_source;

typedef struct sluice_ast_select_item {
    sluice_ast *expr;       /**< NULL for * and q.* */
    const char *alias;      /**< AS alias, or NULL */
    int star;               /**< `*` or `q.*` */
    const char *star_qualifier; /**< q of q.*, or NULL */
    int line, col;
} sluice_ast_select_item;

struct sluice_ast_sink;

typedef enum sluice_ast_from_kind {
    SLUICE_FROM_TABLE,      /**< a source, table or view by name */
    SLUICE_FROM_SUBQUERY,   /**< '(' SELECT ... ')' */
    SLUICE_FROM_JOIN,       /**< left JOIN right ON ...; a comma is an INNER JOIN without ON */
    SLUICE_FROM_WINDOW      /**< TABLE(TUMBLE|HOP|CUMULATE|SESSION(TABLE t, DESCRIPTOR(c), ...)) */
} sluice_ast_from_kind;

typedef enum sluice_ast_join_kind {
    SLUICE_AST_JOIN_INNER, SLUICE_AST_JOIN_LEFT, SLUICE_AST_JOIN_RIGHT, SLUICE_AST_JOIN_FULL,
    SLUICE_AST_JOIN_CROSS   /**< CROSS JOIN or a comma: no ON */
} sluice_ast_join_kind;

/** One item of FROM (a tree for joins). */
typedef struct sluice_ast_from {
    sluice_ast_from_kind kind;
    int line, col;
    const char *name;              /**< TABLE: as written */
    const char *alias;             /**< [AS] alias, or NULL */
    struct sluice_ast_sink *query; /**< SUBQUERY */
    struct sluice_ast_from *left, *right;  /**< JOIN */
    sluice_ast_join_kind join;
    sluice_ast *on;                /**< JOIN ... ON, or NULL */
    sluice_ast *as_of;             /**< right side FOR SYSTEM_TIME AS OF expr (lookup/temporal join), or NULL */
    const char *window;            /**< WINDOW: TUMBLE, HOP, CUMULATE or SESSION (upper case) */
    struct sluice_ast_from *table; /**< WINDOW: TABLE t (a TABLE or SUBQUERY item) */
    const char *descriptor;        /**< WINDOW: DESCRIPTOR(column) */
    int descriptor_line, descriptor_col;
    sluice_ast **window_args;      /**< WINDOW: the INTERVAL arguments after DESCRIPTOR */
    size_t nwindow_args;
    const char **partition_keys;   /**< SESSION: PARTITION BY columns (unused otherwise) */
    size_t npartition_keys;
} sluice_ast_from;

typedef struct sluice_ast_sink {
    const char *name;
    int line, col;
    const char **primary_key;      /**< PRIMARY KEY (...) names, or NULL */
    size_t nprimary_key;
    int pk_line, pk_col;           /**< of the PRIMARY keyword */
    int *pk_lines, *pk_cols;       /**< nprimary_key: position of each name */
    sluice_ast_select_item *items;
    size_t nitems;
    const char *from;              /**< FROM source name, when FROM is one table without alias
                                        or with its alias in from_alias; NULL otherwise */
    int from_line, from_col;
    const char *from_alias;        /**< alias of that table, or NULL */
    sluice_ast_from *from_item;    /**< the whole FROM clause */
    struct sluice_ast_sink *union_all;  /**< the next SELECT of a UNION ALL, or NULL */
    int insert;                    /**< INSERT INTO name SELECT ...: columns by position */
    int select_distinct;           /**< SELECT DISTINCT: GROUP BY every item */
    /* FROM source CROSS JOIN UNNEST(unnest) [WITH ORDINALITY] AS alias(column [, ordinality]) */
    sluice_ast *unnest;            /**< the array expression, or NULL: no UNNEST */
    int unnest_line, unnest_col;   /**< of the UNNEST word */
    int with_ordinality;
    const char *unnest_alias;      /**< the table alias (t in AS t(word)) */
    const char *unnest_column;     /**< the element column */
    int unnest_column_line, unnest_column_col;
    const char *unnest_ordinality; /**< the position column (WITH ORDINALITY), or NULL */
    int unnest_ordinality_line, unnest_ordinality_col;
    sluice_ast *where;             /**< or NULL */
    sluice_ast **group_by;         /**< window call (FUNC TUMBLE/HOP/SESSION) may be among them */
    size_t ngroup_by;
    sluice_ast *having;            /**< or NULL */
    sluice_ast *order_by;          /**< ORDER BY expr (one key), or NULL */
    int order_desc;                /**< 1 for DESC */
    int64_t limit;                 /**< LIMIT n, or -1 */
    int limit_line, limit_col;
    sluice_emit_mode emit;
    int emit_line, emit_col;
} sluice_ast_sink;

/** CREATE FUNCTION name(arg TYPE, ...) RETURNS TYPE [DETERMINISTIC]: a
 *  scalar function whose implementation the profile binds. */
typedef struct sluice_ast_function {
    const char *name;              /**< as written */
    int line, col;
    const char **arg_names;        /**< nargs */
    sluice_type_t *arg_types;      /**< nargs */
    size_t nargs;
    sluice_type_t returns;
    int deterministic;
} sluice_ast_function;

/** CREATE VIEW name AS SELECT ...: a named query that others read. */
typedef struct sluice_ast_view {
    const char *name;
    int line, col;
    struct sluice_ast_sink *query;
} sluice_ast_view;

typedef struct sluice_ast_pipeline {
    const char *filename;          /**< as given to the parser */
    sluice_ast_source *sources;    /**< CREATE SOURCE, then CREATE TABLE (is_table) */
    size_t nsources;
    sluice_ast_view *views;
    size_t nviews;
    sluice_ast_function *functions;
    size_t nfunctions;
    sluice_ast_sink *sinks;
    size_t nsinks;
} sluice_ast_pipeline;

#endif
