/*
 * Names of the change kinds (include/sluice/changelog.h), as Flink's
 * RowKind.shortString() prints them.
 */
#include "sluice/changelog.h"

static const char *const kind_names[] = {
    [SLUICE_ROW_INSERT] = "+I",
    [SLUICE_ROW_UPDATE_BEFORE] = "-U",
    [SLUICE_ROW_UPDATE_AFTER] = "+U",
    [SLUICE_ROW_DELETE] = "-D",
};

const char *sluice_row_kind_name(sluice_row_kind k) {
    return (unsigned)k < sizeof kind_names / sizeof kind_names[0] ? kind_names[k] : "?";
}
