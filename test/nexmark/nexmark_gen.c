/*
 * nexmark_gen — the Nexmark benchmark's event generator, writing the three
 * event streams as JSON lines.
 *
 *   nexmark_gen --out DIR [--events N] [--seed S] [--rate EVENTS_PER_S]
 *
 * writes DIR/person.json, DIR/auction.json and DIR/bid.json with the columns
 * of the Flink benchmark's views (nexmark/nexmark, nexmark-flink,
 * Apache License 2.0: queries/ddl_*.sql):
 *
 *   person:  id, name, emailAddress, creditCard, city, state, dateTime, extra
 *   auction: id, itemName, description, initialBid, reserve, dateTime,
 *            expires, seller, category, extra
 *   bid:     auction, bidder, price, channel, url, dateTime, extra
 *
 * Timestamps are ISO-8601 UTC with milliseconds (2015-07-15T00:00:00.100Z).
 * Events are generated, and so written, in event-time order: event number k
 * has the time BASE + floor(k * 1e6 / rate) / 1000 ms, non-decreasing in k
 * (the reference's outOfOrderGroupSize = 1: no out-of-order events), so each
 * file is sorted by dateTime too.
 *
 * It also writes DIR/side_input.csv, q13's side input: the header
 * `key,value`, then the rows (k, 'k') for k in [0, 10000), as the oracle
 * (oracle/q13.sql) takes it to hold.
 *
 * The rules are those of the reference generator (GeneratorConfig,
 * NexmarkConfiguration's defaults, PersonGenerator, AuctionGenerator,
 * BidGenerator, PriceGenerator, StringsGenerator, LongGenerator), written
 * anew here:
 *
 *  - Event k (k = 0, 1, ...) has the id k; id mod 50 decides its kind with
 *    the proportions person:auction:bid = 1:3:46 (0 a person, 1..3 an
 *    auction, 4..49 a bid).
 *  - Person ids and auction ids count from 1000 (FIRST_PERSON_ID,
 *    FIRST_AUCTION_ID); the id of a new person/auction is the number of
 *    persons/auctions generated before it plus 1000.  Categories are 10..14.
 *  - Hot auctions: a bid goes with probability 1 - 1/2 (hotAuctionRatio 2)
 *    to the first of the last batch of 100 auctions, else to a random
 *    auction among the last 100 in flight plus 10 not yet created.
 *    Hot bidders: with probability 1 - 1/4 (hotBiddersRatio 4) the second
 *    person of the last batch of 100 persons, else a random one of the last
 *    1000 active persons plus 10 not yet created.  Hot sellers likewise
 *    (hotSellersRatio 4, the first person of the batch).
 *  - Prices: round(10^(u * 6) * 100) for u uniform in [0, 1) (cents, 100 to
 *    10^8); an auction's reserve is its initial bid plus such a price.
 *  - An auction lasts 1 + a uniform draw below twice the time until the
 *    100th auction after it (numInFlightAuctions) is due.
 *  - Channels: with probability 1/2 one of the hot channels Google,
 *    Facebook, Baidu, Apple (each with one fixed url), else channel-N for N
 *    uniform in [0, 10000), whose url is fixed per N and ends, for 9 N in
 *    10, in "&channel_id=" and the bit-reversed N (Java's
 *    Math.abs(Integer.reverse(N))).  Urls are
 *    https://www.nexmark.com/D1/D2/D3/item.htm?query=1 with three random
 *    directory names of 3 or 4 letters and underscores.
 *  - Names, e-mails, credit cards, cities and states from the reference's
 *    lists and rules; `extra` pads each event to the reference's average
 *    sizes (person 200, auction 500, bid 100 bytes) with letters; as in the
 *    reference (a signed remainder of Java's Random.nextInt()), the padding
 *    letters range from 'H' to 'z', so it holds '[', '\\', ']', '^', '_'
 *    and '`' too (escaped in JSON).
 *
 * Randomness: one java.util.Random sequence (Knuth's 48-bit linear
 * congruential generator as the Java documentation specifies it) seeded
 * with --seed, drawn in the reference's order for each event; the fixed
 * urls of the hot channels and of each channel-N come from their own
 * sequences seeded by (seed, channel), so they do not depend on the event
 * count.  The output depends only on N, the seed and the rate.
 *
 * Differences from the reference, all deliberate: a fixed base time
 * (2015-07-15T00:00:00Z, as the Beam generator's tests use) instead of the
 * wall clock, a seeded sequence instead of an unseeded one, and the bidder
 * id offset by 1000 once (the reference's BidGenerator adds
 * FIRST_PERSON_ID twice, so its bidders never match a person id).
 *
 * Defaults: --events 20000, --seed 1, --rate 10000 (firstEventRate: 10,000
 * events per second, so 20,000 events span 2 s of event time).
 * Exit status 0, or 1 with a message on stderr for bad arguments or a
 * write error.
 */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* NexmarkConfiguration defaults and the generator's constants. */
