/*
 * Test helpers shared by the cmocka suites.
 */
#ifndef SLUICE_TEST_H
#define SLUICE_TEST_H

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

/** A fresh, empty directory under the build's test tmp dir, named after
 *  `name` plus the pid.  Returns a malloc'd path (caller frees). */
char *sluice_test_mkdtemp(const char *name);

/** Path of a fixture: SLUICE_FIXTURES_DIR "/" rel.  Static buffer. */
const char *sluice_test_fixture(const char *rel);

/** Read a whole file; malloc'd, NUL-terminated; *len set when len != NULL.
 *  NULL when the file cannot be read. */
char *sluice_test_read_file(const char *path, size_t *len);

/** Run fn(arg) in a forked child whose SIGABRT has its default action;
 *  the test fails unless the child dies of SIGABRT (fn's return value is
 *  the child's exit status when it does not). */
void sluice_test_expect_abort(int (*fn)(void *arg), void *arg);

/** The path of program `name` in the usual system folders (mariadbd lives
 *  in /usr/sbin, outside a user's PATH), or `name` itself.  Static buffer. */
const char *sluice_test_find_program(const char *name);

/** A loopback TCP port that is free now, below Linux's ephemeral range so
 *  that no client connection of a parallel test takes it before a server
 *  binds it; -1 when none is found. */
int sluice_test_free_port(void);

/** Write `text` to path (truncating).  Returns 0 on success. */
int sluice_test_write_file(const char *path, const char *text);

/** Run the sluice binary with argv (NULL-terminated, without argv[0]),
 *  from the current directory; stdout and stderr go to the given files
 *  (either may be NULL = /dev/null).  Returns the exit status, or -1 when it
 *  did not exit normally (a crash fails the test that asserts on it). */
int sluice_test_run_cli(const char *const *argv, const char *stdout_path,
                        const char *stderr_path);

/** Start the sluice binary like sluice_test_run_cli() but do not wait:
 *  returns the child's pid (-1 on failure).  Reap it with
 *  sluice_test_wait_cli(). */
int sluice_test_spawn_cli(const char *const *argv, const char *stdout_path,
                          const char *stderr_path);

/** Wait at most timeout_ms for child `pid` to exit; on timeout kill it
 *  (SIGKILL) and return -2.  Returns its exit status, or -1 when it did
 *  not exit normally. */
int sluice_test_wait_cli(int pid, int timeout_ms);

#endif
