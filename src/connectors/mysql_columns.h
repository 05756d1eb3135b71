/*
 * Private to the mysql sink: what a table column can hold, read from
 * information_schema, and the check of one value against it, so that a
 * row the table cannot store is found before it is sent (and the server's
 * own refusals of one row are told from other errors).
 */
#ifndef SLUICE_MYSQL_COLUMNS_H
#define SLUICE_MYSQL_COLUMNS_H

#include <stddef.h>
#include <stdint.h>

#include "sluice/value.h"

/* ---------------- what a column can hold ---------------- */

enum { SLUICE_MYSQL_CS_OTHER, SLUICE_MYSQL_CS_UTF8MB4, SLUICE_MYSQL_CS_UTF8MB3 };

/** What one table column holds, from information_schema.COLUMNS. */
typedef struct sluice_mysql_column {
    int text;                      /**< a character column (char, varchar, *text) */
    int64_t max_chars;             /**< CHARACTER_MAXIMUM_LENGTH; -1 when unknown */
    int64_t max_bytes;             /**< CHARACTER_OCTET_LENGTH; -1 when unknown */
    int charset;                   /**< SLUICE_MYSQL_CS_* */
    int is_unsigned;               /**< an UNSIGNED integer column */
    int floating;                  /**< double, float, decimal: no NaN nor infinity */
    int decimal;                   /**< decimal: a bounded range */
    char type[64];                 /**< COLUMN_TYPE, for messages ("varchar(255)") */
} sluice_mysql_column;

/** Fill col from one information_schema.COLUMNS row: DATA_TYPE,
 *  COLUMN_TYPE, CHARACTER_MAXIMUM_LENGTH, CHARACTER_OCTET_LENGTH,
 *  CHARACTER_SET_NAME (each may be NULL). */
void sluice_mysql_column_read(sluice_mysql_column *col, const char *data_type, const char *column_type,
                              const char *max_chars, const char *max_bytes, const char *charset);

/** 0 when column col (named `name`) stores v exactly; otherwise 1 with
 *  the reason in buf ("column 'origin': 300 characters, varchar(255)
 *  holds at most 255").  Checks what the server would refuse in strict
 *  mode or could not represent: characters and bytes over the column's
 *  length, bytes that are not valid UTF-8 (or 4-byte characters in a
 *  utf8mb3 column), NaN and infinite doubles, negative numbers in an
 *  UNSIGNED column. */
int sluice_mysql_value_unfit(const sluice_mysql_column *col, const char *name, const sluice_value *v, char *buf,
                             size_t size);

/** 1 when the column holds every value of engine type t (a character
 *  column of at most LONGTEXT size does not hold every VARCHAR; an UNSIGNED
 *  or DECIMAL one not every BIGINT or DOUBLE), for the start-up warning. */
int sluice_mysql_column_holds_all(const sluice_mysql_column *col, sluice_type_t t);

/** 1 for the server errors that refuse one row for its content in strict
 *  mode (ER_DATA_TOO_LONG 1406, ER_TRUNCATED_WRONG_VALUE_FOR_FIELD 1366,
 *  ER_WARN_DATA_OUT_OF_RANGE 1264, WARN_DATA_TRUNCATED 1265,
 *  ER_TRUNCATED_WRONG_VALUE 1292, ER_BAD_NULL_ERROR 1048,
 *  ER_INVALID_CHARACTER_STRING 1300, ER_ILLEGAL_VALUE_FOR_TYPE 1367,
 *  ER_DATA_OUT_OF_RANGE 1690, ER_CANNOT_CONVERT_CHARACTER 1977,
 *  ER_CONSTRAINT_FAILED 4025): a multi-row statement that fails with one
 *  is sent again row by row to find the rows. */
int sluice_mysql_err_is_row_data(unsigned e);

#endif
