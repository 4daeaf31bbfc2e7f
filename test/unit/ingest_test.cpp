// IngestQueue and IngestSource: records offered from outside a running job.
#include <catch2/catch.hpp>

#include <algorithm>
#include <thread>

#include "lightflus/connectors/ingest.hpp"
#include "lightflus/lightflus.hpp"

using namespace lightflus;
using namespace std::chrono_literals;

namespace {

SourceFactory<int> ingestFrom(std::shared_ptr<IngestQueue<int>> queue) {
  return [queue] { return std::make_unique<IngestSource<int>>(queue); };
}

}  // namespace

TEST_CASE("records offered to a running job reach its sink in order", "[ingest]") {
  auto queue = std::make_shared<IngestQueue<int>>(100);
  ExecutionContext ctx("ingest");
  auto out = ctx.fromSource<int>(ingestFrom(queue), "events", {.single = true})
                 .map([](int x) { return x * 10; })
                 .collect();
  JobHandle job = ctx.start();
  for (int batch = 0; batch < 50; ++batch) {
    std::vector<int> records;
    for (int i = 0; i < 20; ++i) records.push_back(batch * 20 + i);
    REQUIRE(queue->offer(std::move(records), 10s) == OfferResult::Accepted);
  }
  queue->close();
  job.wait();
  std::vector<int> expected;
  for (int i = 0; i < 1000; ++i) expected.push_back(i * 10);
  CHECK(out.values() == expected);
  CHECK(queue->accepted() == 1000);
  CHECK(queue->offer({1}, 0ms) == OfferResult::Closed);
}

TEST_CASE("a full ingest queue takes a batch whole or not at all", "[ingest]") {
  IngestQueue<int> queue(10);
  REQUIRE(queue.offer({1, 2, 3, 4, 5, 6, 7, 8}, 0ms) == OfferResult::Accepted);
  CHECK(queue.offer({9, 10, 11}, 20ms) == OfferResult::TimedOut);
  CHECK(queue.size() == 8);
  CHECK(queue.offer({9, 10}, 0ms) == OfferResult::Accepted);
  std::vector<int> drained;
  queue.drain(4, [&](int v) { drained.push_back(v); });
  CHECK(drained == std::vector<int>{1, 2, 3, 4});
  // A batch larger than the capacity goes in once the queue is empty.
  IngestQueue<int> small(2);
  CHECK(small.offer({1, 2, 3, 4}, 0ms) == OfferResult::Accepted);
  CHECK(small.size() == 4);
}

TEST_CASE("an offer waits for the job to make room (backpressure)", "[ingest]") {
  IngestQueue<int> queue(4);
  REQUIRE(queue.offer({1, 2, 3, 4}, 0ms) == OfferResult::Accepted);
  std::thread consumer([&] {
    std::this_thread::sleep_for(50ms);
    queue.drain(4, [](int) {});
  });
  CHECK(queue.offer({5, 6}, 10s) == OfferResult::Accepted);
  consumer.join();
  CHECK(queue.size() == 2);
}

TEST_CASE("an ingest source's snapshot holds the records not yet emitted", "[ingest]") {
  auto queue = std::make_shared<IngestQueue<int>>(100);
  REQUIRE(queue->offer({1, 2, 3}, 0ms) == OfferResult::Accepted);
  IngestSource<int> source(queue);
  std::string state;
  StateWriter writer(state);
  source.snapshot(writer);

  auto fresh = std::make_shared<IngestQueue<int>>(100);
  REQUIRE(fresh->offer({4}, 0ms) == OfferResult::Accepted);
  IngestSource<int> restored(fresh);
  StateReader reader(state);
  restored.restore(reader);
  SourceContext context;
  restored.open(context);
  std::vector<int> drained;
  fresh->drain(10, [&](int v) { drained.push_back(v); });
  CHECK(drained == std::vector<int>{1, 2, 3, 4});
}

TEST_CASE("an ingest source refuses to run in parallel", "[ingest]") {
  auto queue = std::make_shared<IngestQueue<int>>(100);
  IngestSource<int> source(queue);
  SourceContext context;
  context.operator_name = "events";
  context.parallelism = 2;
  CHECK_THROWS_WITH(source.open(context), Catch::Contains("parallelism 1"));
}
