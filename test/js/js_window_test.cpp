// The window operators of TypeScript jobs whose state lives in V8 (JsWindowOperator,
// JsChainWindowOperator, and JsChainCombineOperator's partials merged by a JsWindowOperator),
// driven signal by signal next to the engine's WindowOperator folding
// with JsWindowFunction (the reference): random batches of out-of-order elements, watermarks
// that make some of them late, allowed lateness; the outputs, their times and the late counts
// must be the same after every signal. Snapshots move between the two new operators.
#include <fmt/format.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "js_window_operator.hpp"
#include "lightflus/window.hpp"

using namespace lightflus;
using namespace lightflus::js;

namespace {

// Collects what an operator emits: "time json" per element.
class Collected final : public detail::Input<Value> {
 public:
  void processBatch(Batch<Value>& batch) override {
    for (auto& e : batch) lines.push_back(fmt::format("{} {}", e.timestamp, e.value.toJson()));
    batch.clear();
  }
  void processWatermark(Timestamp) override {}
  void processIdle() override {}
  void processBarrier(std::uint64_t) override {}
  void endInput() override { ended = true; }
  std::vector<std::string> sorted() const {
    auto s = lines;
    std::sort(s.begin(), s.end());
    return s;
  }
  std::vector<std::string> lines;
  bool ended = false;
};

// Event-time operators register no processing-time timers.
class NoServices final : public detail::TaskServices {
 public:
  void registerProcessingTimer(Timestamp, std::function<void(Timestamp)>) override {
    FAIL("an event-time window registered a processing-time timer");
  }
  void wakeup() override {}
};

// The job whose UDFs the operators call: elements {k, v}; a filter (the fused chain), keyBy
// e.k, and a reduce and an aggregate of the v's.
constexpr const char* kJob = R"(
  import { ExecutionContext, Generator, Stdout, Time, TumblingWindow } from "lightflus";
  interface E { k: string; v: number; }
  interface Acc { n: number; s: number; }
  export default function (ctx: ExecutionContext) {
    const w = ctx.fromSource(Generator.sequence(0, 1)).map((i: number): E => ({ k: "k", v: i }))
      .filter((e: E) => e.v >= 0).keyBy((e: E) => e.k).window(TumblingWindow.of(Time.seconds(1)));
    w.reduce((a: E, b: E): E => ({ k: a.k, v: a.v + b.v })).sink(Stdout.new());
    w.aggregate({ createAccumulator: (): Acc => ({ n: 0, s: 0 }),
                  add: (e: E, a: Acc) => { a.n += 1; a.s += e.v; return a; },
                  getResult: (a: Acc) => `${a.n}:${a.s}`,
                  merge: (a: Acc, b: Acc) => ({ n: a.n + b.n, s: a.s + b.s }) }).sink(Stdout.new());
  }
)";

struct Udfs {
  int filter = -1, key = -1, reduce = -1;
  AggregateUdfs aggregate;
};

Udfs udfsOf(const JsJob& job) {
  Udfs u;
  for (const Value& op : job.graph()["operators"].asArray()) {
    std::string_view kind = op["kind"].asString();
    if (kind == "filter") u.filter = static_cast<int>(op["udf"].asInt());
    if (kind == "keyBy") u.key = static_cast<int>(op["udf"].asInt());
    if (kind == "reduce") u.reduce = static_cast<int>(op["udf"].asInt());
    if (kind == "aggregate") {
      u.aggregate.create = static_cast<int>(op["aggregate"]["createAccumulator"].asInt());
      u.aggregate.add = static_cast<int>(op["aggregate"]["add"].asInt());
      u.aggregate.result = static_cast<int>(op["aggregate"]["getResult"].asInt());
      u.aggregate.merge = static_cast<int>(op["aggregate"]["merge"].asInt());
    }
  }
  return u;
}

// One signal of a run: a batch of (key, value, time), or a watermark.
struct Signal {
  std::vector<std::tuple<std::string, std::int64_t, Timestamp>> elements;
  Timestamp watermark = kMinTimestamp;
};

std::vector<Signal> randomSignals(unsigned seed) {
  std::mt19937 rng(seed);
  auto pick = [&](std::int64_t lo, std::int64_t hi) {
    return std::uniform_int_distribution<std::int64_t>(lo, hi)(rng);
  };
  std::vector<Signal> signals;
  Timestamp watermark = 100'000;
  for (int i = 0; i < 80; ++i) {
    Signal s;
    if (pick(0, 2) == 0) {
      watermark += pick(0, 4000);
      s.watermark = watermark;
    } else {
      for (std::int64_t n = pick(1, 25); n > 0; --n)
        s.elements.emplace_back(fmt::format("k{}", pick(0, 4)), pick(0, 100),
                                watermark + pick(-9000, 8000));
    }
    signals.push_back(std::move(s));
  }
  return signals;
}

