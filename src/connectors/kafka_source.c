/*
 * The "kafka" source: a member of a consumer group (librdkafka's high-level
 * consumer, rd_kafka_subscribe), one record per Kafka message.  With a
 * checkpoint_dir (cfg->checkpointing) it joins no group: the checkpoint
 * owns the positions, so it assigns itself every partition of its topics
 * (rd_kafka_incremental_assign from the topics' metadata, looked up again
 * every 10 s for new partitions), as Spark's and Flink's Kafka sources do;
 * a restart after a crash then never waits for the group to expire the
 * dead member's session (session.timeout.ms, 45 s by default).  Offsets
 * are still committed to the group (for monitoring), and a partition
 * without a checkpoint position starts at the group's committed offset,
 * else at startingOffsets.  A regex subscription keeps the group.
 *
 * Every wait is at most SLUICE_STOP_SLICE_MS long and ends on a stop
 * request (base/stop.h).
 *
 * Options: `topic` or `topics` (comma list; a name starting with ^ is a
 * regex, as in rd_kafka_subscribe), `format` json|csv, `csv.delimiter`,
 * `group.id` (default sluice.<pipeline>; sluice.<pipeline>.<source> for
 * each source of a pipeline with several Kafka sources), `startingOffsets` earliest|latest
 * (auto.offset.reset: where a partition without a committed offset starts;
 * default latest), `max_offsets_per_trigger` (Spark's maxOffsetsPerTrigger:
 * at most N records per micro-batch), `idle_timeout` (read by the engine),
 * and `kafka.X = Y` for any librdkafka consumer property X (over the shared
 * [kafka] section).
 *
 * Offsets (at-least-once towards Kafka, exactly-once effect with the
 * engine's protocol): auto commit and auto offset store are off; commit()
 * synchronously commits, for every partition, the offset after the last
 * record handed out -- execute() calls it only once every sink has
 * committed the epoch holding those records.
 *
 * Rebalances (rebalance_cb, served inside poll()): when partitions are
 * revoked, the previous epoch is already committed; records of the
 * revoked partitions collected by the current poll() are dropped from the
 * batch (the next owner reads them again from the committed offsets) and
 * the partitions are given up.  Assigned partitions start from their
 * committed offsets (else per startingOffsets).  Eager and cooperative
 * assignors are both handled (rd_kafka_rebalance_protocol).
 *
 * Caught up, and trigger = available_now: at assignment the source asks
 * each partition's high watermark (rd_kafka_query_watermark_offsets).  A
 * partition is caught up once it handed out the record before that mark,
 * or librdkafka reported its end (enable.partition.eof, pinned on).  poll()
 * returns 0 records only when every assigned partition is caught up (and
 * the group has assigned partitions at least once); until then it keeps
 * waiting, even with timeout_ms = 0, so that under available_now (which
 * polls with timeout 0 and stops a source at its first empty poll) the run
 * reads at least everything that was in the topics when it started.  A
 * wait without any progress fails after SLUICE_KAFKA_STALL_MS.  The source
 * never sets end_of_input: a topic has no end, so its windows are not
 * finalized.
 *
 * Positions: a record before its partition's position (`next`: set by a
 * seek, by the assignment of a sought partition, and by every record
 * handed out) was handed out already, or precedes where the engine asked
 * the partition to start: it is dropped, never delivered twice.  librdkafka
 * (seen with 2.0.2 and the test broker) can lose a seek issued while the
 * partition's start offset is still being looked up (ListOffsets in flight
 * for auto.offset.reset right after the assignment) and fetch from that
 * start instead; the first such record makes the source issue the seek
 * again, so the partition does not read its whole history to skip it.
 *
 * Memory: each message's value is copied into the batch arena with
 * SLUICE_RECORD_PADDING zero bytes after it, its key too; the message is
 * destroyed at once (no per-record malloc beyond librdkafka's own).
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <librdkafka/rdkafka.h>

#include "connectors/connectors.h"
#include "connectors/connectors_int.h"
#include "connectors/kafka_int.h"
#include "base/clock.h"
#include "base/log.h"
#include "base/stop.h"

/* The option table (sluice/module.h): checked before open(), printed by
 * `sluice connectors`.  `topic` or `topics` is required, not both: a
 * combination the table cannot say, checked by source_check().
 * `startingOffsets` is text rather than an enum so that a wrong value keeps
 * its message ("expected earliest or latest").  The shared [kafka] section
 * has no table: see kafka_common.c. */
static const sluice_option_spec kafka_source_specs[] = {
    {"topic", SLUICE_OPT_STRING, NULL,
     "the topic to read; a name starting with ^ is a regular expression (a subscription); set `topic` or `topics`",
     NULL, 0, 0, SLUICE_OPT_IDENTITY},
    {"topics", SLUICE_OPT_LIST, NULL, "the topics to read, comma-separated (in place of `topic`)", NULL, 0, 0,
     SLUICE_OPT_IDENTITY},
    {"format", SLUICE_OPT_ENUM, "json", "how a record's value decodes: a JSON object, or CSV fields", "json|csv", 0,
     0, 0},
    {"csv.delimiter", SLUICE_OPT_CHAR, ",", "the CSV field separator", NULL, 0, 0, 0},
    {"group.id", SLUICE_OPT_STRING, NULL,
     "the consumer group; default `sluice.<pipeline>`, or `sluice.<pipeline>.<source>` for each of several Kafka "
     "sources of one pipeline", NULL, 0, 0, 0},
    {"startingOffsets", SLUICE_OPT_STRING, "latest",
     "where a partition without a committed offset starts: `earliest` or `latest` (librdkafka's auto.offset.reset)",
     NULL, 0, 0, 0},
    {"max_offsets_per_trigger", SLUICE_OPT_INT, NULL,
     "records per micro-batch, at most (Spark's maxOffsetsPerTrigger); no limit by default", NULL, 1, 0, 0},
    {"idle_timeout", SLUICE_OPT_DURATION, NULL, "this source's idle timeout; default: `[pipeline] idle_timeout`",
     NULL, 0, 0, 0},
    {"kafka.", SLUICE_OPT_STRING, NULL,
     "`kafka.X = Y` sets librdkafka consumer property X to Y, over the `[kafka]` section; checked by librdkafka",
     NULL, 0, 0, SLUICE_OPT_PREFIX},
    {NULL, 0, NULL, NULL, NULL, 0, 0, 0},
};

