#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <ini.h>

#include "base/config.h"

/* libinih as packaged is built without INI_HANDLER_LINENO, so the handler
 * does not learn line numbers.  The loader re-reads the file's lines and
 * advances a cursor in step with the handler calls (which come in file
 * order) to find each key's line. */
typedef struct load_ctx {
    sluice_config *cfg;
    char **lines;
    size_t nlines;
    size_t cursor;        /* next line to look at (0-based) */
    char err[512];
} load_ctx;

static char *xstrdup(const char *s) {
    size_t n = strlen(s);
    char *p = malloc(n + 1);
    if (p) memcpy(p, s, n + 1);
    return p;
}

static char *normalise_section(const char *s) {
    char *out = malloc(strlen(s) + 1);
    if (!out) return NULL;
    size_t o = 0;
    int space = 0;
    for (; *s; s++) {
        if (isspace((unsigned char)*s)) {
            space = o > 0;
            continue;
        }
        if (space) out[o++] = ' ';
        space = 0;
        out[o++] = *s;
    }
    out[o] = '\0';
    return out;
}

sluice_err_t sluice_config_expand(const char *in, char **out, char *errstr, size_t errstr_size) {
    size_t cap = strlen(in) + 64, n = 0;
    char *buf = malloc(cap);
    if (!buf) return SLUICE_ERR_NOMEM;
#define PUT(ch)                                                        \
    do {                                                               \
        if (n + 1 >= cap) {                                            \
            char *nb = realloc(buf, cap *= 2);                         \
            if (!nb) { free(buf); return SLUICE_ERR_NOMEM; }           \
            buf = nb;                                                  \
        }                                                              \
        buf[n++] = (ch);                                               \
    } while (0)
    for (const char *p = in; *p;) {
        if (p[0] == '$' && p[1] == '$') {
            PUT('$');
            p += 2;
            continue;
        }
        if (p[0] == '$' && p[1] == '{') {
            const char *close = strchr(p + 2, '}');
            if (!close) {
                free(buf);
                return sluice_seterr(errstr, errstr_size, SLUICE_ERR_CONFIG,
                                     "unterminated '${' in value '%s'", in);
            }
            size_t len = (size_t)(close - (p + 2));
            char name[256];
            if (len == 0 || len >= sizeof name) {
                free(buf);
                return sluice_seterr(errstr, errstr_size, SLUICE_ERR_CONFIG,
                                     "bad variable reference in value '%s'", in);
            }
            memcpy(name, p + 2, len);
            name[len] = '\0';
            const char *def = NULL;
            char *sep = strstr(name, ":-");
            if (sep) {
                *sep = '\0';
                def = sep + 2;
            }
            for (char *c = name; *c; c++) {
                if (!(isalnum((unsigned char)*c) || *c == '_')) {
                    free(buf);
                    return sluice_seterr(errstr, errstr_size, SLUICE_ERR_CONFIG,
                                         "bad variable name '%s' in value '%s'", name, in);
                }
            }
            const char *val = getenv(name);
            if (!val || (def && !*val)) val = def;
            if (!val) {
                free(buf);
                return sluice_seterr(errstr, errstr_size, SLUICE_ERR_CONFIG,
                                     "${%s} is not set in the environment (write ${%s:-default} for a default)",
                                     name, name);
            }
            for (const char *v = val; *v; v++) PUT(*v);
            p = close + 1;
            continue;
        }
        PUT(*p);
        p++;
    }
#undef PUT
    buf[n] = '\0';
    *out = buf;
    return SLUICE_OK;
}

/* Parts of a key name that make its value a secret (the one list: the
 * start-up bindings, `sluice check` and every message use it).  Matched
 * case-insensitively anywhere in the key, so that `password`,
 * `kafka.sasl.password`, `ssl.key.password`, `sasl.oauthbearer.config`
 * and `ssl.keystore.password` are all covered. */
static const char *const secret_key_parts[] = {"password", "passwd", "secret", "token", "credential",
                                               "key.pem", "sasl.", NULL};

int sluice_config_secret_key(const char *key) {
    for (const char *const *p = secret_key_parts; *p; p++)
        if (strcasestr(key, *p)) return 1;
    return 0;
}

