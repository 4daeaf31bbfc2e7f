// Word count throughput: Lightflus against a hand-written loop over the same in-memory corpus.
//
// The corpus is generated in memory (10 words a line, a vocabulary of 10,000 random lowercase
// words of 3 to 10 letters, words drawn with a fixed-seed RNG, Zipf-distributed with s = 1 by
// default or uniformly with --dist uniform). Each run measures, on that corpus:
//
//   hand loop           split on spaces, ++std::unordered_map<std::string, int64_t>[word]
//   p1/p2 collection    ctx.fromCollection(lines) -> flatMap split -> keyBy word
//                       -> window(GlobalWindows::create()).aggregate(Count{}, ...) -> collect()
//                       at parallelism 1 and 2 (CollectionSource copies every line into its batch)
//   p1/p2 view source   the same job over a Source<std::string_view> that reads a shared vector
//                       of lines without copying them
//
// Every run's counts are checked against those of an untimed hand loop (exit code 1 if they
// differ). The figures are words per second (best and median of --runs runs), each variant's
// best against the best hand loop (the targets: p1 >= 0.8x, p2 >= 1.5x), and the same ratio
// for CPU time, i.e. how much more work a job does than the loop. See bench/README.md.
//
//     build/bin/word_count_bench [--mb 50] [--runs 3] [--dist zipf|uniform] [--batch 1024]
//                                [--only hand|p1-collection|p1-view|p2-collection|p2-view]
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <ctime>
#include <fstream>
#include <iostream>
#include <memory>
#include <random>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include <fmt/format.h>

#include "lightflus/lightflus.hpp"

using namespace lightflus;

namespace {

using Counts = std::unordered_map<std::string, std::int64_t>;
using Lines = std::vector<std::string>;

constexpr std::size_t kVocabulary = 10'000;
constexpr int kWordsPerLine = 10;
constexpr std::uint64_t kSeed = 42;

struct Options {
  double mb = 50;
  int runs = 3;
  bool zipf = true;
  std::size_t batch_size = 1024;
  std::string only;  // run just this variant (for profiling)
};

struct Corpus {
  Lines lines;
  std::uint64_t words = 0;
  std::uint64_t bytes = 0;
};

/// A double in [0, 1) from the generator's bits (the same on every standard library, unlike
/// std::uniform_real_distribution).
double unitInterval(std::mt19937_64& rng) {
  return static_cast<double>(rng() >> 11) * 0x1.0p-53;
}

std::vector<std::string> makeVocabulary(std::mt19937_64& rng) {
  std::unordered_set<std::string> seen;
  std::vector<std::string> words;
  while (words.size() < kVocabulary) {
    std::string w(3 + rng() % 8, ' ');
    for (auto& c : w) c = static_cast<char>('a' + rng() % 26);
    if (seen.insert(w).second) words.push_back(std::move(w));
  }
  return words;
}

/// Lines of kWordsPerLine words until the corpus (with a newline per line) holds `mb` MiB.
Corpus makeCorpus(const Options& options) {
  std::mt19937_64 rng(kSeed);
  auto vocabulary = makeVocabulary(rng);
  std::vector<double> cdf(kVocabulary);  // Zipf: P(rank r) ~ 1 / (r + 1)
  double total = 0;
  for (std::size_t r = 0; r < kVocabulary; ++r) cdf[r] = total += 1.0 / static_cast<double>(r + 1);
  for (auto& c : cdf) c /= total;
  auto draw = [&]() -> const std::string& {
    double u = unitInterval(rng);
    std::size_t r =
        options.zipf
            ? static_cast<std::size_t>(std::upper_bound(cdf.begin(), cdf.end(), u) - cdf.begin())
            : static_cast<std::size_t>(u * kVocabulary);
    return vocabulary[std::min(r, kVocabulary - 1)];
  };

  Corpus corpus;
  const auto target = static_cast<std::uint64_t>(options.mb * 1024 * 1024);
  while (corpus.bytes < target) {
    std::string line;
    for (int i = 0; i < kWordsPerLine; ++i) {
      if (i > 0) line += ' ';
      line += draw();
    }
    corpus.bytes += line.size() + 1;
    corpus.words += kWordsPerLine;
    corpus.lines.push_back(std::move(line));
  }
  return corpus;
}

/// Calls emit(word) for every space-separated word of `line`; shared by all variants.
template <class Emit>
inline void forEachWord(std::string_view line, Emit&& emit) {
  std::size_t i = 0;
  const std::size_t n = line.size();
  while (i < n) {
    while (i < n && line[i] == ' ') ++i;
    const std::size_t start = i;
    while (i < n && line[i] != ' ') ++i;
    if (i > start) emit(line.substr(start, i - start));
  }
}

Counts handCount(const Lines& lines) {
  Counts counts;
  for (const auto& line : lines)
    forEachWord(line, [&](std::string_view w) { ++counts[std::string(w)]; });
  return counts;
}

/// Emits a shared vector's lines as views (subtask i of p takes lines i, i+p, ...), so that
/// the job does not copy the corpus. The vector outlives the job.
class LineViewSource final : public Source<std::string_view> {
 public:
  explicit LineViewSource(const Lines& lines) : lines_(lines) {}
  void open(const SourceContext& ctx) override {
    next_ = static_cast<std::size_t>(ctx.subtask);
    step_ = static_cast<std::size_t>(ctx.parallelism);
  }
  SourceStatus poll(SourceOutput<std::string_view>& out) override {
    while (next_ < lines_.size() && !out.full()) {
      out.collect(lines_[next_]);
      next_ += step_;
    }
    return next_ < lines_.size() ? SourceStatus::HaveMoreOutput : SourceStatus::Finished;
  }

