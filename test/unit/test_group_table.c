/*
 * Unit tests for the group table of a grouped aggregate
 * (exec/group_table.h): entries inline (an 8-byte header, the keys, the
 * slots), the open-addressing table at most 3/4 full, growth, backward-
 * shift deletion, keys with NULLs, short and long strings interned in the
 * window's arena, hash collisions (the hash is the caller's: the tests
 * pass their own), and state bytes equal to what is allocated.
 */
#include <malloc.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "exec/group_table.h"
#include "sluice_test.h"

typedef struct fixture {
    sluice_query_plan q;
    sluice_agg_plan aggs[2];
    sluice_windows ws;
} fixture;

/* GROUP BY two keys, COUNT(*) and SUM(BIGINT), no window, append-only. */
static void setup(fixture *f) {
    memset(f, 0, sizeof *f);
    f->aggs[0].fn = sluice_agg_find("COUNT", 1);
    f->aggs[0].result_type = SLUICE_TYPE_BIGINT;
    f->aggs[1].fn = sluice_agg_find("SUM", 0);
    f->aggs[1].result_type = SLUICE_TYPE_BIGINT;
    assert_non_null(f->aggs[0].fn);
    assert_non_null(f->aggs[1].fn);
    f->q.window = SLUICE_WINDOW_NONE;
    f->q.ngroup = 2;
    f->q.aggs = f->aggs;
    f->q.naggs = 2;
    f->q.emit = SLUICE_EMIT_APPEND;
    sluice_windows_init(&f->ws, &f->q);
}

static sluice_value big(int64_t i) {
    sluice_value v = {.type = SLUICE_TYPE_BIGINT};
    v.u.i = i;
    return v;
}

static sluice_value str(const char *s) {
    sluice_value v = {.type = SLUICE_TYPE_VARCHAR, .len = (uint32_t)strlen(s)};
    v.u.s = s;
    return v;
}

/* The group with keys k (hash h) in w, added when missing; its entry
 * index. */
static size_t group(fixture *f, sluice_window *w, const sluice_value *k, uint64_t h) {
    sluice_group_hdr *e = sluice_window_group(&f->ws, w, k, h);
    assert_non_null(e);
    return (size_t)((unsigned char *)e - w->entries) / f->ws.stride;
}

static int found(fixture *f, sluice_window *w, const sluice_value *k, uint64_t h) {
    size_t slot = 0;
    return sluice_window_find(&f->ws, w, k, h, &slot) != NULL;
}

static void test_entry_is_header_keys_slots(void **state) {
    (void)state;
    fixture f;
    setup(&f);
    /* 8-byte header (hash_lo, flags, rank), 2 keys of 16, 2 slots of 24 */
    assert_int_equal(sizeof(sluice_group_hdr), 8);
    assert_int_equal(f.ws.stride, 8 + 2 * 16 + 2 * 24);
    sluice_windows_free(&f.ws);
}

static void test_table_grows_past_three_quarters(void **state) {
    (void)state;
    fixture f;
    setup(&f);
    sluice_window *w = sluice_windows_get(&f.ws, 0);
    assert_non_null(w);
    assert_int_equal(w->tcap, 16);
    for (int64_t i = 0; i < 12; i++) {
        sluice_value k[2] = {big(i), big(-i)};
        group(&f, w, k, (uint64_t)i * 0x9e3779b97f4a7c15ULL);
    }
    /* 12 groups fill 16 slots to exactly 3/4: no growth yet */
    assert_int_equal(w->tcap, 16);
    sluice_value k[2] = {big(12), big(-12)};
    group(&f, w, k, 12 * 0x9e3779b97f4a7c15ULL);
    assert_int_equal(w->tcap, 32);
    /* entries grow by an eighth, at least 16: 16, then 32 */
    assert_int_equal(w->cap, 16);
    for (int64_t i = 13; i < 17; i++) {
        sluice_value kk[2] = {big(i), big(-i)};
        group(&f, w, kk, (uint64_t)i * 0x9e3779b97f4a7c15ULL);
    }
    assert_int_equal(w->nentries, 17);
    assert_int_equal(w->cap, 32);
    /* a window reserved for exactly one group (a restore) still grows */
    sluice_window *w2 = sluice_windows_get(&f.ws, 1000);
    assert_int_equal(sluice_window_reserve(&f.ws, w2, 1), 0);
    assert_int_equal(w2->cap, 1);
    for (int64_t i = 0; i < 3; i++) {
        sluice_value kk[2] = {big(i), big(i)};
        group(&f, w2, kk, (uint64_t)i);
    }
    assert_int_equal(w2->cap, 17);
    assert_int_equal(w2->nentries, 3);
    sluice_windows_free(&f.ws);
}

