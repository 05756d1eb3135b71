/*
 * sluice — change kinds of rows (a changelog stream).
 *
 * Rows flowing from the query engine to the sinks carry a change kind, as
 * Flink's changelog rows do (org.apache.flink.types.RowKind): an APPEND
 * query produces only inserts; an UPDATE or COMPLETE query produces
 * update-after rows (upserts by the query's PRIMARY KEY), under UPDATE each
 * preceded by the update-before of the row it replaces when the query has
 * no key, and may produce deletes (a row leaving a top-N ranking or HAVING, a group
 * whose rows were retracted).  Each sink applies the kinds to its
 * destination (docs/connectors.md, "Changelog at the sinks").
 */
#ifndef SLUICE_CHANGELOG_H
#define SLUICE_CHANGELOG_H

#ifdef __cplusplus
extern "C" {
#endif

/** The kind of change a row stands for, with Flink RowKind's meaning:
 *  INSERT adds a row; UPDATE_BEFORE retracts the previous content of a row
 *  that an UPDATE_AFTER with the same key follows; UPDATE_AFTER is the new
 *  content of a row (an upsert by key); DELETE removes the row with the
 *  row's key.  The values are stored as uint8_t in sluice_row_batch. */
typedef enum sluice_row_kind { SLUICE_ROW_INSERT = 0, SLUICE_ROW_UPDATE_BEFORE = 1, SLUICE_ROW_UPDATE_AFTER = 2, SLUICE_ROW_DELETE = 3 } sluice_row_kind;

/** Flink RowKind's short string of k: "+I", "-U", "+U" or "-D" (a static
 *  string, never freed); "?" for a value outside the enum. */
const char *sluice_row_kind_name(sluice_row_kind k);

#ifdef __cplusplus
}
#endif
#endif
