/*
 * sluice-gen: the seeded random source and the synthetic streams of the
 * reference designs (orders, stock ticks, page views, product reviews,
 * customer registrations).
 */
#include "gen_int.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>

/* ---------------- random source ---------------- */

static uint64_t splitmix64(uint64_t *x) {
    uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

void sluice_gen_rng_seed(sluice_gen_rng *r, uint64_t seed, uint64_t stream) {
    uint64_t x = seed ^ (stream * 0xd1b54a32d192ed03ULL);
    for (int i = 0; i < 4; i++) r->s[i] = splitmix64(&x);
}

uint64_t sluice_gen_rng_next(sluice_gen_rng *r) {
    uint64_t *s = r->s;
    uint64_t result = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

uint64_t sluice_gen_rng_below(sluice_gen_rng *r, uint64_t n) {
    uint64_t limit = UINT64_MAX - UINT64_MAX % n;
    uint64_t x;
    do x = sluice_gen_rng_next(r);
    while (x >= limit);
    return x % n;
}

int64_t sluice_gen_rng_range(sluice_gen_rng *r, int64_t lo, int64_t hi) {
    return lo + (int64_t)sluice_gen_rng_below(r, (uint64_t)(hi - lo) + 1);
}

double sluice_gen_rng_unit(sluice_gen_rng *r) {
    return (double)(sluice_gen_rng_next(r) >> 11) * 0x1.0p-53;
}

/* An index in [0, n) drawn with the given integer weights. */
static size_t pick_weighted(sluice_gen_rng *r, const unsigned *weights, size_t n) {
    uint64_t total = 0;
    for (size_t i = 0; i < n; i++) total += weights[i];
    uint64_t x = sluice_gen_rng_below(r, total);
    for (size_t i = 0; i < n; i++) {
        if (x < weights[i]) return i;
        x -= weights[i];
    }
    return n - 1;
}

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

/* ---------------- record writer ---------------- */

static void w_reserve(sluice_gen_writer *w, size_t extra) {
    if (w->len + extra + 1 <= w->cap) return;
    size_t cap = w->cap ? w->cap : 256;
    while (cap < w->len + extra + 1) cap *= 2;
    char *b = realloc(w->buf, cap);
    if (!b) abort();
    w->buf = b;
    w->cap = cap;
}

static void w_raw(sluice_gen_writer *w, const char *s, size_t n) {
    w_reserve(w, n);
    memcpy(w->buf + w->len, s, n);
    w->len += n;
    w->buf[w->len] = '\0';
}

static void w_printf(sluice_gen_writer *w, const char *fmt, ...) {
    char tmp[128];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    w_raw(w, tmp, (size_t)n < sizeof tmp ? (size_t)n : sizeof tmp - 1);
}

static void w_json_string(sluice_gen_writer *w, const char *s) {
    w_raw(w, "\"", 1);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\') {
            char esc[2] = {'\\', (char)*p};
            w_raw(w, esc, 2);
        } else if (*p < 0x20) {
            w_printf(w, "\\u%04x", *p);
        } else {
            w_raw(w, (const char *)p, 1);
        }
    }
    w_raw(w, "\"", 1);
}

/* Open the next field: separator and name.  Returns 1 when this field is
 * the one to write with the wrong type. */
static int w_field(sluice_gen_writer *w, const char *name) {
    w_raw(w, w->field == 0 ? "{" : ", ", w->field == 0 ? 1 : 2);
    w_json_string(w, name);
    w_raw(w, ": ", 2);
    return w->field++ == w->wrong_type;
}

void sluice_gen_write_int(sluice_gen_writer *w, const char *name, int64_t v) {
    if (w_field(w, name))
        w_printf(w, "\"%lld units\"", (long long)v);
    else
        w_printf(w, "%lld", (long long)v);
}

void sluice_gen_write_cents(sluice_gen_writer *w, const char *name, int64_t cents) {
    const char *sign = cents < 0 ? "-" : "";
    long long a = cents < 0 ? -(long long)cents : (long long)cents;
    if (w_field(w, name))
        w_printf(w, "\"%s%lld.%02lld USD\"", sign, a / 100, a % 100);
    else
        w_printf(w, "%s%lld.%02lld", sign, a / 100, a % 100);
}

void sluice_gen_write_str(sluice_gen_writer *w, const char *name, const char *v) {
    if (w_field(w, name)) {
        w_raw(w, "{\"value\": ", 10);
        w_json_string(w, v);
        w_raw(w, "}", 1);
    } else {
        w_json_string(w, v);
    }
}

void sluice_gen_write_ts(sluice_gen_writer *w, const char *name) {
    if (w_field(w, name)) {
        w_raw(w, "true", 4);
    } else {
        char ts[32];
        size_t n = sluice_gen_ts_render(w->ts_ms, ts, sizeof ts);
        w_raw(w, "\"", 1);
        w_raw(w, ts, n);
        w_raw(w, "\"", 1);
    }
}