static sluice_err_t add_entry(sluice_config *cfg, const char *section, const char *key,
                              const char *raw_value, const char *file, int line, int col,
                              char *errstr, size_t errstr_size) {
    char *value;
    char sub[400];
    sluice_err_t err = sluice_config_expand(raw_value, &value, sub, sizeof sub);
    if (err) {
        if (err == SLUICE_ERR_NOMEM) return err;
        /* the expansion's messages quote the value: never a secret's */
        if (sluice_config_secret_key(key) && strstr(sub, "in value '"))
            snprintf(sub, sizeof sub, "bad or unterminated ${VAR} reference in the value of '%s' (a secret: not shown)",
                     key);
        if (line > 0)
            return sluice_seterr(errstr, errstr_size, err, "%s:%d:%d: %s", file, line, col, sub);
        return sluice_seterr(errstr, errstr_size, err, "%s: %s", file, sub);
    }
    if (cfg->nentries == cfg->cap) {
        size_t nc = cfg->cap ? cfg->cap * 2 : 16;
        sluice_config_entry *ne = realloc(cfg->entries, nc * sizeof(*ne));
        if (!ne) {
            free(value);
            return SLUICE_ERR_NOMEM;
        }
        cfg->entries = ne;
        cfg->cap = nc;
    }
    sluice_config_entry *e = &cfg->entries[cfg->nentries];
    e->section = normalise_section(section);
    e->key = xstrdup(key);
    e->value = value;
    e->file = file;
    e->line = line;
    e->col = col;
    if (!e->section || !e->key) {
        free(e->section);
        free(e->key);
        free(value);
        return SLUICE_ERR_NOMEM;
    }
    cfg->nentries++;
    return SLUICE_OK;
}

static int add_section(sluice_config *cfg, const char *name, int line) {
    if (cfg->nsections == cfg->scap) {
        size_t nc = cfg->scap ? cfg->scap * 2 : 8;
        sluice_config_section *ns = realloc(cfg->sections, nc * sizeof(*ns));
        if (!ns) return -1;
        cfg->sections = ns;
        cfg->scap = nc;
    }
    cfg->sections[cfg->nsections].name = normalise_section(name);
    cfg->sections[cfg->nsections].line = line;
    if (!cfg->sections[cfg->nsections].name) return -1;
    cfg->nsections++;
    return 0;
}

/* Find the line of `key` at or after the cursor; returns 1-based line and
 * sets *col, or 0 when not found. */
static int locate_key(load_ctx *ctx, const char *key, int *col) {
    size_t klen = strlen(key);
    for (size_t i = ctx->cursor; i < ctx->nlines; i++) {
        const char *l = ctx->lines[i];
        const char *p = l;
        while (*p == ' ' || *p == '\t') p++;
        if (strncmp(p, key, klen) == 0) {
            const char *q = p + klen;
            while (*q == ' ' || *q == '\t') q++;
            if (*q == '=' || *q == ':') {
                ctx->cursor = i + 1;
                *col = (int)(p - l) + 1;
                return (int)i + 1;
            }
        }
    }
    *col = 1;
    return 0;
}

/* Record [section] headers with their lines, scanning the raw lines. */
static int scan_sections(load_ctx *ctx) {
    for (size_t i = 0; i < ctx->nlines; i++) {
        const char *p = ctx->lines[i];
        while (*p == ' ' || *p == '\t') p++;
        if (*p != '[') continue;
        const char *end = strchr(p, ']');
        if (!end) {
            /* libinih skips such a line and files the keys below it under
             * the section before; name the line itself, not a later key
             * "outside any section" */
            snprintf(ctx->err, sizeof ctx->err, "%s:%zu:1: unterminated section header '%.60s': expected ']'",
                     ctx->cfg->path, i + 1, p);
            return 0;
        }
        char name[256];
        size_t len = (size_t)(end - p - 1);
        if (len >= sizeof name) len = sizeof name - 1;
        memcpy(name, p + 1, len);
        name[len] = '\0';
        if (add_section(ctx->cfg, name, (int)i + 1) != 0) return -1;
    }
    return 0;
}