enum {
    PERSON_PROPORTION = 1,
    AUCTION_PROPORTION = 3,
    BID_PROPORTION = 46,
    TOTAL_PROPORTION = PERSON_PROPORTION + AUCTION_PROPORTION + BID_PROPORTION,
    FIRST_PERSON_ID = 1000,
    FIRST_AUCTION_ID = 1000,
    FIRST_CATEGORY_ID = 10,
    NUM_CATEGORIES = 5,
    HOT_AUCTION_RATIO = 2,   /* probability of a hot auction: 1 - 1/2 */
    HOT_BIDDERS_RATIO = 4,
    HOT_SELLERS_RATIO = 4,
    HOT_BATCH = 100,         /* HOT_AUCTION_RATIO, HOT_BIDDER_RATIO, HOT_SELLER_RATIO constants */
    NUM_IN_FLIGHT_AUCTIONS = 100,
    NUM_ACTIVE_PEOPLE = 1000,
    ID_LEAD = 10,            /* PERSON_ID_LEAD, AUCTION_ID_LEAD */
    AVG_PERSON_BYTES = 200,
    AVG_AUCTION_BYTES = 500,
    AVG_BID_BYTES = 100,
    HOT_CHANNELS_RATIO = 2,
    CHANNELS_NUMBER = 10000,
    MIN_STRING_LENGTH = 3,
};

/* 2015-07-15T00:00:00Z in ms since the epoch. */
#define BASE_TIME_MS INT64_C(1436918400000)

static const char *const US_STATES[] = {"AZ", "CA", "ID", "OR", "WA", "WY"};
static const char *const US_CITIES[] = {"Phoenix", "Los Angeles", "San Francisco", "Boise", "Portland",
                                        "Bend",    "Redmond",     "Seattle",       "Kent",  "Cheyenne"};
static const char *const FIRST_NAMES[] = {"Peter", "Paul",  "Luke",  "John",   "Saul",  "Vicky",
                                          "Kate",  "Julie", "Sarah", "Deiter", "Walter"};
static const char *const LAST_NAMES[] = {"Shultz", "Abrams", "Spencer", "White", "Bartels",
                                         "Walton", "Smith",  "Jones",   "Noris"};
static const char *const HOT_CHANNELS[] = {"Google", "Facebook", "Baidu", "Apple"};
#define NELEMS(a) ((int)(sizeof(a) / sizeof((a)[0])))

/* ---- java.util.Random ------------------------------------------------- */

typedef struct {
    uint64_t seed;
} jrandom;

#define JR_MULT UINT64_C(0x5DEECE66D)
#define JR_MASK ((UINT64_C(1) << 48) - 1)

static void jr_init(jrandom *r, int64_t seed) { r->seed = ((uint64_t)seed ^ JR_MULT) & JR_MASK; }

static int32_t jr_next(jrandom *r, int bits) {
    r->seed = (r->seed * JR_MULT + 0xB) & JR_MASK;
    return (int32_t)(uint32_t)(r->seed >> (48 - bits));
}

/* Random.nextInt(): any int. */
static int32_t jr_int(jrandom *r) { return jr_next(r, 32); }

