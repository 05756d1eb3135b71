/*
 * The aggregate descriptors (src/exec/aggregate.c) on their own: typing,
 * add, retract, merge, result and snapshot bytes, against values computed
 * by hand.  The variance data is the textbook set 2,4,4,4,5,5,7,9: mean 5,
 * squared deviations 9,1,1,1,0,0,4,16 summing to M2 = 32, so the
 * population variance is 32/8 = 4 (standard deviation 2) and the sample
 * variance 32/7.
 */
#include "sluice_test.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "exec/aggregate.h"

static const int64_t textbook[] = {2, 4, 4, 4, 5, 5, 7, 9};
enum { NTEXT = sizeof textbook / sizeof textbook[0] };

/* A plan for fn over an argument of type t (no expression is evaluated
 * here: only its type is read). */
typedef struct call {
    sluice_agg_plan ag;
    sluice_expr arg;
} call;

static void call_init(call *c, const char *name, sluice_type_t t) {
    memset(c, 0, sizeof *c);
    c->ag.fn = sluice_agg_find(name, 0);
    assert_non_null(c->ag.fn);
    c->arg.type = t;
    c->ag.arg = &c->arg;
    char why[160];
    int rt = c->ag.fn->type(t, why, sizeof why);
    assert_true(rt >= 0);
    c->ag.result_type = (sluice_type_t)rt;
}

static void slot_fresh(const call *c, sluice_agg_slot *s) {
    memset(s, 0, sizeof *s);
    c->ag.fn->init(&c->ag, s);
}

static void add_i(const call *c, sluice_agg_slot *s, int64_t x) {
    sluice_value v = sluice_value_bigint(x);
    assert_int_equal(c->ag.fn->add(&c->ag, s, &v, NULL), 0);
}

static void add_null(const call *c, sluice_agg_slot *s) {
    sluice_value v = sluice_value_null();
    assert_int_equal(c->ag.fn->add(&c->ag, s, &v, NULL), 0);
}

static double result_d(const call *c, const sluice_agg_slot *s) {
    sluice_value r = c->ag.fn->result(&c->ag, s);
    assert_int_equal(r.type, SLUICE_TYPE_DOUBLE);
    return r.u.d;
}

static int result_is_null(const call *c, const sluice_agg_slot *s) {
    return c->ag.fn->result(&c->ag, s).type == SLUICE_TYPE_NULL;
}

#define assert_close(a, b) assert_true(fabs((a) - (b)) <= 1e-12 * (1 + fabs(b)))

static void test_slot_stays_24_bytes(void **state) {
    (void)state;
    assert_int_equal(sizeof(sluice_agg_slot), 24);
}

static void test_variance_of_the_textbook_set(void **state) {
    (void)state;
    static const struct { const char *name; double want; } cases[] = {
        {"VAR_POP", 4.0}, {"VAR_SAMP", 32.0 / 7.0}, {"STDDEV_POP", 2.0}, {"STDDEV_SAMP", 2.1380899352993950},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        call c;
        call_init(&c, cases[k].name, SLUICE_TYPE_BIGINT);
        assert_int_equal(c.ag.result_type, SLUICE_TYPE_DOUBLE);
        sluice_agg_slot s;
        slot_fresh(&c, &s);
        for (int i = 0; i < NTEXT; i++) {
            add_i(&c, &s, textbook[i]);
            add_null(&c, &s); /* NULLs are ignored */
        }
        assert_int_equal(s.n, 8);
        assert_close(result_d(&c, &s), cases[k].want);
    }
}

static void test_variance_of_few_values(void **state) {
    (void)state;
    call samp, pop, sd;
    call_init(&samp, "VAR_SAMP", SLUICE_TYPE_DOUBLE);
    call_init(&pop, "VAR_POP", SLUICE_TYPE_DOUBLE);
    call_init(&sd, "STDDEV_SAMP", SLUICE_TYPE_DOUBLE);
    sluice_agg_slot s;
    slot_fresh(&samp, &s);
    /* none: all NULL */
    assert_true(result_is_null(&samp, &s));
    assert_true(result_is_null(&pop, &s));
    add_null(&samp, &s);
    assert_true(result_is_null(&pop, &s));
    /* one value: the sample forms stay NULL, the population variance is 0 */
    sluice_value v = sluice_value_double(3.5);
    assert_int_equal(samp.ag.fn->add(&samp.ag, &s, &v, NULL), 0);
    assert_true(result_is_null(&samp, &s));
    assert_true(result_is_null(&sd, &s));
    assert_close(result_d(&pop, &s), 0.0);
}

