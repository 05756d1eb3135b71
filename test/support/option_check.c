/*
 * See option_check.h.
 */
#include "option_check.h"

#include "sluice_test.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void sluice_test_check_refuses(const char *sql, const char *ini, int line, const char *const *phrases) {
    char *dir = sluice_test_mkdtemp("optcheck");
    assert_non_null(dir);
    char sql_path[4200], ini_path[4200], err_path[4200], want[4300];
    snprintf(sql_path, sizeof sql_path, "%s/p.sql", dir);
    snprintf(ini_path, sizeof ini_path, "%s/p.test.ini", dir);
    snprintf(err_path, sizeof err_path, "%s/stderr.txt", dir);
    assert_int_equal(sluice_test_write_file(sql_path, sql), 0);
    assert_int_equal(sluice_test_write_file(ini_path, ini), 0);
    const char *argv[] = {"check", sql_path, NULL};
    int rc = sluice_test_run_cli(argv, NULL, err_path);
    char *t = sluice_test_read_file(err_path, NULL);
    assert_non_null(t);
    snprintf(want, sizeof want, "p.test.ini:%d", line);
    int ok = rc == 2 && strstr(t, want);
    for (size_t i = 0; ok && phrases[i]; i++) ok = strstr(t, phrases[i]) != NULL;
    if (!ok) fail_msg("check of\n%s\nexited %d, expected 2 with '%s' and the phrases in:\n%s", ini, rc, want, t);
    free(t);
    free(dir);
}

void sluice_test_connectors_list(const char *heading, const char *const *keys) {
    char *dir = sluice_test_mkdtemp("optlist");
    assert_non_null(dir);
    char out_path[4200];
    snprintf(out_path, sizeof out_path, "%s/stdout.txt", dir);
    const char *argv[] = {"connectors", NULL};
    assert_int_equal(sluice_test_run_cli(argv, out_path, NULL), 0);
    char *t = sluice_test_read_file(out_path, NULL);
    assert_non_null(t);
    char *at = strstr(t, heading);
    if (!at) fail_msg("no '%s' in `sluice connectors`:\n%s", heading, t);
    char *end = strstr(at + strlen(heading), "\n### ");
    if (end) *end = '\0';
    /* the connector's own table, not "checked by the connector itself" */
    if (!strstr(at, "\n| key | value | default | description |\n"))
        fail_msg("'%s' shows no option table:\n%s", heading, at);
    for (size_t i = 0; keys[i]; i++) {
        char row[300];
        snprintf(row, sizeof row, "\n| `%s` |", keys[i]);
        if (!strstr(at, row)) fail_msg("'%s' lists no option %s:\n%s", heading, keys[i], at);
    }
    free(t);
    free(dir);
}