static int on_ini_entry(void *user, const char *section, const char *name, const char *value) {
    load_ctx *ctx = user;
    int col;
    int line = locate_key(ctx, name, &col);
    /* a header of white space only (libinih keeps a section's first 49
     * bytes, so also "[" followed by 49 spaces) names no section either */
    const char *named = section;
    while (named && isspace((unsigned char)*named)) named++;
    if (!named || !*named) {
        snprintf(ctx->err, sizeof ctx->err,
                 "%s:%d:%d: key '%s' is outside any section: expected a [section] header first",
                 ctx->cfg->path, line, col, name);
        return 0;
    }
    char e[sizeof ctx->err];
    sluice_err_t err = add_entry(ctx->cfg, section, name, value, ctx->cfg->path, line, col, e, sizeof e);
    if (err) {
        snprintf(ctx->err, sizeof ctx->err, "%s", err == SLUICE_ERR_NOMEM ? "out of memory" : e);
        return 0;
    }
    return 1;
}

/* Split text into lines as getline(3) would, without the line breaks
 * ('\n' and any '\r' before it); a line holding a NUL byte ends there. */
static int split_lines(const char *text, size_t len, char ***out, size_t *n) {
    char **lines = NULL;
    size_t cnt = 0, cap = 0;
    const char *p = text, *end = text + len;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *stop = nl ? nl : end;
        size_t r = (size_t)(stop - p);
        while (r > 0 && p[r - 1] == '\r') r--;
        const char *nul = memchr(p, '\0', r);
        if (nul) r = (size_t)(nul - p);
        if (cnt == cap) {
            size_t nc = cap ? cap * 2 : 32;
            char **nl2 = realloc(lines, nc * sizeof(char *));
            if (!nl2) goto nomem;
            lines = nl2;
            cap = nc;
        }
        char *line = malloc(r + 1);
        if (!line) goto nomem;
        memcpy(line, p, r);
        line[r] = '\0';
        lines[cnt++] = line;
        p = nl ? nl + 1 : end;
    }
    *out = lines;
    *n = cnt;
    return 0;
nomem:
    for (size_t i = 0; i < cnt; i++) free(lines[i]);
    free(lines);
    return -1;
}

/* An ini_reader over a buffer that behaves as fgets(3) does on a file.
 * libinih reads a line into a buffer of its INI_MAX_LINE bytes and parses
 * the rest of a longer line as a line of its own (a value cut short, then
 * a syntax error on the wrong line, or a stray key): the first such line
 * is recorded here, so that the error names it. */
typedef struct mem_stream {
    const char *p;
    size_t left;
    int line;         /* lines handed out whole */
    int long_line;    /* the first line longer than libinih's buffer; 0: none */
    int max;          /* libinih's buffer, in bytes */
} mem_stream;

static char *mem_reader(char *str, int num, void *stream) {
    mem_stream *m = stream;
    if (m->left == 0 || num < 1) return NULL;
    size_t i = 0;
    while (i + 1 < (size_t)num && m->left > 0) {
        char c = *m->p++;
        m->left--;
        str[i++] = c;
        if (c == '\n') break;
    }
    str[i] = '\0';
    if (i && str[i - 1] == '\n') m->line++;
    else if (m->left > 0 && !m->long_line) {
        m->long_line = m->line + 1;
        m->max = num;
    }
    return str;
}

sluice_config *sluice_config_new_empty(void) {
    return calloc(1, sizeof(sluice_config));
}