/* 1e9 + {4, 7, 13, 16}: the sample variance is 30 (mean 1e9 + 10, squared
 * deviations 36, 9, 9, 36).  sum(x^2) - sum(x)^2/n in doubles gets this
 * wrong: the squares are near 1e18, beyond 2^53. */
static void test_variance_is_numerically_stable(void **state) {
    (void)state;
    call c;
    call_init(&c, "VAR_SAMP", SLUICE_TYPE_BIGINT);
    sluice_agg_slot s;
    slot_fresh(&c, &s);
    const int64_t base = 1000000000;
    add_i(&c, &s, base + 4);
    add_i(&c, &s, base + 7);
    add_i(&c, &s, base + 13);
    add_i(&c, &s, base + 16);
    assert_close(result_d(&c, &s), 30.0);
}

/* Chan et al.: the merge of {2,4,4} and {4,5,5,7,9} is the state of all
 * eight; merging with an empty state changes nothing. */
static void test_variance_merge(void **state) {
    (void)state;
    call c;
    call_init(&c, "VAR_POP", SLUICE_TYPE_BIGINT);
    sluice_agg_slot a, b, empty;
    slot_fresh(&c, &a);
    slot_fresh(&c, &b);
    slot_fresh(&c, &empty);
    for (int i = 0; i < 3; i++) add_i(&c, &a, textbook[i]);
    for (int i = 3; i < NTEXT; i++) add_i(&c, &b, textbook[i]);
    assert_int_equal(c.ag.fn->merge(&c.ag, &a, &empty), 0);
    assert_int_equal(c.ag.fn->merge(&c.ag, &a, &b), 0);
    assert_int_equal(a.n, 8);
    assert_close(result_d(&c, &a), 4.0);
    assert_close(a.w.mean, 5.0);
    assert_close(a.w.m2, 32.0);
    sluice_agg_slot e2;
    slot_fresh(&c, &e2);
    assert_int_equal(c.ag.fn->merge(&c.ag, &e2, &a), 0);
    assert_close(result_d(&c, &e2), 4.0);
}

/* Retract 9 and 7 from the textbook set: {2,4,4,4,5,5}, mean 4, M2 =
 * 4+0+0+0+1+1 = 6: population variance 1, sample variance 6/5. */
static void test_retract(void **state) {
    (void)state;
    call c;
    call_init(&c, "VAR_SAMP", SLUICE_TYPE_BIGINT);
    sluice_agg_slot s;
    slot_fresh(&c, &s);
    for (int i = 0; i < NTEXT; i++) add_i(&c, &s, textbook[i]);
    sluice_value nine = sluice_value_bigint(9), seven = sluice_value_bigint(7), null = sluice_value_null();
    assert_int_equal(c.ag.fn->retract(&c.ag, &s, &nine), 0);
    assert_int_equal(c.ag.fn->retract(&c.ag, &s, &null), 0);
    assert_int_equal(c.ag.fn->retract(&c.ag, &s, &seven), 0);
    assert_int_equal(s.n, 6);
    assert_close(result_d(&c, &s), 1.2);
    assert_close(s.w.mean, 4.0);

    /* COUNT, SUM, AVG take a value back; MIN and MAX cannot */
    call sum, avg, cnt;
    call_init(&sum, "SUM", SLUICE_TYPE_BIGINT);
    call_init(&avg, "AVG", SLUICE_TYPE_BIGINT);
    call_init(&cnt, "COUNT", SLUICE_TYPE_BIGINT);
    sluice_agg_slot ss, as, cs;
    slot_fresh(&sum, &ss);
    slot_fresh(&avg, &as);
    slot_fresh(&cnt, &cs);
    for (int i = 0; i < NTEXT; i++) {
        add_i(&sum, &ss, textbook[i]);
        add_i(&avg, &as, textbook[i]);
        add_i(&cnt, &cs, textbook[i]);
    }
    assert_int_equal(sum.ag.fn->retract(&sum.ag, &ss, &nine), 0);
    assert_int_equal(avg.ag.fn->retract(&avg.ag, &as, &nine), 0);
    assert_int_equal(cnt.ag.fn->retract(&cnt.ag, &cs, &nine), 0);
    assert_int_equal(cnt.ag.fn->retract(&cnt.ag, &cs, &null), 0);
    assert_int_equal(sum.ag.fn->result(&sum.ag, &ss).u.i, 31);
    assert_close(result_d(&avg, &as), 31.0 / 7.0);
    assert_int_equal(cnt.ag.fn->result(&cnt.ag, &cs).u.i, 7);
    assert_null(sluice_agg_find("MIN", 0)->retract);
    assert_null(sluice_agg_find("MAX", 0)->retract);
    assert_non_null(sluice_agg_find("COUNT", 1)->retract);
}

