// Stateless operators (internal): map, flatMap, filter, timestamp assignment, identity.
//
// Each processes a whole batch in a loop over the user's function (inlined: the function's
// type is a template parameter) and hands one output batch downstream.
#pragma once

#include <type_traits>

#include "lightflus/detail/operator.hpp"
#include "lightflus/time.hpp"

namespace lightflus::detail {

template <class In, class Out, class F>
class MapOperator final : public OneInputOperator<In, Out> {
 public:
  MapOperator(const OperatorInit& init, Input<Out>* out, F fn)
      : OneInputOperator<In, Out>(init, out), fn_(std::move(fn)) {}
  void processBatch(Batch<In>& batch) override {
    this->countIn(batch.size());
    auto& out = this->buffer_;
    out.reserve(batch.size());
    guarded(this->name(), [&] {
      for (auto& e : batch) out.emplace_back(fn_(std::as_const(e.value)), e.timestamp);
    });
    this->emit(out);
  }

 private:
  F fn_;
};

/// flatMap with a collector: fn(const In&, Collector<Out>&).
template <class In, class Out, class F>
class FlatMapOperator final : public OneInputOperator<In, Out> {
 public:
  FlatMapOperator(const OperatorInit& init, Input<Out>* out, F fn)
      : OneInputOperator<In, Out>(init, out), fn_(std::move(fn)) {}
  void processBatch(Batch<In>& batch) override {
    this->countIn(batch.size());
    auto& out = this->buffer_;
    const std::size_t limit = this->init_.batch_size;
    std::size_t i = 0;
    while (i < batch.size()) {
      guarded(this->name(), [&] {
        for (; i < batch.size() && out.size() < limit; ++i) {
          Collector<Out> collector(out, batch[i].timestamp);
          fn_(std::as_const(batch[i].value), collector);
        }
      });
      this->emit(out);  // keeps output batches near the batch size
    }
  }

 private:
  F fn_;
};

/// flatMap returning a range: fn(const In&) -> range of Out.
template <class In, class Out, class F>
class FlatMapRangeOperator final : public OneInputOperator<In, Out> {
 public:
  FlatMapRangeOperator(const OperatorInit& init, Input<Out>* out, F fn)
      : OneInputOperator<In, Out>(init, out), fn_(std::move(fn)) {}
  void processBatch(Batch<In>& batch) override {
    this->countIn(batch.size());
    auto& out = this->buffer_;
    const std::size_t limit = this->init_.batch_size;
    std::size_t i = 0;
    while (i < batch.size()) {
      guarded(this->name(), [&] {
        for (; i < batch.size() && out.size() < limit; ++i) {
          auto&& range = fn_(std::as_const(batch[i].value));
          for (auto&& v : range) out.push_back(Element<Out>{Out(std::move(v)), batch[i].timestamp});
        }
      });
      this->emit(out);
    }
  }

 private:
  F fn_;
};

template <class T, class F>
class FilterOperator final : public OneInputOperator<T, T> {
 public:
  FilterOperator(const OperatorInit& init, Input<T>* out, F fn)
      : OneInputOperator<T, T>(init, out), fn_(std::move(fn)) {}
  void processBatch(Batch<T>& batch) override {
    this->countIn(batch.size());
    std::size_t kept = 0;
    guarded(this->name(), [&] {
      for (std::size_t i = 0; i < batch.size(); ++i) {
        if (fn_(std::as_const(batch[i].value))) {
          if (kept != i) batch[kept] = std::move(batch[i]);
          ++kept;
        }
      }
    });
    batch.resize(kept);
    if (kept == 0) return;
    this->init_.counters->records_out.fetch_add(kept, std::memory_order_relaxed);
    this->out_->processBatch(batch);
  }

 private:
  F fn_;
};

/// Passes batches through (union, rebalance points).
template <class T>
class IdentityOperator final : public OneInputOperator<T, T> {
 public:
  using OneInputOperator<T, T>::OneInputOperator;
  void processBatch(Batch<T>& batch) override {
    this->countIn(batch.size());
    this->init_.counters->records_out.fetch_add(batch.size(), std::memory_order_relaxed);
    this->out_->processBatch(batch);
  }
};

/// Sets each element's timestamp from fn(value) and emits watermarks after each batch.
/// Upstream watermarks are replaced (only the end of input passes through).
template <class T, class F>
class TimestampAssigner final : public OneInputOperator<T, T> {
 public:
  TimestampAssigner(const OperatorInit& init, Input<T>* out, F fn, WatermarkStrategy strategy)
      : OneInputOperator<T, T>(init, out), fn_(std::move(fn)), strategy_(strategy) {}

  void open() override {
    if (strategy_.idleness.count() > 0) scheduleIdleCheck();
  }
  void processBatch(Batch<T>& batch) override {
    this->countIn(batch.size());
    if (batch.empty()) return;
    guarded(this->name(), [&] {
      for (auto& e : batch) {
        e.timestamp = static_cast<Timestamp>(fn_(std::as_const(e.value)));
        if (e.timestamp > max_timestamp_) max_timestamp_ = e.timestamp;
      }
    });
    last_element_ = processingTimeNow();
    idle_ = false;
    this->init_.counters->records_out.fetch_add(batch.size(), std::memory_order_relaxed);
    this->out_->processBatch(batch);
    if (max_timestamp_ == kMinTimestamp) return;
    Timestamp w = max_timestamp_ - strategy_.max_out_of_orderness.count() - 1;
    if (w > emitted_) {
      emitted_ = w;
      this->out_->processWatermark(w);
    }
  }
  void processWatermark(Timestamp w) override {
    if (w == kMaxTimestamp) this->out_->processWatermark(w);
  }
  void processIdle() override {}

 private:
  void scheduleIdleCheck() {
    auto every = std::max<Timestamp>(1, strategy_.idleness.count() / 2);
    this->init_.services->registerProcessingTimer(
        processingTimeNow() + every, [this](Timestamp now) {
          if (!idle_ && now - last_element_ >= strategy_.idleness.count()) {
            idle_ = true;
            this->out_->processIdle();
          }
          scheduleIdleCheck();
        });
  }

  F fn_;
  WatermarkStrategy strategy_;
  Timestamp max_timestamp_ = kMinTimestamp;
  Timestamp emitted_ = kMinTimestamp;
  Timestamp last_element_ = processingTimeNow();
  bool idle_ = false;
};

}  // namespace lightflus::detail
