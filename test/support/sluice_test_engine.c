/*
 * The engine test harness (sluice_test_engine.h).
 */
#include "sluice_test_engine.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "connectors/connectors.h"

typedef struct sink_file {
    char name[64];
    char path[4200];
    size_t consumed;
} sink_file;

static char *dir;
static char dead_path[4200];
static sluice_pipeline *pipe_;
static sluice_source *src;
static sink_file sinks[4];
static size_t nsinks;
static char errstr[2048];

int sluice_test_engine_setup(void **state) {
    (void)state;
    dir = sluice_test_mkdtemp("engine");
    snprintf(dead_path, sizeof dead_path, "%s/dead.jsonl", dir ? dir : ".");
    pipe_ = NULL;
    src = NULL;
    nsinks = 0;
    errstr[0] = '\0';
    return dir ? 0 : -1;
}

int sluice_test_engine_teardown(void **state) {
    (void)state;
    sluice_pipeline_close(pipe_);
    pipe_ = NULL;
    free(dir);
    dir = NULL;
    return 0;
}

const char *sluice_test_engine_dir(void) {
    return dir;
}

const char *sluice_test_engine_dead_letter_path(void) {
    return dead_path;
}

void sluice_test_engine_open(const char *sql, const char *names, const char *pipeline_extra) {
    char sql_path[4200], ini_path[4200];
    snprintf(sql_path, sizeof sql_path, "%s/p.sql", dir);
    snprintf(ini_path, sizeof ini_path, "%s/p.test.ini", dir);
    assert_int_equal(sluice_test_write_file(sql_path, sql), 0);

    char ini[8192];
    int n = snprintf(ini, sizeof ini, "[pipeline]\ndead_letter = %s\n%s\n[source ev]\nconnector = memory\nformat = json\n",
                     dead_path, pipeline_extra ? pipeline_extra : "");
    char list[256];
    snprintf(list, sizeof list, "%s", names);
    for (char *save = NULL, *name = strtok_r(list, ",", &save); name; name = strtok_r(NULL, ",", &save)) {
        assert_true(nsinks < sizeof sinks / sizeof sinks[0]);
        sink_file *s = &sinks[nsinks++];
        snprintf(s->name, sizeof s->name, "%s", name);
        snprintf(s->path, sizeof s->path, "%s/%s.csv", dir, name);
        s->consumed = 0;
        n += snprintf(ini + n, sizeof ini - (size_t)n, "[sink %s]\nconnector = file\nformat = csv\npath = %s\n", name,
                      s->path);
    }
    assert_int_equal(sluice_test_write_file(ini_path, ini), 0);

    sluice_pipeline_options o;
    memset(&o, 0, sizeof o);
    o.sql_path = sql_path;
    o.quiet = 1;
    if (sluice_pipeline_open(&o, &pipe_, errstr, sizeof errstr) != SLUICE_OK) fail_msg("open: %s", errstr);
    src = sluice_pipeline_source(pipe_, "ev");
    assert_non_null(src);
}

void sluice_test_engine_adopt(sluice_pipeline *p) {
    pipe_ = p;
    src = sluice_pipeline_source(p, "ev");
}

sluice_pipeline *sluice_test_engine_pipeline(void) {
    return pipe_;
}

sluice_source *sluice_test_engine_source(void) {
    return src;
}

void sluice_test_push_p(int32_t partition, const char *json) {
    assert_int_equal(sluice_memory_source_push(src, json, strlen(json), NULL, 0, partition, 0), SLUICE_OK);
}

void sluice_test_push_at(const char *json, int64_t ts_ms) {
    assert_int_equal(sluice_memory_source_push(src, json, strlen(json), NULL, 0, 0, ts_ms), SLUICE_OK);
}

void sluice_test_push(const char *json) {
    sluice_test_push_p(0, json);
}

void sluice_test_push_ev_p(int32_t partition, const char *hhmmss, const char *k, long v) {
    char json[256];
    if (k)
        snprintf(json, sizeof json, "{\"ts\": \"2001-01-01 %s\", \"k\": \"%s\", \"v\": %ld}", hhmmss, k, v);
    else
        snprintf(json, sizeof json, "{\"ts\": \"2001-01-01 %s\", \"v\": %ld}", hhmmss, v);
    sluice_test_push_p(partition, json);
}

void sluice_test_push_ev(const char *hhmmss, const char *k, long v) {
    sluice_test_push_ev_p(0, hhmmss, k, v);
}

int sluice_test_step(void) {
    int done = 0;
    if (sluice_pipeline_step(pipe_, &done, errstr, sizeof errstr) != SLUICE_OK) fail_msg("step: %s", errstr);
    return done;
}

void sluice_test_end_input(void) {
    assert_int_equal(sluice_memory_source_end(src), SLUICE_OK);
    for (int i = 0; i < 10; i++)
        if (sluice_test_step()) return;
    fail_msg("the pipeline did not finish after the end of its input");
}

sluice_pipeline_stats sluice_test_stats(void) {
    sluice_pipeline_stats st;
    sluice_pipeline_stats_get(pipe_, &st);
    return st;
}

static int cmp_lines(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static const char *take_rows(const char *name, int sorted) {
    static char out[16384];
    sink_file *s = NULL;
    for (size_t i = 0; i < nsinks; i++)
        if (strcmp(sinks[i].name, name) == 0) s = &sinks[i];
    assert_non_null(s);
    size_t len = 0;
    char *text = sluice_test_read_file(s->path, &len);
    assert_non_null(text);
    assert_true(len >= s->consumed);
    if (s->consumed == 0 && len > 0) {
        /* the file starts with its CSV header line: skip it */
        char *nl = strchr(text, '\n');
        assert_non_null(nl);
        s->consumed = (size_t)(nl - text) + 1;
    }
    char *fresh = text + s->consumed;
    s->consumed = len;
    if (!sorted) {
        snprintf(out, sizeof out, "%s", fresh);
        free(text);
        return out;
    }
    char *lines[512];
    size_t n = 0;
    for (char *save = NULL, *l = strtok_r(fresh, "\n", &save); l && n < 512; l = strtok_r(NULL, "\n", &save))
        lines[n++] = l;
    qsort(lines, n, sizeof lines[0], cmp_lines);
    size_t o = 0;
    out[0] = '\0';
    for (size_t i = 0; i < n; i++) o += (size_t)snprintf(out + o, sizeof out - o, "%s\n", lines[i]);
    free(text);
    return out;
}

const char *sluice_test_take(const char *name) {
    return take_rows(name, 1);
}

const char *sluice_test_take_in_order(const char *name) {
    return take_rows(name, 0);
}