/* README "Integer overflow": an integer SUM that leaves the BIGINT range
 * is NULL and stays NULL, through add, retract and merge. */
static void test_sum_overflow_stays_null(void **state) {
    (void)state;
    call c;
    call_init(&c, "SUM", SLUICE_TYPE_BIGINT);
    sluice_agg_slot s, t;
    slot_fresh(&c, &s);
    slot_fresh(&c, &t);
    add_i(&c, &s, INT64_MAX);
    sluice_value one = sluice_value_bigint(1);
    assert_int_equal(c.ag.fn->add(&c.ag, &s, &one, NULL), 1); /* overflowed now */
    assert_true(result_is_null(&c, &s));
    assert_int_equal(c.ag.fn->retract(&c.ag, &s, &one), 0);
    assert_true(result_is_null(&c, &s));
    add_i(&c, &t, 5);
    assert_int_equal(c.ag.fn->merge(&c.ag, &t, &s), 0);
    assert_true(result_is_null(&c, &t));
}

static void test_snapshot_round_trip_and_checks(void **state) {
    (void)state;
    call c;
    call_init(&c, "STDDEV_SAMP", SLUICE_TYPE_BIGINT);
    sluice_agg_slot s, r;
    slot_fresh(&c, &s);
    for (int i = 0; i < NTEXT; i++) add_i(&c, &s, textbook[i]);
    sluice_enc e = {0};
    c.ag.fn->encode(&c.ag, &e, &s);
    assert_int_equal(e.len, 1 + 8 + 8 + 8);
    sluice_dec d;
    sluice_dec_init(&d, e.data, e.len);
    assert_int_equal(c.ag.fn->decode(&c.ag, &d, &r, NULL), 0);
    assert_int_equal(d.pos, e.len);
    assert_memory_equal(&r, &s, sizeof s);
    /* a negative M2 or a cut slot is refused */
    s.w.m2 = -1.0;
    sluice_enc e2 = {0};
    c.ag.fn->encode(&c.ag, &e2, &s);
    sluice_dec_init(&d, e2.data, e2.len);
    assert_int_equal(c.ag.fn->decode(&c.ag, &d, &r, NULL), -1);
    assert_true(d.bad);
    sluice_dec_init(&d, e.data, e.len - 1);
    assert_int_equal(c.ag.fn->decode(&c.ag, &d, &r, NULL), -1);
    free(e.data);
    free(e2.data);
}

static void test_typing_and_lookup(void **state) {
    (void)state;
    char why[160];
    const sluice_agg_fn *f = sluice_agg_find("STDDEV_POP", 0);
    assert_non_null(f);
    assert_int_equal(f->type(SLUICE_TYPE_VARCHAR, why, sizeof why), -1);
    assert_string_equal(why, "STDDEV_POP needs a number, got VARCHAR");
    assert_int_equal(f->type(SLUICE_TYPE_NULL, why, sizeof why), SLUICE_TYPE_DOUBLE);
    assert_int_equal(sluice_agg_find("SUM", 0)->type(SLUICE_TYPE_BIGINT, why, sizeof why), SLUICE_TYPE_BIGINT);
    assert_int_equal(sluice_agg_find("MIN", 0)->type(SLUICE_TYPE_INTERVAL, why, sizeof why), -1);
    assert_string_equal(why, "MIN of an INTERVAL is not supported");
    assert_null(sluice_agg_find("SUM", 1));
    assert_null(sluice_agg_find("LOWER", 0));
    assert_true(sluice_agg_is_name("VAR_SAMP"));
    assert_false(sluice_agg_is_name("LOWER"));
    char names[256];
    sluice_agg_names(names, sizeof names);
    assert_string_equal(names, "COUNT SUM AVG MIN MAX VAR_SAMP VAR_POP STDDEV_SAMP STDDEV_POP APPROX_COUNT_DISTINCT");
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_slot_stays_24_bytes),
        cmocka_unit_test(test_variance_of_the_textbook_set),
        cmocka_unit_test(test_variance_of_few_values),
        cmocka_unit_test(test_variance_is_numerically_stable),
        cmocka_unit_test(test_variance_merge),
        cmocka_unit_test(test_retract),
        cmocka_unit_test(test_sum_overflow_stays_null),
        cmocka_unit_test(test_snapshot_round_trip_and_checks),
        cmocka_unit_test(test_typing_and_lookup),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
