#include "job_process.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include <fmt/format.h>

#include "lightflus/error.hpp"

extern char** environ;

namespace lightflus::server {

namespace {

// Stderr lines of a child kept for its failure reason.
constexpr std::size_t kStderrLinesKept = 8;

// The child's side of fork(): only async-signal-safe calls until execve.
[[noreturn]] void execChild(char* const* argv, char* const* envp, int control, int err, int devnull,
                            const ChildLimits& limits, pid_t parent) {
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (::getppid() != parent) ::_exit(127);  // the daemon died before the prctl
  ::setsid();  // its own session: a terminal's Ctrl-C goes to the daemon, which stops the jobs
  sigset_t all;
  sigemptyset(&all);
  ::sigprocmask(SIG_SETMASK, &all, nullptr);
  if (::dup2(devnull, 0) < 0 || ::dup2(err, 2) < 0) ::_exit(127);
  if (control == 3) {
    if (::fcntl(3, F_SETFD, 0) < 0) ::_exit(127);
  } else if (::dup2(control, 3) < 0) {
    ::_exit(127);
  }
  ::close_range(4, ~0U, 0);
  // Fairness: the job runs a little below the daemon. With setsid() the kernel's autogroup
  // (when enabled) schedules each job's threads as one group, whatever its thread count.
  errno = 0;
  int nice_now = ::getpriority(PRIO_PROCESS, 0);
  if (errno == 0) ::setpriority(PRIO_PROCESS, 0, nice_now + limits.nice);
  ::execve(argv[0], argv, envp);
  ::_exit(127);
}

std::string signalName(int signal) {
  const char* name = ::strsignal(signal);
  return name ? name : "unknown signal";
}

}  // namespace

ProcessSpawner::ProcessSpawner() {
  thread_ = std::thread([this] {
    std::unique_lock lock(mutex_);
    for (;;) {
      wake_.wait(lock, [this] { return stopping_ || !tasks_.empty(); });
      if (tasks_.empty()) return;
      auto task = std::move(tasks_.front());
      tasks_.pop_front();
      lock.unlock();
      task();
      lock.lock();
    }
  });
}

ProcessSpawner::~ProcessSpawner() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  thread_.join();
}

pid_t ProcessSpawner::run(std::function<pid_t()> spawn) {
  std::packaged_task<pid_t()> task(std::move(spawn));
  auto result = task.get_future();
  {
    std::lock_guard lock(mutex_);
    if (stopping_) throw Error("the daemon is stopping; no new job processes");
    tasks_.push_back(std::move(task));
  }
  wake_.notify_all();
  return result.get();
}

std::unique_ptr<JobProcess> JobProcess::start(ProcessSpawner& spawner,
                                              const std::vector<std::string>& args,
                                              const ChildLimits& limits, std::string log_prefix) {
  int sockets[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sockets) != 0)
    throw Error(fmt::format("cannot create a socket pair for a job: {}", std::strerror(errno)));
  int err[2];
  if (::pipe2(err, O_CLOEXEC) != 0) {
    ::close(sockets[0]);
    ::close(sockets[1]);
    throw Error(fmt::format("cannot create a pipe for a job: {}", std::strerror(errno)));
  }
  int devnull = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  // Everything the child needs, prepared before fork().
  std::vector<std::string> env_strings;
  const std::string workers = fmt::format("LIGHTFLUS_WORKERS={}", limits.workers);
  for (char** e = environ; *e; ++e)
    if (std::strncmp(*e, "LIGHTFLUS_WORKERS=", 18) != 0) env_strings.emplace_back(*e);
  env_strings.push_back(workers);
  std::vector<char*> envp;
  for (auto& e : env_strings) envp.push_back(e.data());
  envp.push_back(nullptr);
  std::vector<std::string> arg_strings = args;
  std::vector<char*> argv;
  for (auto& a : arg_strings) argv.push_back(a.data());
  argv.push_back(nullptr);
  const pid_t parent = ::getpid();
  const int child_control = sockets[1], child_err = err[1];
  pid_t pid = spawner.run([&]() -> pid_t {
    pid_t child = ::fork();
    if (child == 0)
      execChild(argv.data(), envp.data(), child_control, child_err, devnull, limits, parent);
    return child;
  });
  const int fork_errno = errno;
  ::close(sockets[1]);
  ::close(err[1]);
  if (devnull >= 0) ::close(devnull);
  if (pid < 0) {
    ::close(sockets[0]);
    ::close(err[0]);
    throw Error(fmt::format("cannot start a job process: {}", std::strerror(fork_errno)));
  }
  std::unique_ptr<JobProcess> process(new JobProcess());
  process->pid_ = pid;
  process->control_fd_ = sockets[0];
  process->stderr_fd_ = err[0];
  process->control_ = std::make_unique<LineChannel>(sockets[0]);
  process->log_prefix_ = std::move(log_prefix);
  process->reader_ = std::thread([p = process.get()] { p->readLoop(); });
  return process;
}