/** One partition this member has been assigned. */
typedef struct kpart {
    char *topic;                 /* owned */
    int32_t partition;
    const rd_kafka_topic_t *rkt; /* lookup hint: the messages' topic handle */
    int64_t next;                /* offset after the last record handed out; -1: none yet */
    int64_t committed;           /* `next` as last committed; -1: none */
    int64_t end;                 /* high watermark at assignment; -1: not known yet */
    int caught_up;               /* reached `end`, or saw the partition's end */
    int64_t resought;            /* `next` when a lost seek was last re-issued; -1: never */
} kpart;

typedef struct kafka_source {
    sluice_source base;          /* first: the engine sees a sluice_source */
    sluice_kafka_errors errs;    /* librdkafka's opaque points here */
    const char *instance;
    const char *pipeline;        /* for log events */
    rd_kafka_t *rk;
    kpart *parts;
    size_t nparts, capparts;
    size_t hint;                 /* index of the last partition looked up */
    int assigned_once;           /* the group assigned partitions at least once */
    int awaiting;                /* eager revocation done, assignment pending */
    int need_marks;              /* some partition's `end` is not known */
    int64_t max_per_poll;        /* max_offsets_per_trigger, or INT64_MAX */
    sluice_record_batch *cur;    /* the batch poll() is filling, else NULL */
    size_t cur_first;            /* its first record of this poll */
    char *errbuf;                /* a failure inside a callback, for poll() */
    struct kseek {               /* positions applied when the group assigns */
        char *topic;             /* a partition: a checkpoint's (seek), or */
        int32_t partition;       /* this member's own when the partition */
        int64_t offset;          /* was revoked (own = 1) */
        int own;
    } *seeks;
    size_t nseeks;
    sluice_partition_ref *refs;  /* the assignment as handed to the engine */
    size_t caprefs;
    int self_assigned;           /* checkpoint_dir: the source assigns itself
                                    every partition (no group membership) */
    char **topics;               /* self_assigned: the topic names */
    size_t ntopics;
    int64_t next_refresh;        /* self_assigned: monotonic ms of the next
                                    metadata look-up (0: at the next poll) */
} kafka_source;

static kafka_source *from_opaque(void *opaque) {
    return (kafka_source *)((char *)opaque - offsetof(kafka_source, errs));
}

static kpart *part_find(kafka_source *ks, const char *topic, int32_t partition) {
    for (size_t i = 0; i < ks->nparts; i++)
        if (ks->parts[i].partition == partition && strcmp(ks->parts[i].topic, topic) == 0) return &ks->parts[i];
    return NULL;
}

/* The partition of a message: by topic handle first (cached), then by name. */
static kpart *part_of(kafka_source *ks, const rd_kafka_message_t *m) {
    if (ks->hint < ks->nparts) {
        kpart *p = &ks->parts[ks->hint];
        if (p->rkt == m->rkt && p->partition == m->partition) return p;
    }
    for (size_t i = 0; i < ks->nparts; i++) {
        kpart *p = &ks->parts[i];
        if (p->partition != m->partition) continue;
        if (p->rkt != m->rkt && strcmp(p->topic, rd_kafka_topic_name(m->rkt)) != 0) continue;
        p->rkt = m->rkt;
        ks->hint = i;
        return p;
    }
    return NULL;
}

static int part_add(kafka_source *ks, const char *topic, int32_t partition) {
    if (part_find(ks, topic, partition)) return 0;
    if (ks->nparts == ks->capparts) {
        size_t cap = ks->capparts ? 2 * ks->capparts : 16;
        kpart *np = realloc(ks->parts, cap * sizeof *np);
        if (!np) return -1;
        ks->parts = np;
        ks->capparts = cap;
    }
    char *t = strdup(topic);
    if (!t) return -1;
    ks->parts[ks->nparts++] = (kpart){.topic = t, .partition = partition, .next = -1, .committed = -1, .end = -1, .resought = -1};
    ks->need_marks = 1;
    return 0;
}

/* Where this member goes on when the group assigns (topic, partition):
 * the position wins over the group's committed offset.  0, or -1 when out
 * of memory. */
static int seek_remember(kafka_source *ks, const char *topic, int32_t partition, int64_t offset, int own) {
    size_t k;
    for (k = 0; k < ks->nseeks; k++)
        if (ks->seeks[k].partition == partition && strcmp(ks->seeks[k].topic, topic) == 0) break;
    if (k == ks->nseeks) {
        struct kseek *ns = realloc(ks->seeks, (ks->nseeks + 1) * sizeof *ns);
        if (!ns) return -1;
        ks->seeks = ns;
        if (!(ns[k].topic = strdup(topic))) return -1;
        ns[k].partition = partition;
        ks->nseeks++;
    }
    ks->seeks[k].offset = offset;
    ks->seeks[k].own = own;
    return 0;
}

