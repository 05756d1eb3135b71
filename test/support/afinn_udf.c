/*
 * An example function with the C ABI of include/sluice/function.h: the
 * AFINN sentiment score of a text (fixtures/models/afinn-165/README.md has
 * the tokenization).  Built by CMake as a shared object (libsluice_afinn)
 * and bound in profiles as
 *
 *   [function sentiment]
 *   connector = c
 *   library = build/test/libsluice_afinn.so
 *   symbol = sluice_afinn_sentiment
 *   lexicon = fixtures/models/afinn-165/afinn-165.tsv
 *
 * SQL: CREATE FUNCTION sentiment(review VARCHAR) RETURNS DOUBLE;
 * A NULL review scores NULL; a review with no known word scores 0.
 * For tests, `fail_on = TEXT` makes a call fail when one of its reviews is
 * exactly TEXT (to exercise on_error).
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sluice/function.h"

typedef struct entry {
    char *word;
    int score;
} entry;

typedef struct lexicon {
    entry *e;
    size_t n;
    char *fail_on; /* tests: a call containing a review equal to this fails */
} lexicon;

static int cmp_entry(const void *a, const void *b) {
    return strcmp(((const entry *)a)->word, ((const entry *)b)->word);
}

static void lex_close(void *state) {
    lexicon *lx = state;
    if (!lx) return;
    for (size_t i = 0; i < lx->n; i++) free(lx->e[i].word);
    free(lx->e);
    free(lx->fail_on);
    free(lx);
}

static int lex_init(void **state, const char *const *options, char *err, size_t err_size) {
    const char *path = NULL, *fail_on = NULL;
    for (size_t i = 0; options && options[i]; i += 2) {
        if (strcmp(options[i], "lexicon") == 0) path = options[i + 1];
        if (strcmp(options[i], "fail_on") == 0) fail_on = options[i + 1];
    }
    if (!path) {
        snprintf(err, err_size, "no lexicon = PATH (a word<TAB>score file) in the section");
        return -1;
    }
    FILE *f = fopen(path, "r");
    if (!f) {
        snprintf(err, err_size, "cannot open lexicon %s", path);
        return -1;
    }
    lexicon *lx = calloc(1, sizeof *lx);
    size_t cap = 0;
    char line[512];
    while (lx && fgets(line, sizeof line, f)) {
        char *tab = strchr(line, '\t');
        if (!tab || memchr(line, ' ', (size_t)(tab - line))) continue; /* phrases never equal one token */
        *tab = '\0';
        if (lx->n == cap) {
            cap = cap ? cap * 2 : 4096;
            entry *ne = realloc(lx->e, cap * sizeof *ne);
            if (!ne) break;
            lx->e = ne;
        }
        lx->e[lx->n].word = strdup(line);
        lx->e[lx->n].score = atoi(tab + 1);
        if (lx->e[lx->n].word) lx->n++;
    }
    fclose(f);
    if (!lx) {
        snprintf(err, err_size, "out of memory");
        return -1;
    }
    qsort(lx->e, lx->n, sizeof *lx->e, cmp_entry);
    if (fail_on) lx->fail_on = strdup(fail_on);
    *state = lx;
    return 0;
}

static int token_byte(unsigned char c) {
    return isalnum(c) ? 1 : (c == '\'' || c == '-' || c >= 0x80);
}

static double score(const lexicon *lx, const char *s, size_t len) {
    double total = 0;
    char tok[256];
    size_t i = 0;
    while (i < len) {
        while (i < len && !token_byte((unsigned char)s[i])) i++;
        size_t b = i;
        while (i < len && token_byte((unsigned char)s[i])) i++;
        size_t n = i - b;
        if (n == 0 || n >= sizeof tok) continue;
        for (size_t k = 0; k < n; k++) tok[k] = (char)tolower((unsigned char)s[b + k]);
        tok[n] = '\0';
        entry key = {tok, 0};
        const entry *hit = bsearch(&key, lx->e, lx->n, sizeof *lx->e, cmp_entry);
        if (hit) total += hit->score;
    }
    return total;
}

static int lex_call(void *state, size_t nrows, size_t nargs, const sluice_value *args, sluice_value *results,
                    char *err, size_t err_size) {
    const lexicon *lx = state;
    if (nargs != 1) {
        snprintf(err, err_size, "sentiment takes one VARCHAR argument, got %zu", nargs);
        return -1;
    }
    for (size_t r = 0; lx->fail_on && r < nrows; r++)
        if (args[r].type == SLUICE_TYPE_VARCHAR && args[r].len == strlen(lx->fail_on) &&
            memcmp(args[r].u.s, lx->fail_on, args[r].len) == 0) {
            snprintf(err, err_size, "review '%s' (fail_on)", lx->fail_on);
            return -1;
        }
    for (size_t r = 0; r < nrows; r++) {
        const sluice_value *a = &args[r];
        if (a->type != SLUICE_TYPE_VARCHAR) {
            results[r] = sluice_value_null();
            continue;
        }
        results[r] = sluice_value_double(score(lx, a->u.s, a->len));
    }
    return 0;
}

const sluice_function_abi sluice_afinn_sentiment = {
    .abi_version = SLUICE_FUNCTION_ABI_VERSION,
    .init = lex_init,
    .call = lex_call,
    .close = lex_close,
};

/* For the version check's test: the same function claiming a future ABI. */
const sluice_function_abi sluice_afinn_sentiment_v99 = {
    .abi_version = 99,
    .init = lex_init,
    .call = lex_call,
    .close = lex_close,
};