struct Variant {
  std::string name;
  bool sliding;
  std::int64_t size, slide, offset, lateness;
  bool reduce;
};

// The three operators over one variant, fed the same signals.
class Trio {
 public:
  Trio(std::shared_ptr<JsJob> job, const Variant& v) : udfs_(udfsOf(*job)) {
    spec_.sliding = v.sliding;
    spec_.size = v.size;
    spec_.slide = v.sliding ? v.slide : v.size;
    spec_.offset = v.offset;
    spec_.event_time = true;
    spec_.lateness = v.lateness;
    spec_.reduce = v.reduce ? udfs_.reduce : -1;
    if (!v.reduce) spec_.aggregate = udfs_.aggregate;
    JsWindowFunction fn(job, "reference", spec_.reduce, spec_.aggregate);
    Duration lateness(v.lateness);
    if (v.sliding)
      reference_op_ = makeReference(
          SlidingEventTimeWindows::of(Duration(v.size), Duration(v.slide), Duration(v.offset)), fn,
          lateness);
    else
      reference_op_ = makeReference(
          TumblingEventTimeWindows::of(Duration(v.size), Duration(v.offset)), fn, lateness);
    keyed_ = std::make_unique<JsWindowOperator>(init("keyed", counters_[1]), &out_[1], job, spec_);
    fused_ = makeFused(job);
    if (v.lateness == 0) makeCombiner(job);
    reference_ = static_cast<detail::Input<KeyedValue>*>(reference_op_->input());
    reference_op_->open();
    keyed_->open();
    fused_->open();
  }

  void makeCombiner(std::shared_ptr<JsJob> job) {
    JsWindowSpec merging = spec_;
    merging.partials = true;
    merged_ =
        std::make_unique<JsWindowOperator>(init("merged", counters_[3]), &out_[3], job, merging);
    combiner_ = std::make_unique<JsChainCombineOperator>(
        init("combiner", combiner_counters_), merged_.get(), job, std::vector<int>{udfs_.filter},
        std::vector<std::string>{"filter"}, udfs_.key, spec_);
    merged_->open();
    combiner_->open();
  }

  void send(const Signal& s, bool to_fused = true) {
    if (s.watermark != kMinTimestamp) {
      reference_->processWatermark(s.watermark);
      keyed_->processWatermark(s.watermark);
      if (to_fused) fused_->processWatermark(s.watermark);
      if (combiner_) combiner_->processWatermark(s.watermark);
      return;
    }
    Batch<KeyedValue> keyed;
    Batch<Value> plain;
    for (const auto& [k, v, t] : s.elements) {
      Value e = Value::object();
      e["k"] = k;
      e["v"] = v;
      keyed.push_back(Element<KeyedValue>{KeyedValue{Value(k), e}, t});
      plain.push_back(Element<Value>{e, t});
    }
    Batch<KeyedValue> copy = keyed;
    Batch<Value> plain_copy = plain;
    reference_->processBatch(copy);
    keyed_->processBatch(keyed);
    if (to_fused) fused_->processBatch(plain);
    if (combiner_) combiner_->processBatch(plain_copy);
  }
  void end() {
    reference_->endInput();
    keyed_->endInput();
    fused_->endInput();
    if (combiner_) combiner_->endInput();
  }
  // With allowed lateness, each late element fires its window again: combined elements would
  // fire once per partial, so the engine does not combine then (js_graph_builder.cpp).
  bool combines() const { return combiner_ != nullptr; }

  // Replaces the fused operator by one restored from the keyed operator's snapshot.
  void restoreFusedFromKeyed(std::shared_ptr<JsJob> job) {
    std::string bytes;
    StateWriter w(bytes);
    keyed_->snapshot(w);
    out_[2].lines = out_[1].lines;
    fused_ = makeFused(job);
    fused_->restore(detail::OperatorRestore{0, 1, 128, {bytes}});
    fused_->open();
  }

  const Collected& out(int i) const { return out_[i]; }
  std::uint64_t late(int i) const { return counters_[i].late_dropped.load(); }

 private:
  detail::OperatorInit init(const char* name, detail::OperatorCounters& counters) {
    detail::OperatorInit i;
    i.job_name = "windows";
    i.operator_name = name;
    i.services = &services_;
    i.counters = &counters;
    return i;
  }
  template <class Assigner>
  std::unique_ptr<detail::Operator> makeReference(Assigner assigner, const JsWindowFunction& fn,
                                                  Duration lateness) {
    using WF = detail::PlainAggregate<KeyedValue, JsWindowFunction>;
    auto op = std::make_unique<
        detail::WindowOperator<Value, KeyedValue, KeyOfPair, Assigner, WF, std::hash<Value>>>(
        init("reference", counters_[0]), &out_[0], nullptr, KeyOfPair{}, assigner, WF{fn},
        lateness);
    return op;
  }
  std::unique_ptr<JsChainWindowOperator> makeFused(std::shared_ptr<JsJob> job) {
    counters_[2].late_dropped = counters_[1].late_dropped.load();
    return std::make_unique<JsChainWindowOperator>(
        init("fused", counters_[2]), &out_[2], job, std::vector<int>{udfs_.filter},
        std::vector<std::string>{"filter"}, udfs_.key, spec_);
  }