/* Forget a revoked partition, and the records of it this poll collected.
 * Its position — after the last record handed to the engine — is kept: if
 * the group gives the partition back (a rebalance that a broker's failure
 * or a member's join caused), this member goes on from there rather than
 * from the group's committed offset, which lags behind the epoch in
 * progress and would deliver its records twice. */
static void part_revoke(kafka_source *ks, const char *topic, int32_t partition) {
    kpart *p = part_find(ks, topic, partition);
    if (!p) return;
    int64_t pos = p->next;
    sluice_record_batch *b = ks->cur;
    if (b) {
        size_t w = ks->cur_first;
        for (size_t r = ks->cur_first; r < b->count; r++) {
            const sluice_record *rec = &b->records[r];
            if (rec->partition == partition && rec->topic == p->topic) {
                if (rec->offset < pos) pos = rec->offset;
                continue;
            }
            b->records[w++] = *rec;
        }
        b->count = w;
    }
    if (pos >= 0 && seek_remember(ks, topic, partition, pos, 1) != 0 && !ks->errbuf)
        ks->errbuf = strdup("out of memory");
    free(p->topic);
    *p = ks->parts[--ks->nparts];
    ks->hint = 0;
}

static void set_callback_error(kafka_source *ks, const char *what, rd_kafka_error_t *e) {
    if (!e || ks->errbuf) {
        rd_kafka_error_destroy(e);
        return;
    }
    char buf[600];
    snprintf(buf, sizeof buf, "%s: %s", what, rd_kafka_error_string(e));
    ks->errbuf = strdup(buf);
    rd_kafka_error_destroy(e);
}

static void take_assignment(kafka_source *ks, rd_kafka_topic_partition_list_t *list, int coop);

/* librdkafka's rebalance callback (rd_kafka_conf_set_rebalance_cb; see
 * "Consumer groups" in librdkafka's INTRODUCTION.md). */
static void rebalance_cb(rd_kafka_t *rk, rd_kafka_resp_err_t err, rd_kafka_topic_partition_list_t *list,
                         void *opaque) {
    kafka_source *ks = from_opaque(opaque);
    int coop = strcmp(rd_kafka_rebalance_protocol(rk), "COOPERATIVE") == 0;
    if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
        take_assignment(ks, list, coop);
        return;
    }
    /* revoked or lost: give up the partitions */
    for (int i = 0; i < list->cnt; i++) part_revoke(ks, list->elems[i].topic, list->elems[i].partition);
    if (coop) {
        set_callback_error(ks, "incremental unassign", rd_kafka_incremental_unassign(rk, list));
    } else {
        rd_kafka_assign(rk, NULL);
        ks->awaiting = 1;
    }
}

/* Start reading the partitions of `list` (from the group's rebalance, or
 * from the topics' metadata when the source assigns itself): a position
 * the engine asked for (seek) wins over the group's committed offset.
 * coop: `list` adds to the assignment (incremental) instead of being the
 * whole of it. */
static void take_assignment(kafka_source *ks, rd_kafka_topic_partition_list_t *list, int coop) {
    rd_kafka_t *rk = ks->rk;
    {
        for (int i = 0; i < list->cnt; i++) {
            if (part_add(ks, list->elems[i].topic, list->elems[i].partition) != 0 && !ks->errbuf)
                ks->errbuf = strdup("out of memory");
            /* a checkpoint's position wins over the group's committed offset */
            for (size_t k = 0; k < ks->nseeks; k++)
                if (ks->seeks[k].partition == list->elems[i].partition &&
                    strcmp(ks->seeks[k].topic, list->elems[i].topic) == 0) {
                    list->elems[i].offset = ks->seeks[k].offset;
                    /* known position: a partition already at its end is
                     * caught up as soon as its high watermark is known,
                     * without waiting for the end-of-partition event */
                    kpart *p = part_find(ks, list->elems[i].topic, list->elems[i].partition);
                    if (p && ks->seeks[k].offset >= 0) p->next = ks->seeks[k].offset;
                }
        }
        if (!coop) {
            /* an eager assignment is the whole of it: a position this
             * member kept for a partition it did not get back is stale by
             * the time the partition returns (another member went on) */
            size_t w = 0;
            for (size_t k = 0; k < ks->nseeks; k++) {
                int keep = !ks->seeks[k].own;
                for (int i = 0; !keep && i < list->cnt; i++)
                    keep = ks->seeks[k].partition == list->elems[i].partition &&
                           strcmp(ks->seeks[k].topic, list->elems[i].topic) == 0;
                if (keep) ks->seeks[w++] = ks->seeks[k];
                else free(ks->seeks[k].topic);
            }
            ks->nseeks = w;
        }
        if (coop) {
            set_callback_error(ks, "incremental assign", rd_kafka_incremental_assign(rk, list));
        } else {
            rd_kafka_resp_err_t e = rd_kafka_assign(rk, list);
            if (e && !ks->errbuf) ks->errbuf = strdup(rd_kafka_err2str(e));
        }
        ks->assigned_once = 1;
        ks->awaiting = 0;
        if (!ks->errs.quiet) {
            /* a log event, so that --log-format json stays JSON lines */
            char *parts = NULL;
            size_t plen = 0;
            FILE *f = open_memstream(&parts, &plen);
            if (f) {
                for (int i = 0; i < list->cnt; i++)
                    fprintf(f, "%s %s[%d]", i ? "," : "", list->elems[i].topic, (int)list->elems[i].partition);
                fclose(f);
            }
            sluice_log(SLUICE_LOG_INFO, ks->pipeline, "kafka", ks->instance, "source %s (kafka): assigned%s%s (%d partition%s)",
                       ks->instance, list->cnt && parts ? parts : "", list->cnt ? "" : " nothing", list->cnt,
                       list->cnt == 1 ? "" : "s");
            free(parts);
        }
    }
}

