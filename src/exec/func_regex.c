/*
 * REGEXP, REGEXP_EXTRACT and REGEXP_REPLACE over PCRE2 (Perl-compatible
 * regular expressions, close to the java.util.regex syntax Flink uses),
 * with the semantics of Flink's functions of those names.
 *
 * Patterns and text are UTF-8 (PCRE2_UTF: '.' is one character); text that
 * is not valid UTF-8 gives NULL rather than a guess.  A constant pattern
 * is compiled once at plan time, where a bad one is a
 * plan error; a pattern that comes with the row is compiled on first use
 * and kept in a small per-call cache (round robin).  Each match is bounded
 * (PCRE2's match limit), so a pathological pattern gives NULL, never a
 * hang.  The cache and the match data are the only state written while
 * running: a plan runs on its pipeline's one thread.
 */
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "exec/func.h"

/* Patterns of the rows remembered per call. */
#define CACHE_SIZE 8
/* Backtracking steps per match before giving up (PCRE2's default is 10M). */
#define MATCH_LIMIT 1000000

/* A compiled pattern with the match data its matches reuse (PCRE2 keeps
 * its backtracking frames there: tens of KiB, so not one per row). */
typedef struct compiled {
    pcre2_code *code;
    pcre2_match_data *md;
} compiled;

typedef struct cached {
    char *pattern;        /* malloc'd copy; NULL: empty slot */
    size_t len;
    compiled re;
} cached;

struct sluice_regex_site {
    compiled constant;       /* the constant pattern, or code NULL */
    pcre2_match_context *mctx;
    cached cache[CACHE_SIZE];
    size_t next;             /* the slot to replace next */
};

static void release(compiled *c) {
    pcre2_match_data_free(c->md);
    pcre2_code_free(c->code);
    c->md = NULL;
    c->code = NULL;
}

/* 0, or -1 with a message in err (when err is not NULL). */
static int compile(const char *p, size_t len, compiled *out, char *err, size_t err_size) {
    int code;
    PCRE2_SIZE off;
    out->md = NULL;
    out->code = pcre2_compile((PCRE2_SPTR)p, len, PCRE2_UTF, &code, &off, NULL);
    if (!out->code) {
        PCRE2_UCHAR msg[160];
        pcre2_get_error_message(code, msg, sizeof msg);
        if (err) snprintf(err, err_size, "bad regular expression: %s at offset %zu", (const char *)msg, (size_t)off);
        return -1;
    }
    /* no JIT: its generated code reads memory memcheck cannot follow (false
     * reports in the valgrind stage), and the interpreter keeps the match
     * limit exact */
    if (!(out->md = pcre2_match_data_create_from_pattern(out->code, NULL))) {
        release(out);
        if (err) snprintf(err, err_size, "out of memory");
        return -1;
    }
    return 0;
}

sluice_regex_site *sluice_regex_site_new(sluice_arena *arena, const sluice_value *pattern, char *err,
                                         size_t err_size) {
    sluice_regex_site *s = sluice_arena_alloc(arena, sizeof *s);
    if (!s) {
        snprintf(err, err_size, "out of memory");
        return NULL;
    }
    memset(s, 0, sizeof *s);
    s->mctx = pcre2_match_context_create(NULL);
    if (!s->mctx) {
        snprintf(err, err_size, "out of memory");
        return NULL;
    }
    pcre2_set_match_limit(s->mctx, MATCH_LIMIT);
    if (pattern && pattern->type == SLUICE_TYPE_VARCHAR &&
        compile(pattern->u.s, pattern->len, &s->constant, err, err_size) != 0) {
        pcre2_match_context_free(s->mctx);
        return NULL;
    }
    return s;
}

void sluice_regex_site_free(void *site) {
    sluice_regex_site *s = site;
    if (!s) return;
    release(&s->constant);
    pcre2_match_context_free(s->mctx);
    for (size_t i = 0; i < CACHE_SIZE; i++) {
        release(&s->cache[i].re);
        free(s->cache[i].pattern);
    }
}

/* The compiled pattern of argument 1: the constant, or the row's from the
 * cache (compiled now when new).  NULL when NULL or not a pattern. */
static const compiled *pattern_of(const sluice_expr *e, const sluice_value *row, sluice_arena *arena) {
    sluice_regex_site *s = e->aux;
    if (s->constant.code) return &s->constant;
    sluice_value p = sluice_expr_eval(e->args[1], row, arena);
    if (p.type != SLUICE_TYPE_VARCHAR) return NULL;
    for (size_t i = 0; i < CACHE_SIZE; i++)
        if (s->cache[i].pattern && s->cache[i].len == p.len && memcmp(s->cache[i].pattern, p.u.s, p.len) == 0)
            return &s->cache[i].re;
    compiled re;
    if (compile(p.u.s, p.len, &re, NULL, 0) != 0) return NULL;
    char *copy = malloc(p.len ? p.len : 1);
    if (!copy) {
        release(&re);
        return NULL;
    }
    if (p.len) memcpy(copy, p.u.s, p.len);
    cached *c = &s->cache[s->next];
    s->next = (s->next + 1) % CACHE_SIZE;
    release(&c->re);
    free(c->pattern);
    *c = (cached){copy, p.len, re};
    return &c->re;
}