/* Random.nextInt(bound), bound > 0: uniform in [0, bound). */
static int32_t jr_below(jrandom *r, int32_t bound) {
    if ((bound & -bound) == bound) return (int32_t)(((int64_t)bound * jr_next(r, 31)) >> 31);
    int32_t bits, val;
    do {
        bits = jr_next(r, 31);
        val = bits % bound;
    } while ((int64_t)bits - val + (bound - 1) > INT32_MAX);
    return val;
}

/* Random.nextDouble(): uniform in [0, 1). */
static double jr_double(jrandom *r) {
    int64_t hi = jr_next(r, 26), lo = jr_next(r, 27);
    return (double)((hi << 27) + lo) * 0x1.0p-53;
}

/* LongGenerator.nextLong: uniform in [0, n) for the n < 2^31 that occur. */
static int64_t next_long(jrandom *r, int64_t n) {
    if (n < INT32_MAX) return jr_below(r, (int32_t)n);
    int64_t v = (int64_t)(((uint64_t)(uint32_t)jr_next(r, 32) << 32) + (uint64_t)(int64_t)jr_next(r, 32));
    v %= n;
    return v < 0 ? -v : v;
}

/* ---- ids and times (GeneratorConfig, PersonGenerator, AuctionGenerator) */

static double inter_event_delay_us;

static int64_t timestamp_for_event(int64_t event_number) {
    return BASE_TIME_MS + (int64_t)((double)event_number * inter_event_delay_us) / 1000;
}

/* The last person id (base 0) generated at or before event id `id`. */
static int64_t last_person(int64_t id) {
    int64_t epoch = id / TOTAL_PROPORTION, offset = id % TOTAL_PROPORTION;
    if (offset >= PERSON_PROPORTION) offset = PERSON_PROPORTION - 1;
    return epoch * PERSON_PROPORTION + offset;
}

/* The last auction id (base 0) generated at or before event id `id`. */
static int64_t last_auction(int64_t id) {
    int64_t epoch = id / TOTAL_PROPORTION, offset = id % TOTAL_PROPORTION;
    if (offset < PERSON_PROPORTION) {
        epoch--;
        offset = AUCTION_PROPORTION - 1;
    } else if (offset >= PERSON_PROPORTION + AUCTION_PROPORTION) {
        offset = AUCTION_PROPORTION - 1;
    } else {
        offset -= PERSON_PROPORTION;
    }
    return epoch * AUCTION_PROPORTION + offset;
}

/* A random active person (base 0), possibly one of the next ID_LEAD. */
static int64_t random_person(int64_t id, jrandom *r) {
    int64_t people = last_person(id) + 1;
    int64_t active = people < NUM_ACTIVE_PEOPLE ? people : NUM_ACTIVE_PEOPLE;
    return people - active + next_long(r, active + ID_LEAD);
}

/* A random auction in flight (base 0), possibly one of the next ID_LEAD. */
static int64_t random_auction(int64_t id, jrandom *r) {
    int64_t max = last_auction(id);
    int64_t min = max - NUM_IN_FLIGHT_AUCTIONS > 0 ? max - NUM_IN_FLIGHT_AUCTIONS : 0;
    return min + next_long(r, max - min + 1 + ID_LEAD);
}

static int64_t next_price(jrandom *r) { return (int64_t)floor(pow(10.0, jr_double(r) * 6.0) * 100.0 + 0.5); }

/* ---- strings (StringsGenerator) --------------------------------------- */

/* A random string of MIN_STRING_LENGTH to max_len - 1 characters, each a
 * letter or, with probability 1/13, `special`; spaces trimmed at both ends.
 * Writes into buf (at least max_len bytes); returns its length. */
static int next_string(jrandom *r, int max_len, char special, char *buf) {
    int len = MIN_STRING_LENGTH + jr_below(r, max_len - MIN_STRING_LENGTH), n = 0;
    while (len-- > 0) buf[n++] = jr_below(r, 13) == 0 ? special : (char)('a' + jr_below(r, 26));
    buf[n] = '\0';
    int start = 0;
    while (start < n && buf[start] == ' ') start++;
    while (n > start && buf[n - 1] == ' ') n--;
    memmove(buf, buf + start, (size_t)(n - start));
    buf[n - start] = '\0';
    return n - start;
}