  Udfs udfs_;
  JsWindowSpec spec_;
  NoServices services_;
  detail::OperatorCounters counters_[4], combiner_counters_;
  Collected out_[4];
  std::unique_ptr<detail::Operator> reference_op_;
  detail::Input<KeyedValue>* reference_ = nullptr;
  std::unique_ptr<JsWindowOperator> keyed_;
  std::unique_ptr<JsChainWindowOperator> fused_;
  std::unique_ptr<JsWindowOperator> merged_;  // after the combiner
  std::unique_ptr<JsChainCombineOperator> combiner_;
};

const std::vector<Variant> kVariants = {
    {"tumbling reduce", false, 5000, 0, 0, 0, true},
    {"tumbling aggregate, lateness 1.5 s, offset 1 s", false, 5000, 0, 1000, 1500, false},
    {"sliding aggregate", true, 6000, 2000, 0, 0, false},
    {"sliding reduce, lateness 2 s", true, 6000, 2000, 0, 2000, true},
    // Panes of the combiner are gcd(size, slide) long when the slide does not divide the size.
    {"sliding aggregate, size 5 s, slide 2 s", true, 5000, 2000, 0, 0, false},
    // Gaps between windows: an element in a gap is late only by its own time, else dropped.
    {"sliding reduce, size 2 s, slide 5 s, offset 1 s", true, 2000, 5000, 1000, 0, true},
    {"sliding aggregate, size 1.5 s, slide 4 s, lateness 1 s", true, 1500, 4000, 0, 1000, false},
};

}  // namespace

TEST_CASE("windows with state in V8 fire like the engine's window operator, signal by signal",
          "[js][window]") {
  auto job = JsJob::load(kJob, {.file_name = "windows.ts"});
  for (const auto& variant : kVariants) {
    for (unsigned seed : {1u, 2u, 3u}) {
      SECTION(variant.name + ", seed " + std::to_string(seed)) {
        Trio trio(job, variant);
        auto signals = randomSignals(seed);
        for (std::size_t i = 0; i < signals.size(); ++i) {
          INFO("signal " << i);
          trio.send(signals[i]);
          REQUIRE(trio.out(1).sorted() == trio.out(0).sorted());
          REQUIRE(trio.out(2).sorted() == trio.out(0).sorted());
          if (trio.combines()) REQUIRE(trio.out(3).sorted() == trio.out(0).sorted());
          REQUIRE(trio.late(1) == trio.late(0));
          REQUIRE(trio.late(2) == trio.late(0));
          if (trio.combines()) REQUIRE(trio.late(3) == trio.late(0));
        }
        trio.end();
        CHECK(trio.out(1).sorted() == trio.out(0).sorted());
        CHECK(trio.out(2).sorted() == trio.out(0).sorted());
        if (trio.combines()) CHECK(trio.out(3).sorted() == trio.out(0).sorted());
        CHECK(trio.out(0).lines.size() > 20);                // windows fired
        if (variant.lateness == 0) CHECK(trio.late(0) > 0);  // the signals make late elements
      }
    }
  }
}

TEST_CASE("window state in V8 survives a snapshot and moves between the fused and keyed forms",
          "[js][window][snapshot]") {
  auto job = JsJob::load(kJob, {.file_name = "windows.ts"});
  for (const auto& variant : kVariants) {
    SECTION(variant.name) {
      Trio trio(job, variant);
      auto signals = randomSignals(7);
      Timestamp watermark = kMinTimestamp;
      for (std::size_t i = 0; i < signals.size() / 2; ++i) {
        trio.send(signals[i], /*to_fused=*/false);
        if (signals[i].watermark != kMinTimestamp) watermark = signals[i].watermark;
      }
      trio.restoreFusedFromKeyed(job);
      // After a restart the watermark flows again before the elements.
      Signal again;
      again.watermark = watermark;
      if (watermark != kMinTimestamp) trio.send(again);
      for (std::size_t i = signals.size() / 2; i < signals.size(); ++i) trio.send(signals[i]);
      trio.end();
      CHECK(trio.out(2).sorted() == trio.out(0).sorted());
      CHECK(trio.late(2) == trio.late(0));
    }
  }
}
