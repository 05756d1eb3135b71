#include "conn_support.h"

#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

void sluice_test_cfg_init(sluice_test_cfg *c, const char *instance, const sluice_schema *schema) {
    memset(c, 0, sizeof *c);
    c->cfg.pipeline = "test";
    c->cfg.instance = instance;
    c->cfg.options = c->options;
    c->cfg.schema = schema;
}

void sluice_test_cfg_set(sluice_test_cfg *c, const char *key, const char *value) {
    if (c->cfg.noptions == SLUICE_TEST_MAX_OPTIONS) return;
    sluice_option *o = &c->options[c->cfg.noptions++];
    o->key = key;
    o->value = value;
    o->file = "test.ini";
    o->line = (int)c->cfg.noptions;
}

int sluice_test_capture_begin(const char *path) {
    fflush(stdout);
    int saved = dup(STDOUT_FILENO);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (saved < 0 || fd < 0) return -1;
    dup2(fd, STDOUT_FILENO);
    close(fd);
    return saved;
}

void sluice_test_capture_end(int saved) {
    fflush(stdout);
    if (saved < 0) return;
    dup2(saved, STDOUT_FILENO);
    close(saved);
}