/* How often a source that assigns itself looks for new partitions. */
#define SELF_ASSIGN_REFRESH_MS 10000

/* Self-assignment (checkpoint_dir): assign every partition of the source's
 * topics that is not assigned yet, from the topics' metadata (one request
 * per topic, WAIT_SLICE_MS each).  Until the first success it is tried at
 * every poll round; then every SELF_ASSIGN_REFRESH_MS, for partitions added
 * to a topic.  Failures (brokers unreachable) are retried. */
static void self_assign(kafka_source *ks) {
    int64_t now = sluice_clock_monotonic_ms();
    if (now < ks->next_refresh) return;
    rd_kafka_topic_partition_list_t *add = rd_kafka_topic_partition_list_new(8);
    if (!add) return;
    int ok = 1;
    for (size_t t = 0; t < ks->ntopics && !sluice_stop_requested(); t++) {
        rd_kafka_topic_t *rkt = rd_kafka_topic_new(ks->rk, ks->topics[t], NULL);
        const rd_kafka_metadata_t *md = NULL;
        rd_kafka_resp_err_t e = rkt ? rd_kafka_metadata(ks->rk, 0, rkt, &md, 2 * SLUICE_STOP_SLICE_MS)
                                    : rd_kafka_last_error();
        if (!e && md && md->topic_cnt == 1 && !md->topics[0].err && md->topics[0].partition_cnt > 0) {
            for (int i = 0; i < md->topics[0].partition_cnt; i++) {
                int32_t part = md->topics[0].partitions[i].id;
                if (!part_find(ks, ks->topics[t], part))
                    /* INVALID: the group's committed offset, else startingOffsets */
                    rd_kafka_topic_partition_list_add(add, ks->topics[t], part)->offset = RD_KAFKA_OFFSET_INVALID;
            }
        } else {
            ok = 0; /* not known yet (unreachable, or not created yet) */
        }
        if (md) rd_kafka_metadata_destroy(md);
        if (rkt) rd_kafka_topic_destroy(rkt);
    }
    if (add->cnt > 0) take_assignment(ks, add, 1);
    rd_kafka_topic_partition_list_destroy(add);
    ks->next_refresh = ok && ks->assigned_once ? now + SELF_ASSIGN_REFRESH_MS : 0;
}

static int caught_up(const kafka_source *ks) {
    if (!ks->assigned_once || ks->awaiting) return 0;
    for (size_t i = 0; i < ks->nparts; i++)
        if (!ks->parts[i].caught_up) return 0;
    return 1;
}

/* Ask the high watermark of partitions that do not know theirs yet.  A
 * failure leaves it unknown (the partition's end event still counts). */
static void query_marks(kafka_source *ks) {
    ks->need_marks = 0;
    for (size_t i = 0; i < ks->nparts; i++) {
        kpart *p = &ks->parts[i];
        if (p->end >= 0 || p->caught_up) continue;
        if (sluice_stop_requested()) {
            ks->need_marks = 1;
            break;
        }
        int64_t lo = 0, hi = 0;
        /* a short wait per request, asked again at the next poll round: a
         * stop is noticed between requests */
        rd_kafka_resp_err_t e = rd_kafka_query_watermark_offsets(ks->rk, p->topic, p->partition, &lo, &hi, 500);
        if (e) {
            ks->need_marks = 1;
            continue;
        }
        p->end = hi;
        if (hi <= lo || (p->next >= 0 && p->next >= hi)) p->caught_up = 1;
    }
}

/* Consumer lag per assigned partition, from the high watermark librdkafka
 * last saw in a fetch response (rd_kafka_get_watermark_offsets: cached, no
 * request) or the one queried at assignment. */
static size_t kafka_source_lag(sluice_source *src, sluice_partition_ref *parts, int64_t *lags, size_t max) {
    kafka_source *ks = (kafka_source *)src;
    size_t n = 0;
    for (size_t i = 0; i < ks->nparts && n < max; i++) {
        kpart *p = &ks->parts[i];
        int64_t lo = -1, hi = -1;
        if (rd_kafka_get_watermark_offsets(ks->rk, p->topic, p->partition, &lo, &hi) != RD_KAFKA_RESP_ERR_NO_ERROR)
            hi = -1;
        if (p->end > hi) hi = p->end;
        if (hi < 0) continue;
        int64_t pos = p->next >= 0 ? p->next : (lo >= 0 ? lo : 0);
        parts[n].topic = p->topic;
        parts[n].partition = p->partition;
        lags[n] = hi > pos ? hi - pos : 0;
        n++;
    }
    return n;
}

/* Position (topic, partition) at `offset` (checkpoint replay and
 * recovery): at once when the partition is assigned
 * (rd_kafka_seek_partitions), else when the group assigns it. */
static sluice_err_t kafka_source_seek(sluice_source *src, const char *topic, int32_t partition, int64_t offset,
                                      char *errstr, size_t errstr_size) {
    kafka_source *ks = (kafka_source *)src;
    if (!topic)
        return sluice_seterr(errstr, errstr_size, SLUICE_ERR_RUNTIME, "source %s (kafka): seek without a topic",
                             ks->instance);
    if (seek_remember(ks, topic, partition, offset, 0) != 0) return SLUICE_ERR_NOMEM;
    kpart *p = part_find(ks, topic, partition);
    if (!p) return SLUICE_OK;
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(l, topic, partition)->offset = offset;
    rd_kafka_error_t *e = rd_kafka_seek_partitions(ks->rk, l, 10000);
    rd_kafka_topic_partition_list_destroy(l);
    if (e) {
        sluice_err_t r = sluice_seterr(errstr, errstr_size, SLUICE_ERR_RUNTIME,
                                       "source %s (kafka): cannot seek %s[%d] to offset %lld: %s", ks->instance, topic,
                                       (int)partition, (long long)offset, rd_kafka_error_string(e));
        rd_kafka_error_destroy(e);
        return r;
    }
    p->next = offset;
    p->caught_up = 0;
    p->end = -1;
    ks->need_marks = 1;
    return SLUICE_OK;
}

