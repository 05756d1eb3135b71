/*
 * sluice — the change kind of a row (Flink's RowKind): what a row of a
 * changelog stream does to the result table keyed by the sink's PRIMARY KEY.
 *   +I insert: a new row;  -U update-before: the old value of an updated
 *   row (retracted);  +U update-after: the new value of an updated row;
 *   -D delete: the row is gone.
 * An append-only stream carries only +I.
 */
#ifndef SLUICE_CHANGELOG_H
#define SLUICE_CHANGELOG_H

typedef enum sluice_row_kind { SLUICE_ROW_INSERT = 0, SLUICE_ROW_UPDATE_BEFORE = 1, SLUICE_ROW_UPDATE_AFTER = 2, SLUICE_ROW_DELETE = 3 } sluice_row_kind;

/** The short name of a kind, as Flink prints it: "+I", "-U", "+U", "-D";
 *  "?" for a value outside the enum.  A static string. */
const char *sluice_row_kind_name(sluice_row_kind);

#endif
