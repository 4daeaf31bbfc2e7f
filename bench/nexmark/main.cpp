// nexmark: runs one Nexmark query on Lightflus and writes its result rows as JSON lines.
//
//   nexmark --query q5 [--events FILE | --generate N] [--parallelism N] [--sink print|null]
//           [--rate EVENTS_PER_S] [--changelog]
//   nexmark --write-events FILE --generate N     (the generator's events as JSON lines)
//   nexmark --query q1 --generate N --baseline   (a plain loop doing q1's work, no engine)
//
// A summary (events, rows, seconds, events/s) goes to stderr; rows go to stdout with
// --sink print (the default). q4 prints its final table when the input ends; with --changelog
// it prints every change of it as it happens (+I, -U, +U rows). See docs/nexmark.md.
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include <fmt/format.h>

#include "baseline.hpp"
#include "lightflus/connectors/file.hpp"
#include "lightflus/connectors/nexmark.hpp"
#include "queries.hpp"

using namespace lightflus;

namespace {

struct Args {
  std::string query;
  std::string events_file;
  std::string write_events;
  std::uint64_t generate = 0;
  int parallelism = 1;
  std::string sink = "print";
  double rate = 0;
  bool baseline = false;
  bool changelog = false;
};

[[noreturn]] void usage(const std::string& error) {
  std::fprintf(stderr,
               "nexmark: %s\n"
               "usage: nexmark --query q0|q1|q2|q3|q4|q5|q7|q8 [--events FILE | --generate N]\n"
               "               [--parallelism N] [--sink print|null] [--rate EVENTS_PER_S]\n"
               "               [--baseline] [--changelog (q4)]\n"
               "       nexmark --write-events FILE --generate N\n",
               error.c_str());
  std::exit(2);
}

Args parseArgs(int argc, char** argv) {
  Args a;
  for (int i = 1; i < argc; ++i) {
    std::string flag = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) usage(flag + " needs a value");
      return argv[++i];
    };
    try {
      if (flag == "--query")
        a.query = value();
      else if (flag == "--events")
        a.events_file = value();
      else if (flag == "--write-events")
        a.write_events = value();
      else if (flag == "--generate")
        a.generate = std::stoull(value());
      else if (flag == "--parallelism")
        a.parallelism = std::stoi(value());
      else if (flag == "--sink")
        a.sink = value();
      else if (flag == "--rate")
        a.rate = std::stod(value());
      else if (flag == "--baseline")
        a.baseline = true;
      else if (flag == "--changelog")
        a.changelog = true;
      else
        usage("unknown flag " + flag);
    } catch (const std::logic_error&) {
      usage("bad value for " + flag);
    }
  }
  if (!a.write_events.empty()) {
    if (a.generate == 0) usage("--write-events needs --generate N");
    return a;
  }
  if (a.query.empty()) usage("--query is required");
  if (a.events_file.empty() == (a.generate == 0))
    usage("give either --events FILE or --generate N");
  if (a.sink != "print" && a.sink != "null") usage("--sink is print or null");
  if (a.parallelism < 1) usage("--parallelism must be at least 1");
  if (a.baseline && a.generate == 0) usage("--baseline runs on --generate N");
  if (a.changelog && (a.query != "q4" || a.baseline))
    usage("--changelog is for q4, the updating query, without --baseline");
  return a;
}

using Rows = std::shared_ptr<std::atomic<std::uint64_t>>;

/// Counts rows for the summary and, with --sink print, writes them to stdout as JSON lines
/// (one write per batch, under a lock so that subtasks' lines do not mix).
template <class T>
class RowSink final : public Sink<T> {
 public:
  RowSink(bool print, Rows rows, std::shared_ptr<std::mutex> stdout_lock)
      : print_(print), rows_(std::move(rows)), stdout_lock_(std::move(stdout_lock)) {}
  void write(Batch<T>& batch) override {
    count_ += batch.size();
    if (!print_) return;
    buffer_.clear();
    for (const auto& e : batch) {
      nexmark::appendRow(buffer_, e.value);
      buffer_ += '\n';
    }
    std::lock_guard lock(*stdout_lock_);
    if (std::fwrite(buffer_.data(), 1, buffer_.size(), stdout) != buffer_.size())
      throw ConnectorError("writing to stdout failed");
  }
  void flush() override {
    if (print_) std::fflush(stdout);
  }
  void close() override { rows_->fetch_add(count_); }

 private:
  bool print_;
  Rows rows_;
  std::shared_ptr<std::mutex> stdout_lock_;
  std::uint64_t count_ = 0;
  std::string buffer_;
};

