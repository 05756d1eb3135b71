// ref_simdjson FILE — the reference for the flights benchmark.
//
// The least a program can do for the benchmark query: read FILE (one JSON
// object per line) into one padded buffer, walk it as one document stream
// (simdjson On-Demand `iterate_many`, 4 MiB batches), parse `date`
// ('%Y/%m/%d %H:%M', by hand), `delay` and `origin` of each document, and
// aggregate COUNT, SUM and MAX of delay per (one-hour window, origin) in an
// open-addressing hash table.  No watermark, no output rows, no dead
// letters: it prints the number of rows, the number of groups, the sum of
// all delays, the sum over groups of MAX(delay), and a checksum of the
// groups, then exits.
//
// Output (one line): rows=N groups=G delay_sum=S max_sum=M checksum=C
// Exit status: 0, or 1 when the file cannot be read or a line does not parse.
#include <simdjson.h>

#include <cinttypes>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <string>
#include <string_view>
#include <vector>

namespace {

// Hinnant's days_from_civil.
int64_t days_from_civil(int64_t y, unsigned m, unsigned d) {
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

// '%Y/%m/%d %H:%M' -> milliseconds since the epoch (UTC).
bool parse_date(std::string_view s, int64_t *ms) {
    unsigned y, mo, d, h, mi;
    if (s.size() != 16 || s[4] != '/' || s[7] != '/' || s[10] != ' ' || s[13] != ':') return false;
    if (!digits(s.data(), 4, &y) || !digits(s.data() + 5, 2, &mo) || !digits(s.data() + 8, 2, &d) ||
        !digits(s.data() + 11, 2, &h) || !digits(s.data() + 14, 2, &mi))
        return false;
    if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59) return false;
    *ms = ((days_from_civil(y, mo, d) * 24 + h) * 60 + mi) * 60000;
    return true;
}

struct Group {
    int64_t window_start;  // ms; INT64_MIN marks an empty slot
    std::string_view origin;  // owned by the table (interned)
    int64_t count;
    int64_t sum;
    int64_t max;
};

class GroupTable {
  public:
    GroupTable() : slots_(1024), used_(0) {
        for (auto &g : slots_) g.window_start = INT64_MIN;
    }

    Group &find_or_add(int64_t window_start, std::string_view origin) {
        if ((used_ + 1) * 2 > slots_.size()) grow();
        Group &g = slots_[probe(slots_, window_start, origin)];
        if (g.window_start == INT64_MIN) {
            // simdjson's strings live only until the next parse: keep a copy.
            names_.emplace_back(origin);
            g = Group{window_start, names_.back(), 0, 0, INT64_MIN};
            used_++;
        }
        return g;
    }

    const std::vector<Group> &slots() const { return slots_; }
    size_t size() const { return used_; }

  private:
    static uint64_t hash(int64_t window_start, std::string_view origin) {
        uint64_t h = static_cast<uint64_t>(window_start) * 0x9e3779b97f4a7c15ULL;
        for (char c : origin) h = (h ^ static_cast<unsigned char>(c)) * 0x100000001b3ULL;
        return h ^ (h >> 29);
    }

    static size_t probe(const std::vector<Group> &t, int64_t window_start, std::string_view origin) {
        const size_t mask = t.size() - 1;
        size_t i = hash(window_start, origin) & mask;
        while (t[i].window_start != INT64_MIN &&
               !(t[i].window_start == window_start && t[i].origin == origin))
            i = (i + 1) & mask;
        return i;
    }

    void grow() {
        std::vector<Group> bigger(slots_.size() * 2);
        for (auto &g : bigger) g.window_start = INT64_MIN;
        for (const auto &g : slots_)
            if (g.window_start != INT64_MIN) bigger[probe(bigger, g.window_start, g.origin)] = g;
        slots_.swap(bigger);
    }

    std::vector<Group> slots_;
    std::deque<std::string> names_;  // stable addresses for Group::origin
    size_t used_;
};

}  // namespace

int main(int argc, char **argv) {
    if (argc != 2) {
        std::fprintf(stderr, "usage: ref_simdjson FILE\n");
        return 2;
    }
    simdjson::padded_string input;
    if (auto error = simdjson::padded_string::load(argv[1]).get(input)) {
        std::fprintf(stderr, "ref_simdjson: cannot read '%s': %s\n", argv[1], simdjson::error_message(error));
        return 1;
    }

    const int64_t window_ms = 3600 * 1000;
    simdjson::ondemand::parser parser;
    GroupTable table;
    int64_t rows = 0;

    // One document stream over the whole buffer: simdjson's stage 1 runs
    // over batches of kBatch bytes (not line by line), and the documents
    // are separated by its own scanner, so there is no memchr and no
    // per-line iterate() set-up.
    constexpr size_t kBatch = 4 << 20;
    simdjson::ondemand::document_stream stream;
    if (auto error = parser.iterate_many(input, kBatch).get(stream)) {
        std::fprintf(stderr, "ref_simdjson: %s: %s\n", argv[1], simdjson::error_message(error));
        return 1;
    }
    for (auto it = stream.begin(); it != stream.end(); ++it) {
        std::string_view date, origin;
        int64_t delay = 0, ts = 0;
        simdjson::ondemand::document_reference doc;
        auto error = (*it).get(doc);
        if (!error) error = doc["date"].get_string().get(date);
        if (!error) error = doc["delay"].get_int64().get(delay);
        if (!error) error = doc["origin"].get_string().get(origin);
        if (error || !parse_date(date, &ts)) {
            std::fprintf(stderr, "ref_simdjson: %s: document %" PRId64 " (byte %zu): cannot parse (%s)\n", argv[1],
                         rows + 1, it.current_index(), error ? simdjson::error_message(error) : "bad date");
            return 1;
        }
        const int64_t window_start = ts - ((ts % window_ms) + window_ms) % window_ms;
        Group &g = table.find_or_add(window_start, origin);
        g.count++;
        g.sum += delay;
        if (delay > g.max) g.max = delay;
        rows++;
    }
    if (stream.truncated_bytes() != 0) {
        std::fprintf(stderr, "ref_simdjson: %s: %zu bytes at the end are not a whole document\n", argv[1],
                     stream.truncated_bytes());
        return 1;
    }

    uint64_t checksum = 0;
    int64_t delay_sum = 0, max_sum = 0;
    for (const auto &g : table.slots()) {
        if (g.window_start == INT64_MIN) continue;
        delay_sum += g.sum;
        max_sum += g.max;
        uint64_t h = static_cast<uint64_t>(g.window_start / 1000);
        for (char c : g.origin) h = h * 131 + static_cast<unsigned char>(c);
        checksum += h * 0x9e3779b97f4a7c15ULL + static_cast<uint64_t>(g.count) * 1000003u +
                    static_cast<uint64_t>(g.sum) * 7919u + static_cast<uint64_t>(g.max);
    }
    std::printf("rows=%" PRId64 " groups=%zu delay_sum=%" PRId64 " max_sum=%" PRId64 " checksum=%016" PRIx64 "\n",
                rows, table.size(), delay_sum, max_sum, checksum);
    return 0;
}
