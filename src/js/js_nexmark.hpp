// The Nexmark source of JavaScript jobs (`Nexmark.events({count, rate})` in bindings/ts).
//
// Its events are the C++ generator's (lightflus/connectors/nexmark.hpp): event n is a pure
// function of n, the same in C++ and TypeScript jobs, at any parallelism and after a restore.
// What travels through the engine is the event's id, a Value Int stamped with the event's
// dateTime: NexmarkIdSource splits the ids over the subtasks (s, s+p, ...), keeps its position
// in its snapshot (restorable at another parallelism), limits the rate and emits a watermark
// just behind each batch, as the C++ NexmarkSource does (both use detail::IdSplit). The JavaScript
// operator that reads the source makes the events of a batch from their ids (NexmarkCrossing) and
// hands them to V8 as columns: the kinds as a Uint8Array, the numbers as a Float64Array, the
// strings as one string with their lengths in an Int32Array. The host helper `nexmarkEvents` builds
// the objects from them, one call per batch; it is about ten times faster than JSON.parse of the
// same events (docs/nexmark.md). Other readers (a sink, a rolling reduce, ...) get the events as
// Value objects (nexmarkValue) through a map the graph builder adds.
//
// The objects have the nexmark JSON form's fields (Flink's names): {event_type, person,
// auction, bid}, two of them null, with dateTime and expires as TIMESTAMP(3) text.
#pragma once

#include <v8-container.h>
#include <v8-local-handle.h>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "js_value.hpp"
#include "lightflus/connectors/nexmark.hpp"
#include "lightflus/element.hpp"
#include "lightflus/source.hpp"
#include "lightflus/value.hpp"

namespace lightflus::js {

class JsWorker;

/// The host helper that builds a batch's event objects from their columns (js_job.cpp installs
/// it with the others): nexmarkEvents(kinds, numbers, lengths, text) -> array of events.
extern const std::string_view kNexmarkHelpers;

/// Emits Nexmark event ids (Value Ints) stamped with the events' dateTime; see the top of the
/// file.
class NexmarkIdSource final : public Source<Value> {
 public:
  NexmarkIdSource(nexmark::Options options, std::shared_ptr<const nexmark::Generator> generator)
      : generator_(std::move(generator)),
        split_(detail::IdSplit::forCount(options.count, options.rate)) {}

  void open(const SourceContext& ctx) override { split_.open(ctx.subtask, ctx.parallelism); }
  SourceStatus poll(SourceOutput<Value>& out) override;
  Duration blockedWait() const override { return split_.blockedWait(); }
  void snapshot(StateWriter& w) override { split_.snapshot(w); }
  void restore(StateReader& r) override { split_.restore(r); }
  bool restoreRescaled(const std::vector<std::string>& previous) override {
    split_.restoreRescaled(previous);
    return true;
  }

 private:
  std::shared_ptr<const nexmark::Generator> generator_;
  detail::IdSplit split_;
};

/// The event as a Value object in the nexmark JSON form (what parseJson makes of
/// nexmark::appendJson's line).
Value nexmarkValue(const nexmark::Event& event);

/// Turns a batch of event ids into a JS array of event objects, one call into the helper per
/// batch. Keeps scratch buffers: one per operator.
class NexmarkCrossing {
 public:
  explicit NexmarkCrossing(std::shared_ptr<const nexmark::Generator> generator)
      : generator_(std::move(generator)) {}

  /// The events of the ids `batch[from..]` as a JS array (inside the caller's scopes).
  v8::Local<v8::Array> toJsArray(JsWorker& worker, ValueConverter& convert,
                                 const Batch<Value>& batch, std::size_t from);
  /// The event of an id element as a Value (for dead letters).
  Value event(const Value& id) const;

 private:
  std::shared_ptr<const nexmark::Generator> generator_;
  std::vector<std::uint8_t> kinds_;
  std::vector<double> numbers_;
  std::vector<std::int32_t> lengths_;
  std::string text_;
};

}  // namespace lightflus::js
