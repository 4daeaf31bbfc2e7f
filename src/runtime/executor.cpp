// The executor: planning (chaining, gates, exchanges), task threads, failure propagation,
// checkpoints.
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cctype>
#include <chrono>

#include "job_runtime.hpp"
#include "lightflus/error.hpp"

namespace lightflus {
namespace detail {

// ---------------------------------------------------------------------------------------------
// Planning

JobRuntime::JobRuntime(std::shared_ptr<const StreamGraph> graph, ExecutionOptions options)
    : graph_(std::move(graph)), options_(std::move(options)), scheduler_(Scheduler::shared()) {
  if (options_.batch_size == 0) throw ConfigError("batch_size must be at least 1");
  if (options_.channel_capacity == 0) throw ConfigError("channel_capacity must be at least 1");
  if (options_.restore) checkRestore();
  plan();
  if (options_.restore) checkAllRestored();
  if (!options_.checkpoints.directory.empty())
    coordinator_ = std::make_unique<CheckpointCoordinator>(*this, options_.checkpoints);
}

void JobRuntime::checkRestore() {
  const auto& snapshot = *options_.restore;
  // Checkpoint ids go on from the restored one: sinks that record the checkpoint they
  // committed (Kafka's exactly-once sink) rely on ids never going back.
  next_checkpoint_ = snapshot.checkpoint_id;
  checkpoint_stats_.restored_id = snapshot.checkpoint_id;
  checkpoint_stats_.restored_from = options_.restore_source;
}

namespace {
// "jsChain+window" and "jsWindow" hold the state of a "window": the fused and JavaScript forms
// of an operator write the same state as the plain one.
std::string kindFamily(std::string_view kind) {
  if (auto plus = kind.rfind('+'); plus != std::string_view::npos) kind.remove_prefix(plus + 1);
  std::string family(kind);
  if (family.size() > 2 && family.starts_with("js") && std::isupper(family[2])) {
    family.erase(0, 2);
    family[0] = static_cast<char>(std::tolower(family[0]));
  }
  return family;
}
}  // namespace

bool JobRuntime::kindMatches(const NodeSpec& node, const Snapshot::OperatorState& state) const {
  if (state.kind.empty() || kindFamily(state.kind) == kindFamily(node.kind)) return true;
  if (options_.allow_non_restored_state) return false;  // dropped, like state of a lost uid
  throw ConfigError(fmt::format(
      "job '{}': the state with uid '{}' was written by a '{}' operator ('{}'), but the job's "
      "operator with that uid is a '{}' ('{}'): operators were added or removed before it. "
      "Give operators stable uids, or drop that state with --allow-non-restored-state "
      "(C++: ExecutionOptions::allow_non_restored_state)",
      graph_->job_name, node.uid, state.kind, state.name, node.kind, node.name));
}

void JobRuntime::checkAllRestored() const {
  if (options_.allow_non_restored_state) return;
  std::vector<std::string> unknown;
  for (const auto& [uid, op] : options_.restore->operators)
    if (!restored_uids_.contains(uid))
      unknown.push_back(fmt::format("'{}' (operator '{}')", uid, op.name));
  if (unknown.empty()) return;
  std::string from = options_.restore_source.empty() ? std::string("the snapshot")
                                                     : "'" + options_.restore_source + "'";
  throw ConfigError(fmt::format(
      "job '{}': {} holds state of {} that no operator of the job takes (renamed or removed?). "
      "Give the operator its old uid, or allow dropping that state (lightflusd: "
      "--allow-non-restored-state; C++: ExecutionOptions::allow_non_restored_state)",
      graph_->job_name, from, fmt::join(unknown, ", ")));
}

JobRuntime::~JobRuntime() {
  cancel();
  std::unique_lock lock(mutex_);
  ended_cv_.wait(lock, [&] { return live_tasks_ == 0; });
}

void JobRuntime::plan() {
  const auto& g = *graph_;
  if (g.nodes.empty()) throw ConfigError(fmt::format("job '{}' has no operators", g.job_name));
  const int default_p = options_.parallelism > 0 ? options_.parallelism : g.default_parallelism;
  for (const auto& n : g.nodes) {
    int p = n.parallelism > 0 ? n.parallelism : default_p;
    if (n.follow_input) {
      for (const auto& e : g.edges)
        if (e.to == n.id) p = parallelism(e.from);  // inputs come first: ids are topological
    }
    if (n.single) {
      if (n.parallelism > 1)
        throw ConfigError(fmt::format("job '{}': operator '{}' runs with parallelism 1 only",
                                      g.job_name, n.name));
      p = 1;
    }
    if (p < 1 || p > g.max_parallelism)
      throw ConfigError(fmt::format("job '{}': operator '{}' has parallelism {}; it must be 1..{}",
                                    g.job_name, n.name, p, g.max_parallelism));
    parallelism_.push_back(p);
  }
  checkConsumers();

  // An edge is chained when its target has no other input and data stays in the subtask.
  std::vector<int> in_degree(g.nodes.size(), 0);
  for (const auto& e : g.edges) ++in_degree[static_cast<std::size_t>(e.to)];
  chained_.assign(g.edges.size(), false);
  producer_offset_.assign(g.edges.size(), 0);
  std::vector<int> producers(g.nodes.size(), 0);
  for (std::size_t i = 0; i < g.edges.size(); ++i) {
    const auto& e = g.edges[i];
    int pf = parallelism(e.from), pt = parallelism(e.to);
    bool local = (e.partitioning == Partitioning::Forward && pf == pt) || (pf == 1 && pt == 1);
    // A node that converts its inputs' types (two inputs) reads them through its gate.
    bool converts = g.nodes[static_cast<std::size_t>(e.to)].input != nullptr;
    chained_[i] = in_degree[static_cast<std::size_t>(e.to)] == 1 && local && !converts;
    if (!chained_[i]) {
      producer_offset_[i] = producers[static_cast<std::size_t>(e.to)];
      producers[static_cast<std::size_t>(e.to)] += pf;
    }
  }

  // Counters and gates.
  counters_.resize(g.nodes.size());
  gates_.resize(g.nodes.size());
  for (const auto& n : g.nodes) {
    auto id = static_cast<std::size_t>(n.id);
    for (int s = 0; s < parallelism(n.id); ++s)
      counters_[id].push_back(std::make_unique<OperatorCounters>());
    if (producers[id] == 0) continue;
    const auto& spec = inputSpec(n.id);
    for (int s = 0; s < parallelism(n.id); ++s)
      gates_[id].push_back(spec.makeGate(producers[id], options_.channel_capacity));
  }

  // One task per head (a source or a node with a gate) and subtask.
  for (const auto& n : g.nodes) {
    auto id = static_cast<std::size_t>(n.id);
    bool head = n.source || !gates_[id].empty();
    if (!head) {
      bool has_input = false;
      for (std::size_t i = 0; i < g.edges.size(); ++i)
        if (g.edges[i].to == n.id) has_input = true;
      if (!has_input)
        throw ConfigError(fmt::format("job '{}': operator '{}' has no input", g.job_name, n.name));
      continue;
    }
    for (int s = 0; s < parallelism(n.id); ++s) {
      auto task = std::make_unique<Task>(*this, n.id, s);
      task->parts.backpressure_ns = &counters(n.id, s).backpressure_ns;
      void* input = build(n.id, s, *task);
      if (n.source) {
        task->source = static_cast<SourceDriverBase*>(task->operators.back().get());
      } else {
        auto& gate = *gates_[id][static_cast<std::size_t>(s)];
        inputSpec(n.id).setGateHead(gate, input);
        task->gate = &gate;
        gate.setConsumer(task.get());
      }
      tasks_.push_back(std::move(task));
    }
  }
}

const PortSpecBase& JobRuntime::inputSpec(int node_id) const {
  const auto& g = *graph_;
  const auto& node = g.nodes[static_cast<std::size_t>(node_id)];
  if (node.input) return *node.input;  // two inputs: their exchanges convert to this type
  for (const auto& e : g.edges)
    if (e.to == node_id)
      return *g.nodes[static_cast<std::size_t>(e.from)]
                  .ports[static_cast<std::size_t>(e.from_port)]
                  .spec;
  throw ConfigError(fmt::format("job '{}': operator '{}' has no input", g.job_name, node.name));
}

void JobRuntime::checkConsumers() const {
  const auto& g = *graph_;
  for (const auto& n : g.nodes)
    for (std::size_t p = 0; p < n.ports.size(); ++p) {
      if (!n.ports[p].requires_consumer) continue;
      bool consumed = std::any_of(g.edges.begin(), g.edges.end(), [&](const EdgeSpec& e) {
        return e.from == n.id && e.from_port == static_cast<int>(p);
      });
      if (!consumed)
        throw ConfigError(fmt::format(
            "job '{}': operator '{}' sends records to its '{}' output but nothing consumes it; "
            "read it with getSideOutput()/deadLetters() or change the policy",
            g.job_name, n.name, n.ports[p].tag));
    }
}

void* JobRuntime::build(int node_id, int subtask, Task& task) {
  const auto& g = *graph_;
  const auto& node = g.nodes[static_cast<std::size_t>(node_id)];
  std::vector<void*> outputs;
  for (std::size_t port = 0; port < node.ports.size(); ++port) {
    std::vector<void*> targets;
    for (std::size_t i = 0; i < g.edges.size(); ++i) {
      const auto& e = g.edges[i];
      if (e.from != node_id || e.from_port != static_cast<int>(port)) continue;
      if (chained_[i]) {
        targets.push_back(build(e.to, subtask, task));
        continue;
      }
      std::vector<GateBase*> gates;
      for (auto& gate : gates_[static_cast<std::size_t>(e.to)]) gates.push_back(gate.get());
      Partitioning part = e.partitioning;
      if (part == Partitioning::Forward && parallelism(e.from) != parallelism(e.to))
        part = Partitioning::Rebalance;
      int producer = producer_offset_[i] + subtask;
      std::atomic<std::int64_t>* saved = task.parts.backpressure_ns;
      task.parts.backpressure_ns = &counters(node_id, subtask).backpressure_ns;
      if (part == Partitioning::Hash && e.hash) {
        targets.push_back(e.hash->make(gates, producer, subtask, g.max_parallelism,
                                       options_.batch_size, task.parts));
      } else {
        targets.push_back(node.ports[port].spec->exchange(
            part, gates, producer, subtask, g.max_parallelism, options_.batch_size, task.parts));
      }
      task.parts.backpressure_ns = saved;
    }
    if (targets.empty())
      outputs.push_back(node.ports[port].spec->discard(task.parts));
    else if (targets.size() == 1)
      outputs.push_back(targets.front());
    else
      outputs.push_back(node.ports[port].spec->fanOut(std::move(targets), task.parts));
  }

  OperatorInit init;
  init.job_name = g.job_name;
  init.operator_name = node.name;
  init.node_id = node_id;
  init.subtask = subtask;
  init.parallelism = parallelism(node_id);
  init.max_parallelism = g.max_parallelism;
  init.batch_size = options_.batch_size;
  init.services = &task;
  init.counters = &counters(node_id, subtask);
  init.checkpointing = !options_.checkpoints.directory.empty() || options_.manual_checkpoints;
  for (std::size_t port = 0; port < node.ports.size(); ++port) {
    const auto& spec = *node.ports[port].spec;
    init.output_ports.push_back(
        OutputPortInfo{node.ports[port].tag, spec.elementType(), spec.controlOf(outputs[port])});
  }
  std::unique_ptr<Operator> op;
  try {
    op = node.make(init, outputs);
  } catch (const OperatorFailure& f) {
    throw ConfigError(fmt::format("job '{}': operator '{}' could not be created: {}", g.job_name,
                                  f.operatorName(), f.cause()));
  }
  if (op->stateful()) {
    // Two stateful operators under one uid would write one snapshot entry, and each would
    // restore the other's state.
    auto [owner, added] = stateful_uids_.try_emplace(node.uid, node_id);
    if (!added && owner->second != node_id)
      throw ConfigError(fmt::format(
          "job '{}': operators '{}' and '{}' have the same uid '{}': a uid names one operator's "
          "state in checkpoints, give each stateful operator its own",
          g.job_name, g.nodes[static_cast<std::size_t>(owner->second)].name, node.name, node.uid));
  }
  if (options_.restore && op->stateful()) {
    auto it = options_.restore->operators.find(node.uid);
    if (it != options_.restore->operators.end() && kindMatches(node, it->second)) {
      restored_uids_.insert(node.uid);
      OperatorRestore r{subtask, init.parallelism, g.max_parallelism, it->second.subtasks};
      try {
        op->restore(r);
      } catch (const std::exception& e) {
        throw ConfigError(fmt::format("job '{}': operator '{}' could not be restored: {}",
                                      g.job_name, node.name, e.what()));
      }
    }
  }
  void* input = op->input();
  task.operators.push_back(std::move(op));
  task.operator_nodes.push_back(node_id);
  return input;
}

void JobRuntime::start() {
  {
    std::lock_guard lock(mutex_);
    live_tasks_ = tasks_.size();
  }
  for (auto& t : tasks_) {
    for (const auto& op : t->operators)
      if (op->threadBound()) {
        t->pinTo(scheduler_.nextPin());
        break;
      }
    scheduler_.schedule(t.get());
  }
  if (coordinator_) coordinator_->start();
}

// ---------------------------------------------------------------------------------------------
// Job state

void JobRuntime::fail(const std::string& op, int subtask, const std::string& cause) {
  {
    std::lock_guard lock(mutex_);
    if (status_ != JobStatus::Running) return;
    status_ = JobStatus::Failed;
    failed_operator_ = op;
    failed_cause_ = cause;
    error_ = fmt::format("job '{}' failed: operator '{}' (subtask {}): {}", graph_->job_name, op,
                         subtask + 1, cause);
    for (auto& [id, pending] : pending_)
      pending.promise.set_exception(std::make_exception_ptr(Error(error_)));
    pending_.clear();
    if (coordinator_) coordinator_->wake();
    notified_cv_.notify_all();
  }
  cancelled_ = true;
  for (auto& per_node : gates_)
    for (auto& gate : per_node) gate->cancel();
  for (auto& t : tasks_) t->wake();
}

void JobRuntime::cancel() {
  {
    std::lock_guard lock(mutex_);
    if (status_ == JobStatus::Running && live_tasks_ > 0) status_ = JobStatus::Cancelled;
    for (auto& [id, pending] : pending_)
      pending.promise.set_exception(
          std::make_exception_ptr(Error("job was cancelled before the checkpoint completed")));
    pending_.clear();
    if (coordinator_) coordinator_->wake();
    notified_cv_.notify_all();
  }
  cancelled_ = true;
  for (auto& per_node : gates_)
    for (auto& gate : per_node) gate->cancel();
  for (auto& t : tasks_) t->wake();
}

void JobRuntime::taskEnded(Task& task) {
  // The notification happens under the lock: once it is released the job may be destroyed.
  std::lock_guard lock(mutex_);
  task.finished = true;
  if (--live_tasks_ == 0) {
    if (status_ == JobStatus::Running) status_ = JobStatus::Finished;
    for (auto& [id, pending] : pending_)
      pending.promise.set_exception(
          std::make_exception_ptr(Error("job ended before the checkpoint completed")));
    pending_.clear();
    if (coordinator_) {
      if (status_ == JobStatus::Finished) coordinator_->jobFinished();
      coordinator_->wake();
    }
    ended_cv_.notify_all();
    notified_cv_.notify_all();
  }
}

void JobRuntime::wait() {
  std::unique_lock lock(mutex_);
  ended_cv_.wait(lock, [&] { return live_tasks_ == 0; });
  if (status_ == JobStatus::Failed)
    throw JobFailedError(graph_->job_name, failed_operator_, failed_cause_, error_);
}

bool JobRuntime::waitFor(Duration timeout) {
  std::unique_lock lock(mutex_);
  return ended_cv_.wait_for(lock, timeout, [&] { return live_tasks_ == 0; });
}

JobStatus JobRuntime::status() const {
  std::lock_guard lock(mutex_);
  return status_;
}

std::string JobRuntime::error() const {
  std::lock_guard lock(mutex_);
  return error_;
}

std::vector<OperatorMetrics> JobRuntime::metrics() const {
  std::vector<OperatorMetrics> all;
  for (const auto& n : graph_->nodes) {
    OperatorMetrics m;
    m.id = n.id;
    m.name = n.name;
    m.kind = n.kind;
    m.parallelism = parallelism(n.id);
    std::int64_t bp = 0;
    for (const auto& c : counters_[static_cast<std::size_t>(n.id)]) {
      m.records_in += c->records_in.load(std::memory_order_relaxed);
      m.records_out += c->records_out.load(std::memory_order_relaxed);
      m.late_dropped += c->late_dropped.load(std::memory_order_relaxed);
      bp += c->backpressure_ns.load(std::memory_order_relaxed);
    }
    m.backpressure_ms = static_cast<double>(bp) / 1e6;
    for (const auto& gate : gates_[static_cast<std::size_t>(n.id)]) {
      m.queued += gate->queued();
      m.queue_capacity += gate->capacity();
    }
    all.push_back(std::move(m));
  }
  return all;
}

std::string JobRuntime::describePlan() const {
  std::string out = fmt::format("job '{}'\n", graph_->job_name);
  std::vector<int> seen;
  for (const auto& t : tasks_) {
    if (t->subtask() != 0) continue;
    out += fmt::format("  task x{}:", parallelism(t->head()));
    for (auto it = t->operator_nodes.rbegin(); it != t->operator_nodes.rend(); ++it) {
      const auto& n = graph_->nodes[static_cast<std::size_t>(*it)];
      out +=
          fmt::format(" {}{} '{}'", it == t->operator_nodes.rbegin() ? "" : "-> ", n.kind, n.name);
    }
    out += "\n";
  }
  return out;
}

std::vector<PlanEdge> JobRuntime::planEdges() const {
  std::vector<PlanEdge> edges;
  for (std::size_t i = 0; i < graph_->edges.size(); ++i) {
    const EdgeSpec& e = graph_->edges[i];
    PlanEdge edge;
    edge.from = e.from;
    edge.to = e.to;
    edge.output = graph_->nodes[static_cast<std::size_t>(e.from)]
                      .ports[static_cast<std::size_t>(e.from_port)]
                      .tag;
    switch (e.partitioning) {
      case Partitioning::Forward:
        edge.exchange = "forward";
        break;
      case Partitioning::Rebalance:
        edge.exchange = "rebalance";
        break;
      case Partitioning::Broadcast:
        edge.exchange = "broadcast";
        break;
      case Partitioning::Hash:
        edge.exchange = "hash";
        break;
    }
    edge.chained = chained_[i];
    edges.push_back(std::move(edge));
  }
  return edges;
}

// ---------------------------------------------------------------------------------------------
// Checkpoints

Snapshot JobRuntime::triggerCheckpoint(Duration timeout) {
  Snapshot s = takeCheckpoint(timeout);
  notifyCheckpointComplete(s.checkpoint_id);
  return s;
}

void JobRuntime::notifyCheckpointComplete(std::uint64_t id) {
  for (auto& t : tasks_) t->notifyComplete(id);
}

std::uint64_t JobRuntime::savepoint(const std::string& path, Duration timeout, bool suspend) {
  const auto started = std::chrono::steady_clock::now();
  Snapshot s = takeCheckpoint(timeout, suspend);
  try {
    s.writeTo(path);
    // Also the job's newest checkpoint: sinks commit below, and a crash after that must not
    // resume from an older checkpoint (its records would be written again).
    if (coordinator_) coordinator_->adopt(s, started);
  } catch (...) {
    if (suspend) resumeSources();
    throw;
  }
  if (!suspend) {
    notifyCheckpointComplete(s.checkpoint_id);
    return s.checkpoint_id;
  }
  // Stopping: wait until every operator has been told (sinks committed), so that a cancel that
  // follows cannot overtake the commit.
  std::unique_lock lock(mutex_);
  awaited_notification_ = s.checkpoint_id;
  notifications_delivered_ = 0;
  lock.unlock();
  notifyCheckpointComplete(s.checkpoint_id);
  lock.lock();
  bool delivered = notified_cv_.wait_for(lock, timeout, [&] {
    return notifications_delivered_ == tasks_.size() || live_tasks_ == 0 ||
           status_ != JobStatus::Running;
  });
  awaited_notification_ = 0;
  if (status_ == JobStatus::Failed) throw Error(error_);
  if (!delivered || notifications_delivered_ != tasks_.size())
    throw Error(fmt::format(
        "job '{}': savepoint {} is written ({}), but not every operator was told it completed "
        "within {} ms",
        graph_->job_name, s.checkpoint_id, path, timeout.count()));
  return s.checkpoint_id;
}

CheckpointStats JobRuntime::checkpointStats() const {
  std::lock_guard lock(mutex_);
  return checkpoint_stats_;
}

void JobRuntime::recordCheckpoint(const CheckpointStats& outcome, bool ok) {
  std::lock_guard lock(mutex_);
  auto& s = checkpoint_stats_;
  if (ok) {
    ++s.completed;
    s.last_id = outcome.last_id;
    s.last_path = outcome.last_path;
    s.last_completed_at_ms = outcome.last_completed_at_ms;
    s.last_duration_ms = outcome.last_duration_ms;
    s.last_size_bytes = outcome.last_size_bytes;
  } else {
    ++s.failed;
    s.last_error = outcome.last_error;
  }
}

bool JobRuntime::ended() const {
  std::lock_guard lock(mutex_);
  return live_tasks_ == 0;
}

Snapshot JobRuntime::takeCheckpoint(Duration timeout, bool suspend) {
  std::future<Snapshot> result;
  std::uint64_t id;
  {
    std::lock_guard lock(mutex_);
    if (status_ != JobStatus::Running || live_tasks_ == 0)
      throw Error(fmt::format("job '{}' is not running; no snapshot taken", graph_->job_name));
    if (suspended_)
      throw Error(
          fmt::format("job '{}' is stopping: its sources stopped at a savepoint; no snapshot taken",
                      graph_->job_name));
    for (const auto& t : tasks_)
      if (t->finished)
        throw Error(fmt::format(
            "job '{}': operator '{}' has already finished; snapshots are taken while every task "
            "runs",
            graph_->job_name, graph_->nodes[static_cast<std::size_t>(t->head())].name));
    id = beginCheckpointLocked(/*final=*/false, result);
    suspended_ = suspend;
    // Sources inject the barrier; a task whose inputs have all ended (drained) snapshots where
    // it stands: nothing it was sent is in flight any more.
    for (auto& t : tasks_)
      if (t->drained)
        t->requestBarrier(id);
      else if (t->source)
        t->requestBarrier(id, suspend);
  }
  try {
    return awaitCheckpoint(id, result, timeout);
  } catch (...) {
    if (suspend) resumeSources();
    throw;
  }
}

std::uint64_t JobRuntime::beginCheckpointLocked(bool final, std::future<Snapshot>& result) {
  std::uint64_t id = ++next_checkpoint_;
  auto& p = pending_[id];
  p.snapshot.checkpoint_id = id;
  p.snapshot.job_name = graph_->job_name;
  p.snapshot.final = final;
  result = p.promise.get_future();
  return id;
}

void JobRuntime::resumeSources() {
  {
    std::lock_guard lock(mutex_);
    suspended_ = false;
  }
  for (auto& t : tasks_)
    if (t->source) t->resume();
}

Snapshot JobRuntime::awaitCheckpoint(std::uint64_t id, std::future<Snapshot>& result,
                                     Duration timeout) {
  if (result.wait_for(timeout) != std::future_status::ready) {
    std::lock_guard lock(mutex_);
    pending_.erase(id);
    throw Error(fmt::format("job '{}': checkpoint {} did not complete within {} ms",
                            graph_->job_name, id, timeout.count()));
  }
  return result.get();
}

Snapshot JobRuntime::takeFinalCheckpoint(Duration timeout) {
  std::future<Snapshot> result;
  std::uint64_t id;
  {
    std::lock_guard lock(mutex_);
    if (status_ != JobStatus::Running || drained_tasks_ != tasks_.size())
      throw Error(
          fmt::format("job '{}' is not draining; no final checkpoint taken", graph_->job_name));
    id = beginCheckpointLocked(/*final=*/true, result);
    final_checkpoint_id_ = id;
  }
  // Nothing is in flight any more: every task snapshots where it stands, no barrier needed.
  for (auto& t : tasks_) t->requestBarrier(id);
  return awaitCheckpoint(id, result, timeout);
}

void JobRuntime::releaseDrained() {
  for (auto& t : tasks_) t->release();
}

bool JobRuntime::suspended() const {
  std::lock_guard lock(mutex_);
  return suspended_;
}

void JobRuntime::taskDrained(Task& task) {
  std::lock_guard lock(mutex_);
  task.drained = true;
  ++drained_tasks_;
  // A checkpoint under way whose barrier this task will never see (its inputs ended first):
  // it snapshots where it stands, which covers everything its inputs sent.
  for (auto& [id, pending] : pending_)
    if (!pending.acked.contains(&task)) task.requestBarrier(id);
  if (drained_tasks_ == tasks_.size() && coordinator_) coordinator_->requestFinal();
}

void JobRuntime::notificationDelivered(std::uint64_t id) {
  std::lock_guard lock(mutex_);
  if (id != awaited_notification_) return;
  ++notifications_delivered_;
  notified_cv_.notify_all();
}

void JobRuntime::acknowledge(std::uint64_t id, Task& task,
                             std::vector<std::pair<int, std::string>> states) {
  std::lock_guard lock(mutex_);
  auto it = pending_.find(id);
  if (it == pending_.end()) return;  // failed or timed out meanwhile
  auto& p = it->second;
  if (!p.acked.insert(&task).second) return;  // asked twice (it drained meanwhile)
  for (auto& [node, bytes] : states) {
    const auto& n = graph_->nodes[static_cast<std::size_t>(node)];
    auto& op = p.snapshot.operators[n.uid];
    op.name = n.name;
    op.kind = n.kind;
    op.parallelism = parallelism(node);
    op.subtasks.resize(static_cast<std::size_t>(op.parallelism));
    op.subtasks[static_cast<std::size_t>(task.subtask())] = std::move(bytes);
  }
  if (++p.acks == tasks_.size()) {
    p.promise.set_value(std::move(p.snapshot));
    pending_.erase(it);
  }
}

// ---------------------------------------------------------------------------------------------
// Tasks

Task::Task(JobRuntime& job, int head, int subtask)
    : Runnable(job.scheduler()), job_(job), head_(head), subtask_(subtask) {}

void Task::registerProcessingTimer(Timestamp time, std::function<void(Timestamp)> callback) {
  timers_.push(Timer{time, timer_seq_++, std::move(callback)});
}

void Task::requestBarrier(std::uint64_t id, bool suspend) {
  if (suspend) suspend_at_ = id;
  {
    std::lock_guard lock(mutex_);
    barrier_requests_.push_back(id);
    has_requests_ = true;
  }
  wake();
}

void Task::notifyComplete(std::uint64_t id) {
  {
    std::lock_guard lock(mutex_);
    notifications_.push_back(id);
    has_requests_ = true;
  }
  wake();
}

void Task::resume() {
  suspend_at_ = 0;
  suspended_ = false;
  wake();
}

void Task::release() {
  release_ = true;
  wake();
}

void Task::done() {
  job_.taskEnded(*this);
}

Runnable::Step Task::step(SteadyTime& wake_at) {
  const auto& node = job_.graph().nodes[static_cast<std::size_t>(head_)];
  try {
    if (job_.cancelled()) throw Cancelled{};
    if (!opened_) {
      opened_ = true;
      for (auto& op : operators) op->open();
      last_flush_ = std::chrono::steady_clock::now();
    }
    return work(wake_at);
  } catch (const Cancelled&) {
    // The job was cancelled or another task failed; nothing to report from here.
  } catch (const OperatorFailure& f) {
    job_.fail(f.operatorName(), subtask_, f.cause());
  } catch (const std::exception& e) {
    job_.fail(node.name, subtask_, e.what());
  } catch (...) {
    job_.fail(node.name, subtask_, "unknown exception");
  }
  // Stopped without finishing: sinks drop what they buffered, before wait() can return.
  if (opened_)
    for (auto it = operators.rbegin(); it != operators.rend(); ++it) (*it)->cancel();
  return Step::Done;
}

Runnable::Step Task::finish() {
  buffered_ = true;
  flushOutputs();
  for (auto it = operators.rbegin(); it != operators.rend(); ++it) (*it)->close();
  return Step::Done;
}

Runnable::Step Task::endOfData() {
  if (!job_.finalCheckpoints()) return finish();
  flushOutputs();
  drained_ = true;
  job_.taskDrained(*this);
  return drainedStep();
}

Runnable::Step Task::drainedStep() {
  // Every input has ended: the task only takes part in the job's final checkpoint, then closes
  // its operators once the checkpoint completed (sinks committed at it). No timers fire.
  std::deque<std::uint64_t> ids;
  {
    std::lock_guard lock(mutex_);
    ids.swap(barrier_requests_);
    has_requests_ = !notifications_.empty();
  }
  for (auto id : ids) takeSnapshot(id);
  const std::uint64_t final_id = job_.finalCheckpointId();
  if (release_ || (final_id != 0 && completed_ >= final_id)) return finish();
  return Step::Park;
}

Runnable::Step Task::work(SteadyTime& wake_at) {
  if (has_requests_) deliverNotifications();
  if (drained_) return drainedStep();
  fireTimers();
  const auto slice_end = std::chrono::steady_clock::now() + std::chrono::milliseconds(2);
  for (;;) {
    if (!outputsReady()) return Step::Park;  // a full downstream queue wakes us
    std::uint64_t barrier = 0;
    if (source) {
      if (has_requests_) {
        std::lock_guard lock(mutex_);
        if (!barrier_requests_.empty()) {
          barrier = barrier_requests_.front();
          barrier_requests_.pop_front();
        }
      }
      if (barrier != 0) {
        takeSnapshot(barrier);
        source->emitBarrier(barrier);
        if (barrier == suspend_at_) suspended_ = true;  // stop with savepoint: read no further
        continue;
      }
      if (suspended_) {
        flushOutputs();
        if (!timers_.empty()) wake_at = nextDeadline(SteadyTime::max());
        return Step::Park;
      }
      SourceStatus status = source->step();
      buffered_ = true;
      if (status == SourceStatus::Finished) {
        source->finish();
        return endOfData();
      }
      if (status == SourceStatus::Blocked) {
        flushOutputs();
        wake_at = nextDeadline(std::chrono::steady_clock::now() + source->blockedWait());
        return Step::Park;
      }
    } else {
      auto r = gate->tryDispatch(barrier);
      if (r == GateBase::Poll::Idle) {
        flushOutputs();  // nothing to read: send partial batches now
        if (!timers_.empty()) wake_at = nextDeadline(SteadyTime::max());
        return Step::Park;
      }
      buffered_ = true;
      if (r == GateBase::Poll::BarrierAligned) {
        takeSnapshot(barrier);
        gate->forwardBarrier(barrier);
      } else if (r == GateBase::Poll::Finished) {
        // Every input has ended: tell the chain, which fires what is left and forwards it.
        gate->endHead();
        return endOfData();
      }
    }
    auto now = std::chrono::steady_clock::now();
    if (now - last_flush_ >= job_.options().buffer_timeout) flushOutputs();
    if (now >= slice_end) return Step::Yield;  // let other tasks run
  }
}

bool Task::outputsReady() {
  for (auto* f : parts.flushables)
    if (!f->ready(this)) return false;
  return true;
}

void Task::flushOutputs() {
  if (buffered_)
    for (auto* f : parts.flushables) f->flush();
  buffered_ = false;
  last_flush_ = std::chrono::steady_clock::now();
}

void Task::fireTimers() {
  if (timers_.empty()) return;
  Timestamp now = processingTimeNow();
  while (!timers_.empty() && timers_.top().time <= now) {
    Timer t = timers_.top();
    timers_.pop();
    t.callback(t.time);
    buffered_ = true;
  }
}

SteadyTime Task::nextDeadline(SteadyTime limit) const {
  SteadyTime d = limit;
  if (!timers_.empty()) {
    Timestamp wait_ms = std::max<Timestamp>(0, timers_.top().time - processingTimeNow());
    d = std::min(d, std::chrono::steady_clock::now() + std::chrono::milliseconds(wait_ms));
  }
  return d;
}

void Task::takeSnapshot(std::uint64_t id) {
  std::vector<std::pair<int, std::string>> states;
  for (std::size_t i = 0; i < operators.size(); ++i) {
    if (!operators[i]->stateful()) continue;
    std::string bytes;
    StateWriter w(bytes, id);
    operators[i]->snapshot(w);
    states.emplace_back(operator_nodes[i], std::move(bytes));
  }
  job_.acknowledge(id, *this, std::move(states));
}

void Task::deliverNotifications() {
  std::deque<std::uint64_t> ids;
  {
    std::lock_guard lock(mutex_);
    ids.swap(notifications_);
    has_requests_ = !barrier_requests_.empty();
  }
  for (auto id : ids) {
    for (auto& op : operators) op->notifyCheckpointComplete(id);
    completed_ = std::max(completed_, id);
    job_.notificationDelivered(id);
  }
}

}  // namespace detail

// ---------------------------------------------------------------------------------------------
// Public API

const char* toString(JobStatus status) {
  switch (status) {
    case JobStatus::Running:
      return "running";
    case JobStatus::Finished:
      return "finished";
    case JobStatus::Failed:
      return "failed";
    case JobStatus::Cancelled:
      return "cancelled";
  }
  return "unknown";
}

JobHandle::JobHandle(std::shared_ptr<detail::JobRuntime> runtime) : runtime_(std::move(runtime)) {}
JobHandle::~JobHandle() = default;
JobHandle::JobHandle(JobHandle&&) noexcept = default;
JobHandle& JobHandle::operator=(JobHandle&&) noexcept = default;
void JobHandle::wait() {
  runtime_->wait();
}
bool JobHandle::waitFor(Duration timeout) {
  return runtime_->waitFor(timeout);
}
void JobHandle::cancel() {
  runtime_->cancel();
}
Snapshot JobHandle::triggerCheckpoint(Duration timeout) {
  return runtime_->triggerCheckpoint(timeout);
}
Snapshot JobHandle::takeCheckpoint(Duration timeout) {
  return runtime_->takeCheckpoint(timeout);
}
void JobHandle::notifyCheckpointComplete(std::uint64_t id) {
  runtime_->notifyCheckpointComplete(id);
}
std::uint64_t JobHandle::savepoint(const std::string& path, Duration timeout) {
  return runtime_->savepoint(path, timeout);
}
std::uint64_t JobHandle::suspendWithSavepoint(const std::string& path, Duration timeout) {
  return runtime_->savepoint(path, timeout, /*suspend=*/true);
}
std::uint64_t JobHandle::stopWithSavepoint(const std::string& path, Duration timeout) {
  std::uint64_t id = runtime_->savepoint(path, timeout, /*suspend=*/true);
  runtime_->cancel();
  runtime_->wait();
  return id;
}
CheckpointStats JobHandle::checkpointStats() const {
  return runtime_->checkpointStats();
}
JobStatus JobHandle::status() const {
  return runtime_->status();
}
std::string JobHandle::error() const {
  return runtime_->error();
}
std::vector<OperatorMetrics> JobHandle::metrics() const {
  return runtime_->metrics();
}
std::string JobHandle::describePlan() const {
  return runtime_->describePlan();
}
std::vector<PlanEdge> JobHandle::planEdges() const {
  return runtime_->planEdges();
}

JobHandle startJob(std::shared_ptr<const detail::StreamGraph> graph, ExecutionOptions options) {
  auto runtime = std::make_shared<detail::JobRuntime>(std::move(graph), std::move(options));
  runtime->start();
  return JobHandle(std::move(runtime));
}

}  // namespace lightflus