JobProcess::~JobProcess() {
  kill();
  if (reader_.joinable()) reader_.join();
  ::close(control_fd_);
  ::close(stderr_fd_);
}

void JobProcess::readLoop() {
  std::string control_buffer, err_buffer;
  bool control_open = true, err_open = true;
  auto lines = [](std::string& buffer, auto&& each) {
    std::size_t newline;
    while ((newline = buffer.find('\n')) != std::string::npos) {
      each(buffer.substr(0, newline));
      buffer.erase(0, newline + 1);
    }
  };
  auto stderrLine = [this](const std::string& line) {
    std::fprintf(stderr, "%s%s\n", log_prefix_.c_str(), line.c_str());
    std::lock_guard lock(mutex_);
    state_.last_stderr.push_back(line);
    if (state_.last_stderr.size() > kStderrLinesKept)
      state_.last_stderr.erase(state_.last_stderr.begin());
  };
  while (control_open || err_open) {
    pollfd fds[2] = {{control_open ? control_fd_ : -1, POLLIN, 0},
                     {err_open ? stderr_fd_ : -1, POLLIN, 0}};
    if (::poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      break;
    }
    char chunk[1 << 16];
    if (fds[0].revents) {
      ssize_t n = ::read(control_fd_, chunk, sizeof chunk);
      if (n > 0) {
        control_buffer.append(chunk, static_cast<std::size_t>(n));
        lines(control_buffer, [this](const std::string& line) { handleMessage(line); });
      } else if (n == 0 || errno != EINTR) {
        control_open = false;
      }
    }
    if (fds[1].revents) {
      ssize_t n = ::read(stderr_fd_, chunk, sizeof chunk);
      if (n > 0) {
        err_buffer.append(chunk, static_cast<std::size_t>(n));
        lines(err_buffer, stderrLine);
      } else if (n == 0 || errno != EINTR) {
        err_open = false;
      }
    }
  }
  if (!err_buffer.empty()) stderrLine(err_buffer);
  int status = 0;
  while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
  }
  std::lock_guard lock(mutex_);
  state_.exited = true;
  if (WIFSIGNALED(status)) {
    state_.exit_reason =
        fmt::format("killed by signal {} ({})", WTERMSIG(status), signalName(WTERMSIG(status)));
  } else if (WIFEXITED(status)) {
    state_.exit_reason = fmt::format("exited with status {}", WEXITSTATUS(status));
    state_.ended_cleanly =
        WEXITSTATUS(status) == 0 && state_.report && state_.report->status != "running";
  }
  changed_.notify_all();
}

