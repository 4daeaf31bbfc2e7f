// The real-broker harness and the kcat helpers of the Kafka tests.
#include "kafka_broker.hpp"

#include <librdkafka/rdkafka.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <memory>
#include <sstream>
#include <stdexcept>

namespace lightflus::test {

namespace {

std::string shellQuote(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

}  // namespace

KafkaBroker::KafkaBroker() {
  int out[2];
  if (::pipe(out) != 0) throw std::runtime_error("pipe failed");
  pid_ = ::fork();
  if (pid_ < 0) throw std::runtime_error("fork failed");
  if (pid_ == 0) {
    ::setpgid(0, 0);  // its own group, so that the destructor stops the JVM too
    ::dup2(out[1], 1);
    ::close(out[0]);
    ::close(out[1]);
    ::execl("/bin/bash", "bash", LIGHTFLUS_KAFKA_SCRIPT, "start", static_cast<char*>(nullptr));
    ::_exit(127);
  }
  ::close(out[1]);
  // Wait for "bootstrap HOST:PORT" (the script prints it once the broker answers).
  std::string output;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
  while (output.find('\n') == std::string::npos) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    pollfd p{out[0], POLLIN, 0};
    char buf[256];
    ssize_t n = 0;
    if (left.count() <= 0 || ::poll(&p, 1, static_cast<int>(left.count())) <= 0 ||
        (n = ::read(out[0], buf, sizeof buf)) <= 0) {
      ::close(out[0]);
      stop();
      throw std::runtime_error(
          "the real Kafka broker did not start (scripts/kafka.sh start: see "
          "its messages above)");
    }
    output.append(buf, static_cast<std::size_t>(n));
  }
  ::close(out[0]);
  const std::string prefix = "bootstrap ";
  bootstrap_ = output.substr(prefix.size(), output.find('\n') - prefix.size());
}

KafkaBroker::~KafkaBroker() {
  stop();
}

void KafkaBroker::stop() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGTERM);  // the script stops the JVM and removes its directory
  int status;
  ::waitpid(pid_, &status, 0);
  pid_ = -1;
}

std::string run(const std::string& command, const std::string& input) {
  char tmpl[] = "/tmp/lightflus-kafka-input-XXXXXX";
  int fd = ::mkstemp(tmpl);
  if (fd < 0) throw std::runtime_error("mkstemp failed");
  if (::write(fd, input.data(), input.size()) != static_cast<ssize_t>(input.size()))
    throw std::runtime_error("write failed");
  ::close(fd);
  std::string full = command + " < " + tmpl;
  std::unique_ptr<FILE, int (*)(FILE*)> pipe(::popen(full.c_str(), "r"), ::pclose);
  if (!pipe) throw std::runtime_error("popen failed: " + command);
  std::string out;
  char buf[4096];
  std::size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, pipe.get())) > 0) out.append(buf, n);
  int status = ::pclose(pipe.release());
  ::unlink(tmpl);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
    throw std::runtime_error("command failed: " + command + "\n" + out);
  return out;
}

void kcatProduce(const std::string& brokers, const std::string& topic,
                 const std::vector<std::string>& lines, int partition, bool keyed) {
  std::string input;
  for (const auto& l : lines) input += l + "\n";
  std::string cmd = "kcat -b " + shellQuote(brokers) + " -P -t " + shellQuote(topic);
  if (partition >= 0) cmd += " -p " + std::to_string(partition);
  if (keyed) cmd += " -K:";
  run(cmd, input);
}

