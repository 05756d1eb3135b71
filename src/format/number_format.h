/*
 * sluice formats — numbers as text for the text sinks (profiles.md "Value
 * rendering in text sinks"), without stdio: integers by a two-digit table,
 * doubles by the shortest digits that read back to the same double
 * (double-conversion's shortest mode, the Grisu3 algorithm with a bignum
 * fallback), laid out as printf's %g lays them out.  Private to the engine.
 */
#ifndef SLUICE_FORMAT_NUMBER_FORMAT_H
#define SLUICE_FORMAT_NUMBER_FORMAT_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/** Room for any text of sluice_fmt_int64 or sluice_fmt_double. */
#define SLUICE_NUMBER_TEXT_MAX 32

/** v in decimal ("-9223372036854775808" at most, 20 bytes) at out, which
 *  needs SLUICE_NUMBER_TEXT_MAX bytes; NUL-terminated; returns the length. */
size_t sluice_fmt_int64(int64_t v, char *out);

/** d as the fewest significant digits that strtod() reads back to the same
 *  bits (-0.0 keeps its sign: "-0"), laid out as %.Pg would lay them out
 *  with P = max(15, digits): fixed notation when the decimal exponent X
 *  satisfies -4 <= X < P, else d.ddde+XX (at least two exponent digits);
 *  no trailing zeros.  So 0.1 is "0.1", 100.0 "100", 1e21 "1e+21", 5e-324
 *  "5e-324".  Non-finite values are "nan", "inf" and "-inf".  out needs
 *  SLUICE_NUMBER_TEXT_MAX bytes; NUL-terminated; returns the length. */
size_t sluice_fmt_double(double d, char *out);

#ifdef __cplusplus
}
#endif
#endif