static void kafka_source_close(sluice_source *src) {
    if (!src) return;
    kafka_source *ks = (kafka_source *)src;
    if (ks->rk) {
        ks->cur = NULL;
        rd_kafka_consumer_close(ks->rk);
        rd_kafka_destroy(ks->rk);
    }
    for (size_t i = 0; i < ks->nparts; i++) free(ks->parts[i].topic);
    free(ks->parts);
    for (size_t i = 0; i < ks->nseeks; i++) free(ks->seeks[i].topic);
    free(ks->refs);
    free(ks->seeks);
    free(ks->errbuf);
    for (size_t i = 0; i < ks->ntopics; i++) free(ks->topics[i]);
    free(ks->topics);
    free(ks);
}

static sluice_err_t subscribe(kafka_source *ks, const char *list, char *errstr, size_t errstr_size) {
    rd_kafka_topic_partition_list_t *topics = rd_kafka_topic_partition_list_new(4);
    char *copy = strdup(list);
    if (!topics || !copy) {
        free(copy);
        if (topics) rd_kafka_topic_partition_list_destroy(topics);
        return SLUICE_ERR_NOMEM;
    }
    char *save = NULL;
    for (char *t = strtok_r(copy, ", \t", &save); t; t = strtok_r(NULL, ", \t", &save))
        if (!rd_kafka_topic_partition_list_find(topics, t, RD_KAFKA_PARTITION_UA))
            rd_kafka_topic_partition_list_add(topics, t, RD_KAFKA_PARTITION_UA);
    free(copy);
    sluice_err_t err = SLUICE_OK;
    if (topics->cnt == 0) {
        err = sluice_seterr(errstr, errstr_size, SLUICE_ERR_CONFIG, "source %s (kafka): no topic in '%s'",
                            ks->instance, list);
    } else {
        rd_kafka_resp_err_t e = rd_kafka_subscribe(ks->rk, topics);
        if (e)
            err = sluice_seterr(errstr, errstr_size, SLUICE_ERR_CONFIG, "source %s (kafka): subscribe to '%s': %s",
                                ks->instance, list, rd_kafka_err2str(e));
    }
    rd_kafka_topic_partition_list_destroy(topics);
    return err;
}

/* Self-assignment: remember the topic names of `list` (comma list). */
static sluice_err_t self_assign_topics(kafka_source *ks, const char *list) {
    char *copy = strdup(list);
    if (!copy) return SLUICE_ERR_NOMEM;
    char *save = NULL;
    for (char *t = strtok_r(copy, ", \t", &save); t; t = strtok_r(NULL, ", \t", &save)) {
        int dup = 0;
        for (size_t i = 0; i < ks->ntopics; i++) dup |= strcmp(ks->topics[i], t) == 0;
        if (dup) continue;
        char **nt = realloc(ks->topics, (ks->ntopics + 1) * sizeof *nt);
        if (!nt || !(nt[ks->ntopics] = strdup(t))) {
            if (nt) ks->topics = nt;
            free(copy);
            return SLUICE_ERR_NOMEM;
        }
        ks->topics = nt;
        ks->ntopics++;
    }
    free(copy);
    ks->self_assigned = 1;
    sluice_log(SLUICE_LOG_INFO, ks->pipeline, "kafka", ks->instance,
               "checkpoint_dir: assigning every partition of the topic(s) itself; the consumer group only "
               "receives the committed offsets");
    return SLUICE_OK;
}

/* The source's own settings, checked (no connection). */
typedef struct source_settings {
    const char *topic, *starting, *group;
    int64_t maxper;
} source_settings;

static const char *const source_pinned[] = {"enable.auto.commit", "false", "enable.auto.offset.store", "false",
                                            "enable.partition.eof", "true", NULL};

static sluice_err_t source_check(const sluice_module_config *cfg, source_settings *st, char *errstr,
                                 size_t errstr_size) {
    const char *inst = cfg->instance ? cfg->instance : "?";
    sluice_err_t err = sluice_conn_check_specs(cfg, kafka_source_specs, "source", "kafka", errstr, errstr_size);
    if (err) return err;
    const char *topic = sluice_module_config_get(cfg, "topic");
    const char *topics = sluice_module_config_get(cfg, "topics");
    if (topic && topics)
        return sluice_conn_bad_option(cfg, "topics", "source", "kafka", "set either 'topic' or 'topics', not both",
                                      errstr, errstr_size);
    if (!topic) topic = topics;
    if (!topic || !topic[0])
        return sluice_seterr(errstr, errstr_size, SLUICE_ERR_CONFIG,
                             "source %s (kafka): option 'topic' (or 'topics') is required", inst);
    const char *format = sluice_module_config_get(cfg, "format");
    if (format && strcmp(format, "json") != 0 && strcmp(format, "csv") != 0)
        return sluice_conn_bad_option(cfg, "format", "source", "kafka", "expected json or csv", errstr,
                                      errstr_size);
    char delim = ',';
    int64_t maxper = INT64_MAX;
    if ((err = sluice_conn_opt_char(cfg, "csv.delimiter", "source", "kafka", &delim, errstr, errstr_size)) ||
        (err = sluice_conn_opt_posint(cfg, "max_offsets_per_trigger", "source", "kafka", &maxper, errstr,
                                      errstr_size)))
        return err;
    const char *starting = sluice_module_config_get(cfg, "startingOffsets");
    if (starting && strcmp(starting, "earliest") != 0 && strcmp(starting, "latest") != 0)
        return sluice_conn_bad_option(cfg, "startingOffsets", "source", "kafka", "expected earliest or latest",
                                      errstr, errstr_size);
    const char *group = sluice_module_config_get(cfg, "group.id");
    if (group && !group[0])
        return sluice_conn_bad_option(cfg, "group.id", "source", "kafka", "expected a consumer group name",
                                      errstr, errstr_size);
    st->topic = topic;
    st->starting = starting;
    st->group = group;
    st->maxper = maxper;
    return SLUICE_OK;
}

