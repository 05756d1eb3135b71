/*
 * sluice plan — the terms the SQL front end (src/sql/) and the plan share:
 * operators, output modes and column declarations.  They are here, below
 * both, so that the plan and the operators that run it need nothing from
 * the parser (docs/architecture.md "Layers").  Private to the engine.
 */
#ifndef SLUICE_PLAN_TERMS_H
#define SLUICE_PLAN_TERMS_H

#include "sluice/value.h"

typedef enum sluice_ast_op {
    SLUICE_OP_NONE = 0,
    SLUICE_OP_ADD, SLUICE_OP_SUB, SLUICE_OP_MUL, SLUICE_OP_DIV, SLUICE_OP_MOD,
    SLUICE_OP_EQ, SLUICE_OP_NE, SLUICE_OP_LT, SLUICE_OP_LE, SLUICE_OP_GT, SLUICE_OP_GE,
    SLUICE_OP_AND, SLUICE_OP_OR,
    SLUICE_OP_NOT, SLUICE_OP_NEG, SLUICE_OP_PLUS
} sluice_ast_op;

typedef enum sluice_emit_mode {
    SLUICE_EMIT_DEFAULT = 0,  /**< not written: planner chooses */
    SLUICE_EMIT_APPEND,
    SLUICE_EMIT_UPDATE,
    SLUICE_EMIT_COMPLETE
} sluice_emit_mode;

/** One column of CREATE SOURCE. */
typedef struct sluice_ast_column_def {
    const char *name;
    sluice_type_t type;
    sluice_type_t elem_type;/**< ARRAY<elem_type>; NULL type otherwise */
    const char *format;     /**< FORMAT '...' or NULL (TIMESTAMP only) */
    const char *path;       /**< PATH '$.a.b[0]' or NULL */
    const char *metadata;   /**< METADATA FROM '...' or NULL */
    int line, col;
} sluice_ast_column_def;

#endif