std::vector<std::string> kcatConsume(const std::string& brokers, const std::string& topic,
                                     bool with_keys, const std::string& extra) {
  std::string format = with_keys ? "%k\\t%s\\n" : "%s\\n";
  std::string out = run("kcat -b " + shellQuote(brokers) + " -C -t " + shellQuote(topic) +
                        " -o beginning -e -q -f '" + format + "' " + extra);
  std::vector<std::string> lines;
  std::istringstream in(out);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

void createTopic(const std::string& brokers, const std::string& topic, int partitions) {
  char err[512];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  rd_kafka_conf_set(conf, "bootstrap.servers", brokers.c_str(), err, sizeof err);
  std::unique_ptr<rd_kafka_t, void (*)(rd_kafka_t*)> rk(
      rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err), rd_kafka_destroy);
  if (!rk) throw std::runtime_error(err);
  std::unique_ptr<rd_kafka_NewTopic_t, void (*)(rd_kafka_NewTopic_t*)> nt(
      rd_kafka_NewTopic_new(topic.c_str(), partitions, 1, err, sizeof err),
      rd_kafka_NewTopic_destroy);
  std::unique_ptr<rd_kafka_queue_t, void (*)(rd_kafka_queue_t*)> q(rd_kafka_queue_new(rk.get()),
                                                                   rd_kafka_queue_destroy);
  rd_kafka_NewTopic_t* topics[] = {nt.get()};
  rd_kafka_CreateTopics(rk.get(), topics, 1, nullptr, q.get());
  std::unique_ptr<rd_kafka_event_t, void (*)(rd_kafka_event_t*)> ev(
      rd_kafka_queue_poll(q.get(), 30'000), rd_kafka_event_destroy);
  if (!ev) throw std::runtime_error("creating topic " + topic + " timed out");
  if (rd_kafka_event_error(ev.get()))
    throw std::runtime_error("creating topic " + topic + ": " +
                             rd_kafka_event_error_string(ev.get()));
  const rd_kafka_CreateTopics_result_t* res = rd_kafka_event_CreateTopics_result(ev.get());
  std::size_t n;
  const rd_kafka_topic_result_t** results = rd_kafka_CreateTopics_result_topics(res, &n);
  for (std::size_t i = 0; i < n; ++i)
    if (rd_kafka_topic_result_error(results[i]))
      throw std::runtime_error("creating topic " + topic + ": " +
                               rd_kafka_topic_result_error_string(results[i]));
}

void addPartitions(const std::string& brokers, const std::string& topic, int total) {
  char err[512];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  rd_kafka_conf_set(conf, "bootstrap.servers", brokers.c_str(), err, sizeof err);
  std::unique_ptr<rd_kafka_t, void (*)(rd_kafka_t*)> rk(
      rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err), rd_kafka_destroy);
  if (!rk) throw std::runtime_error(err);
  std::unique_ptr<rd_kafka_NewPartitions_t, void (*)(rd_kafka_NewPartitions_t*)> np(
      rd_kafka_NewPartitions_new(topic.c_str(), static_cast<std::size_t>(total), err, sizeof err),
      rd_kafka_NewPartitions_destroy);
  if (!np) throw std::runtime_error(err);
  std::unique_ptr<rd_kafka_queue_t, void (*)(rd_kafka_queue_t*)> q(rd_kafka_queue_new(rk.get()),
                                                                   rd_kafka_queue_destroy);
  rd_kafka_NewPartitions_t* list[] = {np.get()};
  rd_kafka_CreatePartitions(rk.get(), list, 1, nullptr, q.get());
  std::unique_ptr<rd_kafka_event_t, void (*)(rd_kafka_event_t*)> ev(
      rd_kafka_queue_poll(q.get(), 30'000), rd_kafka_event_destroy);
  if (!ev) throw std::runtime_error("adding partitions to " + topic + " timed out");
  if (rd_kafka_event_error(ev.get()))
    throw std::runtime_error("adding partitions to " + topic + ": " +
                             rd_kafka_event_error_string(ev.get()));
  std::size_t n;
  const rd_kafka_topic_result_t** results =
      rd_kafka_CreatePartitions_result_topics(rd_kafka_event_CreatePartitions_result(ev.get()), &n);
  for (std::size_t i = 0; i < n; ++i)
    if (rd_kafka_topic_result_error(results[i]))
      throw std::runtime_error("adding partitions to " + topic + ": " +
                               rd_kafka_topic_result_error_string(results[i]));
}

std::vector<long> committedOffsets(const std::string& brokers, const std::string& group,
                                   const std::string& topic, int partitions) {
  char err[512];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  rd_kafka_conf_set(conf, "bootstrap.servers", brokers.c_str(), err, sizeof err);
  rd_kafka_conf_set(conf, "group.id", group.c_str(), err, sizeof err);
  std::unique_ptr<rd_kafka_t, void (*)(rd_kafka_t*)> rk(
      rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof err), rd_kafka_destroy);
  if (!rk) throw std::runtime_error(err);
  std::unique_ptr<rd_kafka_topic_partition_list_t, void (*)(rd_kafka_topic_partition_list_t*)> list(
      rd_kafka_topic_partition_list_new(partitions), rd_kafka_topic_partition_list_destroy);
  for (int p = 0; p < partitions; ++p)
    rd_kafka_topic_partition_list_add(list.get(), topic.c_str(), p);
  if (auto e = rd_kafka_committed(rk.get(), list.get(), 10'000))
    throw std::runtime_error(std::string("committed(): ") + rd_kafka_err2str(e));
  std::vector<long> offsets;
  for (int p = 0; p < partitions; ++p) offsets.push_back(static_cast<long>(list->elems[p].offset));
  rd_kafka_consumer_close(rk.get());
  return offsets;
}

}  // namespace lightflus::test