/* sluice check: the options and every librdkafka property (names and
 * values, as rd_kafka_conf_set() checks them), without a client. */
static sluice_err_t kafka_source_validate(const sluice_module_config *cfg, char *errstr, size_t errstr_size) {
    source_settings st;
    sluice_err_t err = source_check(cfg, &st, errstr, errstr_size);
    if (err) return err;
    sluice_kafka_errors errs = {.kind = "source", .instance = cfg->instance ? cfg->instance : "?"};
    rd_kafka_conf_t *conf = NULL;
    if ((err = sluice_kafka_conf_build(cfg, "source", NULL, NULL, source_pinned, &errs, &conf, errstr, errstr_size)))
        return err;
    rd_kafka_conf_destroy(conf);
    return SLUICE_OK;
}

static sluice_err_t kafka_source_open(const sluice_module_config *cfg, sluice_source **out, char *errstr,
                                      size_t errstr_size) {
    const char *inst = cfg->instance ? cfg->instance : "?";
    source_settings st;
    sluice_err_t err = source_check(cfg, &st, errstr, errstr_size);
    if (err) return err;
    const char *topic = st.topic, *starting = st.starting, *group = st.group;
    int64_t maxper = st.maxper;

    kafka_source *ks = calloc(1, sizeof *ks);
    if (!ks) return SLUICE_ERR_NOMEM;
    ks->base.ops = &sluice_kafka_source_ops;
    ks->instance = inst;
    ks->pipeline = cfg->pipeline;
    ks->max_per_poll = maxper;
    ks->errs.kind = "source";
    ks->errs.instance = inst;

    char default_group[300];
    if (cfg->default_group)
        snprintf(default_group, sizeof default_group, "%s", cfg->default_group);
    else
        snprintf(default_group, sizeof default_group, "sluice.%s", cfg->pipeline ? cfg->pipeline : "pipeline");
    const char *defaults[] = {"group.id", default_group, "client.id", "sluice", "auto.offset.reset", "latest",
                              NULL};
    const char *mapped[5] = {NULL};
    size_t nm = 0;
    if (group) {
        mapped[nm++] = "group.id";
        mapped[nm++] = group;
    }
    if (starting) {
        mapped[nm++] = "auto.offset.reset";
        mapped[nm++] = starting;
    }
    rd_kafka_conf_t *conf = NULL;
    err = sluice_kafka_conf_build(cfg, "source", defaults, mapped, source_pinned, &ks->errs, &conf, errstr,
                                  errstr_size);
    if (err) goto fail;
    rd_kafka_conf_set_rebalance_cb(conf, rebalance_cb);
    char why[512];
    ks->rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, why, sizeof why);
    if (!ks->rk) {
        rd_kafka_conf_destroy(conf);
        err = sluice_seterr(errstr, errstr_size, SLUICE_ERR_CONFIG, "source %s (kafka): %s", inst, why);
        goto fail;
    }
    rd_kafka_poll_set_consumer(ks->rk);
    /* With a checkpoint the checkpoint owns the positions: the source
     * assigns itself every partition (as Spark's and Flink's Kafka sources
     * do), so a restart never waits for the group to expire a dead member's
     * session.  A regex subscription keeps the group. */
    if (cfg->checkpointing && !strchr(topic, '^')) err = self_assign_topics(ks, topic);
    else err = subscribe(ks, topic, errstr, errstr_size);
    if (err) goto fail;
    *out = &ks->base;
    return SLUICE_OK;
fail:
    kafka_source_close(&ks->base);
    return err;
}

/* Take one message into the batch.  Returns 0, or -1 when out of memory. */
static int take(kafka_source *ks, sluice_record_batch *out, kpart *p, const rd_kafka_message_t *m) {
    sluice_record *rec = sluice_record_batch_push(out);
    char *v = rec ? sluice_arena_alloc(out->arena, m->len + SLUICE_RECORD_PADDING) : NULL;
    if (!v) return -1;
    if (m->len) memcpy(v, m->payload, m->len);
    memset(v + m->len, 0, SLUICE_RECORD_PADDING);
    rec->value = v;
    rec->value_len = m->len;
    if (m->key) {
        char *k = sluice_arena_alloc(out->arena, m->key_len + 1);
        if (!k) return -1;
        memcpy(k, m->key, m->key_len);
        k[m->key_len] = '\0';
        rec->key = k;
        rec->key_len = m->key_len;
    }
    rec->topic = p->topic;
    rec->partition = m->partition;
    rec->offset = m->offset;
    rd_kafka_timestamp_type_t tstype;
    int64_t ts = rd_kafka_message_timestamp(m, &tstype);
    rec->timestamp_ms = ts >= 0 ? ts : sluice_clock_realtime_ms();
    p->next = m->offset + 1;
    if (p->end >= 0 && p->next >= p->end) p->caught_up = 1;
    (void)ks;
    return 0;
}

/* A message before p's position (see "Positions" at the top): drop it, and
 * issue the seek to the position again, once per position. */