/* Padding so that current + its length averages `average` (within +-20%). */
static int next_extra(jrandom *r, int current, int average, char *buf) {
    if (current > average) {
        buf[0] = '\0';
        return 0;
    }
    average -= current;
    int delta = (int)floor(average * 0.2 + 0.5);
    int size = average - delta + (delta == 0 ? 0 : jr_below(r, 2 * delta));
    int32_t rnd = 0;
    int left = 0;
    for (int i = 0; i < size; i++) {
        if (left == 0) {
            rnd = jr_int(r);
            left = 6;
        }
        buf[i] = (char)('a' + rnd % 26); /* C and Java agree: the remainder keeps the sign */
        rnd /= 26;
        left--;
    }
    buf[size] = '\0';
    return size;
}

/* ---- output ----------------------------------------------------------- */

static void put_json_string(FILE *f, const char *s) {
    putc('"', f);
    for (; *s; s++) {
        if (*s == '"' || *s == '\\') putc('\\', f);
        putc(*s, f);
    }
    putc('"', f);
}

/* Hinnant's civil_from_days. */
static void civil_from_days(int64_t z, int *y, unsigned *m, unsigned *d) {
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    unsigned doe = (unsigned)(z - era * 146097);
    unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    unsigned mp = (5 * doy + 2) / 153;
    *d = doy - (153 * mp + 2) / 5 + 1;
    *m = mp < 10 ? mp + 3 : mp - 9;
    *y = (int)(yoe + era * 400 + (*m <= 2));
}

static void put_time(FILE *f, int64_t ms) {
    int64_t days = ms / 86400000, rem = ms % 86400000;
    int y;
    unsigned m, d;
    civil_from_days(days, &y, &m, &d);
    fprintf(f, "\"%04d-%02u-%02uT%02d:%02d:%02d.%03dZ\"", y, m, d, (int)(rem / 3600000), (int)(rem / 60000 % 60),
            (int)(rem / 1000 % 60), (int)(rem % 1000));
}

/* ---- the three kinds of event ------------------------------------------ */

typedef struct {
    char url[112];
} channel_url;

static channel_url hot_urls[NELEMS(HOT_CHANNELS)];
static channel_url *channel_urls; /* CHANNELS_NUMBER entries, filled lazily */
static unsigned char *channel_url_made;
static int64_t seed_value;

static void make_base_url(jrandom *r, char *out, size_t size) {
    char d[3][8];
    for (int i = 0; i < 3; i++) next_string(r, 5, '_', d[i]);
    snprintf(out, size, "https://www.nexmark.com/%s/%s/%s/item.htm?query=1", d[0], d[1], d[2]);
}

static const char *url_of_channel(int n) {
    if (!channel_url_made[n]) {
        jrandom r;
        jr_init(&r, (int64_t)((uint64_t)seed_value * 1000003u + 7919u + (uint64_t)n));
        char base[80];
        make_base_url(&r, base, sizeof base);
        uint32_t u = (uint32_t)n, rev = 0;
        for (int i = 0; i < 32; i++) rev |= ((u >> i) & 1u) << (31 - i);
        int32_t rv = (int32_t)rev;
        int64_t id = rv < 0 ? -(int64_t)rv : rv; /* Math.abs; INT32_MIN cannot occur as n < 2^31 */
        if (jr_below(&r, 10) > 0)
            snprintf(channel_urls[n].url, sizeof channel_urls[n].url, "%s&channel_id=%" PRId64, base, id);
        else
            snprintf(channel_urls[n].url, sizeof channel_urls[n].url, "%s", base);
        channel_url_made[n] = 1;
    }
    return channel_urls[n].url;
}