template <class T>
void addSink(const DataStream<T>& rows, const std::string& kind, const Rows& count) {
  bool print = kind == "print";
  auto lock = std::make_shared<std::mutex>();
  rows.sink([print, count, lock] { return std::make_unique<RowSink<T>>(print, count, lock); },
            kind);
}

const std::map<std::string, std::function<void(const DataStream<nexmark::Event>&,
                                               const std::string&, const Rows&)>>
    kQueries = {
        {"q0", [](auto& e, auto& s, auto& c) { addSink(nexmark::q0(e), s, c); }},
        {"q1", [](auto& e, auto& s, auto& c) { addSink(nexmark::q1(e), s, c); }},
        {"q2", [](auto& e, auto& s, auto& c) { addSink(nexmark::q2(e), s, c); }},
        {"q3", [](auto& e, auto& s, auto& c) { addSink(nexmark::q3(e), s, c); }},
        {"q4", [](auto& e, auto& s, auto& c) { addSink(nexmark::q4(e), s, c); }},
        {"q5", [](auto& e, auto& s, auto& c) { addSink(nexmark::q5(e), s, c); }},
        {"q7", [](auto& e, auto& s, auto& c) { addSink(nexmark::q7(e), s, c); }},
        {"q8", [](auto& e, auto& s, auto& c) { addSink(nexmark::q8(e), s, c); }},
};

void writeEvents(const Args& a) {
  std::FILE* f = a.write_events == "-" ? stdout : std::fopen(a.write_events.c_str(), "w");
  if (f == nullptr) throw ConnectorError("cannot open '" + a.write_events + "' for writing");
  nexmark::Generator gen;
  std::string buffer;
  for (std::uint64_t id = 0; id < a.generate; ++id) {
    nexmark::appendJson(buffer, gen.next(id));
    buffer += '\n';
    if (buffer.size() > (1 << 20) || id + 1 == a.generate) {
      if (std::fwrite(buffer.data(), 1, buffer.size(), f) != buffer.size())
        throw ConnectorError("writing to '" + a.write_events + "' failed");
      buffer.clear();
    }
  }
  if (f != stdout && std::fclose(f) != 0)
    throw ConnectorError("closing '" + a.write_events + "' failed");
}

DataStream<nexmark::Event> events(ExecutionContext& ctx, const Args& a) {
  if (a.generate > 0)
    return ctx.fromSource<nexmark::Event>(nexmark::source({.count = a.generate, .rate = a.rate}),
                                          "nexmark");
  auto lines = readTextFile(ctx, a.events_file);
  if (a.parallelism > 1) lines = lines.rebalance();  // parse in parallel
  // Flink's nexmark DDL: WATERMARK FOR dateTime AS dateTime - INTERVAL '4' SECOND.
  return lines.map([](const std::string& line) { return nexmark::parseEventJson(line); })
      .name("parse")
      .assignTimestamps([](const nexmark::Event& e) { return nexmark::eventTime(e); },
                        WatermarkStrategy::boundedOutOfOrderness(Time::seconds(4)));
}

}  // namespace

int main(int argc, char** argv) {
  Args a = parseArgs(argc, argv);
  try {
    if (!a.write_events.empty()) {
      writeEvents(a);
      return 0;
    }
    auto query = kQueries.find(a.query);
    if (query == kQueries.end()) usage("unknown query " + a.query);
    auto start = std::chrono::steady_clock::now();
    std::uint64_t rows = 0;
    if (a.baseline) {
      rows = nexmark::runBaseline(a.query, a.generate);
    } else {
      ExecutionContext ctx("nexmark-" + a.query);
      ctx.parallelism(a.parallelism);
      auto count = std::make_shared<std::atomic<std::uint64_t>>(0);
      if (a.changelog)
        addSink(nexmark::q4Changelog(events(ctx, a)), a.sink, count);
      else
        query->second(events(ctx, a), a.sink, count);
      ctx.execute();
      rows = count->load();
    }
    double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    std::string rate = a.generate > 0 ? fmt::format(" {:.0f} events/s", a.generate / seconds) : "";
    std::fprintf(stderr, "nexmark %s%s p%d: %llu events, %llu rows, %.3f s%s\n", a.query.c_str(),
                 a.baseline ? " baseline" : "", a.parallelism,
                 static_cast<unsigned long long>(a.generate), static_cast<unsigned long long>(rows),
                 seconds, rate.c_str());
  } catch (const std::exception& e) {
    std::fprintf(stderr, "nexmark: %s\n", e.what());
    return 1;
  }
  return 0;
}