static void test_many_groups_found_after_growth(void **state) {
    (void)state;
    fixture f;
    setup(&f);
    sluice_window *w = sluice_windows_get(&f.ws, 0);
    enum { N = 50000 };
    for (int64_t i = 0; i < N; i++) {
        sluice_value k[2] = {big(i), i % 3 ? big(i % 7) : sluice_value_null()};
        uint64_t h = sluice_value_hash(&k[1], sluice_value_hash(&k[0], 1));
        size_t idx = group(&f, w, k, h);
        sluice_agg_slot *s = sluice_group_slots(&f.ws, sluice_window_entry(&f.ws, w, idx));
        sluice_value v = big(i);
        assert_int_equal(f.aggs[1].fn->add(&f.aggs[1], &s[1], &v, w->arena), 0);
    }
    assert_int_equal(w->nentries, N);
    assert_false(sluice_gtable_full(w->nentries, w->tcap));
    /* 50000 groups: the table is the smallest power of two over 4/3 x */
    assert_int_equal(w->tcap, 131072);
    for (int64_t i = 0; i < N; i++) {
        sluice_value k[2] = {big(i), i % 3 ? big(i % 7) : sluice_value_null()};
        uint64_t h = sluice_value_hash(&k[1], sluice_value_hash(&k[0], 1));
        size_t idx = group(&f, w, k, h);
        assert_int_equal(idx, (size_t)i);
        sluice_agg_slot *s = sluice_group_slots(&f.ws, sluice_window_entry(&f.ws, w, idx));
        sluice_value r = f.aggs[1].fn->result(&f.aggs[1], &s[1]);
        assert_int_equal(r.u.i, i);
    }
    assert_int_equal(w->nentries, N);
    sluice_windows_free(&f.ws);
}

static void test_null_keys_group_together_apart_from_zero_and_empty(void **state) {
    (void)state;
    fixture f;
    setup(&f);
    sluice_window *w = sluice_windows_get(&f.ws, 0);
    const uint64_t h = 42; /* one hash for all: only the keys tell them apart */
    sluice_value a[2] = {sluice_value_null(), sluice_value_null()};
    sluice_value b[2] = {big(0), sluice_value_null()};
    sluice_value c[2] = {str(""), sluice_value_null()};
    sluice_value d[2] = {sluice_value_null(), big(0)};
    assert_int_equal(group(&f, w, a, h), 0);
    assert_int_equal(group(&f, w, b, h), 1);
    assert_int_equal(group(&f, w, c, h), 2);
    assert_int_equal(group(&f, w, d, h), 3);
    sluice_value a2[2] = {sluice_value_null(), sluice_value_null()};
    assert_int_equal(group(&f, w, a2, h), 0);
    assert_int_equal(w->nentries, 4);
    sluice_windows_free(&f.ws);
}

static void test_short_and_long_strings_are_copied(void **state) {
    (void)state;
    fixture f;
    setup(&f);
    sluice_window *w = sluice_windows_get(&f.ws, 0);
    char shortk[8], longk[300];
    strcpy(shortk, "ab");
    memset(longk, 'x', sizeof longk - 1);
    longk[sizeof longk - 1] = '\0';
    sluice_value k1[2] = {str(shortk), big(1)};
    sluice_value k2[2] = {str(longk), big(1)};
    group(&f, w, k1, 7);
    group(&f, w, k2, 7);
    /* the caller's buffers change: the table holds its own copies */
    shortk[0] = 'z';
    longk[0] = 'z';
    const sluice_value *g0 = sluice_group_keys(sluice_window_entry(&f.ws, w, 0));
    const sluice_value *g1 = sluice_group_keys(sluice_window_entry(&f.ws, w, 1));
    assert_int_equal(g0[0].len, 2);
    assert_memory_equal(g0[0].u.s, "ab", 2);
    assert_int_equal(g1[0].len, 299);
    assert_int_equal(g1[0].u.s[0], 'x');
    assert_int_equal(g1[0].u.s[298], 'x');
    sluice_value q1[2] = {str("ab"), big(1)};
    assert_true(found(&f, w, q1, 7));
    sluice_value q2[2] = {str("zb"), big(1)};
    assert_false(found(&f, w, q2, 7));
    sluice_windows_free(&f.ws);
}

