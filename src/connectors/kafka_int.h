/*
 * Helpers shared by the Kafka source and sink (private to
 * src/connectors/): building a librdkafka configuration from the profile,
 * and the error callback.
 *
 * Configuration layers, each overriding the one before (librdkafka's
 * CONFIGURATION.md names every property):
 *   1. the connector's defaults (e.g. group.id = sluice.<pipeline>),
 *   2. the shared [kafka] section, verbatim,
 *   3. the instance's own options mapped to properties (e.g. startingOffsets
 *      -> auto.offset.reset),
 *   4. the instance's `kafka.X = Y` overrides (property X),
 *   5. the connector's pinned properties (the ones its guarantees rest on,
 *      e.g. enable.auto.commit = false); setting one of them to another
 *      value in 2-4 is a configuration error.
 */
#ifndef SLUICE_KAFKA_INT_H
#define SLUICE_KAFKA_INT_H

#include <stddef.h>

#include <librdkafka/rdkafka.h>

#include "sluice/module.h"

/** How long a pipeline waits on Kafka without progress before it fails:
 *  Spark's kafkaConsumer.pollTimeoutMs default (120 s), in milliseconds. */
#define SLUICE_KAFKA_STALL_MS 120000

/** State the error callback fills; the connector polls it. */
typedef struct sluice_kafka_errors {
    const char *kind;        /**< "source" or "sink" */
    const char *instance;    /**< the SQL name */
    int fatal;               /**< a fatal error was raised (rd_kafka_fatal_error) */
    int quiet;               /**< 1: do not print transient errors to stderr */
} sluice_kafka_errors;

/** Build a configuration (see the layers above).  defaults, mapped and
 *  pinned are NULL-terminated key,value lists (may be NULL).  The error
 *  callback is set with `errs` as opaque (borrowed: must outlive the
 *  handle).  On failure returns SLUICE_ERR_CONFIG with librdkafka's own
 *  text, naming the section or option (file:line) it came from; values of
 *  secret properties (passwords, keys, tokens) are never quoted.  On
 *  success *out is owned by the caller (rd_kafka_new() takes it). */
sluice_err_t sluice_kafka_conf_build(const sluice_module_config *cfg, const char *kind,
                                     const char *const *defaults, const char *const *mapped,
                                     const char *const *pinned, sluice_kafka_errors *errs,
                                     rd_kafka_conf_t **out, char *errstr, size_t errstr_size);

/** 1 when a property's value must not appear in messages (sasl.password,
 *  ssl.key.password, ssl.key.pem, oauth tokens...). */
int sluice_kafka_secret_property(const char *name);

/** When the handle raised a fatal error (rd_kafka_fatal_error), fill errstr
 *  with "KIND INSTANCE (kafka): fatal error: ..." and return
 *  SLUICE_ERR_RUNTIME; else SLUICE_OK. */
sluice_err_t sluice_kafka_check_fatal(rd_kafka_t *rk, const sluice_kafka_errors *errs,
                                      char *errstr, size_t errstr_size);

#endif
