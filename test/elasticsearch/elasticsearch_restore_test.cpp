// The Elasticsearch sink's guarantee after a restore from a checkpoint (docs/elasticsearch.md,
// "Delivery guarantee"): a job writing running counts as upserts by id, as index actions by
// id, and appended without ids, is crashed after a checkpoint, with documents in the index
// that the checkpoint does not cover, and restored from it (test/support/crash_restore.hpp).
// Each sink writes to its own BulkServer, the stand-in that keeps the index by id.
#include <catch2/catch.hpp>
#include <string>

#include "bulk_server.hpp"
#include "crash_restore.hpp"
#include "lightflus/connectors/elasticsearch.hpp"
#include "lightflus/lightflus.hpp"

using namespace lightflus;
using namespace lightflus::test;

namespace {

ElasticsearchSinkOptions optionsFor(const BulkServer& server, ElasticsearchMode mode) {
  ElasticsearchSinkOptions options;
  options.host = server.url();
  options.index = "counts";
  options.mode = mode;
  options.max_actions = 100;
  options.flush_interval = Duration(20);
  return options;
}

/// key -> count, from the index as Elasticsearch would hold it.
std::map<std::string, std::int64_t> indexedCounts(const BulkServer& server) {
  std::map<std::string, std::int64_t> counts;
  for (const auto& [id, document] : server.byId()) counts[id] = document["count"].asInt();
  return counts;
}

/// The documents the expected counts make: {"key": k, "count": n} under id k.
std::map<std::string, Value> expectedDocuments() {
  std::map<std::string, Value> documents;
  for (const auto& [key, n] : expectedCounts()) {
    Value d = Value::object();
    d["key"] = key;
    d["count"] = n;
    documents[key] = d;
  }
  return documents;
}

}  // namespace

TEST_CASE(
    "after a crash and a restore from a checkpoint, documents with ids hold each key's exact "
    "count and appended documents hold every record at least once",
    "[elasticsearch][checkpoint]") {
  BulkServer upserts, indexed, appended;
  auto build = [&](ExecutionContext& ctx, int run) {
    auto counts = runningCounts(ctx);
    auto id = [](const KeyCount& c) { return keyName(c.first); };
    auto document = [](std::string& out, const KeyCount& c) {
      out += R"({"key":")" + keyName(c.first) + R"(","count":)" + std::to_string(c.second) + "}";
    };
    writeElasticsearch(counts, optionsFor(upserts, ElasticsearchMode::Upsert), id, document)
        .parallelism(2)
        .uid("upsert");
    writeElasticsearch(counts, optionsFor(indexed, ElasticsearchMode::Append), id, document)
        .parallelism(2)
        .uid("index-by-id");
    writeElasticsearch(counts, optionsFor(appended, ElasticsearchMode::Append),
                       detail::ElasticsearchNoId{},
                       [run](std::string& out, const KeyCount& c) {
                         out += R"({"key":")" + keyName(c.first) + R"(","count":)" +
                                std::to_string(c.second) + R"(,"run":)" + std::to_string(run) + "}";
                       })
        .parallelism(2)
        .uid("append");
  };
  std::map<std::string, std::int64_t> at_crash;
  auto report = crashAndRestore(
      "es-restore", build,
      [&] {
        std::int64_t total = 0;
        for (const auto& [key, n] : indexedCounts(upserts)) total += n;
        return total;
      },
      [&] { at_crash = indexedCounts(upserts); });
  REQUIRE(report.crashed_mid_input);

  // Append without ids: every count of every key is there, none missing; the records between
  // the checkpoint and the crash were appended again by the restored run.
  std::vector<LogEntry> log;
  for (const auto& d : appended.documents())
    log.push_back({std::string(d.source["key"].asString()), d.source["count"].asInt(),
                   static_cast<int>(d.source["run"].asInt())});
  auto expected = expectedCounts();
  auto replay = analyseReplay(log, expected);
  INFO("restored from " << report.restored_from);
  for (const auto& problem : replay.problems) FAIL_CHECK(problem);
  CHECK(replay.duplicates > 0);
  CHECK(static_cast<std::int64_t>(log.size()) ==
        static_cast<std::int64_t>(kRecords) + replay.duplicates);

  // At the crash the index held everything the checkpoint covered, and more: documents the
  // restored run rewrote.
  std::int64_t past_checkpoint = 0;
  for (const auto& [key, range] : replay.checkpointed_and_crashed) {
    INFO("key " << key);
    CHECK(at_crash[key] >= range.first);
    past_checkpoint += at_crash[key] - range.first;
  }
  CHECK(past_checkpoint > 0);

  // With ids (update with doc_as_upsert, or index): exactly what one uninterrupted run
  // writes, and no other document.
  CHECK(upserts.byId() == expectedDocuments());
  CHECK(indexed.byId() == expectedDocuments());
  for (const auto* server : {&upserts, &indexed, &appended}) CHECK(server->formatErrors().empty());
}
