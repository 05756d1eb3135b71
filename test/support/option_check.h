/*
 * Test support for connector option tables: run `sluice check` on a
 * profile and look for a connector's options in `sluice connectors`.
 */
#ifndef SLUICE_TEST_OPTION_CHECK_H
#define SLUICE_TEST_OPTION_CHECK_H

/** Write sql and ini (the profile text, `p.test.ini`) into a fresh
 *  temporary directory and run `sluice check` on them.  Fails the test
 *  unless check exits 2 and its stderr holds "p.test.ini:LINE" and every
 *  phrase of `phrases` (NULL-terminated). */
void sluice_test_check_refuses(const char *sql, const char *ini, int line, const char *const *phrases);

/** Fails the test unless `sluice connectors` prints, in the section that
 *  starts with `heading` ("### Sink `console`"), an option table with a row
 *  for each key of `keys` (NULL-terminated; may be empty). */
void sluice_test_connectors_list(const char *heading, const char *const *keys);

#endif