static void gen_person(FILE *f, int64_t id, int64_t ts, jrandom *r) {
    char email_a[8], email_b[8], extra[256], card[48];
    int64_t pid = last_person(id) + FIRST_PERSON_ID;
    const char *first = FIRST_NAMES[jr_below(r, NELEMS(FIRST_NAMES))];
    const char *last = LAST_NAMES[jr_below(r, NELEMS(LAST_NAMES))];
    int email_len = next_string(r, 7, ' ', email_a);
    email_len += 1 + next_string(r, 5, ' ', email_b) + 4;
    int c[4];
    for (int i = 0; i < 4; i++) c[i] = jr_below(r, 10000);
    snprintf(card, sizeof card, "%04d %04d %04d %04d", c[0], c[1], c[2], c[3]);
    const char *city = US_CITIES[jr_below(r, NELEMS(US_CITIES))];
    const char *state = US_STATES[jr_below(r, NELEMS(US_STATES))];
    int size = 8 + (int)(strlen(first) + 1 + strlen(last)) + email_len + (int)strlen(card) + (int)strlen(city) +
               (int)strlen(state);
    next_extra(r, size, AVG_PERSON_BYTES, extra);
    fprintf(f, "{\"id\":%" PRId64 ",\"name\":\"%s %s\",\"emailAddress\":\"%s@%s.com\",\"creditCard\":\"%s\",", pid,
            first, last, email_a, email_b, card);
    fprintf(f, "\"city\":\"%s\",\"state\":\"%s\",\"dateTime\":", city, state);
    put_time(f, ts);
    fputs(",\"extra\":", f);
    put_json_string(f, extra);
    fputs("}\n", f);
}

static void gen_auction(FILE *f, int64_t id, int64_t event_number, int64_t ts, jrandom *r) {
    char name[24], desc[104], extra[1024];
    int64_t aid = last_auction(id) + FIRST_AUCTION_ID;
    int64_t seller;
    if (jr_below(r, HOT_SELLERS_RATIO) > 0)
        seller = (last_person(id) / HOT_BATCH) * HOT_BATCH;
    else
        seller = random_person(id, r);
    seller += FIRST_PERSON_ID;
    int64_t category = FIRST_CATEGORY_ID + jr_below(r, NUM_CATEGORIES);
    int64_t initial_bid = next_price(r);
    int64_t events_for_auctions = (int64_t)NUM_IN_FLIGHT_AUCTIONS * TOTAL_PROPORTION / AUCTION_PROPORTION;
    int64_t horizon = timestamp_for_event(event_number + events_for_auctions) - ts;
    int64_t expires = ts + 1 + next_long(r, horizon * 2 > 1 ? horizon * 2 : 1);
    int name_len = next_string(r, 20, ' ', name);
    int desc_len = next_string(r, 100, ' ', desc);
    int64_t reserve = initial_bid + next_price(r);
    next_extra(r, 8 + name_len + desc_len + 40, AVG_AUCTION_BYTES, extra);
    fprintf(f, "{\"id\":%" PRId64 ",\"itemName\":\"%s\",\"description\":\"%s\",\"initialBid\":%" PRId64
               ",\"reserve\":%" PRId64 ",\"dateTime\":",
            aid, name, desc, initial_bid, reserve);
    put_time(f, ts);
    fputs(",\"expires\":", f);
    put_time(f, expires);
    fprintf(f, ",\"seller\":%" PRId64 ",\"category\":%" PRId64 ",\"extra\":", seller, category);
    put_json_string(f, extra);
    fputs("}\n", f);
}

static void gen_bid(FILE *f, int64_t id, int64_t ts, jrandom *r) {
    char extra[128], channel_buf[24];
    int64_t auction, bidder;
    if (jr_below(r, HOT_AUCTION_RATIO) > 0)
        auction = (last_auction(id) / HOT_BATCH) * HOT_BATCH;
    else
        auction = random_auction(id, r);
    auction += FIRST_AUCTION_ID;
    if (jr_below(r, HOT_BIDDERS_RATIO) > 0)
        bidder = (last_person(id) / HOT_BATCH) * HOT_BATCH + 1;
    else
        bidder = random_person(id, r);
    bidder += FIRST_PERSON_ID;
    int64_t price = next_price(r);
    const char *channel, *url;
    if (jr_below(r, HOT_CHANNELS_RATIO) > 0) {
        int i = jr_below(r, NELEMS(HOT_CHANNELS));
        channel = HOT_CHANNELS[i];
        url = hot_urls[i].url;
    } else {
        int n = jr_below(r, CHANNELS_NUMBER);
        snprintf(channel_buf, sizeof channel_buf, "channel-%d", n);
        channel = channel_buf;
        url = url_of_channel(n);
    }
    next_extra(r, 32, AVG_BID_BYTES, extra);
    fprintf(f, "{\"auction\":%" PRId64 ",\"bidder\":%" PRId64 ",\"price\":%" PRId64 ",\"channel\":\"%s\",\"url\":",
            auction, bidder, price, channel);
    put_json_string(f, url);
    fputs(",\"dateTime\":", f);
    put_time(f, ts);
    fputs(",\"extra\":", f);
    put_json_string(f, extra);
    fputs("}\n", f);
}

