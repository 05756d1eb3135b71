// ref_passthrough IN OUT — the reference for the pass-through benchmark
// (Nexmark q0 shape: passthrough_bench.sh).
//
// The least a program can do for `SELECT auction, bidder, price, dateTime,
// extra FROM bid` with JSON lines in and out: read IN into one padded
// buffer, parse each line with simdjson On-Demand (iterate_many over the
// whole buffer), take the three integers, the ISO-8601 dateTime (parsed to
// milliseconds by hand, rendered as `YYYY-MM-DD HH:MM:SS[.mmm]` with the
// date part cached per day) and the string `extra` (unescaped by simdjson,
// escaped again on output), and append `{"auction":..,"bidder":..,
// "price":..,"dateTime":"..","extra":".."}\n` to one large buffer that is
// written to OUT with one fwrite per MiB.  Integers by std::to_chars.  No
// watermark, no dead letters: the output is byte for byte what sluice
// writes for the same query, which passthrough_bench.sh checks.
//
// Output (stdout, one line): rows=N bytes=B
// Exit status: 0, or 1 when a file cannot be read or written or a line does
// not parse.
#include <simdjson.h>

#include <charconv>
#include <cinttypes>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string_view>
#include <vector>

namespace {

int64_t days_from_civil(int64_t y, unsigned m, unsigned d) {  // Hinnant's
    y -= m <= 2;
    const int64_t era = (y >= 0 ? y : y - 399) / 400;
    const unsigned yoe = static_cast<unsigned>(y - era * 400);
    const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

inline bool digits(const char *p, int n, unsigned *out) {
    unsigned v = 0;
    for (int i = 0; i < n; i++) {
        unsigned c = static_cast<unsigned char>(p[i]) - '0';
        if (c > 9) return false;
        v = v * 10 + c;
    }
    *out = v;
    return true;
}

// 'YYYY-MM-DDTHH:MM:SS.mmmZ' (the generator's form) -> ms since the epoch.
bool parse_iso(std::string_view s, int64_t *ms) {
    unsigned y, mo, d, h, mi, se, f = 0;
    if (s.size() != 24 || s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':' || s[16] != ':' ||
        s[19] != '.' || s[23] != 'Z')
        return false;
    if (!digits(s.data(), 4, &y) || !digits(s.data() + 5, 2, &mo) || !digits(s.data() + 8, 2, &d) ||
        !digits(s.data() + 11, 2, &h) || !digits(s.data() + 14, 2, &mi) || !digits(s.data() + 17, 2, &se) ||
        !digits(s.data() + 20, 3, &f))
        return false;
    *ms = (((days_from_civil(y, mo, d) * 24 + h) * 60 + mi) * 60 + se) * 1000 + f;
    return true;
}

struct Out {
    std::vector<char> buf = std::vector<char>(2 << 20);
    size_t len = 0;
    FILE *f;
    bool flush() {
        bool ok = fwrite(buf.data(), 1, len, f) == len;
        len = 0;
        return ok;
    }
    char *room(size_t n) {
        if (buf.size() - len < n) buf.resize(std::max(buf.size() * 2, len + n));
        return buf.data() + len;
    }
    void put(const char *s, size_t n) {
        memcpy(room(n), s, n);
        len += n;
    }
    void put_i64(int64_t v) {
        char *p = room(24);
        len += static_cast<size_t>(std::to_chars(p, p + 24, v).ptr - p);
    }
};

void put2(char *p, unsigned v) {
    p[0] = static_cast<char>('0' + v / 10);
    p[1] = static_cast<char>('0' + v % 10);
}

// 'YYYY-MM-DD ' per day, cached; the time of day by arithmetic.
void put_ts(Out &o, int64_t ms) {
    static int64_t cached_day = INT64_MIN;
    static char date[11];
    int64_t day = ms / 86400000, rem = ms % 86400000;
    if (rem < 0) rem += 86400000, day--;
    if (day != cached_day) {
        // civil_from_days (Hinnant)
        int64_t z = day + 719468, era = (z >= 0 ? z : z - 146096) / 146097;
        unsigned doe = static_cast<unsigned>(z - era * 146097);
        unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
        unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100), mp = (5 * doy + 2) / 153;
        unsigned d = doy - (153 * mp + 2) / 5 + 1, m = mp < 10 ? mp + 3 : mp - 9;
        int64_t y = static_cast<int64_t>(yoe) + era * 400 + (m <= 2);
        put2(date, static_cast<unsigned>(y / 100));
        put2(date + 2, static_cast<unsigned>(y % 100));
        date[4] = '-';
        put2(date + 5, m);
        date[7] = '-';
        put2(date + 8, d);
        date[10] = ' ';
        cached_day = day;
    }
    char *p = o.room(24);
    memcpy(p, date, 11);
    unsigned s = static_cast<unsigned>(rem / 1000), f = static_cast<unsigned>(rem % 1000);
    put2(p + 11, s / 3600);
    p[13] = ':';
    put2(p + 14, s / 60 % 60);
    p[16] = ':';
    put2(p + 17, s % 60);
    size_t n = 19;
    if (f) {
        p[19] = '.';
        p[20] = static_cast<char>('0' + f / 100);
        put2(p + 21, f % 100);
        n = 23;
    }
    o.len += n;
}

// A JSON string literal: '"', '\\' and control characters escaped.
void put_str(Out &o, std::string_view s) {
    char *p = o.room(6 * s.size() + 2), *start = p;
    *p++ = '"';
    for (unsigned char c : s) {
        if (c >= 0x20 && c != '"' && c != '\\') {
            *p++ = static_cast<char>(c);
        } else if (c == '"' || c == '\\') {
            *p++ = '\\';
            *p++ = static_cast<char>(c);
        } else {
            static const char esc[] = "01234567btn3fr456789abcdef";
            static const char hex[] = "0123456789abcdef";
            *p++ = '\\';
            if (c == '\b' || c == '\t' || c == '\n' || c == '\f' || c == '\r') {
                *p++ = esc[c];
            } else {
                memcpy(p, "u00", 3);
                p[3] = hex[c >> 4];
                p[4] = hex[c & 15];
                p += 5;
            }
        }
    }
    *p++ = '"';
    o.len += static_cast<size_t>(p - start);
}

}  // namespace