sluice_err_t sluice_config_load_string(const char *text, size_t len, const char *name,
                                       sluice_config **out, char *errstr, size_t errstr_size) {
    load_ctx ctx;
    memset(&ctx, 0, sizeof ctx);
    *out = NULL;
    sluice_config *cfg = sluice_config_new_empty();
    if (!cfg || !(cfg->path = xstrdup(name))) {
        sluice_config_free(cfg);
        return SLUICE_ERR_NOMEM;
    }
    ctx.cfg = cfg;
    if (split_lines(text, len, &ctx.lines, &ctx.nlines) != 0) {
        sluice_config_free(cfg);
        return SLUICE_ERR_NOMEM;
    }
    int rc = -1;
    if (scan_sections(&ctx) == 0) {
        mem_stream m = {text, len, 0, 0, 0};
        rc = ctx.err[0] ? 0 : ini_parse_stream(mem_reader, &m, on_ini_entry, &ctx);
        if (rc != -1 && m.long_line)
            snprintf(ctx.err, sizeof ctx.err,
                     "%s:%d:1: the line is too long: a profile line holds at most %d bytes (use ${VAR} for a longer "
                     "value)",
                     name, m.long_line, m.max - 2);
    }
    for (size_t i = 0; i < ctx.nlines; i++) free(ctx.lines[i]);
    free(ctx.lines);
    if (rc == -1) {
        sluice_config_free(cfg);
        return SLUICE_ERR_NOMEM;
    }
    if (ctx.err[0]) {
        sluice_config_free(cfg);
        return sluice_seterr(errstr, errstr_size, SLUICE_ERR_CONFIG, "%s", ctx.err);
    }
    if (rc != 0) {
        sluice_config_free(cfg);
        return sluice_seterr(errstr, errstr_size, SLUICE_ERR_CONFIG,
                             "%s:%d:1: INI syntax error: expected '[section]', 'key = value' or a ';' comment",
                             name, rc);
    }
    *out = cfg;
    return SLUICE_OK;
}

/* The largest profile read: an INI file is text a person writes; more is a
 * mistake (a data file, /dev/zero), refused rather than read forever. */
#define MAX_PROFILE_BYTES (16u << 20)

sluice_err_t sluice_config_load(const char *path, sluice_config **out, char *errstr, size_t errstr_size) {
    FILE *f = fopen(path, "r");
    if (!f)
        return sluice_seterr(errstr, errstr_size, SLUICE_ERR_CONFIG, "cannot open profile file '%s': %s",
                             path, strerror(errno));
    char *text = NULL;
    size_t len = 0, cap = 0;
    for (;;) {
        if (len == cap) {
            size_t nc = cap ? cap * 2 : 4096;
            char *nt = realloc(text, nc);
            if (!nt) {
                free(text);
                fclose(f);
                return SLUICE_ERR_NOMEM;
            }
            text = nt;
            cap = nc;
        }
        size_t r = fread(text + len, 1, cap - len, f);
        len += r;
        if (r == 0) break;
        if (len > MAX_PROFILE_BYTES) {
            free(text);
            fclose(f);
            return sluice_seterr(errstr, errstr_size, SLUICE_ERR_CONFIG,
                                 "cannot read profile file '%s': more than %u MiB, which no profile is (is it the "
                                 "right file?)",
                                 path, MAX_PROFILE_BYTES >> 20);
        }
    }
    int failed = ferror(f);
    int saved = errno;
    fclose(f);
    if (failed) {
        free(text);
        return sluice_seterr(errstr, errstr_size, SLUICE_ERR_CONFIG, "cannot read profile file '%s': %s",
                             path, strerror(saved));
    }
    sluice_err_t err = sluice_config_load_string(text, len, path, out, errstr, errstr_size);
    free(text);
    return err;
}

/* Drop every entry of section/key but the last (the --set just added). */
static void drop_earlier(sluice_config *cfg, const char *key) {
    const sluice_config_entry *last = &cfg->entries[cfg->nentries - 1];
    size_t o = 0;
    for (size_t i = 0; i < cfg->nentries; i++) {
        sluice_config_entry *e = &cfg->entries[i];
        if (e != last && strcmp(e->section, last->section) == 0 && strcmp(e->key, key) == 0) {
            free(e->section);
            free(e->key);
            free(e->value);
            continue;
        }
        cfg->entries[o++] = *e;
    }
    cfg->nentries = o;
}