size_t sluice_gen_ts_render(int64_t ms, char *buf, size_t size) {
    int64_t secs = ms >= 0 ? ms / 1000 : -((-ms + 999) / 1000);
    int64_t frac = ms - secs * 1000;
    time_t t = (time_t)secs;
    struct tm tm;
    gmtime_r(&t, &tm);
    int n = snprintf(buf, size, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1,
                     tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (int)frac);
    return n < 0 ? 0 : (size_t)n < size ? (size_t)n : size - 1;
}

/* ---------------- orders ---------------- */

static const char *const regions[] = {"north", "south", "east", "west", "central"};

static const sluice_gen_field order_fields[] = {
    {"orderid", SLUICE_GEN_INT}, {"itemid", SLUICE_GEN_INT}, {"shopid", SLUICE_GEN_INT},
    {"region", SLUICE_GEN_STRING}, {"count", SLUICE_GEN_INT}, {"ts", SLUICE_GEN_TIMESTAMP}};

static void order_record(void *state, sluice_gen_writer *w, sluice_gen_rng *r, uint64_t i) {
    (void)state;
    int64_t itemid = sluice_gen_rng_range(r, 1, 500);
    int64_t shopid = sluice_gen_rng_range(r, 1, 20);
    int64_t count = sluice_gen_rng_range(r, 1, 10);
    sluice_gen_write_int(w, "orderid", (int64_t)i + 1);
    sluice_gen_write_int(w, "itemid", itemid);
    sluice_gen_write_int(w, "shopid", shopid);
    sluice_gen_write_str(w, "region", regions[(shopid - 1) % (int64_t)COUNT(regions)]);
    sluice_gen_write_int(w, "count", count);
    sluice_gen_write_ts(w, "ts");
}

/* ---------------- stock ticks ---------------- */

static const char *const symbols[] = {"AAPL", "MSFT", "GOOG", "AMZN", "META",
                                      "NVDA", "TSLA", "JPM",  "XOM",  "KO"};
static const int64_t symbol_start_cents[] = {18500, 37500, 14000, 15200, 35000,
                                             49500, 24800, 17000, 10500, 5950};

static const sluice_gen_field tick_fields[] = {{"symbol", SLUICE_GEN_STRING},
                                               {"price", SLUICE_GEN_DECIMAL},
                                               {"volume", SLUICE_GEN_INT},
                                               {"ts", SLUICE_GEN_TIMESTAMP}};

static void *tick_state_new(void) {
    int64_t *cents = malloc(sizeof symbol_start_cents);
    if (cents) memcpy(cents, symbol_start_cents, sizeof symbol_start_cents);
    return cents;
}

/* Each tick moves its symbol's price by a uniform step of at most 0.5%
 * (at least one cent), never below one dollar. */
static void tick_record(void *state, sluice_gen_writer *w, sluice_gen_rng *r, uint64_t i) {
    (void)i;
    int64_t *cents = state;
    size_t s = (size_t)sluice_gen_rng_below(r, COUNT(symbols));
    int64_t step = cents[s] / 200 > 1 ? cents[s] / 200 : 1;
    cents[s] += sluice_gen_rng_range(r, -step, step);
    if (cents[s] < 100) cents[s] = 100;
    int64_t volume = sluice_gen_rng_range(r, 1, 100) * 10;
    sluice_gen_write_str(w, "symbol", symbols[s]);
    sluice_gen_write_cents(w, "price", cents[s]);
    sluice_gen_write_int(w, "volume", volume);
    sluice_gen_write_ts(w, "ts");
}

/* ---------------- page views ---------------- */

static const char *const characters[] = {
    "Kara Venn",  "Dax Orlan",   "Mira Solas", "Tor Halloway", "Jyn Arcos",  "Old Beren",
    "Vex Marrow", "Lio Teshara", "Captain Ro", "Nessa Quill",  "Brakk Dunn", "The Warden"};
static const unsigned character_weights[] = {24, 18, 15, 12, 10, 8, 7, 6, 5, 4, 3, 2};
static const char *const pages[] = {"biography", "gallery", "quotes", "timeline", "trivia", "appearances"};

static const sluice_gen_field pageview_fields[] = {{"user", SLUICE_GEN_STRING},
                                                   {"page", SLUICE_GEN_STRING},
                                                   {"character", SLUICE_GEN_STRING},
                                                   {"ts", SLUICE_GEN_TIMESTAMP}};