static int before_position(kafka_source *ks, kpart *p, const rd_kafka_message_t *m) {
    if (p->next < 0 || m->offset >= p->next) return 0;
    if (p->resought != p->next) {
        p->resought = p->next;
        sluice_log(SLUICE_LOG_INFO, ks->pipeline, "kafka", ks->instance,
                   "%s[%d] delivered offset %lld, before its position %lld: seeking again", p->topic,
                   (int)p->partition, (long long)m->offset, (long long)p->next);
        rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(1);
        if (l) {
            rd_kafka_topic_partition_list_add(l, p->topic, p->partition)->offset = p->next;
            rd_kafka_error_t *e = rd_kafka_seek_partitions(ks->rk, l, 10000);
            if (e) rd_kafka_error_destroy(e); /* the records before the position are dropped anyway */
            rd_kafka_topic_partition_list_destroy(l);
        }
    }
    return 1;
}

/* An error event from the consumer queue: the partition's end, a problem
 * that stops the source, or information (librdkafka recovers by itself). */
static sluice_err_t consumer_event(kafka_source *ks, const rd_kafka_message_t *m, char *errstr,
                                   size_t errstr_size) {
    if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
        kpart *p = m->rkt ? part_of(ks, m) : NULL;
        if (p) p->caught_up = 1;
        return SLUICE_OK;
    }
    const char *topic = m->rkt ? rd_kafka_topic_name(m->rkt) : NULL;
    if (m->err == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART || m->err == RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED ||
        m->err == RD_KAFKA_RESP_ERR_GROUP_AUTHORIZATION_FAILED || m->err == RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC)
        return sluice_seterr(errstr, errstr_size, SLUICE_ERR_RUNTIME, "source %s (kafka): %s%s%s%s: %s",
                             ks->instance, topic ? "topic '" : "", topic ? topic : "", topic ? "'" : "",
                             topic ? "" : "consumer", rd_kafka_message_errstr(m));
    if (!ks->errs.quiet)
        sluice_log(SLUICE_LOG_WARN, ks->pipeline, "kafka", ks->instance, "source %s (kafka): %s: %s", ks->instance,
                   rd_kafka_err2name(m->err), rd_kafka_message_errstr(m));
    return SLUICE_OK;
}

static sluice_err_t kafka_source_poll(sluice_source *src, sluice_record_batch *out, size_t max_records,
                                      int timeout_ms, char *errstr, size_t errstr_size) {
    kafka_source *ks = (kafka_source *)src;
    size_t limit = max_records;
    if ((uint64_t)ks->max_per_poll < limit) limit = (size_t)ks->max_per_poll;
    if (limit == 0) return SLUICE_OK;
    int64_t now = sluice_clock_monotonic_ms();
    int64_t deadline = now + (timeout_ms > 0 ? timeout_ms : 0);
    int64_t stall = now + SLUICE_KAFKA_STALL_MS;
    sluice_err_t err = SLUICE_OK;
    ks->cur = out;
    ks->cur_first = out->count;
    while (out->count - ks->cur_first < limit) {
        /* a stop: hand out what this poll collected; the engine ends the run */
        if (sluice_stop_requested()) break;
        if ((err = sluice_kafka_check_fatal(ks->rk, &ks->errs, errstr, errstr_size))) break;
        if (ks->errbuf) {
            err = sluice_seterr(errstr, errstr_size, SLUICE_ERR_RUNTIME, "source %s (kafka): rebalance: %s",
                                ks->instance, ks->errbuf);
            break;
        }
        if (ks->self_assigned) self_assign(ks);
        if (ks->need_marks) query_marks(ks);
        now = sluice_clock_monotonic_ms();
        int done = caught_up(ks);
        int64_t wait = deadline - now;
        if (wait <= 0) {
            /* past the caller's timeout: keep reading only towards the end
             * offsets seen at assignment */
            if (done) wait = 0;
            else if (now >= stall) {
                err = sluice_seterr(errstr, errstr_size, SLUICE_ERR_TIMED_OUT,
                                    "source %s (kafka): no progress for %d s: %s (are the brokers reachable?)",
                                    ks->instance, SLUICE_KAFKA_STALL_MS / 1000,
                                    ks->assigned_once   ? "partitions assigned but no records or end of partition"
                                    : ks->self_assigned ? "the topics' partitions could not be looked up"
                                                        : "no partition assigned by the consumer group");
                break;
            } else {
                wait = stall - now < 100 ? stall - now : 100;
            }
        }
        if (wait > SLUICE_STOP_SLICE_MS) wait = SLUICE_STOP_SLICE_MS;
        rd_kafka_message_t *m = rd_kafka_consumer_poll(ks->rk, (int)wait);
        if (!m) {
            if (wait == 0) break;
            continue;
        }
        stall = sluice_clock_monotonic_ms() + SLUICE_KAFKA_STALL_MS;
        /* the messages librdkafka has already fetched are taken in a burst,
         * without the checks above between them (a fatal error, a stop or
         * the clock per record cost more than decoding it); the burst ends
         * at the limit, when the queue is empty, or when a callback has set
         * something the checks handle */
        for (;;) {
            if (m->err) {
                err = consumer_event(ks, m, errstr, errstr_size);
                rd_kafka_message_destroy(m);
                if (err) break;
            } else {
                kpart *p = part_of(ks, m);
                /* no partition: a stale message of a revoked one */
                int rc = p && !before_position(ks, p, m) ? take(ks, out, p, m) : 0;
                rd_kafka_message_destroy(m);
                if (rc != 0) {
                    err = SLUICE_ERR_NOMEM;
                    break;
                }
            }
            if (out->count - ks->cur_first >= limit || ks->errbuf || ks->need_marks || sluice_stop_requested()) break;
            if (!(m = rd_kafka_consumer_poll(ks->rk, 0))) break;
        }
        if (err) break;
    }
    ks->cur = NULL;
    if (!err && ks->nparts) {
        if (ks->nparts > ks->caprefs) {
            sluice_partition_ref *nr = realloc(ks->refs, ks->nparts * sizeof *nr);
            if (!nr) return SLUICE_ERR_NOMEM;
            ks->refs = nr;
            ks->caprefs = ks->nparts;
        }
        for (size_t i = 0; i < ks->nparts; i++) {
            ks->refs[i].topic = ks->parts[i].topic;
            ks->refs[i].partition = ks->parts[i].partition;
        }
        out->assigned = ks->refs;
        out->nassigned = ks->nparts;
    }
    return err;
}

