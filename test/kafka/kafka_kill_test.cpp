// The exactly-once Kafka sink across kill -9, on a real broker: kafka_exactly_once_job (Kafka
// -> keyed sequence check -> ExactlyOnce sink, checkpoints every 200 ms) is killed with SIGKILL
// at random moments and restarted with the same command, at parallelism 2 and 1 in turn; some
// runs kill themselves right after a checkpoint became durable and before its commit. At the
// end a read_committed reader must see each key's sequence 1, 2, ... n once, in order.
//
// LIGHTFLUS_EO_RECORDS (default 200,000) and LIGHTFLUS_EO_KILLS (default 6) size it;
// test/kafka/exactly_once_kill.sh runs the long variant (1,000,000 records, 12 kills).
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <random>

#include "kafka_broker.hpp"
#include "sequence_job.hpp"
#include "test_helpers.hpp"

using namespace lightflus;
using namespace lightflus::test;

namespace {

long fromEnvironment(const char* name, long fallback) {
  const char* v = std::getenv(name);
  return v && *v ? std::atol(v) : fallback;
}

/// A temporary directory, removed with everything in it.
struct TempDir {
  std::filesystem::path path;
  TempDir() {
    char tmpl[] = "/tmp/lightflus-kill-XXXXXX";
    if (!::mkdtemp(tmpl)) throw std::runtime_error("mkdtemp failed");
    path = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
};

/// One run of kafka_exactly_once_job, stderr appended to `log`; killed if still running when
/// destroyed.
class JobProcess {
 public:
  JobProcess(std::vector<std::string> args, const std::string& log) {
    pid_ = ::fork();
    if (pid_ < 0) throw std::runtime_error("fork failed");
    if (pid_ == 0) {
      FILE* f = std::freopen(log.c_str(), "a", stderr);
      if (!f) ::_exit(126);
      std::vector<char*> argv;
      for (auto& a : args) argv.push_back(a.data());
      argv.push_back(nullptr);
      ::execv(argv[0], argv.data());
      ::_exit(127);
    }
  }
  ~JobProcess() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      wait();
    }
  }
  /// Still running?
  bool running() {
    if (pid_ <= 0) return false;
    int status;
    pid_t r = ::waitpid(pid_, &status, WNOHANG);
    if (r == 0) return true;
    pid_ = -1;
    status_ = status;
    return false;
  }
  void kill() {
    if (pid_ > 0) ::kill(pid_, SIGKILL);
  }
  /// Waits for the end; the wait status.
  int wait() {
    if (pid_ > 0) {
      ::waitpid(pid_, &status_, 0);
      pid_ = -1;
    }
    return status_;
  }

 private:
  pid_t pid_ = -1;
  int status_ = 0;
};

std::string describe(int status) {
  if (WIFSIGNALED(status)) return "killed by signal " + std::to_string(WTERMSIG(status));
  return "exited with " + std::to_string(WEXITSTATUS(status));
}

}  // namespace

TEST_CASE("an exactly-once Kafka job killed with SIGKILL again and again writes every record once",
          "[kafka-broker][integration]") {
  const long records = fromEnvironment("LIGHTFLUS_EO_RECORDS", 200'000);
  const long kills = fromEnvironment("LIGHTFLUS_EO_KILLS", 6);
  const int keys = 100;
  KafkaBroker broker;
  const auto& brokers = broker.bootstrapServers();
  createTopic(brokers, "kill-in", 4);
  createTopic(brokers, "kill-out", 4);
  auto started = std::chrono::steady_clock::now();
  // The input arrives in chunks, one while each run starts, so that every kill hits a busy job.
  auto produceChunk = [&](long k) {
    long from = records * k / (kills + 1), to = records * (k + 1) / (kills + 1);
    kcatProduce(brokers, "kill-in", sequenceInput(from, to, keys), -1, true);
  };
  TempDir dir;
  std::string log = (dir.path / "job.log").string();
  auto command = [&](int parallelism, int crash_after) {
    return std::vector<std::string>{LIGHTFLUS_EO_JOB,
                                    brokers,
                                    "kill-in",
                                    "kill-out",
                                    "kill-tx",
                                    (dir.path / "checkpoints").string(),
                                    std::to_string(parallelism),
                                    std::to_string(crash_after),
                                    "25"};  // ~25-40k records/s per subtask
  };
  auto readCommitted = [&] {
    return kcatConsume(brokers, "kill-out", false, "-X isolation.level=read_committed");
  };

  std::mt19937 random(std::random_device{}());
  std::string progress;  // records committed after each kill, to show the kills hit mid-input
  for (long k = 0; k < kills; ++k) {
    if (k > 0) progress += std::to_string(readCommitted().size()) + " ";
    int parallelism = k % 2 == 0 ? 2 : 1;
    // Every third run kills itself between a checkpoint's write and its commit.
    if (k % 3 == 2) {
      int after = std::uniform_int_distribution<int>(1, 4)(random);
      JobProcess job(command(parallelism, after), log);
      produceChunk(k);
      int status = job.wait();
      INFO(readFile(log));
      REQUIRE((WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL));
      continue;
    }
    JobProcess job(command(parallelism, 0), log);
    produceChunk(k);  // while the job starts and reads
    auto delay = std::chrono::milliseconds(std::uniform_int_distribution<int>(300, 3000)(random));
    std::this_thread::sleep_for(delay);
    {
      INFO("run " << k << ": " << readFile(log));
      REQUIRE(job.running());  // it must not have ended (the sequence check fails the job)
    }
    job.kill();
    job.wait();
  }

  // The last run goes on until the whole input is committed.
  progress += std::to_string(readCommitted().size());
  JobProcess last(command(2, 0), log);
  produceChunk(kills);
  std::vector<std::string> output;
  bool complete = eventually(
      [&] {
        if (!last.running()) return true;
        return static_cast<long>((output = readCommitted()).size()) >= records;
      },
      std::chrono::seconds(60 + records / 5'000));
  bool still_running = last.running();
  last.kill();
  int status = last.wait();
  output = readCommitted();
  auto took = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  std::string history = readFile(log);
  INFO(history);
  INFO(records << " records, " << kills << " kills, " << took << " s");
  INFO("the last run " << (still_running ? "was running" : describe(status)));
  CHECK(still_running);  // else it ended by itself: the sequence check failed
  CHECK(complete);
  CHECK(checkSequences(output, records, keys) == "");
  long restores = 0;
  for (auto at = history.find("restoring from"); at != std::string::npos;
       at = history.find("restoring from", at + 1))
    ++restores;
  CHECK(restores > 0);
  WARN("kill -9 test: " << records << " records, " << kills << " kills, " << restores
                        << " restores from a checkpoint, " << took
                        << " s; committed after each kill: " << progress);
}
