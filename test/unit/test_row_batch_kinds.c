/*
 * Row batches with change kinds (sluice/changelog.h): Flink RowKind's
 * short strings, the lazily allocated kinds array, and what clear and free
 * do with it.
 */
#include "sluice_test.h"

#include <stdlib.h>

#include "sluice/batch.h"
#include "sluice/changelog.h"

static const sluice_column cols[] = {{.name = "k", .type = SLUICE_TYPE_BIGINT}};
static const sluice_schema schema = {.ncolumns = 1, .columns = cols};

static void kind_names(void **state) {
    (void)state;
    assert_string_equal(sluice_row_kind_name(SLUICE_ROW_INSERT), "+I");
    assert_string_equal(sluice_row_kind_name(SLUICE_ROW_UPDATE_BEFORE), "-U");
    assert_string_equal(sluice_row_kind_name(SLUICE_ROW_UPDATE_AFTER), "+U");
    assert_string_equal(sluice_row_kind_name(SLUICE_ROW_DELETE), "-D");
    assert_string_equal(sluice_row_kind_name((sluice_row_kind)4), "?");
    assert_string_equal(sluice_row_kind_name((sluice_row_kind)-1), "?");
}

static void inserts_have_no_kinds(void **state) {
    (void)state;
    sluice_row_batch b;
    assert_int_equal(sluice_row_batch_init(&b, &schema), SLUICE_OK);
    for (int i = 0; i < 3; i++) sluice_row_batch_append(&b)[0] = sluice_value_bigint(i);
    assert_non_null(sluice_row_batch_append_kind(&b, SLUICE_ROW_INSERT));
    assert_null(b.kinds);
    assert_int_equal(b.nrows, 4);
    for (size_t i = 0; i < 4; i++) assert_int_equal(sluice_row_batch_kind(&b, i), SLUICE_ROW_INSERT);
    sluice_row_batch_free(&b);
}

/* Two inserts, then every kind: the inserts before the first other kind
 * read as inserts; the array follows the rows across growth. */
static void kinds_allocated_lazily_and_grow(void **state) {
    (void)state;
    sluice_row_batch b;
    assert_int_equal(sluice_row_batch_init(&b, &schema), SLUICE_OK);
    sluice_row_batch_append(&b)[0] = sluice_value_bigint(0);
    sluice_row_batch_append(&b)[0] = sluice_value_bigint(1);
    sluice_value *r = sluice_row_batch_append_kind(&b, SLUICE_ROW_UPDATE_BEFORE);
    assert_non_null(r);
    assert_int_equal(r[0].type, SLUICE_TYPE_NULL);
    r[0] = sluice_value_bigint(2);
    assert_non_null(b.kinds);
    sluice_row_batch_append_kind(&b, SLUICE_ROW_UPDATE_AFTER)[0] = sluice_value_bigint(3);
    sluice_row_batch_append_kind(&b, SLUICE_ROW_DELETE)[0] = sluice_value_bigint(4);
    /* past the first capacity (256 rows): kinds kept in step */
    for (int i = 5; i < 1000; i++)
        sluice_row_batch_append_kind(&b, (sluice_row_kind)(i % 4))[0] = sluice_value_bigint(i);
    sluice_row_batch_append(&b)[0] = sluice_value_bigint(1000);
    assert_int_equal(b.nrows, 1001);
    static const sluice_row_kind first[] = {SLUICE_ROW_INSERT, SLUICE_ROW_INSERT, SLUICE_ROW_UPDATE_BEFORE,
                                            SLUICE_ROW_UPDATE_AFTER, SLUICE_ROW_DELETE};
    for (size_t i = 0; i < 5; i++) assert_int_equal(sluice_row_batch_kind(&b, i), first[i]);
    for (size_t i = 5; i < 1000; i++) {
        assert_int_equal(sluice_row_batch_kind(&b, i), (sluice_row_kind)(i % 4));
        assert_int_equal(sluice_row_batch_row(&b, i)[0].u.i, (int64_t)i);
    }
    assert_int_equal(sluice_row_batch_kind(&b, 1000), SLUICE_ROW_INSERT);

    /* clear: no rows; rows appended after it carry their own kinds */
    sluice_row_batch_clear(&b);
    assert_int_equal(b.nrows, 0);
    sluice_row_batch_append(&b);
    sluice_row_batch_append_kind(&b, SLUICE_ROW_DELETE);
    assert_int_equal(sluice_row_batch_kind(&b, 0), SLUICE_ROW_INSERT);
    assert_int_equal(sluice_row_batch_kind(&b, 1), SLUICE_ROW_DELETE);

    sluice_row_batch_free(&b);
    assert_null(b.kinds);
    assert_null(b.values);
    sluice_row_batch_free(&b); /* a freed (zeroed) batch frees again */
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(kind_names),
        cmocka_unit_test(inserts_have_no_kinds),
        cmocka_unit_test(kinds_allocated_lazily_and_grow),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
