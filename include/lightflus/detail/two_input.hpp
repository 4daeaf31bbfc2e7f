// Operators with two inputs (internal): one gate of both element types.
//
// A node with two inputs of types A and B reads one InputGate<TwoInput<A, B>>: every producer
// subtask of either input is one channel of that gate, so the gate's machinery applies as for
// union: the watermark is the minimum over both inputs (idle ones aside), checkpoint barriers
// are aligned across both, and the input ends when both have. Each input edge carries a
// SideHashExchange that routes its elements by key group and tags them with their side on the
// way (the node's NodeSpec::input names the gate's type). Flink's TaggedUnion, which its
// coGroup and window join are built on, does the same. The operator then dispatches on the
// side: CoProcessAdapter turns a co-process function into a one-input process function.
#pragma once

#include <memory>
#include <utility>
#include <variant>

#include "lightflus/detail/graph.hpp"

namespace lightflus::detail {

/// An element of either input of a two-input operator: index 0 the first, 1 the second.
template <class A, class B>
using TwoInput = std::variant<A, B>;

/// The key of a TwoInput element: ka on the first input, kb on the second (same key type).
template <class A, class B, class KA, class KB>
struct TwoInputKey {
  KA ka;
  KB kb;
  auto operator()(const TwoInput<A, B>& v) const {
    using K = std::decay_t<std::invoke_result_t<const KA&, const A&>>;
    if (v.index() == 0) return K(ka(*std::get_if<0>(&v)));
    return K(kb(*std::get_if<1>(&v)));
  }
};

/// Wraps the elements of input `I` (of type In) and hands them to the exchange of the gate.
template <class In, class A, class B, std::size_t I>
class ToTwoInput final : public Input<In> {
 public:
  explicit ToTwoInput(Input<TwoInput<A, B>>* next) : next_(next) {}
  void processBatch(Batch<In>& batch) override {
    converted_.reserve(batch.size());
    for (auto& e : batch)
      converted_.push_back(Element<TwoInput<A, B>>{
          TwoInput<A, B>(std::in_place_index<I>, std::move(e.value)), e.timestamp});
    batch.clear();
    next_->processBatch(converted_);
    converted_.clear();
  }
  void processWatermark(Timestamp w) override { next_->processWatermark(w); }
  void processIdle() override { next_->processIdle(); }
  void processBarrier(std::uint64_t id) override { next_->processBarrier(id); }
  void endInput() override { next_->endInput(); }

 private:
  Input<TwoInput<A, B>>* next_;
  Batch<TwoInput<A, B>> converted_;
};

/// The key hash of input `I`'s elements once tagged (the exchange only sees that side).
template <class A, class B, std::size_t I, class KeyHash>
struct SideKeyHash {
  KeyHash hash;
  std::size_t operator()(const TwoInput<A, B>& v) const { return hash(*std::get_if<I>(&v)); }
};

/// The keyBy exchange of input `I` of a two-input operator: `hash` hashes the key of an In.
template <class In, class A, class B, std::size_t I, class KeyHash>
class SideHashExchange final : public HashExchangeSpec {
 public:
  explicit SideHashExchange(KeyHash hash) : hash_{std::move(hash)} {}
  void* make(const std::vector<GateBase*>& targets, int producer_index, int subtask,
             int max_parallelism, std::size_t batch_size, TaskParts& parts) const override {
    using Both = TwoInput<A, B>;
    void* exchange = PortSpec<Both>::template makeExchange<Both, SideKeyHash<A, B, I, KeyHash>>(
        Partitioning::Hash, targets, producer_index, subtask, max_parallelism, batch_size, parts,
        &hash_);
    auto tag = std::make_unique<ToTwoInput<In, A, B, I>>(static_cast<Input<Both>*>(exchange));
    Input<In>* raw = tag.get();
    parts.outputs.push_back(std::move(tag));
    return raw;
  }

 private:
  SideKeyHash<A, B, I, KeyHash> hash_;
};

}  // namespace lightflus::detail