/* ---- main ------------------------------------------------------------- */

static int parse_i64(const char *s, int64_t min, int64_t *out) {
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || end == s || *end || v < min) return -1;
    *out = v;
    return 0;
}

/* q13's side input: keys 0 .. SIDE_INPUT_KEYS - 1 (the query looks up
 * auction mod 10000) */
#define SIDE_INPUT_KEYS 10000

static FILE *open_out(const char *dir, const char *name) {
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    if (!f) fprintf(stderr, "nexmark_gen: cannot write %s: %s\n", path, strerror(errno));
    return f;
}

int main(int argc, char **argv) {
    int64_t events = 20000, seed = 1, rate = 10000;
    const char *out = NULL;
    for (int i = 1; i < argc; i++) {
        int64_t *target = NULL, min = 0;
        if (!strcmp(argv[i], "--out") && i + 1 < argc) {
            out = argv[++i];
            continue;
        }
        if (!strcmp(argv[i], "--events")) target = &events, min = 0;
        else if (!strcmp(argv[i], "--seed")) target = &seed, min = INT64_MIN;
        else if (!strcmp(argv[i], "--rate")) target = &rate, min = 1;
        if (!target || i + 1 >= argc || parse_i64(argv[++i], min, target)) {
            fprintf(stderr, "usage: nexmark_gen --out DIR [--events N] [--seed S] [--rate EVENTS_PER_S]\n");
            return 1;
        }
    }
    if (!out) {
        fprintf(stderr, "usage: nexmark_gen --out DIR [--events N] [--seed S] [--rate EVENTS_PER_S]\n");
        return 1;
    }
    inter_event_delay_us = 1000000.0 / (double)rate;
    seed_value = seed;
    channel_urls = calloc(CHANNELS_NUMBER, sizeof *channel_urls);
    channel_url_made = calloc(CHANNELS_NUMBER, 1);
    if (!channel_urls || !channel_url_made) {
        fprintf(stderr, "nexmark_gen: out of memory\n");
        return 1;
    }
    for (int i = 0; i < NELEMS(HOT_CHANNELS); i++) {
        jrandom r;
        jr_init(&r, (int64_t)((uint64_t)seed * 1000003u + (uint64_t)i));
        make_base_url(&r, hot_urls[i].url, sizeof hot_urls[i].url);
    }
    FILE *fp = open_out(out, "person.json"), *fa = open_out(out, "auction.json"), *fb = open_out(out, "bid.json");
    FILE *fs = open_out(out, "side_input.csv");
    if (!fp || !fa || !fb || !fs) return 1;
    fputs("key,value\n", fs);
    for (int k = 0; k < SIDE_INPUT_KEYS; k++) fprintf(fs, "%d,%d\n", k, k);
    jrandom r;
    jr_init(&r, seed);
    for (int64_t k = 0; k < events; k++) {
        int64_t ts = timestamp_for_event(k), rem = k % TOTAL_PROPORTION;
        if (rem < PERSON_PROPORTION) gen_person(fp, k, ts, &r);
        else if (rem < PERSON_PROPORTION + AUCTION_PROPORTION) gen_auction(fa, k, k, ts, &r);
        else gen_bid(fb, k, ts, &r);
    }
    int bad = 0;
    FILE *files[4] = {fp, fa, fb, fs};
    for (int i = 0; i < 4; i++) bad |= ferror(files[i]) | (fclose(files[i]) != 0);
    free(channel_urls);
    free(channel_url_made);
    if (bad) {
        fprintf(stderr, "nexmark_gen: write error in %s: %s\n", out, strerror(errno));
        return 1;
    }
    return 0;
}