/* Collisions: every key on one home slot, half of them with the same tag
 * too; removing every other group (backward shift) leaves the rest
 * findable and the removed ones gone. */
/* Key strings take their length in the arena, no padding: 3 + 1 + 20
 * bytes for "abc", "d" and a 20-byte key, in one block. */
static void test_key_strings_are_packed(void **state) {
    (void)state;
    fixture f;
    setup(&f);
    sluice_window *w = sluice_windows_get(&f.ws, 0);
    size_t before = sluice_arena_used(w->arena);
    sluice_value k1[2] = {str("abc"), sluice_value_null()};
    sluice_value k2[2] = {str("d"), sluice_value_null()};
    sluice_value k3[2] = {str("01234567890123456789"), sluice_value_null()};
    group(&f, w, k1, 1);
    group(&f, w, k2, 2);
    group(&f, w, k3, 3);
    assert_int_equal(sluice_arena_used(w->arena) - before, 24);
    const sluice_value *g0 = sluice_group_keys(sluice_window_entry(&f.ws, w, 0));
    const sluice_value *g2 = sluice_group_keys(sluice_window_entry(&f.ws, w, 2));
    assert_ptr_equal(g2[0].u.s, g0[0].u.s + 4);
    assert_memory_equal(g2[0].u.s, "01234567890123456789", 20);
    sluice_windows_free(&f.ws);
}

/* An aligned allocation after packed ones is still 16-byte aligned, and
 * both fit one block until it is full. */
static void test_arena_aligned_after_packed(void **state) {
    (void)state;
    sluice_arena *a = sluice_arena_new(64);
    assert_non_null(a);
    char *p = sluice_arena_alloc_packed(a, 3);
    void *q = sluice_arena_alloc(a, 8);
    char *r = sluice_arena_alloc_packed(a, 5);
    assert_non_null(p);
    assert_int_equal((uintptr_t)q % 16, 0);
    assert_ptr_equal(q, p + 16);
    assert_ptr_equal(r, p + 32);
    /* 3 + 13 padding + 16 + 5 = 37 bytes in use */
    assert_int_equal(sluice_arena_used(a), 37);
    void *s = sluice_arena_alloc(a, 32); /* 48 + 32 > 64: a new block */
    assert_int_equal((uintptr_t)s % 16, 0);
    assert_int_equal(sluice_arena_used(a), 69);
    sluice_arena_destroy(a);
}

static void test_collisions_and_backward_shift_deletion(void **state) {
    (void)state;
    fixture f;
    setup(&f);
    sluice_window *w = sluice_windows_get(&f.ws, 0);
    enum { N = 400 };
    char buf[N][40];
    /* low 32 bits equal (one home slot, one hash_lo); the high 32 bits
     * equal for even i (same tag), differing for odd i */
    uint64_t hash[N];
    for (int i = 0; i < N; i++) {
        snprintf(buf[i], sizeof buf[i], i % 5 ? "k%d" : "a-long-key-of-more-than-sixteen-%d", i);
        hash[i] = (i % 2 ? (uint64_t)i << 32 : 0) | 0x1234u;
        sluice_value k[2] = {str(buf[i]), big(i % 2)};
        assert_int_equal(group(&f, w, k, hash[i]), (size_t)i);
    }
    assert_int_equal(w->nentries, N);
    for (int i = N - 2; i >= 0; i -= 2) {
        sluice_value k[2] = {str(buf[i]), big(i % 2)};
        size_t idx = group(&f, w, k, hash[i]);
        sluice_window_remove_group(&f.ws, w, idx);
    }
    assert_int_equal(w->nentries, N / 2);
    for (int i = 0; i < N; i++) {
        sluice_value k[2] = {str(buf[i]), big(i % 2)};
        if (i % 2) assert_true(found(&f, w, k, hash[i]));
        else assert_false(found(&f, w, k, hash[i]));
    }
    /* a removed key comes back as a new group */
    sluice_value k0[2] = {str(buf[0]), big(0)};
    assert_int_equal(group(&f, w, k0, hash[0]), N / 2);
    assert_int_equal(w->nentries, N / 2 + 1);
    sluice_windows_free(&f.ws);
}

/* Keys in the same probe run but with different homes: deletion keeps
 * each findable from its own home (the wrap-around of the table too). */