static void pageview_record(void *state, sluice_gen_writer *w, sluice_gen_rng *r, uint64_t i) {
    (void)state;
    (void)i;
    char user[32];
    snprintf(user, sizeof user, "user%04d", (int)sluice_gen_rng_range(r, 1, 1000));
    size_t c = pick_weighted(r, character_weights, COUNT(characters));
    size_t p = (size_t)sluice_gen_rng_below(r, COUNT(pages));
    sluice_gen_write_str(w, "user", user);
    sluice_gen_write_str(w, "page", pages[p]);
    sluice_gen_write_str(w, "character", characters[c]);
    sluice_gen_write_ts(w, "ts");
}

/* ---------------- product reviews ---------------- */

#define REVIEW_PRODUCTS 40

static const char *const praise[] = {"works great", "excellent value", "would buy again",
                                     "fast delivery", "exactly as described", "sturdy and well made",
                                     "love it"};
static const char *const neutral[] = {"it is okay", "does the job", "average quality",
                                      "nothing special", "decent for the price"};
static const char *const complaint[] = {"stopped working", "poor quality", "arrived damaged",
                                        "not as described", "waste of money", "too small"};

static const sluice_gen_field review_fields[] = {{"product", SLUICE_GEN_STRING},
                                                 {"rating", SLUICE_GEN_INT},
                                                 {"text", SLUICE_GEN_STRING},
                                                 {"ts", SLUICE_GEN_TIMESTAMP}};

/* Products are skewed towards low numbers; each has a typical rating
 * (1..5) that its reviews scatter around, so averages differ by product. */
static void review_record(void *state, sluice_gen_writer *w, sluice_gen_rng *r, uint64_t i) {
    (void)state;
    (void)i;
    double u = sluice_gen_rng_unit(r);
    int p = (int)(u * u * REVIEW_PRODUCTS);
    int typical = 1 + (p * 7 + 3) % 5;
    int64_t rating;
    if (sluice_gen_rng_below(r, 10) == 0)
        rating = sluice_gen_rng_range(r, 1, 5);
    else
        rating = typical + sluice_gen_rng_range(r, -1, 1);
    if (rating < 1) rating = 1;
    if (rating > 5) rating = 5;
    const char *const *phrases = rating >= 4 ? praise : rating == 3 ? neutral : complaint;
    size_t nphrases = rating >= 4 ? COUNT(praise) : rating == 3 ? COUNT(neutral) : COUNT(complaint);
    char text[256] = "";
    int nparts = (int)sluice_gen_rng_range(r, 1, 3);
    size_t used = 0, first = 0, step = 1;
    for (int k = 0; k < nparts; k++) {
        /* distinct phrases: first + k * step with 2 * step < nphrases */
        if (k == 0) {
            first = (size_t)sluice_gen_rng_below(r, nphrases);
            step = 1 + (size_t)sluice_gen_rng_below(r, nphrases / 3);
        }
        const char *phrase = phrases[(first + (size_t)k * step) % nphrases];
        int n = snprintf(text + used, sizeof text - used, "%s%s", k ? ", " : "", phrase);
        used += (size_t)n;
    }
    if (text[0] >= 'a' && text[0] <= 'z') text[0] = (char)(text[0] - 'a' + 'A');
    char product[16];
    snprintf(product, sizeof product, "P%03d", p + 1);
    sluice_gen_write_str(w, "product", product);
    sluice_gen_write_int(w, "rating", rating);
    sluice_gen_write_str(w, "text", text);
    sluice_gen_write_ts(w, "ts");
}

/* ---------------- customer registrations ---------------- */

static const sluice_gen_field registration_fields[] = {{"customer_id", SLUICE_GEN_INT},
                                                       {"store_id", SLUICE_GEN_INT},
                                                       {"ts", SLUICE_GEN_TIMESTAMP}};

static void registration_record(void *state, sluice_gen_writer *w, sluice_gen_rng *r, uint64_t i) {
    (void)state;
    sluice_gen_write_int(w, "customer_id", 100001 + (int64_t)i);
    sluice_gen_write_int(w, "store_id", sluice_gen_rng_range(r, 1, 10));
    sluice_gen_write_ts(w, "ts");
}

/* ---------------- the stream table ---------------- */

static const sluice_gen_stream streams[] = {
    {.name = "orders",
     .description = "shop orders: orderid 1.., itemid 1..500, shopid 1..20, region of the shop, count 1..10",
     .fields = order_fields,
     .nfields = COUNT(order_fields),
     .record = order_record},
    {.name = "ticks",
     .description = "stock ticks: 10 symbols, random-walk prices (two decimals), volume 10..1000",
     .fields = tick_fields,
     .nfields = COUNT(tick_fields),
     .state_new = tick_state_new,
     .state_free = free,
     .record = tick_record},
    {.name = "pageviews",
     .description = "page views: user0001..user1000, 6 pages, 12 characters of skewed popularity",
     .fields = pageview_fields,
     .nfields = COUNT(pageview_fields),
     .record = pageview_record},
    {.name = "reviews",
     .description = "product reviews: products P001..P040 (skewed), rating 1..5, a short text",
     .fields = review_fields,
     .nfields = COUNT(review_fields),
     .record = review_record},
    {.name = "registrations",
     .description = "customer registrations: customer_id 100001.. increasing, store_id 1..10",
     .fields = registration_fields,
     .nfields = COUNT(registration_fields),
     .record = registration_record},
};

