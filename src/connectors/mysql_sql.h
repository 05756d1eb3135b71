/*
 * sluice connectors — building MySQL statement text: a growable buffer,
 * identifiers in backticks, string literals escaped for the connection's
 * character set, and sluice values as SQL literals.  Private to the MySQL
 * connectors.
 */
#ifndef SLUICE_CONNECTORS_MYSQL_SQL_H
#define SLUICE_CONNECTORS_MYSQL_SQL_H

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <mysql.h>

#include "sluice/value.h"

/* A growable byte buffer for SQL text, always NUL-terminated once used. */
typedef struct sbuf {
    char *p;
    size_t len, cap;
} sbuf;

/* Room for extra more bytes; 0, or -1 out of memory.  Inline: the row
 * loop of a large epoch appends through it. */
static inline int sb_reserve(sbuf *b, size_t extra) {
    if (b->len + extra + 1 <= b->cap) return 0;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < b->len + extra + 1) cap *= 2;
    char *p = realloc(b->p, cap);
    if (!p) return -1;
    b->p = p;
    b->cap = cap;
    return 0;
}

static inline int sb_add(sbuf *b, const char *s, size_t n) {
    if (n == 0) return 0;
    if (sb_reserve(b, n)) return -1;
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
    return 0;
}

static inline int sb_str(sbuf *b, const char *s) {
    return sb_add(b, s, strlen(s));
}

/** Append printf-formatted text.  0, or -1 out of memory. */
int sluice_sb_printf(sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/** Free the buffer's bytes and empty it. */
void sluice_sb_free(sbuf *b);
/** An identifier in backticks, embedded backticks doubled.  0 or -1. */
int sluice_sb_ident(sbuf *b, const char *name);
/** A string literal in single quotes, escaped for db's character set
 *  (mysql_real_escape_string).  0 or -1. */
int sluice_sb_literal(sbuf *b, MYSQL *db, const char *s, size_t n);
/** v as a SQL literal: integers, 1/0, %.17g doubles (NaN and infinities as
 *  NULL: MySQL's DOUBLE has none), quoted text, quoted timestamps, an
 *  ARRAY as its JSON text, NULL.  0 or -1. */
int sluice_sb_value(sbuf *b, MYSQL *db, const sluice_value *v);

#endif