static int retriable_commit(rd_kafka_resp_err_t e) {
    switch (e) {
    case RD_KAFKA_RESP_ERR__TRANSPORT:
    case RD_KAFKA_RESP_ERR__TIMED_OUT:
    case RD_KAFKA_RESP_ERR__WAIT_COORD:
    case RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN:
    case RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT:
    case RD_KAFKA_RESP_ERR_NETWORK_EXCEPTION:
    case RD_KAFKA_RESP_ERR_COORDINATOR_NOT_AVAILABLE:
    case RD_KAFKA_RESP_ERR_NOT_COORDINATOR:
    case RD_KAFKA_RESP_ERR_COORDINATOR_LOAD_IN_PROGRESS:
    case RD_KAFKA_RESP_ERR_REBALANCE_IN_PROGRESS:
        return 1;
    default:
        return 0;
    }
}

/* Commit, for every partition, the offset after the last record handed out
 * (rd_kafka_commit, synchronous).  Retriable errors are retried until
 * SLUICE_KAFKA_STALL_MS; a commit refused because this member left the
 * group (a rebalance) is reported on stderr: the records were processed and
 * their results committed, the next owner may read them once more. */
static sluice_err_t kafka_source_commit(sluice_source *src, int64_t epoch, char *errstr, size_t errstr_size) {
    kafka_source *ks = (kafka_source *)src;
    rd_kafka_topic_partition_list_t *list = rd_kafka_topic_partition_list_new((int)ks->nparts + 1);
    if (!list) return SLUICE_ERR_NOMEM;
    for (size_t i = 0; i < ks->nparts; i++) {
        kpart *p = &ks->parts[i];
        if (p->next >= 0 && p->next != p->committed)
            rd_kafka_topic_partition_list_add(list, p->topic, p->partition)->offset = p->next;
    }
    sluice_err_t err = SLUICE_OK;
    int64_t give_up = sluice_clock_monotonic_ms() + SLUICE_KAFKA_STALL_MS;
    while (list->cnt > 0) {
        rd_kafka_resp_err_t e = rd_kafka_commit(ks->rk, list, 0);
        for (int i = 0; !e && i < list->cnt; i++) e = list->elems[i].err;
        if (!e) {
            for (int i = 0; i < list->cnt; i++) {
                kpart *p = part_find(ks, list->elems[i].topic, list->elems[i].partition);
                if (p) p->committed = list->elems[i].offset;
            }
            break;
        }
        if (retriable_commit(e) && sluice_clock_monotonic_ms() < give_up) {
            if ((err = sluice_kafka_check_fatal(ks->rk, &ks->errs, errstr, errstr_size))) break;
            if (sluice_stop_sleep_ms(100)) {
                err = sluice_seterr(errstr, errstr_size, SLUICE_ERR_STOPPED,
                                    "source %s (kafka): stopped while committing the offsets of epoch %lld (%s)",
                                    ks->instance, (long long)epoch, rd_kafka_err2str(e));
                break;
            }
            continue;
        }
        if (e == RD_KAFKA_RESP_ERR_ILLEGAL_GENERATION || e == RD_KAFKA_RESP_ERR_UNKNOWN_MEMBER_ID ||
            e == RD_KAFKA_RESP_ERR_FENCED_INSTANCE_ID || e == RD_KAFKA_RESP_ERR__STATE) {
            sluice_log(SLUICE_LOG_WARN, ks->pipeline, "kafka", ks->instance,
                       "source %s (kafka): offsets of epoch %lld not committed (%s): the group rebalanced; "
                       "the partitions' next owner may read those records again",
                       ks->instance, (long long)epoch, rd_kafka_err2str(e));
            break;
        }
        err = sluice_seterr(errstr, errstr_size, SLUICE_ERR_RUNTIME,
                            "source %s (kafka): cannot commit the offsets of epoch %lld: %s", ks->instance,
                            (long long)epoch, rd_kafka_err2str(e));
        break;
    }
    rd_kafka_topic_partition_list_destroy(list);
    return err;
}

static void kafka_source_position(sluice_source *src, const sluice_record *rec, char *buf, size_t size) {
    (void)src;
    snprintf(buf, size, "topic %s partition %d offset %lld", rec->topic ? rec->topic : "?", (int)rec->partition,
             (long long)rec->offset);
}

/** The "kafka" source connector (see the top of this file). */
const sluice_source_ops sluice_kafka_source_ops = {
    .version = SLUICE_MODULE_VERSION,
    .name = "kafka",
    .shared_section = "kafka",
    .consumer_group = 1,
    .option_specs = kafka_source_specs,
    /* no .shared_specs: [kafka] takes any librdkafka property (kafka_common.c) */
    .open = kafka_source_open,
    .poll = kafka_source_poll,
    .commit = kafka_source_commit,
    .position = kafka_source_position,
    .close = kafka_source_close,
    .seek = kafka_source_seek,
    .lag = kafka_source_lag,
    .validate = kafka_source_validate,
};
