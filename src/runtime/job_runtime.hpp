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

  /// Asks a source task (or, for the final checkpoint, any drained task) to snapshot for
  /// checkpoint `id`. With `suspend`, a source stops reading once it has emitted that barrier.
  void requestBarrier(std::uint64_t id, bool suspend = false);
  void notifyComplete(std::uint64_t id);
  /// A suspending savepoint failed: the source reads on.
  void resume();
  /// The final checkpoint failed: a drained task finishes (closes its operators) without it.
  void release();

  int head() const { return head_; }
  int subtask() const { return subtask_; }

  // Filled in by the planner.
  std::vector<std::unique_ptr<Operator>> operators;  ///< downstream first
  std::vector<int> operator_nodes;                   ///< node id of each operator
  TaskParts parts;
  GateBase* gate = nullptr;
  SourceDriverBase* source = nullptr;
  bool finished = false;  ///< guarded by the job's mutex
  /// Every input ended and the chain emitted what it held; the task waits for the job's final
  /// checkpoint before it closes its operators. Guarded by the job's mutex.
  bool drained = false;

 private:
  struct Timer {
    Timestamp time;
    std::uint64_t seq;
    std::function<void(Timestamp)> callback;
    bool operator>(const Timer& o) const { return time != o.time ? time > o.time : seq > o.seq; }
  };

  Step work(SteadyTime& wake_at);
  Step finish();
  /// Every input ended: finish now, or (with periodic checkpoints) wait for the final one.
  Step endOfData();
  Step drainedStep();
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
  bool drained_ = false;         // this thread's copy of `drained`
  std::uint64_t completed_ = 0;  // the newest completed checkpoint delivered to the operators
  std::atomic<bool> release_{false};
  std::atomic<std::uint64_t> suspend_at_{0};  // a source stops after this barrier
  std::atomic<bool> suspended_{false};

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
  Snapshot takeCheckpoint(Duration timeout, bool suspend = false);
  void notifyCheckpointComplete(std::uint64_t id);
  /// With `suspend`, the sources stop reading at the savepoint's barrier and the call returns
  /// once every task has delivered the completion to its operators.
  std::uint64_t savepoint(const std::string& path, Duration timeout, bool suspend = false);
  /// The snapshot of every (drained) task for the final checkpoint, taken once every input
  /// has ended. For the coordinator.
  Snapshot takeFinalCheckpoint(Duration timeout);
  /// The final checkpoint failed: drained tasks close their operators without it.
  void releaseDrained();
  /// Whether a suspending savepoint stopped the sources.
  bool suspended() const;
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
  void taskDrained(Task& task);
  /// A task delivered checkpoint `id`'s completion to its operators.
  void notificationDelivered(std::uint64_t id);
  /// The final checkpoint's id once it is under way (drained tasks close once it completed).
  std::uint64_t finalCheckpointId() const { return final_checkpoint_id_; }
  /// Whether tasks wait for a final checkpoint when their input ends.
  bool finalCheckpoints() const { return coordinator_ != nullptr; }
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
  /// Registers checkpoint `++next_checkpoint_` as pending (the mutex held); returns its id.
  std::uint64_t beginCheckpointLocked(bool final, std::future<Snapshot>& result);
  Snapshot awaitCheckpoint(std::uint64_t id, std::future<Snapshot>& result, Duration timeout);
  /// A suspending savepoint failed: the sources read on.
  void resumeSources();
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
    std::set<const Task*> acked;
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
  std::set<std::string> restored_uids_;       // uids whose state went into an operator
  std::map<std::string, int> stateful_uids_;  // uid -> the stateful node that has it
  std::size_t drained_tasks_ = 0;
  std::atomic<std::uint64_t> final_checkpoint_id_{0};
  bool suspended_ = false;                  // a suspending savepoint stopped the sources
  std::uint64_t awaited_notification_ = 0;  // a suspending savepoint waits for its delivery
  std::size_t notifications_delivered_ = 0;
  std::condition_variable notified_cv_;
  // Last: stopped and joined before anything it uses is destroyed.
  std::unique_ptr<CheckpointCoordinator> coordinator_;
};

}  // namespace lightflus::detail
