/*
 * sluice formats — internals shared by the decoder front (decoder.c), the
 * JSON adapter (json_decoder.cpp) and the CSV decoder (csv_decoder.c).
 */
#ifndef SLUICE_FORMAT_INT_H
#define SLUICE_FORMAT_INT_H

#include "format/format.h"

#ifdef __cplusplus
extern "C" {
#endif

/** At most this many bytes of a bad value are quoted in a reason. */
#define SLUICE_FORMAT_QUOTE_MAX 60

/** Parse an optionally signed decimal integer that spans all len bytes
 *  (no spaces).  Returns 0, or -1 when the text is not one or overflows. */
int sluice_format_parse_int64(const char *s, size_t len, int64_t *out);

/** Convert text (a CSV field, a JSON string's unescaped contents) to
 *  spec->type: BIGINT per sluice_format_parse_int64; DOUBLE by strtod()
 *  consuming every byte (no leading space); BOOLEAN from true/false/1/0
 *  (case-insensitive); TIMESTAMP per sluice_ts_parse(spec->ts_format);
 *  VARCHAR copied into arena.  Returns 0, 1 when the text does not
 *  convert, SLUICE_ERR_NOMEM when the arena is exhausted. */
int sluice_format_convert_text(const sluice_field_spec *spec, const char *s, size_t len,
                               sluice_value *out, sluice_arena *arena);

/** Fill reason with "column '<name>': expected <TYPE>, got <shown>", where
 *  shown is at most SLUICE_FORMAT_QUOTE_MAX bytes of text (then "..."),
 *  wrapped in double quotes when `quote`.  Returns SLUICE_ERR_MALFORMED. */
sluice_err_t sluice_format_bad_value(char *reason, size_t reason_size,
                                     const sluice_field_spec *spec, const char *text,
                                     size_t len, int quote);

/* The JSON adapter (json_decoder.cpp) and the CSV decoder, behind the
 * sluice_decoder front.  Arguments as for sluice_decoder_new/decode/free. */
sluice_err_t sluice_json_decoder_new(const sluice_field_spec *specs, size_t nfields,
                                     void **impl, char *errstr, size_t errstr_size);
sluice_err_t sluice_json_decoder_decode(void *impl, const char *data, size_t len,
                                        sluice_value *out, sluice_arena *arena, char *reason,
                                        size_t reason_size);
void sluice_json_decoder_free(void *impl);

sluice_err_t sluice_csv_decoder_new(const sluice_decoder_options *opts,
                                    const sluice_field_spec *specs, size_t nfields,
                                    void **impl, char *errstr, size_t errstr_size);
sluice_err_t sluice_csv_decoder_decode(void *impl, const char *data, size_t len,
                                       sluice_value *out, sluice_arena *arena, char *reason,
                                       size_t reason_size);
void sluice_csv_decoder_free(void *impl);

/* The lines decoder (lines_decoder.c): exactly one field, the whole record. */
sluice_err_t sluice_lines_decoder_new(const sluice_field_spec *specs, size_t nfields, void **impl,
                                      char *errstr, size_t errstr_size);
sluice_err_t sluice_lines_decoder_decode(void *impl, const char *data, size_t len, sluice_value *out,
                                         sluice_arena *arena, char *reason, size_t reason_size);
void sluice_lines_decoder_free(void *impl);

#ifdef __cplusplus
}
#endif
#endif
