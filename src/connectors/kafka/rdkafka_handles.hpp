// RAII owners of librdkafka's handles, and the configuration helper the connector shares.
//
// Every rd_kafka_* object the connector creates is held by one of these from the line that
// creates it, so that no error path leaks a handle or leaves a thread running.
#pragma once

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "lightflus/error.hpp"

namespace lightflus::detail {

template <auto Destroy>
struct RdKafkaDeleter {
  template <class P>
  void operator()(P* p) const noexcept {
    if (p) Destroy(p);
  }
};

/// Owns an rd_kafka_conf_t until it is handed to rd_kafka_new.
using KafkaConf = std::unique_ptr<rd_kafka_conf_t, RdKafkaDeleter<rd_kafka_conf_destroy>>;
/// A producer or consumer (rd_kafka_destroy joins librdkafka's threads).
using KafkaClient = std::unique_ptr<rd_kafka_t, RdKafkaDeleter<rd_kafka_destroy>>;
using KafkaTopic = std::unique_ptr<rd_kafka_topic_t, RdKafkaDeleter<rd_kafka_topic_destroy>>;
using KafkaQueue = std::unique_ptr<rd_kafka_queue_t, RdKafkaDeleter<rd_kafka_queue_destroy>>;
using KafkaPartitionList = std::unique_ptr<rd_kafka_topic_partition_list_t,
                                           RdKafkaDeleter<rd_kafka_topic_partition_list_destroy>>;
using KafkaMessage = std::unique_ptr<rd_kafka_message_t, RdKafkaDeleter<rd_kafka_message_destroy>>;
using KafkaErrorObject = std::unique_ptr<rd_kafka_error_t, RdKafkaDeleter<rd_kafka_error_destroy>>;
using KafkaGroupMetadata =
    std::unique_ptr<rd_kafka_consumer_group_metadata_t,
                    RdKafkaDeleter<rd_kafka_consumer_group_metadata_destroy>>;
using KafkaMockCluster =
    std::unique_ptr<rd_kafka_mock_cluster_t, RdKafkaDeleter<rd_kafka_mock_cluster_destroy>>;

inline void destroyMetadata(const rd_kafka_metadata_t* m) {
  rd_kafka_metadata_destroy(m);
}
using KafkaMetadata = std::unique_ptr<const rd_kafka_metadata_t, RdKafkaDeleter<destroyMetadata>>;

/// librdkafka's log lines of a client, kept instead of printed (the library never prints): the
/// last error goes into the message of the exception that reports a failure. A client's opaque
/// points to its ClientLog (or to a struct derived from it).
struct ClientLog {
  std::mutex mutex;
  std::string last_error;

  std::string lastError() {
    std::lock_guard lock(mutex);
    return last_error;
  }
  /// "; last broker error: ..." or nothing.
  std::string lastErrorSuffix() {
    auto e = lastError();
    return e.empty() ? std::string() : "; last broker error: " + e;
  }
};

inline void onClientLog(const rd_kafka_t* rk, int level, const char*, const char* line) {
  if (level > 4) return;  // below warnings: debugging detail
  auto* log = static_cast<ClientLog*>(rd_kafka_opaque(rk));
  if (!log) return;
  std::lock_guard lock(log->mutex);
  log->last_error = line;
}

/// Routes a client's log lines to `log` (set before rd_kafka_new).
inline void keepLog(rd_kafka_conf_t* conf, ClientLog* log) {
  rd_kafka_conf_set_opaque(conf, log);
  rd_kafka_conf_set_log_cb(conf, onClientLog);
}

/// A configuration with `properties` set; throws ConfigError naming a bad property.
inline KafkaConf makeKafkaConf(const std::map<std::string, std::string>& properties) {
  KafkaConf conf(rd_kafka_conf_new());
  char err[512];
  for (const auto& [name, value] : properties)
    if (rd_kafka_conf_set(conf.get(), name.c_str(), value.c_str(), err, sizeof err) !=
        RD_KAFKA_CONF_OK)
      throw ConfigError("Kafka property " + name + "=" + value + ": " + err);
  return conf;
}

/// Creates a client; the configuration is consumed (also on failure).
inline KafkaClient makeKafkaClient(rd_kafka_type_t type, KafkaConf conf) {
  char err[512];
  rd_kafka_t* rk = rd_kafka_new(type, conf.get(), err, sizeof err);
  if (!rk) throw ConfigError(std::string("cannot create a Kafka client: ") + err);
  conf.release();  // owned by rk now
  return KafkaClient(rk);
}

/// Throws ConnectorError with `what` and the error's text if `error` is set.
inline void throwIf(rd_kafka_error_t* error, const std::string& what) {
  KafkaErrorObject owned(error);
  if (owned) throw ConnectorError(what + ": " + rd_kafka_error_string(owned.get()));
}

}  // namespace lightflus::detail
