// A source that follows a script of steps, for tests that need to control exactly which
// elements and watermarks arrive, and in which order across sources: a step may wait for a
// flag (set by another source or by a function under test) and may set one when it is done.
#pragma once

#include <atomic>
#include <memory>
#include <optional>
#include <utility>
#include <vector>

#include "lightflus/datastream.hpp"

namespace lightflus::test {

using Flag = std::shared_ptr<std::atomic<bool>>;
inline Flag makeFlag() {
  return std::make_shared<std::atomic<bool>>(false);
}

template <class T>
struct Step {
  std::vector<std::pair<T, Timestamp>> elements;  ///< value and timestamp
  std::optional<Timestamp> watermark;             ///< emitted after the elements
  Flag wait_for;                                  ///< the step starts once this is set
  Flag then_set;                                  ///< set after the step
};

/// Emits its steps in order, one per poll, then finishes (run it with parallelism 1).
template <class T>
class StepSource final : public Source<T> {
 public:
  explicit StepSource(std::vector<Step<T>> steps) : steps_(std::move(steps)) {}
  SourceStatus poll(SourceOutput<T>& out) override {
    if (next_ < steps_.size()) {
      const Step<T>& s = steps_[next_];
      if (s.wait_for && !s.wait_for->load()) return SourceStatus::Blocked;
      for (const auto& [v, ts] : s.elements) out.collect(v, ts);
      if (s.watermark) out.emitWatermark(*s.watermark);
      if (s.then_set) s.then_set->store(true);
      ++next_;
    }
    return next_ < steps_.size() ? SourceStatus::HaveMoreOutput : SourceStatus::Finished;
  }
  Duration blockedWait() const override { return Duration(1); }

 private:
  std::vector<Step<T>> steps_;
  std::size_t next_ = 0;
};

template <class T>
DataStream<T> steps(ExecutionContext& ctx, std::vector<Step<T>> script, std::string name) {
  return ctx.fromSource<T>([script] { return std::make_unique<StepSource<T>>(script); },
                           std::move(name), SourceOptions{.single = true});
}

}  // namespace lightflus::test