int main(int argc, char **argv) {
    if (argc != 3) {
        fprintf(stderr, "usage: ref_passthrough IN OUT\n");
        return 2;
    }
    simdjson::padded_string data;
    if (simdjson::padded_string::load(argv[1]).get(data)) {
        fprintf(stderr, "ref_passthrough: cannot read %s\n", argv[1]);
        return 1;
    }
    Out o;
    if (!(o.f = fopen(argv[2], "w"))) {
        fprintf(stderr, "ref_passthrough: cannot create %s\n", argv[2]);
        return 1;
    }
    simdjson::ondemand::parser parser;
    simdjson::ondemand::document_stream docs;
    if (parser.iterate_many(data, 1 << 20).get(docs)) return 1;
    uint64_t rows = 0, bytes = 0;
    for (auto doc : docs) {
        int64_t auction, bidder, price, ms;
        std::string_view ts, extra;
        simdjson::ondemand::object obj;
        if (doc.get_object().get(obj) || obj["auction"].get_int64().get(auction) ||
            obj["bidder"].get_int64().get(bidder) || obj["price"].get_int64().get(price) ||
            obj["dateTime"].get_string().get(ts) || obj["extra"].get_string().get(extra) || !parse_iso(ts, &ms)) {
            fprintf(stderr, "ref_passthrough: line %" PRIu64 " does not parse\n", rows + 1);
            return 1;
        }
        o.put("{\"auction\":", 11);
        o.put_i64(auction);
        o.put(",\"bidder\":", 10);
        o.put_i64(bidder);
        o.put(",\"price\":", 9);
        o.put_i64(price);
        o.put(",\"dateTime\":\"", 13);
        put_ts(o, ms);
        o.put("\",\"extra\":", 10);
        put_str(o, extra);
        o.put("}\n", 2);
        rows++;
        if (o.len >= (1 << 20)) {
            bytes += o.len;
            if (!o.flush()) return 1;
        }
    }
    bytes += o.len;
    if (!o.flush() || fclose(o.f) != 0) {
        fprintf(stderr, "ref_passthrough: cannot write %s\n", argv[2]);
        return 1;
    }
    printf("rows=%" PRIu64 " bytes=%" PRIu64 "\n", rows, bytes);
    return 0;
}
