/*
 * sluice — SQL types, values and schemas.
 *
 * A value is 16 bytes: a type tag and a payload.  SQL NULL is the type tag
 * SLUICE_TYPE_NULL, whatever the column's declared type.  VARCHAR payloads
 * are borrowed pointers (not NUL-terminated in general: use len); who owns
 * the bytes is said by whoever hands the value out (usually a batch arena).
 */
#ifndef SLUICE_VALUE_H
#define SLUICE_VALUE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum sluice_type_t {
    SLUICE_TYPE_NULL = 0,   /**< the NULL tag; also "unknown type" of a NULL literal */
    SLUICE_TYPE_BIGINT,     /**< int64 */
    SLUICE_TYPE_DOUBLE,     /**< IEEE-754 binary64 */
    SLUICE_TYPE_VARCHAR,    /**< bytes (UTF-8 expected, not checked) */
    SLUICE_TYPE_BOOLEAN,    /**< 0 or 1 in u.i */
    SLUICE_TYPE_TIMESTAMP,  /**< milliseconds since 1970-01-01T00:00:00Z in u.i */
    SLUICE_TYPE_INTERVAL,   /**< milliseconds in u.i; only inside expressions */
    SLUICE_TYPE_ARRAY       /**< u.a: an element block (sluice_array); len = element count */
} sluice_type_t;

/** Event-time bounds: the watermark of an exhausted bounded source. */
#define SLUICE_TS_MIN INT64_MIN
#define SLUICE_TS_MAX INT64_MAX

struct sluice_array;

typedef struct sluice_value {
    uint8_t type;  /**< sluice_type_t; SLUICE_TYPE_NULL means SQL NULL */
    uint32_t len;  /**< VARCHAR: length in bytes; ARRAY: element count */
    union {
        int64_t i;     /**< BIGINT, BOOLEAN (0/1), TIMESTAMP (ms), INTERVAL (ms) */
        double d;      /**< DOUBLE */
        const char *s; /**< VARCHAR bytes (borrowed) */
        const struct sluice_array *a; /**< ARRAY elements (borrowed) */
    } u;
} sluice_value;

/** The elements of an ARRAY value (SQL ARRAY<T>, as Flink's and Trino's):
 *  `count` values, each of type `elem_type` or NULL.  Element blocks are
 *  allocated from an arena (sluice_array_new) and borrowed by the values
 *  pointing at them, like VARCHAR bytes; elements are scalars (no arrays
 *  of arrays). */
typedef struct sluice_array {
    uint8_t elem_type;             /**< sluice_type_t of the non-NULL elements */
    uint32_t count;
    struct sluice_value *values;   /**< count elements */
} sluice_array;

static inline sluice_value sluice_value_null(void) {
    sluice_value v; v.type = SLUICE_TYPE_NULL; v.len = 0; v.u.i = 0; return v;
}
static inline sluice_value sluice_value_bigint(int64_t x) {
    sluice_value v; v.type = SLUICE_TYPE_BIGINT; v.len = 0; v.u.i = x; return v;
}
static inline sluice_value sluice_value_double(double x) {
    sluice_value v; v.type = SLUICE_TYPE_DOUBLE; v.len = 0; v.u.d = x; return v;
}
static inline sluice_value sluice_value_bool(int x) {
    sluice_value v; v.type = SLUICE_TYPE_BOOLEAN; v.len = 0; v.u.i = x ? 1 : 0; return v;
}
static inline sluice_value sluice_value_timestamp(int64_t ms) {
    sluice_value v; v.type = SLUICE_TYPE_TIMESTAMP; v.len = 0; v.u.i = ms; return v;
}
static inline sluice_value sluice_value_varchar(const char *s, size_t len) {
    sluice_value v; v.type = SLUICE_TYPE_VARCHAR; v.len = (uint32_t)len; v.u.s = s; return v;
}
/** An ARRAY value over the block a (borrowed). */
static inline sluice_value sluice_value_array(const sluice_array *a) {
    sluice_value v; v.type = SLUICE_TYPE_ARRAY; v.len = a->count; v.u.a = a; return v;
}
static inline int sluice_value_is_null(const sluice_value *v) {
    return v->type == SLUICE_TYPE_NULL;
}

/** SQL name of a type ("BIGINT", ...).  Never NULL. */
const char *sluice_type_name(sluice_type_t t);

/** Total order used for ORDER BY, primary-key ordering and MIN/MAX:
 *  NULL sorts first; numbers (BIGINT, DOUBLE) compare numerically with each
 *  other; VARCHAR compares bytewise (memcmp, then length); BOOLEAN false <
 *  true; TIMESTAMP by milliseconds; ARRAY elementwise, then the shorter
 *  first (as PostgreSQL's array comparison).  Values of unrelated types compare by
 *  type tag.  Returns <0, 0 or >0. */
int sluice_value_compare(const sluice_value *a, const sluice_value *b);

/** Grouping equality: like compare()==0 but NULL equals NULL (SQL GROUP BY
 *  puts NULLs in one group) and types must match exactly; two ARRAYs are
 *  equal when they have the same count and equal elements. */
int sluice_value_equal(const sluice_value *a, const sluice_value *b);

/** Hash consistent with sluice_value_equal(); `seed` mixes in. */
uint64_t sluice_value_hash(const sluice_value *v, uint64_t seed);

struct sluice_arena;

/** A block of `count` elements of `elem_type`, all NULL, allocated from
 *  arena (one allocation; freed with the arena).  NULL when the arena is
 *  exhausted. */
sluice_array *sluice_array_new(struct sluice_arena *arena, sluice_type_t elem_type, size_t count);

/** A copy of v whose VARCHAR bytes and ARRAY elements (and their bytes)
 *  are allocated from arena, so that it outlives what v borrowed.  Returns
 *  0, or -1 when the arena is exhausted (*out is then NULL). */
int sluice_value_copy(struct sluice_arena *arena, const sluice_value *v, sluice_value *out);

/** One output or input column. */
typedef struct sluice_column {
    const char *name;    /**< NUL-terminated, case-sensitive */
    sluice_type_t type;
} sluice_column;

/** A row shape: ncolumns columns, and the PRIMARY KEY as column indexes
 *  (npk == 0: no key, e.g. a stateless query). */
typedef struct sluice_schema {
    size_t ncolumns;
    const sluice_column *columns;
    size_t npk;
    const size_t *pk;
} sluice_schema;

#ifdef __cplusplus
}
#endif
#endif