static pcre2_match_context *limits(const sluice_expr *e) { return ((sluice_regex_site *)e->aux)->mctx; }

/* REGEXP(s, p): TRUE when some (possibly empty) substring of s matches. */
sluice_value sluice_fn_regexp(const sluice_expr *e, const sluice_value *row, sluice_arena *arena) {
    sluice_value s = sluice_expr_eval(e->args[0], row, arena);
    if (s.type != SLUICE_TYPE_VARCHAR) return sluice_value_null();
    const compiled *re = pattern_of(e, row, arena);
    if (!re) return sluice_value_null();
    int rc = pcre2_match(re->code, (PCRE2_SPTR)s.u.s, s.len, 0, 0, re->md, limits(e));
    if (rc == PCRE2_ERROR_NOMATCH) return sluice_value_bool(0);
    return rc >= 0 ? sluice_value_bool(1) : sluice_value_null();
}

/* REGEXP_EXTRACT(s, p [, group]): group `group` (0: the whole match, the
 * default) of the first match; NULL when nothing matches, the group does
 * not exist or took no part in the match.  The result borrows s. */
sluice_value sluice_fn_regexp_extract(const sluice_expr *e, const sluice_value *row, sluice_arena *arena) {
    sluice_value s = sluice_expr_eval(e->args[0], row, arena);
    if (s.type != SLUICE_TYPE_VARCHAR) return sluice_value_null();
    int64_t group = 0;
    if (e->nargs > 2) {
        sluice_value g = sluice_expr_eval(e->args[2], row, arena);
        if (g.type != SLUICE_TYPE_BIGINT) return sluice_value_null();
        group = g.u.i;
    }
    const compiled *re = pattern_of(e, row, arena);
    if (!re || group < 0 || group >= (int64_t)pcre2_get_ovector_count(re->md)) return sluice_value_null();
    int rc = pcre2_match(re->code, (PCRE2_SPTR)s.u.s, s.len, 0, 0, re->md, limits(e));
    if (rc < 0) return sluice_value_null();
    const PCRE2_SIZE *ov = pcre2_get_ovector_pointer(re->md);
    if (ov[2 * group] == PCRE2_UNSET || ov[2 * group + 1] < ov[2 * group]) return sluice_value_null();
    return sluice_value_varchar(s.u.s + ov[2 * group], ov[2 * group + 1] - ov[2 * group]);
}

/* Java's replacement syntax ($n, ${name}, \c for a literal c) in PCRE2's
 * ($n, ${name}, $$ for a literal $), allocated from arena. */
static char *java_replacement(const char *r, size_t len, sluice_arena *arena, size_t *out_len) {
    char *p = sluice_arena_alloc(arena, 2 * len + 1);
    if (!p) return NULL;
    size_t n = 0;
    for (size_t i = 0; i < len; i++) {
        if (r[i] == '\\' && i + 1 < len) {
            i++;
            if (r[i] == '$') p[n++] = '$';
            p[n++] = r[i];
        } else {
            p[n++] = r[i];
        }
    }
    *out_len = n;
    return p;
}

/* REGEXP_REPLACE(s, p, r): every match of p in s replaced by r (Java's
 * replaceAll: $1 is group 1; an unset group is empty). */
sluice_value sluice_fn_regexp_replace(const sluice_expr *e, const sluice_value *row, sluice_arena *arena) {
    sluice_value s = sluice_expr_eval(e->args[0], row, arena);
    sluice_value r = sluice_expr_eval(e->args[2], row, arena);
    if (s.type != SLUICE_TYPE_VARCHAR || r.type != SLUICE_TYPE_VARCHAR) return sluice_value_null();
    const compiled *re = pattern_of(e, row, arena);
    size_t rlen;
    char *rep = re ? java_replacement(r.u.s, r.len, arena, &rlen) : NULL;
    if (!rep) return sluice_value_null();
    uint32_t opts = PCRE2_SUBSTITUTE_GLOBAL | PCRE2_SUBSTITUTE_OVERFLOW_LENGTH | PCRE2_SUBSTITUTE_UNSET_EMPTY;
    PCRE2_SIZE cap = (PCRE2_SIZE)s.len + s.len / 2 + rlen + 16;
    for (int attempt = 0; attempt < 2; attempt++) {
        if (cap > UINT32_MAX) return sluice_value_null();
        PCRE2_UCHAR *buf = sluice_arena_alloc(arena, cap);
        if (!buf) return sluice_value_null();
        PCRE2_SIZE outlen = cap;
        int rc = pcre2_substitute(re->code, (PCRE2_SPTR)s.u.s, s.len, 0, opts, re->md, limits(e), (PCRE2_SPTR)rep,
                                  rlen, buf, &outlen);
        if (rc >= 0) return sluice_value_varchar((const char *)buf, outlen);
        if (rc != PCRE2_ERROR_NOMEMORY) return sluice_value_null();
        cap = outlen + 1; /* PCRE2_SUBSTITUTE_OVERFLOW_LENGTH: the size needed */
    }
    return sluice_value_null();
}