void JobProcess::handleMessage(const std::string& line) {
  rapidjson::Document message;
  if (message.Parse(line.c_str()).HasParseError() || !message.IsObject() ||
      !message.HasMember("type") || !message["type"].IsString())
    return;
  auto text = [&](const char* key) {
    auto it = message.FindMember(key);
    return it != message.MemberEnd() && it->value.IsString() ? std::string(it->value.GetString())
                                                             : std::string();
  };
  std::string_view type = message["type"].GetString();
  {
    std::lock_guard lock(mutex_);
    if (type == "started") {
      state_.started = true;
      state_.name = text("name");
      state_.graph_json = text("graph");
      state_.plan = text("plan");
      if (auto it = message.FindMember("edges"); it != message.MemberEnd())
        state_.edges = decodePlanEdges(it->value);
      state_.restored_from = text("restoredFrom");
      if (message.HasMember("restoredId") && message["restoredId"].IsUint64())
        state_.restored_id = message["restoredId"].GetUint64();
      if (message.HasMember("httpSources") && message["httpSources"].IsArray())
        for (const auto& name : message["httpSources"].GetArray())
          if (name.IsString()) state_.http_sources.emplace_back(name.GetString());
    } else if (type == "loadError") {
      state_.load_error = text("error");
    } else if (type == "report") {
      state_.report = decodeReport(message);
    } else if (type == "reply" && message.HasMember("request") && message["request"].IsUint64()) {
      const std::uint64_t request = message["request"].GetUint64();
      if (message.HasMember("error"))
        replies_[request] = {false, text("error")};
      else
        replies_[request] = {true, text("path")};
    }
  }
  changed_.notify_all();
}

JobProcess::State JobProcess::state() const {
  std::lock_guard lock(mutex_);
  return state_;
}

void JobProcess::waitStarted(std::chrono::milliseconds timeout) const {
  std::unique_lock lock(mutex_);
  changed_.wait_for(lock, timeout, [this] {
    return state_.started || !state_.load_error.empty() || state_.exited;
  });
}

std::optional<std::uint64_t> JobProcess::ingestNext(const std::string& source) const {
  std::lock_guard lock(mutex_);
  if (!state_.report) return std::nullopt;
  auto it = state_.report->ingest_next.find(source);
  if (it == state_.report->ingest_next.end()) return std::nullopt;
  return it->second;
}

void JobProcess::stop() {
  control_->send(R"({"type":"stop"})");
}

void JobProcess::wake(const std::string& source) {
  control_->send(fmt::format(R"({{"type":"wake","source":{}}})", jsonString(source)));
}

std::string JobProcess::savepoint(const std::string& path, std::chrono::milliseconds timeout,
                                  bool suspend) {
  std::uint64_t request;
  {
    std::lock_guard lock(mutex_);
    request = next_request_++;
  }
  if (!control_->send(fmt::format(R"({{"type":"savepoint","request":{},"path":{},"suspend":{}}})",
                                  request, jsonString(path), suspend)))
    throw Error("the job's process is gone; no savepoint was taken");
  std::unique_lock lock(mutex_);
  bool answered =
      changed_.wait_for(lock, timeout, [&] { return replies_.contains(request) || state_.exited; });
  auto it = replies_.find(request);
  if (it == replies_.end())
    throw Error(answered ? "the job's process ended before the savepoint completed"
                         : fmt::format("the savepoint did not complete within {} s",
                                       timeout.count() / 1000));
  auto [ok, text] = it->second;
  replies_.erase(it);
  if (!ok) throw Error("the savepoint failed: " + text);
  return text;
}

bool JobProcess::waitExit(std::chrono::milliseconds timeout) const {
  std::unique_lock lock(mutex_);
  return changed_.wait_for(lock, timeout, [this] { return state_.exited; });
}

void JobProcess::kill() {
  std::lock_guard lock(mutex_);
  if (!state_.exited) ::kill(pid_, SIGKILL);  // not reaped yet, so the pid is still the child's
}

std::string JobProcess::failureReason(const State& state) {
  std::string reason = "the job's process " + state.exit_reason;
  if (!state.last_stderr.empty()) {
    reason += "; its last output:";
    for (const auto& line : state.last_stderr) reason += "\n" + line;
  }
  return reason;
}

}  // namespace lightflus::server
