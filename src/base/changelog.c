/*
 * Change kinds of rows: Flink RowKind's short strings (RowKind.shortString()).
 */
#include "sluice/changelog.h"

/* indexed by sluice_row_kind */
static const char *const kind_names[] = {"+I", "-U", "+U", "-D"};

const char *sluice_row_kind_name(sluice_row_kind k) {
    return (unsigned)k < sizeof kind_names / sizeof kind_names[0] ? kind_names[k] : "?";
}