 private:
  const Lines& lines_;
  std::size_t next_ = 0;
  std::size_t step_ = 1;
};

using WordCount = std::pair<std::string, std::int64_t>;

/// flatMap split -> keyBy word -> global window count -> collect().
template <class Line>
CollectResult<WordCount> countWords(const DataStream<Line>& lines) {
  return lines
      .template flatMap<std::string>([](const Line& line, Collector<std::string>& out) {
        forEachWord(line, [&](std::string_view w) { out.collect(w); });
      })
      .name("split")
      .keyBy([](const std::string& w) -> const std::string& { return w; })
      .window(GlobalWindows::create())
      .aggregate(Count{}, [](const std::string& w, const GlobalWindow&,
                             std::int64_t n) { return WordCount(w, n); })
      .name("count")
      .collect();
}

enum class SourceKind { Collection, View };

/// Wall-clock time and the CPU time of all the process's threads (std::clock() on Linux): the
/// CPU time is the work done, which other processes' load disturbs much less than the wall
/// clock.
struct Stopwatch {
  std::chrono::steady_clock::time_point wall = std::chrono::steady_clock::now();
  std::clock_t cpu = std::clock();
  double wallSeconds() const {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - wall).count();
  }
  double cpuSeconds() const { return static_cast<double>(std::clock() - cpu) / CLOCKS_PER_SEC; }
};

struct Measurement {
  double seconds = 0;
  double cpu_seconds = 0;
  Counts counts;
};

/// Runs the job; the clock covers building the graph, starting the tasks and execute().
/// fromCollection() takes its vector by value: the copy is made before the clock starts.
Measurement runLightflus(const Lines& lines, int parallelism, SourceKind kind,
                         const Options& options) {
  Lines copy;
  if (kind == SourceKind::Collection) copy = lines;
  Stopwatch watch;
  ExecutionContext ctx("word-count-bench");
  ctx.parallelism(parallelism);
  CollectResult<WordCount> result;
  if (kind == SourceKind::Collection) {
    result = countWords(ctx.fromCollection(std::move(copy)));
  } else {
    const Lines* shared = &lines;
    result = countWords(ctx.fromSource<std::string_view>(
        [shared] { return std::make_unique<LineViewSource>(*shared); }, "lines"));
  }
  ExecutionOptions exec;
  exec.batch_size = options.batch_size;
  ctx.execute(exec);
  Measurement m{watch.wallSeconds(), watch.cpuSeconds(), {}};
  for (auto& [word, n] : result.values()) m.counts.emplace(std::move(word), n);
  return m;
}

Measurement runHand(const Lines& lines) {
  Stopwatch watch;
  Counts counts = handCount(lines);
  return Measurement{watch.wallSeconds(), watch.cpuSeconds(), std::move(counts)};
}

struct Variant {
  std::string id;  // for --only
  std::string name;
  int parallelism = 0;  // 0: the hand loop
  SourceKind kind = SourceKind::Collection;
  double target = 0;  // the goal against the hand loop
  std::vector<double> seconds;
  std::vector<double> cpu_seconds;
  double best() const { return *std::min_element(seconds.begin(), seconds.end()); }
  double bestCpu() const { return *std::min_element(cpu_seconds.begin(), cpu_seconds.end()); }
  double median() const {
    auto s = seconds;
    std::sort(s.begin(), s.end());
    return s.size() % 2 ? s[s.size() / 2] : (s[s.size() / 2 - 1] + s[s.size() / 2]) / 2;
  }
};

std::vector<Variant> allVariants() {
  return {
      {"hand", "hand loop", 0, SourceKind::Collection, 0, {}},
      {"p1-collection", "lightflus p1 collection", 1, SourceKind::Collection, 0.8, {}},
      {"p1-view", "lightflus p1 view source", 1, SourceKind::View, 0.8, {}},
      {"p2-collection", "lightflus p2 collection", 2, SourceKind::Collection, 1.5, {}},
      {"p2-view", "lightflus p2 view source", 2, SourceKind::View, 1.5, {}},
  };
}

