/*
 * base/fsutil: mkdir -p of a directory and of the directories leading to a
 * file, existing directories left alone, and the message naming the first
 * directory that cannot be made.
 */
#include "sluice_test.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "base/fsutil.h"

static char *tmpdir;

static int is_dir(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

static int exists(const char *path) {
    struct stat st;
    return stat(path, &st) == 0;
}

static void test_mkdir_all_makes_every_level(void **state) {
    (void)state;
    char dir[4200], mid[4200];
    snprintf(mid, sizeof mid, "%s/all/a", tmpdir);
    snprintf(dir, sizeof dir, "%s/all/a/b/c/", tmpdir); /* a trailing '/' is fine */
    assert_int_equal(sluice_mkdir_all(dir, 0777, NULL, 0), SLUICE_OK);
    assert_true(is_dir(mid));
    assert_true(is_dir(dir));
    /* again: everything exists */
    assert_int_equal(sluice_mkdir_all(dir, 0777, NULL, 0), SLUICE_OK);
    assert_int_equal(sluice_mkdir_all("", 0777, NULL, 0), SLUICE_OK);
}

static void test_mkdir_parents_stops_before_the_file(void **state) {
    (void)state;
    char file[4300], parent[4200];
    snprintf(parent, sizeof parent, "%s/parents/x//y", tmpdir);
    snprintf(file, sizeof file, "%s/out.csv", parent);
    assert_int_equal(sluice_mkdir_parents(file, 0777, NULL, 0), SLUICE_OK);
    assert_true(is_dir(parent));
    assert_false(exists(file));
    /* no directory part: the working directory, nothing to make */
    assert_int_equal(sluice_mkdir_parents("out.csv", 0777, NULL, 0), SLUICE_OK);
    assert_false(exists("out.csv"));
    assert_int_equal(sluice_mkdir_parents("/out.csv", 0777, NULL, 0), SLUICE_OK);
}

static void test_a_file_in_the_way_is_named(void **state) {
    (void)state;
    char file[4200], dir[4300], want[4600], err[4600] = "";
    snprintf(file, sizeof file, "%s/plain", tmpdir);
    assert_int_equal(sluice_test_write_file(file, "x"), 0);
    snprintf(dir, sizeof dir, "%s/sub/deeper", file);
    errno = 0;
    assert_int_equal(sluice_mkdir_all(dir, 0777, err, sizeof err), SLUICE_ERR_IO);
    assert_int_equal(errno, ENOTDIR);
    snprintf(want, sizeof want, "cannot create '%s/sub': Not a directory", file);
    assert_string_equal(err, want);
    snprintf(dir, sizeof dir, "%s/sub/f.csv", file);
    assert_int_equal(sluice_mkdir_parents(dir, 0777, err, sizeof err), SLUICE_ERR_IO);
    assert_string_equal(err, want);
}

int main(void) {
    tmpdir = sluice_test_mkdtemp("unit_fsutil");
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mkdir_all_makes_every_level),
        cmocka_unit_test(test_mkdir_parents_stops_before_the_file),
        cmocka_unit_test(test_a_file_in_the_way_is_named),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    free(tmpdir);
    return rc;
}
