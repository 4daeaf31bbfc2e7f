// The running job (internal to the runtime): plan, gates, tasks and their threads.
#pragma once

#include <condition_variable>
#include <deque>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <queue>
#include <set>
#include <vector>

#include "checkpoint_coordinator.hpp"
#include "lightflus/detail/graph.hpp"
#include "lightflus/executor.hpp"
#include "lightflus/source.hpp"
#include "scheduler.hpp"

namespace lightflus::detail {

class JobRuntime;

/// One subtask of a chain of operators, run cooperatively by the worker pool.
class Task final : public Runnable, public TaskServices {
 public:
  Task(JobRuntime& job, int head, int subtask);

  Step step(SteadyTime& wake_at) override;
  void done() override;

  void registerProcessingTimer(Timestamp time, std::function<void(Timestamp)> callback) override;
  void wakeup() override { wake(); }

  void requestBarrier(std::uint64_t id);
  void notifyComplete(std::uint64_t id);

  int head() const { return head_; }
  int subtask() const { return subtask_; }

  // Filled in by the planner.
  std::vector<std::unique_ptr<Operator>> operators;  ///< downstream first
  std::vector<int> operator_nodes;                   ///< node id of each operator
  TaskParts parts;
  GateBase* gate = nullptr;
  SourceDriverBase* source = nullptr;
  bool finished = false;  ///< guarded by the job's mutex

 private:
  struct Timer {
    Timestamp time;
    std::uint64_t seq;
    std::function<void(Timestamp)> callback;
    bool operator>(const Timer& o) const { return time != o.time ? time > o.time : seq > o.seq; }
  };

  Step work(SteadyTime& wake_at);
  Step finish();
  bool outputsReady();
  void flushOutputs();
  void fireTimers();
  SteadyTime nextDeadline(SteadyTime limit) const;
  void takeSnapshot(std::uint64_t id);
  void deliverNotifications();

  JobRuntime& job_;
  int head_;
  int subtask_;
  bool opened_ = false;
  bool buffered_ = false;  // outputs may hold a partial batch
  std::priority_queue<Timer, std::vector<Timer>, std::greater<>> timers_;
  std::uint64_t timer_seq_ = 0;
  SteadyTime last_flush_{};

  std::mutex mutex_;  // guards the requests below
  std::deque<std::uint64_t> barrier_requests_;
  std::deque<std::uint64_t> notifications_;
  std::atomic<bool> has_requests_{false};
};

class JobRuntime {
 public:
  JobRuntime(std::shared_ptr<const StreamGraph> graph, ExecutionOptions options);
  ~JobRuntime();

  void start();
  void wait();
  bool waitFor(Duration timeout);
  void cancel();
  Snapshot triggerCheckpoint(Duration timeout);
  /// Aligned-barrier snapshot of every task; operators are not told it completed.
  Snapshot takeCheckpoint(Duration timeout);
  void notifyCheckpointComplete(std::uint64_t id);
  std::uint64_t savepoint(const std::string& path, Duration timeout);
  CheckpointStats checkpointStats() const;
  /// Called by the coordinator: records a checkpoint's outcome.
  void recordCheckpoint(const CheckpointStats& outcome, bool ok);
  /// Blocks until the job ended or `timeout` passed; true if it ended. For the coordinator.
  bool ended() const;
  JobStatus status() const;
  std::string error() const;
  std::vector<OperatorMetrics> metrics() const;
  std::string describePlan() const;
  std::vector<PlanEdge> planEdges() const;

  // Called by tasks.
  void fail(const std::string& op, int subtask, const std::string& cause);
  void taskEnded(Task& task);
  void acknowledge(std::uint64_t id, Task& task, std::vector<std::pair<int, std::string>> states);
  bool cancelled() const { return cancelled_.load(std::memory_order_relaxed); }

  const StreamGraph& graph() const { return *graph_; }
  const ExecutionOptions& options() const { return options_; }
  OperatorCounters& counters(int node, int subtask) {
    return *counters_[static_cast<std::size_t>(node)][static_cast<std::size_t>(subtask)];
  }
  int parallelism(int node) const { return parallelism_[static_cast<std::size_t>(node)]; }
  Scheduler& scheduler() { return scheduler_; }

 private:
  void checkRestore();
  // Whether `state` was written by an operator of `node`'s kind; throws ConfigError when not,
  // unless non-restored state is allowed (then false: the state is dropped).
  bool kindMatches(const NodeSpec& node, const Snapshot::OperatorState& state) const;
  void checkAllRestored() const;
  void plan();
  void* build(int node, int subtask, Task& task);
  void checkConsumers() const;
  /// The element type of a node's input gate.
  const PortSpecBase& inputSpec(int node_id) const;

  struct PendingCheckpoint {
    std::size_t acks = 0;
    Snapshot snapshot;
    std::promise<Snapshot> promise;
  };

  std::shared_ptr<const StreamGraph> graph_;
  ExecutionOptions options_;
  std::vector<int> parallelism_;
  std::vector<bool> chained_;         // by edge
  std::vector<int> producer_offset_;  // by edge: first producer index in the target gate
  std::vector<std::vector<std::unique_ptr<GateBase>>> gates_;  // by node, by subtask
  std::vector<std::vector<std::unique_ptr<OperatorCounters>>> counters_;
  std::vector<std::unique_ptr<Task>> tasks_;
  Scheduler& scheduler_;

  mutable std::mutex mutex_;
  std::condition_variable ended_cv_;
  std::size_t live_tasks_ = 0;
  JobStatus status_ = JobStatus::Running;
  std::string error_;
  std::string failed_operator_;
  std::string failed_cause_;
  std::atomic<bool> cancelled_{false};
  std::uint64_t next_checkpoint_ = 0;
  std::map<std::uint64_t, PendingCheckpoint> pending_;
  CheckpointStats checkpoint_stats_;
  std::set<std::string> restored_uids_;  // uids whose state went into an operator
  // Last: stopped and joined before anything it uses is destroyed.
  std::unique_ptr<CheckpointCoordinator> coordinator_;
};

}  // namespace lightflus::detail
