// DevKafkaCluster: librdkafka's mock cluster on loopback.
#include <fmt/format.h>

#include "lightflus/connectors/kafka.hpp"
#include "rdkafka_handles.hpp"

namespace lightflus {

struct DevKafkaCluster::State {
  // The mock cluster lives inside a client handle; it is destroyed before the handle.
  detail::KafkaClient owner;
  detail::KafkaMockCluster cluster;
  std::string bootstrap;
};

DevKafkaCluster::DevKafkaCluster(int brokers, const std::vector<Topic>& topics)
    : state_(std::make_unique<State>()) {
  if (brokers < 1) throw ConfigError("a dev Kafka cluster needs at least one broker");
  // A producer handle that never produces: it only hosts the mock brokers' thread.
  state_->owner =
      detail::makeKafkaClient(RD_KAFKA_PRODUCER, detail::makeKafkaConf({{"log_level", "4"}}));
  state_->cluster.reset(rd_kafka_mock_cluster_new(state_->owner.get(), brokers));
  if (!state_->cluster) throw ConnectorError("cannot start librdkafka's mock Kafka cluster");
  state_->bootstrap = rd_kafka_mock_cluster_bootstraps(state_->cluster.get());
  for (const auto& t : topics) createTopic(t.name, t.partitions);
}

DevKafkaCluster::~DevKafkaCluster() {
  if (state_) state_->cluster.reset();  // before its owner handle
}

const std::string& DevKafkaCluster::bootstrapServers() const {
  return state_->bootstrap;
}

void DevKafkaCluster::createTopic(const std::string& name, int partitions) {
  if (name.empty() || partitions < 1)
    throw ConfigError(
        fmt::format("invalid topic '{}:{}': a name and at least one partition", name, partitions));
  rd_kafka_resp_err_t err =
      rd_kafka_mock_topic_create(state_->cluster.get(), name.c_str(), partitions, 1);
  if (err)
    throw ConnectorError(fmt::format("cannot create topic '{}' on the dev cluster: {}", name,
                                     rd_kafka_err2str(err)));
}

void DevKafkaCluster::setBrokerDown(int id) {
  if (auto err = rd_kafka_mock_broker_set_down(state_->cluster.get(), id))
    throw ConnectorError(
        fmt::format("cannot take dev broker {} down: {}", id, rd_kafka_err2str(err)));
}

void DevKafkaCluster::setBrokerUp(int id) {
  if (auto err = rd_kafka_mock_broker_set_up(state_->cluster.get(), id))
    throw ConnectorError(
        fmt::format("cannot bring dev broker {} up: {}", id, rd_kafka_err2str(err)));
}

}  // namespace lightflus