std::string loadAverage() {
  std::ifstream in("/proc/loadavg");
  std::string a, b, c;
  if (!(in >> a >> b >> c)) return "unknown";
  return a + " " + b + " " + c;
}

int usage(const char* message) {
  if (message) std::cerr << "word_count_bench: " << message << "\n";
  (message ? std::cerr : std::cout)
      << "usage: word_count_bench [--mb N] [--runs N] [--dist zipf|uniform] [--batch N]\n"
         "                        [--only hand|p1-collection|p1-view|p2-collection|p2-view]\n";
  return message ? 2 : 0;
}

}  // namespace

int main(int argc, char** argv) {
  Options options;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    bool has_value = i + 1 < argc;
    if (arg == "--mb" && has_value) {
      options.mb = std::atof(argv[++i]);
    } else if (arg == "--runs" && has_value) {
      options.runs = std::atoi(argv[++i]);
    } else if (arg == "--batch" && has_value) {
      options.batch_size = static_cast<std::size_t>(std::atol(argv[++i]));
    } else if (arg == "--dist" && has_value) {
      std::string d = argv[++i];
      if (d != "zipf" && d != "uniform") return usage("--dist takes zipf or uniform");
      options.zipf = d == "zipf";
    } else if (arg == "--only" && has_value) {
      options.only = argv[++i];
    } else if (arg == "--help" || arg == "-h") {
      return usage(nullptr);
    } else {
      return usage(("unknown argument '" + arg + "'").c_str());
    }
  }
  if (options.mb <= 0 || options.runs < 1 || options.batch_size < 1)
    return usage("--mb, --runs and --batch must be positive");

  std::vector<Variant> variants;
  for (auto& v : allVariants())
    if (options.only.empty() || options.only == v.id) variants.push_back(std::move(v));
  if (variants.empty()) return usage(("no variant named '" + options.only + "'").c_str());

  Corpus corpus = makeCorpus(options);
  fmt::print("corpus: {:.1f} MiB, {} lines, {} words, vocabulary {}, {}, seed {}\n",
             static_cast<double>(corpus.bytes) / (1024 * 1024), corpus.lines.size(), corpus.words,
             kVocabulary, options.zipf ? "Zipf s=1" : "uniform", kSeed);
  fmt::print("runs: {}, batch size {}, load average before: {}\n", options.runs, options.batch_size,
             loadAverage());

  // The reference counts (untimed); every run of every variant must match them.
  const Counts expected = handCount(corpus.lines);
  try {
    // Runs interleave the variants, so that a burst of load hits all of them alike.
    for (int run = 0; run < options.runs; ++run) {
      for (auto& v : variants) {
        Measurement m = v.parallelism == 0
                            ? runHand(corpus.lines)
                            : runLightflus(corpus.lines, v.parallelism, v.kind, options);
        if (m.counts != expected) {
          std::cerr << "word_count_bench: " << v.name << " counted " << m.counts.size()
                    << " distinct words; they or their counts differ from the reference's "
                    << expected.size() << " distinct words\n";
          return 1;
        }
        v.seconds.push_back(m.seconds);
        v.cpu_seconds.push_back(m.cpu_seconds);
      }
    }
  } catch (const Error& e) {
    std::cerr << "word_count_bench: " << e.what() << "\n";
    return 1;
  }

  const double words = static_cast<double>(corpus.words);
  const bool has_hand = variants.front().parallelism == 0;
  const double hand_best = has_hand ? variants.front().best() : 0;
  const double hand_cpu = has_hand ? variants.front().bestCpu() : 0;
  // "vs hand" compares wall-clock throughput (the targets); "cpu vs hand" compares the CPU
  // time spent, i.e. how much more work the job does than the loop (p2 can reach at most
  // twice that ratio on 2 cores).
  fmt::print("{:<26} {:>14} {:>14} {:>8} {:>12} {:>12}\n", "variant", "best words/s",
             "median words/s", "vs hand", "cpu s (best)", "cpu vs hand");
  auto ratio = [&](double hand, double mine) {
    return has_hand ? fmt::format("{:.2f}x", hand / mine) : std::string("-");
  };
  for (const auto& v : variants)
    fmt::print("{:<26} {:>14.0f} {:>14.0f} {:>8} {:>12.3f} {:>12}\n", v.name, words / v.best(),
               words / v.median(), ratio(hand_best, v.best()), v.bestCpu(),
               ratio(hand_cpu, v.bestCpu()));
  for (const auto& v : variants) {
    if (!has_hand || v.target == 0) continue;
    double ratio = hand_best / v.best();
    fmt::print("target {}: >= {:.2f}x hand, measured {:.2f}x: {}\n", v.name, v.target, ratio,
               ratio >= v.target ? "met" : "NOT met");
  }
  fmt::print("load average after: {}\n", loadAverage());
  return 0;
}