const sluice_gen_stream *sluice_gen_streams(size_t *n) {
    *n = COUNT(streams);
    return streams;
}

const sluice_gen_stream *sluice_gen_stream_find(const char *name) {
    for (size_t i = 0; i < COUNT(streams); i++)
        if (strcmp(streams[i].name, name) == 0) return &streams[i];
    return NULL;
}

int sluice_gen_stream_field(const sluice_gen_stream *s, const char *name) {
    for (size_t i = 0; i < s->nfields; i++)
        if (strcmp(s->fields[i].name, name) == 0) return (int)i;
    return -1;
}

/* ---------------- the generator ---------------- */

enum { RNG_VALUES = 1, RNG_LATE = 2, RNG_MALFORMED = 3 };

struct sluice_gen {
    const sluice_gen_stream *stream;
    sluice_gen_options o;
    void *state;
    sluice_gen_rng values, late, malformed;
    uint64_t index;
    sluice_gen_writer w;
};

sluice_gen *sluice_gen_new(const sluice_gen_stream *s, const sluice_gen_options *o) {
    sluice_gen *g = calloc(1, sizeof *g);
    if (!g) return NULL;
    g->stream = s;
    g->o = *o;
    if (s->state_new && !(g->state = s->state_new())) {
        free(g);
        return NULL;
    }
    sluice_gen_rng_seed(&g->values, o->seed, RNG_VALUES);
    sluice_gen_rng_seed(&g->late, o->seed, RNG_LATE);
    sluice_gen_rng_seed(&g->malformed, o->seed, RNG_MALFORMED);
    return g;
}

static const char *const not_json[] = {"-- record %llu lost in transit --",
                                       "<html><body>502 Bad Gateway</body></html> %llu",
                                       "record=%llu status=corrupt", "{%llu}"};

int sluice_gen_next(sluice_gen *g, const char **line, size_t *len) {
    if (g->index >= g->o.count) return -1;
    uint64_t i = g->index++;
    int late = sluice_gen_rng_unit(&g->late) < g->o.late_fraction;
    int malformed = sluice_gen_rng_unit(&g->malformed) < g->o.malformed_fraction;
    int kind = 0, wrong_field = -1;
    if (malformed) {
        kind = (int)sluice_gen_rng_below(&g->malformed, 3);
        if (kind == 2) wrong_field = (int)sluice_gen_rng_below(&g->malformed, g->stream->nfields);
    }
    sluice_gen_writer *w = &g->w;
    w->len = 0;
    w->field = 0;
    w->wrong_type = wrong_field;
    w->ts_ms = g->o.start_ms + (int64_t)((double)i * 1000.0 / g->o.event_rate);
    if (late) w->ts_ms -= g->o.late_by_ms;
    w_reserve(w, 0);
    g->stream->record(g->state, w, &g->values, i);
    w_raw(w, "}", 1);
    if (malformed && kind == 0) {
        w->len = 1 + (size_t)sluice_gen_rng_below(&g->malformed, w->len - 1);
        w->buf[w->len] = '\0';
    } else if (malformed && kind == 1) {
        const char *fmt = not_json[sluice_gen_rng_below(&g->malformed, COUNT(not_json))];
        char tmp[128];
        int n = snprintf(tmp, sizeof tmp, fmt, (unsigned long long)i + 1);
        w->len = 0;
        w_raw(w, tmp, (size_t)n);
    }
    *line = w->buf;
    *len = w->len;
    return 0;
}

void sluice_gen_destroy(sluice_gen *g) {
    if (!g) return;
    if (g->stream->state_free) g->stream->state_free(g->state);
    free(g->w.buf);
    free(g);
}

/* ---------------- keys ---------------- */

char *sluice_gen_key_of(const char *line, size_t len, const char *column, size_t *keylen) {
    cJSON *root = cJSON_ParseWithLength(line, len);
    if (!root) return NULL;
    char *key = NULL;
    const cJSON *v = cJSON_IsObject(root) ? cJSON_GetObjectItemCaseSensitive(root, column) : NULL;
    if (cJSON_IsString(v))
        key = strdup(v->valuestring);
    else if (v && !cJSON_IsNull(v))
        key = cJSON_PrintUnformatted(v);
    cJSON_Delete(root);
    if (key) *keylen = strlen(key);
    return key;
}