static void test_deletion_across_wraparound(void **state) {
    (void)state;
    fixture f;
    setup(&f);
    sluice_window *w = sluice_windows_get(&f.ws, 0);
    assert_int_equal(w->tcap, 16);
    /* homes 15, 15, 0, 15, 1, 0: a run over slots 15, 0, 1, ... */
    const uint64_t homes[6] = {15, 15, 0, 15, 1, 0};
    for (int i = 0; i < 6; i++) {
        sluice_value k[2] = {big(i), big(0)};
        group(&f, w, k, ((uint64_t)(i + 1) << 32) | homes[i]);
    }
    for (int del = 0; del < 6; del++) {
        sluice_value k[2] = {big(del), big(0)};
        uint64_t h = ((uint64_t)(del + 1) << 32) | homes[del];
        size_t slot = 0;
        sluice_group_hdr *e = sluice_window_find(&f.ws, w, k, h, &slot);
        assert_non_null(e);
        sluice_window_remove_group(&f.ws, w, (size_t)((unsigned char *)e - w->entries) / f.ws.stride);
        for (int i = 0; i < 6; i++) {
            sluice_value q[2] = {big(i), big(0)};
            assert_int_equal(found(&f, w, q, ((uint64_t)(i + 1) << 32) | homes[i]), i > del);
        }
    }
    assert_int_equal(w->nentries, 0);
    sluice_windows_free(&f.ws);
}

/* Bytes in use from malloc (heap chunks and mapped blocks). */
static size_t heap_bytes(void) {
    struct mallinfo2 mi = mallinfo2();
    return mi.uordblks + mi.hblkhd;
}

/* What sluice_windows_bytes says is what malloc handed out, within glibc's
 * rounding: a chunk header and 16-byte rounding per heap chunk, a page per
 * mapped block. */
static void check_bytes_exact(size_t nkeys, int strings) {
    fixture f;
    setup(&f);
    size_t before = heap_bytes();
    void *probe = malloc(1 << 20);
    memset(probe, 1, 1 << 20);
    int measurable = heap_bytes() >= before + (1 << 20); /* not under a malloc replacement */
    free(probe);
    before = heap_bytes();
    for (int64_t wi = 0; wi < 2; wi++) {
        sluice_window *w = sluice_windows_get(&f.ws, wi);
        assert_non_null(w);
        for (size_t i = 0; i < nkeys; i++) {
            char b[48];
            snprintf(b, sizeof b, "key-%07zu-and-some-more", i);
            sluice_value k[2] = {strings ? str(b) : big((int64_t)i), big(wi)};
            uint64_t h = sluice_value_hash(&k[1], sluice_value_hash(&k[0], 1));
            group(&f, w, k, h);
        }
    }
    size_t used = heap_bytes() - before, said = sluice_windows_bytes(&f.ws);
    if (measurable) {
        /* allocations: the window list; per window itself, its arena (and
         * one per block), table, entries */
        size_t chunks = 1 + 2 * (4 + sluice_arena_bytes(f.ws.w[0]->arena) / (16 * 1024));
        /* 32 bytes per chunk; a page for each of the table and entries of
         * both windows, which may be mapped */
        size_t slack = chunks * 32 + 4 * 4096;
        if (used < said || used - said > slack)
            fail_msg("malloc'd %zu bytes, state_bytes says %zu (slack %zu)", used, said, slack);
    }
    sluice_windows_free(&f.ws);
}

static void test_state_bytes_equal_allocation_small(void **state) {
    (void)state;
    check_bytes_exact(10, 1);
}

static void test_state_bytes_equal_allocation_large(void **state) {
    (void)state;
    check_bytes_exact(100000, 1);
    check_bytes_exact(100000, 0);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_entry_is_header_keys_slots),
        cmocka_unit_test(test_table_grows_past_three_quarters),
        cmocka_unit_test(test_many_groups_found_after_growth),
        cmocka_unit_test(test_null_keys_group_together_apart_from_zero_and_empty),
        cmocka_unit_test(test_short_and_long_strings_are_copied),
        cmocka_unit_test(test_key_strings_are_packed),
        cmocka_unit_test(test_arena_aligned_after_packed),
        cmocka_unit_test(test_collisions_and_backward_shift_deletion),
        cmocka_unit_test(test_deletion_across_wraparound),
        cmocka_unit_test(test_state_bytes_equal_allocation_small),
        cmocka_unit_test(test_state_bytes_equal_allocation_large),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
