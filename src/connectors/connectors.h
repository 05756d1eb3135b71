/*
 * sluice connectors — the built-in source and sink modules (private to the
 * engine; inject/ registers them by name).
 */
#ifndef SLUICE_CONNECTORS_H
#define SLUICE_CONNECTORS_H

#include <stddef.h>
#include <stdint.h>

#include "sluice/module.h"

#ifdef __cplusplus
extern "C" {
#endif

extern const sluice_source_ops sluice_file_source_ops;    /* "file"    */
extern const sluice_source_ops sluice_memory_source_ops;  /* "memory"  */
extern const sluice_source_ops sluice_fault_source_ops;   /* "fault"   */
extern const sluice_source_ops sluice_socket_source_ops;  /* "socket"  */

extern const sluice_sink_ops sluice_memory_sink_ops;      /* "memory"  */
extern const sluice_sink_ops sluice_console_sink_ops;     /* "console" */
extern const sluice_sink_ops sluice_file_sink_ops;        /* "file"    */
extern const sluice_sink_ops sluice_fault_sink_ops;       /* "fault"   */
#ifdef SLUICE_WITH_MYSQL
extern const sluice_sink_ops sluice_mysql_sink_ops;       /* "mysql"   */
extern const sluice_source_ops sluice_mysql_source_ops;   /* "mysql"   */
#endif
#ifdef SLUICE_WITH_REDIS
extern const sluice_sink_ops sluice_redis_sink_ops;       /* "redis"   */
#endif

#ifdef SLUICE_WITH_KAFKA
extern const sluice_source_ops sluice_kafka_source_ops;   /* "kafka"   */
extern const sluice_sink_ops sluice_kafka_sink_ops;       /* "kafka"   */
#endif

/* ---------------- memory source: fed through this C API ---------------- */

/** Queue one record on an open memory source (src must come from
 *  sluice_memory_source_ops.open, possibly inside fault wrappers, which
 *  are seen through).  value/key are copied.  The next poll()
 *  hands queued records out in order.  Returns SLUICE_ERR_NOMEM or
 *  SLUICE_ERR_INVALID (src is not a memory source or was ended). */
sluice_err_t sluice_memory_source_push(sluice_source *src, const char *value, size_t value_len,
                                       const char *key, size_t key_len,
                                       int32_t partition, int64_t timestamp_ms);

/** Mark the memory source bounded and complete: once its queue is drained
 *  poll() sets end_of_input. */
sluice_err_t sluice_memory_source_end(sluice_source *src);

/* ---------------- memory sink: read through this C API ---------------- */

/** Number of rows in the memory sink's result table (fault wrappers around
 *  a memory sink are seen through; 0 for any other sink).  With a PRIMARY KEY
 *  the table holds one row per key (upserted: the last written wins; a
 *  delete removes the key's row); without one, every written row in arrival
 *  order (an update-before or a delete removes the first equal row). */
size_t sluice_memory_sink_nrows(const sluice_sink *sink);

/** Row i of the result table in primary-key order (arrival order without a
 *  key), schema->ncolumns values, owned by the sink and valid until the
 *  next write() or close().  NULL when i is out of range or sink is not a
 *  memory sink. */
const sluice_value *sluice_memory_sink_row(const sluice_sink *sink, size_t i);

/** Total rows ever written to the sink (all epochs, before upsert). */
uint64_t sluice_memory_sink_rows_written(const sluice_sink *sink);

/** The change kind (sluice/changelog.h) of the row that last set row i of
 *  the result table (same order as sluice_memory_sink_row()): +I or +U.
 *  SLUICE_ROW_INSERT when i is out of range or sink is not a memory sink. */
sluice_row_kind sluice_memory_sink_row_kind(const sluice_sink *sink, size_t i);

/** Rows of change kind k ever written to the sink (all epochs, before they
 *  are applied); 0 when sink is not a memory sink. */
uint64_t sluice_memory_sink_kind_count(const sluice_sink *sink, sluice_row_kind k);

/* ---------------- fault wrapper ---------------- */

/*
 * The "fault" connector wraps another connector and makes chosen calls fail,
 * for failure tests of the engine (SQLite's test_vfs pattern).  INI options:
 *   fault.inner  = NAME      the wrapped connector (required)
 *   fault.method = open|poll|write|commit   (default: poll for a source,
 *                                            write for a sink)
 *   fault.nth    = N         fail the Nth call of that method (1-based)
 *   fault.after  = N         fail every call after the first N
 *   fault.action = error|abort   return SLUICE_ERR_FAULT (default) or
 *                                abort() the process (crash tests)
 *   fault.when   = before|after  fail instead of the call (default), or
 *                                after the inner call has succeeded
 * Every other option is passed to the inner connector.  The same plan can be
 * given through the C API below.
 */
typedef struct sluice_fault_plan {
    const char *method;   /**< "open", "poll", "write" or "commit" */
    int nth;              /**< >0: fail the nth call; 0: off */
    int after;            /**< >=0 with after_set: fail calls after the first `after` */
    int after_set;
    int abort_process;    /**< 1: abort() instead of returning an error */
    int after_call;       /**< 1: fail after the inner call succeeded (fault.when = after) */
} sluice_fault_plan;

/** Number of calls of `method` ("open", "poll", "write", "commit",
 *  "position", "report") the wrapper has seen on this instance, failed ones
 *  included (for assertions).  -1 if `inst` is not a fault wrapper instance
 *  or the method name is unknown. */
long sluice_fault_calls(const void *inst, const char *method);

#ifdef __cplusplus
}
#endif
#endif