sluice_err_t sluice_config_set(sluice_config *cfg, const char *assignment, char *errstr, size_t errstr_size) {
    const char *eq = strchr(assignment, '=');
    const char *dot = strchr(assignment, '.');
    /* messages quote the SECTION.KEY part only: the value may be a secret,
     * and without an '=' the whole argument may be one */
    if (!eq)
        return sluice_seterr(errstr, errstr_size, SLUICE_ERR_CONFIG,
                             "--set: no '=' in the argument (not shown): expected SECTION.KEY=VALUE, "
                             "e.g. 'sink delays.path=out/x.csv'");
    int name_len = (int)(eq - assignment);
    if (!dot || dot > eq || dot == assignment || dot + 1 == eq)
        return sluice_seterr(errstr, errstr_size, SLUICE_ERR_CONFIG,
                             "--set '%.*s=...': expected SECTION.KEY=VALUE, e.g. 'sink delays.path=out/x.csv'",
                             name_len > 200 ? 200 : name_len, assignment);
    char section[256], key[256];
    size_t slen = (size_t)(dot - assignment), klen = (size_t)(eq - dot - 1);
    if (slen >= sizeof section || klen >= sizeof key)
        return sluice_seterr(errstr, errstr_size, SLUICE_ERR_CONFIG, "--set: section or key name too long");
    memcpy(section, assignment, slen);
    section[slen] = '\0';
    memcpy(key, dot + 1, klen);
    key[klen] = '\0';
    /* trim spaces around the key */
    char *k = key;
    while (*k == ' ') k++;
    size_t kl = strlen(k);
    while (kl > 0 && k[kl - 1] == ' ') k[--kl] = '\0';
    sluice_err_t err = add_entry(cfg, section, k, eq + 1, "--set", 0, 0, errstr, errstr_size);
    /* the override replaces the file's entry, so that every reader of the
     * section (first match or last) sees only the new value */
    if (!err) drop_earlier(cfg, k);
    return err;
}

const sluice_config_entry *sluice_config_find(const sluice_config *cfg, const char *section, const char *key) {
    for (size_t i = cfg->nentries; i-- > 0;)
        if (strcmp(cfg->entries[i].section, section) == 0 && strcmp(cfg->entries[i].key, key) == 0)
            return &cfg->entries[i];
    return NULL;
}

int sluice_parse_duration_ms(const char *s, int64_t *ms) {
    if (!s) return -1;
    while (isspace((unsigned char)*s)) s++;
    errno = 0;
    char *end;
    long long v = strtoll(s, &end, 10);
    if (end == s || errno || v < 0) return -1;
    while (isspace((unsigned char)*end)) end++;
    int64_t mult;
    if (*end == '\0' || strcasecmp(end, "ms") == 0) mult = 1;
    else if (strcasecmp(end, "s") == 0) mult = 1000;
    else if (strcasecmp(end, "m") == 0 || strcasecmp(end, "min") == 0) mult = 60000;
    else if (strcasecmp(end, "h") == 0) mult = 3600000;
    else if (strcasecmp(end, "d") == 0) mult = 86400000;
    else return -1;
    if (v > INT64_MAX / mult) return -1;
    *ms = (int64_t)v * mult;
    return 0;
}

int sluice_parse_bool(const char *s, int *out) {
    static const char *t[] = {"true", "yes", "on", "1"}, *f[] = {"false", "no", "off", "0"};
    for (int i = 0; i < 4; i++) {
        if (strcasecmp(s, t[i]) == 0) { *out = 1; return 0; }
        if (strcasecmp(s, f[i]) == 0) { *out = 0; return 0; }
    }
    return -1;
}

int sluice_parse_positive(const char *s, int64_t *out) {
    errno = 0;
    char *end;
    long long v = strtoll(s, &end, 10);
    if (end == s || *end || errno || v <= 0) return -1;
    *out = v;
    return 0;
}

void sluice_config_free(sluice_config *cfg) {
    if (!cfg) return;
    for (size_t i = 0; i < cfg->nentries; i++) {
        free(cfg->entries[i].section);
        free(cfg->entries[i].key);
        free(cfg->entries[i].value);
    }
    for (size_t i = 0; i < cfg->nsections; i++) free(cfg->sections[i].name);
    free(cfg->entries);
    free(cfg->sections);
    free(cfg->path);
    free(cfg);
}

int sluice_parse_bytes(const char *s, int64_t *out) {
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (end == s || errno || v <= 0) return -1;
    int64_t mult = 1;
    if (*end == 'k' || *end == 'K') mult = 1024, end++;
    else if (*end == 'M' || *end == 'm') mult = 1024 * 1024, end++;
    else if (*end == 'G' || *end == 'g') mult = 1024LL * 1024 * 1024, end++;
    if (*end == 'B' || *end == 'b') end++;
    if (*end || v > INT64_MAX / mult) return -1;
    *out = v * mult;
    return 0;
}
