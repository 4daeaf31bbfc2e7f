#include "js_graph_builder.hpp"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "js_json_lines.hpp"
#include "js_nexmark.hpp"
#include "js_operators.hpp"
#include "js_process_operator.hpp"
#include "js_rolling_operator.hpp"
#include "js_window_operator.hpp"
#include "lightflus/changelog.hpp"
#include "lightflus/connected_streams.hpp"
#include "lightflus/connectors/file.hpp"
#ifdef LIGHTFLUS_JS_WITH_KAFKA
#include "js_kafka_connectors.hpp"
#endif
#ifdef LIGHTFLUS_JS_WITH_ELASTICSEARCH
#include "js_elasticsearch_connectors.hpp"
#endif
#ifdef LIGHTFLUS_JS_WITH_REDIS
#include "js_redis_connectors.hpp"
#endif
#ifdef LIGHTFLUS_JS_WITH_MYSQL
#include "js_mysql_connectors.hpp"
#endif

namespace lightflus::js {

namespace {

// ---------------------------------------------------------------------------------------------
// Connectors

/// Where a source's malformed records go under the job's dead-letter policy: the job's
/// dead-letter output, under the source's name.
struct DeadLetterTarget {
  std::shared_ptr<const JsJob> job;
  std::string where;
};

/// Stamps elements without a timestamp with the time they were read (the event time of
/// sources without one, docs/js-graph.md) and emits that time as the watermark, so that
/// event-time windows without assignTimestamps fire by ingestion time. The inner source's dead
/// letters (malformed records) go to `dead_letters` when set.
template <class X, class Convert>
class IngestionTimeSource final : public Source<Value> {
 public:
  IngestionTimeSource(std::unique_ptr<Source<X>> inner, Convert convert,
                      std::optional<DeadLetterTarget> dead_letters)
      : inner_(std::move(inner)),
        convert_(std::move(convert)),
        dead_letters_(std::move(dead_letters)) {}
  void open(const SourceContext& context) override { inner_->open(context); }
  SourceStatus poll(SourceOutput<Value>& out) override {
    batch_.clear();
    SourceOutput<X> inner_out(batch_, out.remaining());
    SourceStatus status = inner_->poll(inner_out);
    const Timestamp now = processingTimeNow();
    for (auto& e : batch_)
      out.collect(convert_(std::move(e.value)), e.timestamp == kMinTimestamp ? now : e.timestamp);
    for (auto& d : inner_out.deadLetters()) {
      if (dead_letters_)
        dead_letters_->job->deadLetter(dead_letters_->where, d.value.origin + ": " + d.value.error,
                                       Value(d.value.record));
      else
        out.deadLetter(std::move(d.value));
    }
    if (!batch_.empty()) out.emitWatermark(now - 1);
    return status;
  }
  Duration blockedWait() const override { return inner_->blockedWait(); }
  void snapshot(StateWriter& w) override { inner_->snapshot(w); }
  void restore(StateReader& r) override { inner_->restore(r); }
  bool restoreRescaled(const std::vector<std::string>& previous) override {
    return inner_->restoreRescaled(previous);
  }
  void notifyCheckpointComplete(std::uint64_t id) override { inner_->notifyCheckpointComplete(id); }
  void close() override { inner_->close(); }

 private:
  std::unique_ptr<Source<X>> inner_;
  Convert convert_;
  std::optional<DeadLetterTarget> dead_letters_;
  Batch<X> batch_;
};

template <class X, class Convert>
SourceFactory<Value> stamped(std::function<std::unique_ptr<Source<X>>()> make, Convert convert,
                             std::optional<DeadLetterTarget> dead_letters = std::nullopt) {
  return [make, convert, dead_letters] {
    return std::make_unique<IngestionTimeSource<X, Convert>>(make(), convert, dead_letters);
  };
}

/// One line per element: strings as they are, other values as JSON.
struct LineFormat {
  void operator()(std::string& out, const Value& v) const {
    if (v.isString())
      out += v.asString();
    else
      v.appendJson(out);
  }
};

struct Identity {
  Value operator()(Value&& v) const { return std::move(v); }
};

// ---------------------------------------------------------------------------------------------
// Reading the graph

std::string describe(const Value& op) {
  std::string name = op["name"].isString() ? std::string(op["name"].asString()) : "?";
  std::string kind = op["kind"].isString() ? std::string(op["kind"].asString()) : "?";
  return "operator " + std::to_string(op["id"].isInt() ? op["id"].asInt() : 0) + " '" + name +
         "' (" + kind + ")";
}

std::int64_t intField(const Value& op, std::string_view field) {
  const Value& v = op[field];
  if (!v.isNumber())
    throw ConfigError(describe(op) + ": the graph has no number '" + std::string(field) + "'");
  return v.asInt();
}

std::string stringField(const Value& op, std::string_view field) {
  const Value& v = op[field];
  if (!v.isString())
    throw ConfigError(describe(op) + ": the graph has no string '" + std::string(field) + "'");
  return std::string(v.asString());
}

bool isStateless(std::string_view kind) {
  return kind == "map" || kind == "flatMap" || kind == "filter";
}

/// The engine streams of the job's streams: plain or keyed. A plain stream of `json_texts`
/// carries JSON lines as their text (JsonTextLinesSource, js_json_lines.hpp): only the
/// JavaScript operators told so read it; every other reader gets it parsed (Planner::input).
struct Stream {
  std::optional<DataStream<Value>> plain;
  std::optional<DataStream<KeyedValue>> keyed;
  bool json_texts = false;
};

// ---------------------------------------------------------------------------------------------
// The planner

class Planner {
 public:
  Planner(std::shared_ptr<JsJob> job, const JsGraphOptions& options, ExecutionContext& ctx)
      : job_(std::move(job)), options_(options), ctx_(ctx) {}

  void run() {
    const Value& operators = job_->graph()["operators"];
    if (!operators.isArray() || operators.asArray().empty())
      throw ConfigError("the job's graph has no operators");
    for (const Value& op : operators.asArray()) by_id_[static_cast<int>(intField(op, "id"))] = &op;
    for (const Value& op : operators.asArray())
      if (op["inputs"].isArray())
        for (const Value& input : op["inputs"].asArray()) {
          ++consumers_[static_cast<int>(input.asInt())];
          readers_[static_cast<int>(input.asInt())].push_back(&op);
        }
    // A stateless operator fuses into the next one when that one is stateless too, is its only
    // reader and does not ask for another parallelism.
    for (const Value& op : operators.asArray()) {
      if (!isStateless(stringField(op, "kind")) || op["inputs"].size() != 1) continue;
      const Value& input = byId(static_cast<int>(op["inputs"][0].asInt()), op);
      // Equal parallelism only: `map(f).parallelism(1).filter(g)` runs g with the job's
      // parallelism, and fusing it into the map would run it with 1.
      if (isStateless(stringField(input, "kind")) &&
          consumers_[static_cast<int>(intField(input, "id"))] == 1 &&
          op["parallelism"] == input["parallelism"])
        fused_into_next_.insert(static_cast<int>(intField(input, "id")));
    }
    // A chain whose only reader is a keyBy (with the same parallelism) fuses into it: one call
    // into JavaScript per batch computes both (JsChainKeyByOperator).
    for (const Value& op : operators.asArray()) {
      if (stringField(op, "kind") != "keyBy" || op["inputs"].size() != 1) continue;
      const Value& input = byId(static_cast<int>(op["inputs"][0].asInt()), op);
      const int input_id = static_cast<int>(intField(input, "id"));
      if (isStateless(stringField(input, "kind")) && consumers_[input_id] == 1 &&
          !fused_into_next_.count(input_id) &&
          (op["parallelism"].isNull() || op["parallelism"] == input["parallelism"]))
        fused_into_key_by_.insert(input_id);
    }
    // A window aggregate or reduce whose keyBy is fused with a chain, where all of them run
    // with parallelism 1 (no exchange), fuses with them too (JsChainWindowOperator).
    for (const Value& op : operators.asArray()) {
      const std::string kind = stringField(op, "kind");
      if ((kind != "reduce" && kind != "aggregate") || op["inputs"].size() != 1) continue;
      const Value& window = byId(static_cast<int>(op["inputs"][0].asInt()), op);
      if (stringField(window, "kind") != "window" || !alignedWindow(window) ||
          consumers_[static_cast<int>(intField(window, "id"))] != 1 || window["inputs"].size() != 1)
        continue;
      const Value& key_by = byId(static_cast<int>(window["inputs"][0].asInt()), window);
      if (stringField(key_by, "kind") != "keyBy" ||
          consumers_[static_cast<int>(intField(key_by, "id"))] != 1 || key_by["inputs"].size() != 1)
        continue;
      const Value& last = byId(static_cast<int>(key_by["inputs"][0].asInt()), key_by);
      if (!fused_into_key_by_.count(static_cast<int>(intField(last, "id")))) continue;
      bool single = runsAlone(op) && runsAlone(window) && runsAlone(key_by);
      for (const Value* part : chainOf(last)) single = single && runsAlone(*part);
      // Otherwise an aggregate that can merge (or a reduce) combines before the exchange, unless
      // late elements refire windows (allowed lateness): a partial would refire once for several.
      const Value& lateness = window["window"]["allowedLatenessMs"];
      // Late data to a side output must be the elements themselves, not partials.
      if (!single &&
          ((kind == "aggregate" && !op["aggregate"]["merge"].isNumber()) ||
           (lateness.isNumber() && lateness.asInt() > 0) || window["window"]["lateTag"].isString()))
        continue;
      (single ? fused_windows_ : combined_windows_).insert(static_cast<int>(intField(op, "id")));
      fused_into_window_.insert(static_cast<int>(intField(key_by, "id")));
    }
    // A rolling reduce or aggregate takes the chain of map/flatMap/filter after it (each the
    // only reader of the one before, with the same parallelism) into its call; at parallelism
    // 1 also the chain and keyBy before it (JsRollingOperator, JsChainRollingOperator).
    for (const Value& op : operators.asArray()) {
      const std::string kind = stringField(op, "kind");
      if ((kind != "reduce" && kind != "aggregate") || op["inputs"].size() != 1) continue;
      const Value& from = byId(static_cast<int>(op["inputs"][0].asInt()), op);
      if (stringField(from, "kind") == "window") continue;
      const int id = static_cast<int>(intField(op, "id"));
      std::vector<const Value*> post;
      for (const Value* at = &op;;) {
        auto readers = readers_.find(static_cast<int>(intField(*at, "id")));
        if (readers == readers_.end() || readers->second.size() != 1) break;
        const Value& next = *readers->second.front();
        if (!isStateless(stringField(next, "kind")) || next["inputs"].size() != 1 ||
            next["parallelism"] != op["parallelism"])
          break;
        post.push_back(&next);
        at = &next;
      }
      // A chain that ends in a keyBy fuses with that keyBy instead (and the part of it fused
      // into its last operator with it).
      if (!post.empty() &&
          fused_into_key_by_.count(static_cast<int>(intField(*post.back(), "id")))) {
        post.pop_back();
        while (!post.empty() &&
               fused_into_next_.count(static_cast<int>(intField(*post.back(), "id"))))
          post.pop_back();
      }
      for (const Value* p : post) absorbed_.insert(static_cast<int>(intField(*p, "id")));
      post_chains_[id] = std::move(post);
      if (stringField(from, "kind") != "keyBy" || from["inputs"].size() != 1 ||
          consumers_[static_cast<int>(intField(from, "id"))] != 1)
        continue;
      const Value& last = byId(static_cast<int>(from["inputs"][0].asInt()), from);
      if (!fused_into_key_by_.count(static_cast<int>(intField(last, "id")))) continue;
      bool single = runsAlone(op) && runsAlone(from);
      for (const Value* part : chainOf(last)) single = single && runsAlone(*part);
      if (!single) continue;
      chained_rolling_.insert(id);
      fused_into_window_.insert(static_cast<int>(intField(from, "id")));
    }
    for (const Value& op : operators.asArray()) add(op);
  }

 private:
  const Value& byId(int id, const Value& reader) const {
    auto it = by_id_.find(id);
    if (it == by_id_.end())
      throw ConfigError(describe(reader) + " reads operator " + std::to_string(id) +
                        ", which the graph does not have");
    return *it->second;
  }

  void add(const Value& op) {
    const int id = static_cast<int>(intField(op, "id"));
    const std::string kind = stringField(op, "kind");
    if (kind == "source") {
      streams_[id] = source(op);
    } else if (isStateless(kind)) {
      if (absorbed_.count(id)) return;  // built by the rolling reduce or aggregate before it
      if (fused_into_next_.count(id) == 0 && fused_into_key_by_.count(id) == 0)
        streams_[id] = chain(op);
    } else if (kind == "keyBy") {
      if (fused_into_window_.count(id)) return;  // built by its window's aggregate
      const int from = static_cast<int>(op["inputs"][0].asInt());
      if (fused_into_key_by_.count(from))
        streams_[id] = chainKeyBy(byId(from, op), op);
      else if (timed_key_bys_.count(id))
        streams_[id] = keyBy(op, input(byId(from, op), /*json_texts=*/true), &byId(from, op));
      else
        streams_[id] = keyBy(op, input(op, /*json_texts=*/true));
    } else if (kind == "assignTimestamps") {
      Stream in = input(op, /*json_texts=*/true);
      // Over JSON texts, the keyBy that alone reads it (in the same task) computes the times
      // too: one call and one JSON.parse per batch for both (JsKeyByOperator).
      if (const Value* key_by = in.json_texts ? soleKeyByOf(op) : nullptr) {
        timed_key_bys_.insert(static_cast<int>(intField(*key_by, "id")));
        return;
      }
      streams_[id] = assignTimestamps(op, in);
    } else if (kind == "window") {
      windows_.insert(id);  // built by its reader: a windowed fold, or a release
    } else if (kind == "reduce" || kind == "aggregate") {
      int from = static_cast<int>(op["inputs"][0].asInt());
      if (fused_windows_.count(id) || combined_windows_.count(id))
        streams_[id] = chainWindow(op, combined_windows_.count(id) > 0);
      else if (windows_.count(from))
        streams_[id] = windowed(op, byId(from, op), input(byId(from, op)));
      else
        streams_[id] = chained_rolling_.count(id) ? chainRolling(op) : rolling(op, input(op));
    } else if (kind == "process" || kind == "coProcess") {
      streams_[id] = process(op);
    } else if (kind == "sideOutput") {
      auto it = side_streams_.find(id);
      if (it == side_streams_.end())
        throw ConfigError(describe(op) + ": a side output reads a process() operator");
      streams_[id] = it->second;
    } else if (kind == "union") {
      streams_[id] = unionOf(op);
    } else if (kind == "sink") {
      sink(op, input(op));
    } else {
      throw ConfigError(describe(op) + ": this engine does not know the kind '" + kind +
                        "' (a newer lightflus package?)");
    }
  }

  // The stream `op` reads (its single input); JSON texts only for readers that take them.
  Stream input(const Value& op, bool json_texts = false) {
    if (!op["inputs"].isArray() || op["inputs"].size() != 1)
      throw ConfigError(describe(op) + " must have exactly one input");
    return streamOf(static_cast<int>(op["inputs"][0].asInt()), op, json_texts);
  }

  Stream streamOf(int id, const Value& reader, bool json_texts = false) {
    Stream s = builtStream(id, reader);
    if (!s.json_texts || json_texts) return s;
    // A reader of Values: the texts parsed once per stream, in the task that made them.
    auto it = parsed_.find(id);
    if (it == parsed_.end()) {
      DataStream<Value> values =
          s.plain->map([](const Value& text) { return Value::parseJson(text.asString()); })
              .name("parse JSON");
      detail::GraphBuilder(values.graph()).node(values.nodeId()).follow_input = true;
      it = parsed_.emplace(id, Stream{values, std::nullopt}).first;
    }
    return it->second;
  }

  // Whether every reader of `id` takes JSON texts: a map/flatMap/filter that starts a chain
  // (JsChainOperator, or JsChainKeyByOperator), a keyBy or an assignTimestamps. A chain fused
  // into a window or rolling operator does not (yet).
  bool readersTakeJsonTexts(int id) {
    auto readers = readers_.find(id);
    if (readers == readers_.end()) return false;
    for (const Value* r : readers->second) {
      const std::string kind = stringField(*r, "kind");
      const int rid = static_cast<int>(intField(*r, "id"));
      if (kind == "keyBy" || kind == "assignTimestamps") continue;
      if (!isStateless(kind) || absorbed_.count(rid)) return false;
      // The chain that starts here: where it ends, and whether a window or rolling reduce took
      // its keyBy.
      const Value* at = r;
      while (fused_into_next_.count(static_cast<int>(intField(*at, "id"))))
        at = readers_[static_cast<int>(intField(*at, "id"))].front();
      const int last = static_cast<int>(intField(*at, "id"));
      if (fused_into_key_by_.count(last)) {
        const Value* key_by = readers_[last].front();
        if (fused_into_window_.count(static_cast<int>(intField(*key_by, "id")))) return false;
      }
    }
    return true;
  }

  Stream builtStream(int id, const Value& reader) {
    if (windows_.count(id)) {
      // A window read by something other than reduce/aggregate releases its elements.
      if (!released_.count(id)) {
        const Value& window = byId(id, reader);
        released_[id] = releaseWindow(window, input(window));
      }
      return released_[id];
    }
    auto it = streams_.find(id);
    if (it == streams_.end())
      throw ConfigError(describe(reader) + " reads operator " + std::to_string(id) +
                        " before it is built");
    if (auto nexmark = nexmark_sources_.find(id); nexmark != nexmark_sources_.end()) {
      // The Nexmark source's ids, as events: for readers that do not make them themselves.
      auto decoded = decoded_.find(id);
      if (decoded == decoded_.end()) {
        auto generator = nexmark->second;
        DataStream<Value> events = it->second.plain
                                       ->map([generator](const Value& event_id) {
                                         return nexmarkValue(generator->next(
                                             static_cast<std::uint64_t>(event_id.asInt())));
                                       })
                                       .name(stringField(byId(id, reader), "name") + " events");
        decoded = decoded_.emplace(id, Stream{events, std::nullopt}).first;
      }
      return decoded->second;
    }
    return it->second;
  }

  // The stream `op` reads, as it is: a Nexmark source's event ids with the source's generator
  // (the JavaScript operators that make the events themselves read it so).
  // Otherwise as input(op, json_texts).
  std::pair<Stream, std::shared_ptr<const nexmark::Generator>> rawInput(const Value& op,
                                                                        bool json_texts = false) {
    if (!op["inputs"].isArray() || op["inputs"].size() != 1)
      throw ConfigError(describe(op) + " must have exactly one input");
    const int id = static_cast<int>(op["inputs"][0].asInt());
    auto nexmark = nexmark_sources_.find(id);
    if (nexmark == nexmark_sources_.end() || windows_.count(id))
      return {input(op, json_texts), nullptr};
    return {streams_.at(id), nexmark->second};
  }

  // Whether `op` runs with parallelism 1 for certain (options_.parallelism known).
  bool runsAlone(const Value& op) const {
    if (op["parallelism"].isNumber()) return op["parallelism"].asInt() == 1;
    if (!options_.parallelism) return false;
    if (*options_.parallelism > 0) return *options_.parallelism == 1;
    const Value& job = job_->graph()["job"];
    return !job["parallelism"].isNumber() || job["parallelism"].asInt() == 1;
  }

  static bool alignedWindow(const Value& window_op) {
    const Value& type = window_op["window"]["type"];
    return type.isString() && (type.asString() == "tumbling" || type.asString() == "sliding");
  }

  // The uid the job gave the operator (`.uid("counts")`), else its position in the job.
  static std::string uidOf(const Value& op) {
    if (op["uid"].isString()) return std::string(op["uid"].asString());
    return "js-op-" + std::to_string(intField(op, "id"));
  }

  template <class T>
  DataStream<T> named(DataStream<T> s, const Value& op) {
    s = s.name(stringField(op, "name"));
    // The state's identity in snapshots: the job's operator, whatever fused around it.
    s = s.uid(uidOf(op));
    if (op["parallelism"].isNumber())
      s = s.parallelism(static_cast<int>(op["parallelism"].asInt()));
    return s;
  }

  /// A stateless operator the builder adds before a sink runs with the sink's parallelism, so
  /// that it chains to what feeds it (keeping each key's rows in order).
  template <class T>
  DataStream<T> sameParallelism(DataStream<T> s, const Value& op) {
    if (op["parallelism"].isNumber())
      s = s.parallelism(static_cast<int>(op["parallelism"].asInt()));
    return s;
  }

  /// Whether a sink connector applies changelog rows (`.changelog()` in the package).
  static bool changelogOf(const Value& c) {
    return c["changelog"].isBool() && c["changelog"].asBool();
  }

  template <class Out, class In>
  DataStream<Out> attach(const DataStream<In>& in, const Value& op, const char* kind,
                         detail::NodeSpec::Factory make, bool hashed = false) {
    detail::GraphBuilder b(in.graph());
    int id = b.template addNode<Out>(kind, std::move(make));
    if (hashed) {
      if constexpr (std::is_same_v<In, KeyedValue>) {
        b.node(id).keyed = true;
        using Hasher = detail::KeyHasher<KeyedValue, KeyOfPair>;
        b.addEdge(
            in.nodeId(), in.portId(), id, detail::Partitioning::Hash,
            std::make_shared<detail::TypedHashExchange<KeyedValue, Hasher>>(Hasher{KeyOfPair{}}));
      }
    } else {
      // From the stream's port: a side output is a port of its operator, not its main output.
      b.addEdge(in.nodeId(), in.portId(), id, detail::Partitioning::Forward);
    }
    return named(DataStream<Out>(in.graph(), id), op);
  }

  DataStream<Value> plain(const Stream& s) {
    if (s.plain) return *s.plain;
    return s.keyed->map([](const KeyedValue& e) { return e.second; }).name("values");
  }

  // A keyed stream, or a plain one under the single key null (reduce without keyBy: one global
  // reduction with parallelism 1).
  DataStream<KeyedValue> keyedOrGlobal(const Stream& s, bool& global) {
    global = !s.keyed;
    if (s.keyed) return *s.keyed;
    return s.plain->map([](const Value& v) { return KeyedValue{Value(), v}; }).name("global key");
  }

  Stream source(const Value& op) {
    const Value& c = op["connector"];
    const std::string type = c["type"].isString() ? std::string(c["type"].asString()) : "";
    const std::string name = stringField(op, "name");
    SourceFactory<Value> factory;
    SourceOptions options;
    bool json_texts = false;
    if (type == "file") {
      std::string path = stringField(c, "path");
      std::string format = stringField(c, "format");
      options.single = true;
      // A missing or unreadable input fails the job as it is built, not a moment after it was
      // reported running (the source opens its file in its task).
      if (path != "-" && ::access(path.c_str(), R_OK) != 0)
        throw ConnectorError(describe(op) + ": cannot open '" + path +
                             "': " + std::strerror(errno));
      if (format == "lines") {
        factory = stamped<std::string>(
            [path]() -> std::unique_ptr<Source<std::string>> {
              return std::make_unique<TextLineSource>(path);
            },
            [](std::string&& line) { return Value(line); });
      } else if (format == "jsonLines") {
        // A malformed line fails the job naming file:line, or under the dead-letter policy goes
        // to the job's dead letters (as a Kafka source's undecodable records do).
        std::optional<DeadLetterTarget> dead_letters;
        if (job_->options().on_error == ErrorPolicy::kDeadLetter)
          dead_letters = DeadLetterTarget{job_, describe(op)};
        MalformedPolicy policy = dead_letters ? MalformedPolicy::DeadLetter : MalformedPolicy::Fail;
        // Read only by JavaScript operators that parse a batch with one JSON.parse: the lines
        // as text (js_json_lines.hpp).
        json_texts = readersTakeJsonTexts(static_cast<int>(intField(op, "id")));
        if (json_texts)
          factory = stamped<Value>(
              [path, policy]() -> std::unique_ptr<Source<Value>> {
                return std::make_unique<JsonTextLinesSource>(path, policy);
              },
              Identity{}, std::move(dead_letters));
        else
          factory = stamped<Value>(
              [path, policy]() -> std::unique_ptr<Source<Value>> {
                return std::make_unique<JsonLinesSource>(path, policy);
              },
              Identity{}, std::move(dead_letters));
      } else {
        throw ConfigError(describe(op) + ": unknown file format '" + format + "'");
      }
    } else if (type == "generator") {
      factory = generator(op, c);
    } else if (type == "nexmark") {
      factory = nexmarkSource(op, c);
    } else if (type == "kafka") {
#ifdef LIGHTFLUS_JS_WITH_KAFKA
      // KafkaSource stamps the record timestamps and emits per-partition watermarks itself.
      factory = kafkaSourceFactory(c, ctx_.jobName(), describe(op), job_);
#else
      throw ConfigError(describe(op) +
                        ": this build has no Kafka source (configured without librdkafka)");
#endif
    } else if (type == "http") {
      // Records POSTed to lightflusd serve's /v1/jobs/{id}/events; the host supplies the queue.
      SourceFactory<Value> ingest;
      if (options_.http_source) ingest = options_.http_source(op);
      if (!ingest)
        throw ConfigError(describe(op) +
                          ": an HttpSource receives the records POSTed to lightflusd serve "
                          "(POST /v1/jobs/{id}/events); submit the job to a server to feed it");
      options.single = true;
      factory = stamped<Value>(std::move(ingest), Identity{});
    } else {
      throw ConfigError(describe(op) + ": there is no '" + type + "' source in this build");
    }
    DataStream<Value> s = ctx_.fromSource<Value>(std::move(factory), name, options);
    return Stream{named(s, op), std::nullopt, json_texts};
  }

  // The Nexmark source: event ids, which its JavaScript readers turn into events
  // (js_nexmark.hpp); other readers get the events as Values (streamOf).
  SourceFactory<Value> nexmarkSource(const Value& op, const Value& c) {
    nexmark::Options options;
    if (c["count"].isNumber()) {
      if (c["count"].asInt() < 0) throw ConfigError(describe(op) + ": count must be >= 0");
      options.count = static_cast<std::uint64_t>(c["count"].asInt());
    }
    if (c["rate"].isNumber()) options.rate = c["rate"].asDouble();
    if (c["eventTimeRate"].isNumber())
      options.config.event_time_rate = c["eventTimeRate"].asDouble();
    if (c["firstEventTime"].isNumber())
      options.config.first_event_time = c["firstEventTime"].asInt();
    auto generator = std::make_shared<const nexmark::Generator>(options.config);
    nexmark_sources_[static_cast<int>(intField(op, "id"))] = generator;
    return [options, generator]() -> std::unique_ptr<Source<Value>> {
      return std::make_unique<NexmarkIdSource>(options, generator);
    };
  }

  SourceFactory<Value> generator(const Value& op, const Value& c) {
    const std::string mode = stringField(c, "mode");
    if (mode == "sequence") {
      std::int64_t from = intField(c, "from");
      GeneratorOptions options;
      if (c["to"].isNumber())
        options.count = static_cast<std::uint64_t>(c["to"].asInt() - from + 1);
      if (c["ratePerSecond"].isNumber()) options.rate = c["ratePerSecond"].asDouble();
      auto fn = [from](std::uint64_t i) { return Value(from + static_cast<std::int64_t>(i)); };
      return stamped<Value>(
          [fn, options]() -> std::unique_ptr<Source<Value>> {
            return std::make_unique<GeneratorSource<Value, decltype(fn)>>(fn, options);
          },
          Identity{});
    }
    if (mode == "values") {
      if (!c["values"].isArray()) throw ConfigError(describe(op) + ": the generator has no values");
      auto values = std::make_shared<const std::vector<Value>>(c["values"].asArray());
      return stamped<Value>(
          [values]() -> std::unique_ptr<Source<Value>> {
            return std::make_unique<CollectionSource<Value>>(values);
          },
          Identity{});
    }
    throw ConfigError(describe(op) + ": unknown generator mode '" + mode + "'");
  }

  // A chain ending at `last` and the keyBy `key_op` reading it, as one operator; a chain over a
  // keyed stream (re-keying) stays two operators.
  Stream chainKeyBy(const Value& last, const Value& key_op) {
    std::vector<const Value*> ops = chainOf(last);
    auto [in, nexmark] = rawInput(*ops.back(), /*json_texts=*/true);
    if (in.keyed) {
      streams_[static_cast<int>(intField(last, "id"))] = chain(last);
      return keyBy(key_op, streams_[static_cast<int>(intField(last, "id"))]);
    }
    const bool json_texts = in.json_texts;
    auto [udfs, kinds, name] = chainParts(ops);
    Value op = key_op;  // the fused operator: named after its parts
    op["name"] = name + "+" + stringField(key_op, "name");
    // A keyBy partitions its input and runs with its input's parallelism: the fused operator
    // runs with the chain's. (With the job's default instead, a rebalance into it would
    // reorder each key's elements.)
    if (op["parallelism"].isNull()) op["parallelism"] = (*ops.front())["parallelism"];
    auto job = job_;
    int key_udf = static_cast<int>(intField(key_op, "udf"));
    // When only rolling reduces, aggregates and process functions read the keyBy, the elements
    // cross the exchange as key-group blocks (js_blocks.hpp) of JSON texts, parsed by the
    // readers a batch at a time (no Value trees).
    bool blocks = true;
    auto readers = readers_.find(static_cast<int>(intField(key_op, "id")));
    if (readers == readers_.end()) blocks = false;
    for (const Value* r :
         readers == readers_.end() ? std::vector<const Value*>{} : readers->second) {
      const std::string kind = stringField(*r, "kind");
      blocks = blocks && (kind == "reduce" || kind == "aggregate" || kind == "process" ||
                          kind == "coProcess");
    }
    if (blocks) block_key_bys_.insert(static_cast<int>(intField(key_op, "id")));
    // Its reader, when chained to it (parallelism 1), takes the outputs as they are.
    auto keyed_readers = blocks && options_.keyed_handoff ? keyed_readers_ : nullptr;
    return Stream{
        std::nullopt,
        attach<KeyedValue>(*in.plain, op, "jsChain+keyBy",
                           [job, udfs, kinds, key_udf, blocks, json_texts, nexmark, keyed_readers](
                               const detail::OperatorInit& init, const std::vector<void*>& outs) {
                             return std::make_unique<JsChainKeyByOperator>(
                                 init, static_cast<detail::Input<KeyedValue>*>(outs[0]), job, udfs,
                                 kinds, key_udf, blocks, json_texts, nexmark,
                                 keyed_readers ? keyed_readers->find(outs[0]) : nullptr);
                           })};
  }

  // The UDFs and kinds of a fused chain's operators (chainOf's order reversed: first to last),
  // and its name ("a+b+c").
  static std::tuple<std::vector<int>, std::vector<std::string>, std::string> chainParts(
      const std::vector<const Value*>& ops) {
    std::vector<int> udfs;
    std::vector<std::string> kinds;
    std::string name;
    for (auto it = ops.rbegin(); it != ops.rend(); ++it) {
      udfs.push_back(static_cast<int>(intField(**it, "udf")));
      kinds.push_back(stringField(**it, "kind"));
      name += (name.empty() ? "" : "+") + stringField(**it, "name");
    }
    return {std::move(udfs), std::move(kinds), std::move(name)};
  }

  // The operators of the fused chain ending at `last`, last first.
  std::vector<const Value*> chainOf(const Value& last) {
    std::vector<const Value*> ops{&last};
    while (true) {
      const Value& input =
          byId(static_cast<int>(ops.back()->operator[]("inputs")[0].asInt()), last);
      if (!fused_into_next_.count(static_cast<int>(intField(input, "id")))) break;
      ops.push_back(&input);
    }
    return ops;
  }

  // A fused chain ending at `last`.
  Stream chain(const Value& last) {
    std::vector<const Value*> ops = chainOf(last);
    auto [udfs, kinds, name] = chainParts(ops);
    Value op = last;  // the fused operator: named after its parts
    op["name"] = name;
    auto [in, nexmark] = rawInput(*ops.back(), /*json_texts=*/true);
    const bool json_texts = in.json_texts;
    auto job = job_;
    if (in.keyed) {
      return Stream{
          std::nullopt,
          attach<KeyedValue>(
              *in.keyed, op, "jsChain",
              [job, udfs, kinds](const detail::OperatorInit& init, const std::vector<void*>& outs) {
                return std::make_unique<JsChainOperator<KeyedValue>>(
                    init, static_cast<detail::Input<KeyedValue>*>(outs[0]), job, udfs, kinds);
              })};
    }
    return Stream{
        attach<Value>(*in.plain, op, "jsChain",
                      [job, udfs, kinds, json_texts, nexmark](const detail::OperatorInit& init,
                                                              const std::vector<void*>& outs) {
                        return std::make_unique<JsChainOperator<Value>>(
                            init, static_cast<detail::Input<Value>*>(outs[0]), job, udfs, kinds,
                            json_texts, nexmark);
                      }),
        std::nullopt};
  }

  // The keyBy that is the only reader of `op`, with its parallelism (or none of its own).
  const Value* soleKeyByOf(const Value& op) {
    auto readers = readers_.find(static_cast<int>(intField(op, "id")));
    if (readers == readers_.end() || readers->second.size() != 1) return nullptr;
    const Value* r = readers->second.front();
    if (stringField(*r, "kind") != "keyBy" ||
        !((*r)["parallelism"].isNull() || (*r)["parallelism"] == op["parallelism"]))
      return nullptr;
    return r;
  }

  static WatermarkStrategy watermarkStrategy(const Value& op) {
    const Value& w = op["watermark"];
    WatermarkStrategy strategy;
    if (w["maxOutOfOrdernessMs"].isNumber())
      strategy.max_out_of_orderness = Duration(w["maxOutOfOrdernessMs"].asInt());
    if (w["idleTimeoutMs"].isNumber()) strategy.idleness = Duration(w["idleTimeoutMs"].asInt());
    return strategy;
  }

  // Whether `reader` of a keyBy over JSON texts takes key-group blocks: a rolling reduce or
  // aggregate, a process function, or a tumbling or sliding window (JsWindowOperator) that only
  // reduces and aggregates read.
  bool takesBlocks(const Value& reader) {
    const std::string kind = stringField(reader, "kind");
    if (kind == "reduce" || kind == "aggregate" || kind == "process" || kind == "coProcess")
      return true;
    if (kind != "window" || !alignedWindow(reader)) return false;
    auto readers = readers_.find(static_cast<int>(intField(reader, "id")));
    if (readers == readers_.end()) return false;
    for (const Value* r : readers->second) {
      const std::string k = stringField(*r, "kind");
      if (k != "reduce" && k != "aggregate") return false;
    }
    return true;
  }

  // A keyBy; with `timestamps`, the assignTimestamps before it over JSON texts fused into it.
  Stream keyBy(const Value& key_op, const Stream& in, const Value* timestamps = nullptr) {
    int udf = static_cast<int>(intField(key_op, "udf"));
    auto job = job_;
    Value op = key_op;
    std::optional<JsKeyByOperator<Value>::Timestamps> times;
    if (timestamps) {
      times = JsKeyByOperator<Value>::Timestamps{static_cast<int>(intField(*timestamps, "udf")),
                                                 watermarkStrategy(*timestamps)};
      // Named after both; it runs where the assignTimestamps ran (with its parallelism).
      op["name"] = stringField(*timestamps, "name") + "+" + stringField(key_op, "name");
      if (op["parallelism"].isNull()) op["parallelism"] = (*timestamps)["parallelism"];
    }
    // Over JSON texts, when only rolling reduces, aggregates and process functions read it, the
    // keyBy sends key-group blocks holding the texts as they are (as chainKeyBy does).
    const bool json_texts = in.json_texts;
    bool blocks = false;
    if (json_texts) {
      const int id = static_cast<int>(intField(op, "id"));
      auto readers = readers_.find(id);
      blocks = readers != readers_.end();
      if (blocks)
        for (const Value* r : readers->second) blocks = blocks && takesBlocks(*r);
      if (blocks) block_key_bys_.insert(id);
    }
    // Its reader, when chained to it (parallelism 1), takes the parsed batches instead.
    auto readers = blocks && options_.keyed_handoff ? keyed_readers_ : nullptr;
    auto make = [job, udf, json_texts, blocks, times, readers]<class In>(const DataStream<In>&) {
      return [job, udf, json_texts, blocks, times, readers](const detail::OperatorInit& init,
                                                            const std::vector<void*>& outs) {
        std::optional<typename JsKeyByOperator<In>::Timestamps> t;
        if (times) t = typename JsKeyByOperator<In>::Timestamps{times->udf, times->strategy};
        return std::make_unique<JsKeyByOperator<In>>(
            init, static_cast<detail::Input<KeyedValue>*>(outs[0]), job, udf, json_texts, blocks, t,
            readers ? readers->find(outs[0]) : nullptr);
      };
    };
    // Without a parallelism of its own, a keyBy runs with its input's (chained to it): a
    // rebalance into it would reorder each key's elements. (One with the assignTimestamps in it
    // runs as that one did: with the job's parallelism unless it has its own.)
    auto follow = [&](DataStream<KeyedValue> s) {
      if (op["parallelism"].isNull() && !timestamps)
        detail::GraphBuilder(s.graph()).node(s.nodeId()).follow_input = true;
      return s;
    };
    const char* kind = timestamps ? "assignTimestamps+keyBy" : "keyBy";
    if (in.keyed)
      return Stream{std::nullopt, follow(attach<KeyedValue>(*in.keyed, op, kind, make(*in.keyed)))};
    return Stream{std::nullopt, follow(attach<KeyedValue>(*in.plain, op, kind, make(*in.plain)))};
  }

  Stream assignTimestamps(const Value& op, const Stream& in) {
    int udf = static_cast<int>(intField(op, "udf"));
    const WatermarkStrategy strategy = watermarkStrategy(op);
    auto job = job_;
    const bool json_texts = in.json_texts;  // passed on as they are
    auto make = [job, udf, strategy, json_texts]<class T>(const DataStream<T>&) {
      return [job, udf, strategy, json_texts](const detail::OperatorInit& init,
                                              const std::vector<void*>& outs) {
        return std::make_unique<JsTimestampOperator<T>>(
            init, static_cast<detail::Input<T>*>(outs[0]), job, udf, strategy, json_texts);
      };
    };
    if (in.keyed)
      return Stream{std::nullopt,
                    attach<KeyedValue>(*in.keyed, op, "assignTimestamps", make(*in.keyed))};
    return Stream{attach<Value>(*in.plain, op, "assignTimestamps", make(*in.plain)), std::nullopt,
                  json_texts};
  }

  static AggregateUdfs aggregateUdfs(const Value& op) {
    const Value& a = op["aggregate"];
    AggregateUdfs udfs;
    udfs.create = static_cast<int>(intField(a, "createAccumulator"));
    udfs.add = static_cast<int>(intField(a, "add"));
    udfs.result = static_cast<int>(intField(a, "getResult"));
    udfs.merge = a["merge"].isNumber() ? static_cast<int>(a["merge"].asInt()) : -1;
    return udfs;
  }

  // Whether a reader of `id`'s stream, or of a map/flatMap/filter after it, needs its keys (a
  // reduce, aggregate or window reading the keyed stream without a keyBy of its own).
  bool needsKeys(int id) {
    auto readers = readers_.find(id);
    if (readers == readers_.end()) return false;
    for (const Value* reader : readers->second) {
      const std::string kind = stringField(*reader, "kind");
      if (kind == "reduce" || kind == "aggregate" || kind == "window" || kind == "process" ||
          kind == "coProcess")
        return true;
      if ((isStateless(kind) || kind == "assignTimestamps") &&
          needsKeys(static_cast<int>(intField(*reader, "id"))))
        return true;
    }
    return false;
  }

  // The rolling operator `op` with its post chain: its spec, the fused operator's graph entry
  // (named after its parts, the uid `op`'s) and the id of its last part.
  std::tuple<JsRollingSpec, Value, int> rollingParts(const Value& op, const std::string& prefix) {
    JsRollingSpec spec;
    const bool reduce = stringField(op, "kind") == "reduce";
    if (reduce)
      spec.reduce = static_cast<int>(intField(op, "udf"));
    else
      spec.aggregate = aggregateUdfs(op);
    Value fused = op;
    std::string name = prefix + stringField(op, "name");
    int last = static_cast<int>(intField(op, "id"));
    for (const Value* p : post_chains_[last]) {
      spec.post_udfs.push_back(static_cast<int>(intField(*p, "udf")));
      spec.post_kinds.push_back(stringField(*p, "kind"));
      name += "+" + stringField(*p, "name");
    }
    if (!post_chains_[last].empty())
      last = static_cast<int>(intField(*post_chains_[last].back(), "id"));
    fused["name"] = name;
    return {std::move(spec), std::move(fused), last};
  }

  // Rolling reduce or aggregate (no window), with the chain after it.
  Stream rolling(const Value& op, const Stream& in) {
    auto [spec, fused, last] = rollingParts(op, "");
    spec.input_blocks = block_key_bys_.count(static_cast<int>(op["inputs"][0].asInt())) > 0;
    const char* kind = stringField(op, "kind") == "reduce" ? "reduce" : "aggregate";
    bool global = false;
    DataStream<KeyedValue> keyed = keyedOrGlobal(in, global);
    auto job = job_;
    auto readers = spec.input_blocks && options_.keyed_handoff ? keyed_readers_ : nullptr;
    Stream result;
    if (needsKeys(last)) {
      DataStream<KeyedValue> out = attach<KeyedValue>(
          keyed, fused, kind,
          [job, spec, readers](const detail::OperatorInit& init, const std::vector<void*>& outs) {
            return std::make_unique<JsRollingOperator<KeyedValue>>(
                init, static_cast<detail::Input<KeyedValue>*>(outs[0]), job, spec, readers);
          },
          /*hashed=*/true);
      result = global ? Stream{plain(Stream{std::nullopt, out.parallelism(1)}), std::nullopt}
                      : Stream{std::nullopt, out};
    } else {
      DataStream<Value> out = attach<Value>(
          keyed, fused, kind,
          [job, spec, readers](const detail::OperatorInit& init, const std::vector<void*>& outs) {
            return std::make_unique<JsRollingOperator<Value>>(
                init, static_cast<detail::Input<Value>*>(outs[0]), job, spec, readers);
          },
          /*hashed=*/true);
      result = Stream{global ? out.parallelism(1) : out, std::nullopt};
    }
    streams_[last] = result;
    return result;
  }

  // A chain, its keyBy and a rolling reduce or aggregate (and the chain after it) in one
  // operator, where all of them run with parallelism 1.
  Stream chainRolling(const Value& op) {
    const Value& key_op = byId(static_cast<int>(op["inputs"][0].asInt()), op);
    const Value& last_before = byId(static_cast<int>(key_op["inputs"][0].asInt()), key_op);
    std::vector<const Value*> ops = chainOf(last_before);
    Stream in = input(*ops.back());
    if (in.keyed) {  // a re-keying: the chain keeps its own keyBy
      streams_[static_cast<int>(intField(key_op, "id"))] = chainKeyBy(last_before, key_op);
      return rolling(op, streams_[static_cast<int>(intField(key_op, "id"))]);
    }
    auto [udfs, kinds, name] = chainParts(ops);
    auto [spec, fused, last] = rollingParts(op, name + "+" + stringField(key_op, "name") + "+");
    fused["parallelism"] = Value(1);
    // "jsChain+reduce": the state is the reduce's, whichever form wrote it (a restore at
    // another parallelism may switch between the fused and the keyed form).
    const std::string kind = "jsChain+" + stringField(op, "kind");
    auto job = job_;
    const int key_udf = static_cast<int>(intField(key_op, "udf"));
    auto make = [&]<class Out>() {
      return [job, udfs, kinds, key_udf, spec](const detail::OperatorInit& init,
                                               const std::vector<void*>& outs) {
        return std::make_unique<JsChainRollingOperator<Out>>(
            init, static_cast<detail::Input<Out>*>(outs[0]), job, udfs, kinds, key_udf, spec);
      };
    };
    Stream result =
        needsKeys(last)
            ? Stream{std::nullopt, attach<KeyedValue>(*in.plain, fused, kind.c_str(),
                                                      make.template operator()<KeyedValue>())}
            : Stream{
                  attach<Value>(*in.plain, fused, kind.c_str(), make.template operator()<Value>()),
                  std::nullopt};
    streams_[last] = result;
    return result;
  }

  // A keyed process function (`process`, one keyed input) or a co-process function
  // (`coProcess`, two: each input's keyBy exchange tags its elements with their side, as
  // connect() does in C++); the side outputs the job reads become its extra ports.
  Stream process(const Value& op) {
    const bool co = stringField(op, "kind") == "coProcess";
    const Value& p = op["process"];
    JsProcessSpec spec;
    spec.element = static_cast<int>(intField(p, co ? "processElement1" : "processElement"));
    if (co) spec.element2 = static_cast<int>(intField(p, "processElement2"));
    spec.timer = p["onTimer"].isNumber() ? static_cast<int>(p["onTimer"].asInt()) : -1;
    spec.ttl = p["ttlMs"].isNumber() ? p["ttlMs"].asInt() : 0;
    const std::size_t n_inputs = co ? 2 : 1;
    if (!op["inputs"].isArray() || op["inputs"].size() != n_inputs)
      throw ConfigError(describe(op) +
                        (co ? " must have exactly two inputs" : " must have exactly one input"));
    std::vector<DataStream<KeyedValue>> inputs;
    for (std::size_t i = 0; i < n_inputs; ++i) {
      const int from = static_cast<int>(op["inputs"][i].asInt());
      Stream in = streamOf(from, op);
      if (!in.keyed)
        throw ConfigError(describe(op) + (co ? ": connect(...).process() needs both inputs keyed "
                                               "(connect(b).keyBy(ka, kb))"
                                             : ": process() needs a keyBy before it"));
      inputs.push_back(*in.keyed);
      spec.input_blocks[i] = block_key_bys_.count(from) > 0;
    }
    std::vector<int> side_ops;
    if (auto readers = readers_.find(static_cast<int>(intField(op, "id")));
        readers != readers_.end())
      for (const Value* r : readers->second)
        if (stringField(*r, "kind") == "sideOutput") {
          const std::string tag = stringField(*r, "tag");
          if (std::find(spec.tags.begin(), spec.tags.end(), tag) == spec.tags.end())
            spec.tags.push_back(tag);
          side_ops.push_back(static_cast<int>(intField(*r, "id")));
        }
    auto job = job_;
    const std::size_t sides = spec.tags.size();
    // A keyBy chained before a one-input process function hands it parsed batches.
    auto readers = !co && spec.input_blocks[0] && options_.keyed_handoff ? keyed_readers_ : nullptr;
    auto make = [&]<class In>() -> detail::NodeSpec::Factory {
      return [job, spec, sides, readers](const detail::OperatorInit& init,
                                         const std::vector<void*>& outs) {
        std::vector<detail::Input<Value>*> side_inputs;
        for (std::size_t i = 1; i <= sides; ++i)
          side_inputs.push_back(i < outs.size() ? static_cast<detail::Input<Value>*>(outs[i])
                                                : nullptr);
        return std::make_unique<JsProcessOperator<In>>(init,
                                                       static_cast<detail::Input<Value>*>(outs[0]),
                                                       std::move(side_inputs), job, spec, readers);
      };
    };
    DataStream<Value> out =
        co ? named(detail::addTwoInputNode<Value>(inputs[0], inputs[1], KeyOfPair{}, KeyOfPair{},
                                                  "coProcess",
                                                  make.template operator()<CoProcessInput>()),
                   op)
           : attach<Value>(inputs[0], op, "process", make.template operator()<KeyedValue>(),
                           /*hashed=*/true);
    detail::GraphBuilder b(out.graph());
    for (const auto& tag : spec.tags) b.template addPort<Value>(out.nodeId(), tag, false);
    for (int side : side_ops) {
      const Value& side_op = byId(side, op);
      side_streams_[side] =
          Stream{out.getSideOutput(OutputTag<Value>(stringField(side_op, "tag"))), std::nullopt};
    }
    return Stream{out, std::nullopt};
  }

  // Calls fn(assigner) with the engine's window assigner for `window` (its graph JSON).
  template <class F>
  DataStream<Value> withAssigner(const Value& op, const Value& w, F&& fn) {
    const std::string type = stringField(w, "type");
    const bool event = !w["time"].isString() || w["time"].asString() != "processing";
    auto ms = [&](const char* field) { return Duration(intField(w, field)); };
    auto offset = [&] { return w["offsetMs"].isNumber() ? ms("offsetMs") : Duration(0); };
    if (type == "tumbling") {
      return event ? fn(TumblingEventTimeWindows::of(ms("sizeMs"), offset()))
                   : fn(TumblingProcessingTimeWindows::of(ms("sizeMs"), offset()));
    }
    if (type == "sliding") {
      return event ? fn(SlidingEventTimeWindows::of(ms("sizeMs"), ms("slideMs"), offset()))
                   : fn(SlidingProcessingTimeWindows::of(ms("sizeMs"), ms("slideMs"), offset()));
    }
    if (type == "session") {
      return event ? fn(EventTimeSessionWindows::withGap(ms("gapMs")))
                   : fn(ProcessingTimeSessionWindows::withGap(ms("gapMs")));
    }
    throw ConfigError(describe(op) + ": unknown window type '" + type + "'");
  }

  // The window aggregate of a tumbling or sliding window, its state inside V8.
  JsWindowSpec windowSpec(const Value& op, const Value& window_op) {
    const Value& w = window_op["window"];
    JsWindowSpec spec;
    spec.sliding = stringField(w, "type") == "sliding";
    spec.size = intField(w, "sizeMs");
    spec.slide = spec.sliding ? intField(w, "slideMs") : spec.size;
    spec.offset = w["offsetMs"].isNumber() ? w["offsetMs"].asInt() : 0;
    spec.event_time = !w["time"].isString() || w["time"].asString() != "processing";
    spec.lateness = w["allowedLatenessMs"].isNumber() ? w["allowedLatenessMs"].asInt() : 0;
    if (spec.size <= 0 || spec.slide <= 0 || spec.lateness < 0)
      throw ConfigError(describe(window_op) +
                        ": window size and slide must be positive, the allowed lateness not "
                        "negative");
    const bool reduce = stringField(op, "kind") == "reduce";
    spec.reduce = reduce ? static_cast<int>(intField(op, "udf")) : -1;
    if (!reduce) spec.aggregate = aggregateUdfs(op);
    spec.late_output = window_op["window"]["lateTag"].isString();
    if (op["windowFunction"].isNumber()) {
      spec.window_fn = static_cast<int>(op["windowFunction"].asInt());
      spec.window_flat = op["windowFunctionFlat"].isBool() && op["windowFunctionFlat"].asBool();
    }
    return spec;
  }

  // A chain, its keyBy, a tumbling or sliding window and its aggregate, in one operator; or,
  // `combined`, the chain, keyBy and a combiner, then the window after the exchange.
  Stream chainWindow(const Value& op, bool combined) {
    const Value& window_op = byId(static_cast<int>(op["inputs"][0].asInt()), op);
    const Value& key_op = byId(static_cast<int>(window_op["inputs"][0].asInt()), window_op);
    const Value& last = byId(static_cast<int>(key_op["inputs"][0].asInt()), key_op);
    std::vector<const Value*> ops = chainOf(last);
    auto [in, nexmark] = rawInput(*ops.back());
    if (in.keyed) {  // a re-keying: the chain keeps its own keyBy
      streams_[static_cast<int>(intField(key_op, "id"))] = chainKeyBy(last, key_op);
      return windowed(op, window_op, streams_[static_cast<int>(intField(key_op, "id"))]);
    }
    JsWindowSpec spec = windowSpec(op, window_op);
    auto [udfs, kinds, name] = chainParts(ops);
    auto job = job_;
    int key_udf = static_cast<int>(intField(key_op, "udf"));
    if (combined) {
      Value combiner = key_op;  // named after its parts
      combiner["name"] = name + "+" + stringField(key_op, "name") + "+combine";
      DataStream<KeyedValue> partials =
          attach<KeyedValue>(*in.plain, combiner, "jsChain+combine",
                             [job, udfs, kinds, key_udf, spec, nexmark](
                                 const detail::OperatorInit& init, const std::vector<void*>& outs) {
                               return std::make_unique<JsChainCombineOperator>(
                                   init, static_cast<detail::Input<KeyedValue>*>(outs[0]), job,
                                   udfs, kinds, key_udf, spec, nexmark);
                             });
      JsWindowSpec merging = spec;
      merging.partials = true;
      return Stream{
          attach<Value>(
              partials, op, "window",
              [job, merging](const detail::OperatorInit& init, const std::vector<void*>& outs) {
                return std::make_unique<JsWindowOperator>(
                    init, static_cast<detail::Input<Value>*>(outs[0]), job, merging);
              },
              /*hashed=*/true),
          std::nullopt};
    }
    Value fused = op;  // named after its parts; the uid stays the aggregate's
    fused["name"] = name + "+" + stringField(key_op, "name") + "+" + stringField(op, "name");
    fused["parallelism"] = Value(1);
    return Stream{
        lateOutput(
            op, window_op,
            attach<Value>(*in.plain, fused, "jsChain+window",
                          [job, udfs, kinds, key_udf, spec, nexmark](
                              const detail::OperatorInit& init, const std::vector<void*>& outs) {
                            auto w = std::make_unique<JsChainWindowOperator>(
                                init, static_cast<detail::Input<Value>*>(outs[0]), job, udfs, kinds,
                                key_udf, spec, nexmark);
                            if (outs.size() > 1)
                              w->setLateOutput(static_cast<detail::Input<Value>*>(outs[1]));
                            return w;
                          })),
        std::nullopt};
  }

  // The late-data side output of a window aggregate `op` (its window has a lateTag): a port of
  // the window operator, read by the job's sideOutput operators.
  DataStream<Value> lateOutput(const Value& op, const Value& window_op, DataStream<Value> out) {
    const Value& tag = window_op["window"]["lateTag"];
    if (tag.isString())
      detail::GraphBuilder(out.graph())
          .template addPort<Value>(out.nodeId(), std::string(tag.asString()), false);
    sideOutputsOf(op, [&](const std::string& t) {
      if (!tag.isString() || t != tag.asString())
        throw ConfigError(describe(op) + " has no side output '" + t +
                          "' (a window has the one sideOutputLateData() names)");
      return out.getSideOutput(OutputTag<Value>(t));
    });
    return out;
  }

  // Calls make(tag) for every sideOutput operator reading `op` and keeps the stream it returns.
  template <class Make>
  void sideOutputsOf(const Value& op, Make&& make) {
    auto readers = readers_.find(static_cast<int>(intField(op, "id")));
    if (readers == readers_.end()) return;
    for (const Value* r : readers->second)
      if (stringField(*r, "kind") == "sideOutput")
        side_streams_[static_cast<int>(intField(*r, "id"))] =
            Stream{make(stringField(*r, "tag")), std::nullopt};
  }

  Stream windowed(const Value& op, const Value& window_op, const Stream& in) {
    if (!in.keyed) throw ConfigError(describe(window_op) + ": a window needs a keyBy before it");
    if (alignedWindow(window_op)) {
      JsWindowSpec spec = windowSpec(op, window_op);
      spec.input_blocks =
          block_key_bys_.count(static_cast<int>(window_op["inputs"][0].asInt())) > 0;
      auto job = job_;
      auto readers = spec.input_blocks && options_.keyed_handoff ? keyed_readers_ : nullptr;
      return Stream{
          lateOutput(op, window_op,
                     attach<Value>(
                         *in.keyed, op, "window",
                         [job, spec, readers](const detail::OperatorInit& init,
                                              const std::vector<void*>& outs) {
                           auto w = std::make_unique<JsWindowOperator>(
                               init, static_cast<detail::Input<Value>*>(outs[0]), job, spec,
                               readers);
                           if (outs.size() > 1)
                             w->setLateOutput(static_cast<detail::Input<Value>*>(outs[1]));
                           return w;
                         },
                         /*hashed=*/true)),
          std::nullopt};
    }
    const bool reduce = stringField(op, "kind") == "reduce";
    JsWindowFunction fn(job_, stringField(op, "name"),
                        reduce ? static_cast<int>(intField(op, "udf")) : -1,
                        reduce ? AggregateUdfs{} : aggregateUdfs(op));
    const Value& w = window_op["window"];
    Duration lateness(w["allowedLatenessMs"].isNumber() ? w["allowedLatenessMs"].asInt() : 0);
    // Late data of session windows: the engine's side output of (key, element) pairs.
    const Value& late_tag = w["lateTag"];
    const std::string tag = late_tag.isString() ? std::string(late_tag.asString()) : "";
    auto late = [&](auto windowed) {
      return tag.empty() ? windowed : windowed.sideOutputLateData(OutputTag<KeyedValue>(tag));
    };
    auto sides = [&](DataStream<Value> out) {
      sideOutputsOf(op, [&](const std::string& t) {
        if (tag.empty() || t != tag)
          throw ConfigError(describe(op) + " has no side output '" + t +
                            "' (a window has the one sideOutputLateData() names)");
        return out.getSideOutput(OutputTag<KeyedValue>(t))
            .map([](const KeyedValue& e) { return e.second; })
            .name("late " + t);
      });
    };
    if (!op["windowFunction"].isNumber()) {
      DataStream<Value> out = withAssigner(window_op, w, [&](auto assigner) {
        return late(in.keyed->keyBy(KeyOfPair{}).window(assigner).allowedLateness(lateness))
            .aggregate(fn);
      });
      out = named(out, op);
      sides(out);
      return Stream{out, std::nullopt};
    }
    // With a window function (session windows here): the engine's aggregate with a function of
    // the key and the window; process() returns several outputs, flattened after it.
    const int window_fn = static_cast<int>(op["windowFunction"].asInt());
    const bool flat = op["windowFunctionFlat"].isBool() && op["windowFunctionFlat"].asBool();
    DataStream<Value> out = withAssigner(window_op, w, [&](auto assigner) {
      return late(in.keyed->keyBy(KeyOfPair{}).window(assigner).allowedLateness(lateness))
          .aggregate(fn, [fn, window_fn](const Value& key, const auto& window, Value result) {
            return fn.applyWindow(window_fn, key, window.start, window.end, std::move(result));
          });
    });
    out = named(out, op);
    sides(out);
    if (flat)
      out = out.flatMap(
                   [](const Value& v) { return v.isArray() ? v.asArray() : std::vector<Value>{}; })
                .name(stringField(op, "name") + " outputs");
    return Stream{out, std::nullopt};
  }

  Stream releaseWindow(const Value& window_op, const Stream& in) {
    if (!in.keyed) throw ConfigError(describe(window_op) + ": a window needs a keyBy before it");
    const Value& w = window_op["window"];
    Duration lateness(w["allowedLatenessMs"].isNumber() ? w["allowedLatenessMs"].asInt() : 0);
    DataStream<Value> out = withAssigner(window_op, w, [&](auto assigner) {
      using W = typename decltype(assigner)::Window;
      return in.keyed->keyBy(KeyOfPair{})
          .window(assigner)
          .allowedLateness(lateness)
          .template process<Value>([](const Value&, const W&, const std::vector<KeyedValue>& all,
                                      Collector<Value>& out) {
            for (const auto& e : all) out.collect(e.second);
          });
    });
    return Stream{named(out, window_op), std::nullopt};
  }

  Stream unionOf(const Value& op) {
    if (!op["inputs"].isArray() || op["inputs"].size() < 2)
      throw ConfigError(describe(op) + " must have at least two inputs");
    std::optional<DataStream<Value>> merged;
    for (const Value& input : op["inputs"].asArray()) {
      DataStream<Value> s = plain(streamOf(static_cast<int>(input.asInt()), op));
      merged = merged ? merged->unionWith(s) : s;
    }
    return Stream{named(*merged, op), std::nullopt};
  }

  void sink(const Value& op, const Stream& in) {
    DataStream<Value> s = plain(in);
    const Value& c = op["connector"];
    const std::string type = c["type"].isString() ? std::string(c["type"].asString()) : "";
    const std::string name = stringField(op, "name");
    SinkFactory<Value> factory;
    if (options_.sink_override) factory = options_.sink_override(op);
    bool single = false;
    std::optional<SinkHandle> handle;
    if (factory) {
    } else if (type == "stdout") {
      factory = [] { return std::make_unique<PrintSink<Value, LineFormat>>(LineFormat{}, stdout); };
    } else if (type == "blackhole") {
      // Drops every element (Flink's blackhole connector): for benchmarks.
      factory = [] {
        auto drop = [](const Value&) {};
        return std::make_unique<CallbackSink<Value, decltype(drop)>>(drop);
      };
    } else if (type == "file" && c["rolling"].isObject()) {
      factory = rollingFileSink(op, c);
    } else if (type == "file") {
      std::string path = stringField(c, "path");
      single = true;
      if (stringField(c, "format") == "jsonLines")
        factory = [path] {
          return std::make_unique<JsonLinesFileSink<Value, AppendValueJson>>(path,
                                                                             AppendValueJson{});
        };
      else
        factory = [path] {
          return std::make_unique<JsonLinesFileSink<Value, LineFormat>>(path, LineFormat{});
        };
    } else if (type == "kafka") {
      handle = kafkaSink(op, in);
    } else if (type == "redis") {
      handle = redisSink(op, in);
    } else if (type == "mysql") {
      handle = mysqlSink(op, in);
    } else if (type == "elasticsearch") {
      handle = elasticsearchSink(op, in);
    } else {
      throw ConfigError(describe(op) + ": there is no '" + type + "' sink in this build");
    }
    if (!handle) handle = s.sink(std::move(factory), name);
    // The sink's state (files' lengths, transactions) under the job's operator id, as for every
    // other operator: the engine's own node ids change with the plan (a restore at another
    // parallelism may add or drop a node before the sink).
    handle->uid(uidOf(op));
    if (single) {
      if (op["parallelism"].isNumber() && op["parallelism"].asInt() > 1)
        throw ConfigError(describe(op) + ": a file sink writes one file, with parallelism 1");
      handle->parallelism(1);
    } else if (op["parallelism"].isNumber()) {
      handle->parallelism(static_cast<int>(op["parallelism"].asInt()));
    }
  }

  // A rolling JSON-lines file sink (`rolling` in the connector): one file series per subtask.
  SinkFactory<Value> rollingFileSink(const Value& op, const Value& c) {
    const Value& r = c["rolling"];
    RollingFileOptions options;
    options.directory = stringField(c, "path");
    if (r["prefix"].isString()) options.prefix = std::string(r["prefix"].asString());
    if (r["suffix"].isString()) options.suffix = std::string(r["suffix"].asString());
    if (r["maxBytes"].isNumber())
      options.max_bytes = static_cast<std::uint64_t>(intField(r, "maxBytes"));
    if (r["rollIntervalMs"].isNumber())
      options.roll_interval = Duration(intField(r, "rollIntervalMs"));
    if (r["rollOnCheckpoint"].isBool()) options.roll_on_checkpoint = r["rollOnCheckpoint"].asBool();
    if (options.prefix.empty() || options.prefix.find('/') != std::string::npos)
      throw ConfigError(describe(op) + ": a rolling file sink's prefix must be a non-empty name");
    if (stringField(c, "format") == "jsonLines")
      return [options] {
        return std::make_unique<RollingFileSink<Value, AppendValueJson>>(options,
                                                                         AppendValueJson{});
      };
    return [options] {
      return std::make_unique<RollingFileSink<Value, LineFormat>>(options, LineFormat{});
    };
  }

  // An Elasticsearch sink; with an id extractor, a keyBy operator before it computes the ids.
  SinkHandle elasticsearchSink(const Value& op, const Stream& in) {
#ifdef LIGHTFLUS_JS_WITH_ELASTICSEARCH
    const Value& c = op["connector"];
    const std::string name = stringField(op, "name");
    if (c["idExtractor"].isNumber()) {
      Value id_op = op;
      id_op["udf"] = c["idExtractor"];
      id_op["name"] = name + " id";
      Stream keyed = keyBy(id_op, in);
      if (changelogOf(c)) {
        auto changes = keyed.keyed->map([](const KeyedValue& e) {
          return Change<KeyedValue>{changeKindOf(e.second),
                                    KeyedValue{e.first, withoutOp(e.second)}};
        });
        return sameParallelism(changes.name(name + " changelog"), op)
            .sink(elasticsearchChangelogSinkFactory(c, describe(op), job_, name), name);
      }
      return keyed.keyed->sink(elasticsearchKeyedSinkFactory(c, describe(op), job_, name), name);
    }
    if (changelogOf(c))
      throw ConfigError(describe(op) + ": an Elasticsearch changelog needs an idExtractor");
    return plain(in).sink(elasticsearchSinkFactory(c, describe(op), job_, name), name);
#else
    (void)in;
    throw ConfigError(describe(op) +
                      ": this build has no Elasticsearch sink (configured without Boost.Beast "
                      "and OpenSSL)");
#endif
  }

  // A Kafka sink; with a key extractor, a keyBy operator before it computes the message keys.
  SinkHandle kafkaSink(const Value& op, const Stream& in) {
#ifdef LIGHTFLUS_JS_WITH_KAFKA
    const Value& c = op["connector"];
    const std::string name = stringField(op, "name");
    // `.exactlyOnce()` without an id: stable across restarts of the same job (docs/kafka.md).
    const std::string transactional_id =
        ctx_.jobName() + "-sink-" + std::to_string(intField(op, "id"));
    if (c["keyExtractor"].isNumber()) {
      Value key_op = op;
      key_op["udf"] = c["keyExtractor"];
      key_op["name"] = name + " key";
      Stream keyed = keyBy(key_op, in);
      return keyed.keyed->sink(kafkaKeyedSinkFactory(c, describe(op), transactional_id), name);
    }
    return plain(in).sink(kafkaSinkFactory(c, describe(op), transactional_id), name);
#else
    (void)in;
    throw ConfigError(describe(op) +
                      ": this build has no Kafka sink (configured without librdkafka)");
#endif
  }

  // A Redis sink: a keyBy computes the keys with the key extractor (its hash exchange keeps the
  // writes of one key in order, on one connection), a keyed map the values with the value
  // extractor, and the sink writes the (key, value) pairs.
  SinkHandle redisSink(const Value& op, const Stream& in) {
#ifdef LIGHTFLUS_JS_WITH_REDIS
    const Value& c = op["connector"];
    const std::string name = stringField(op, "name");
    for (const char* extractor : {"keyExtractor", "valueExtractor"})
      if (!c[extractor].isNumber())
        throw ConfigError(describe(op) + ": the Redis sink has no " + extractor);
    SinkFactory<KeyedValue> factory = redisSinkFactory(c, describe(op));
    Value key_op = op;
    key_op["udf"] = c["keyExtractor"];
    key_op["name"] = name + " key";
    Stream keyed = keyBy(key_op, in);
    Value value_op = op;
    value_op["name"] = name + " value";
    auto job = job_;
    std::vector<int> udfs{static_cast<int>(c["valueExtractor"].asInt())};
    DataStream<KeyedValue> pairs = attach<KeyedValue>(
        *keyed.keyed, value_op, "jsChain",
        [job, udfs](const detail::OperatorInit& init, const std::vector<void*>& outs) {
          return std::make_unique<JsChainOperator<KeyedValue>>(
              init, static_cast<detail::Input<KeyedValue>*>(outs[0]), job, udfs,
              std::vector<std::string>{"map"});
        },
        /*hashed=*/true);
    if (changelogOf(c)) {
      // The value extractor returned [kind, value] (the package's changelog()).
      auto changes = pairs.map([](const KeyedValue& e) {
        const Value& tagged = e.second;
        return Change<KeyedValue>{rowKindOf(&tagged[0]), KeyedValue{e.first, tagged[1]}};
      });
      return sameParallelism(changes.name(name + " changelog"), op)
          .sink(redisChangelogSinkFactory(c, describe(op)), name);
    }
    return pairs.sink(std::move(factory), name);
#else
    (void)in;
    throw ConfigError(describe(op) + ": this build has no Redis sink (configured without hiredis)");
#endif
  }

  // A MySQL sink: a map runs the parameters extractor (element -> array of the parameter
  // values, one JS call per batch), and the sink binds the arrays to the statement.
  SinkHandle mysqlSink(const Value& op, const Stream& in) {
#ifdef LIGHTFLUS_JS_WITH_MYSQL
    const Value& c = op["connector"];
    const std::string name = stringField(op, "name");
    if (!c["parametersExtractor"].isNumber())
      throw ConfigError(describe(op) +
                        ": the MySQL sink has no parametersExtractor (a UDF returning the "
                        "array of parameter values; the lightflus package records it)");
    SinkFactory<Value> factory = mysqlSinkFactory(c, describe(op));
    Value row_op = op;
    row_op["name"] = name + " parameters";
    auto job = job_;
    std::vector<int> udfs{static_cast<int>(c["parametersExtractor"].asInt())};
    DataStream<Value> rows = attach<Value>(
        plain(in), row_op, "jsChain",
        [job, udfs](const detail::OperatorInit& init, const std::vector<void*>& outs) {
          return std::make_unique<JsChainOperator<Value>>(
              init, static_cast<detail::Input<Value>*>(outs[0]), job, udfs,
              std::vector<std::string>{"map"});
        });
    if (changelogOf(c)) {
      // The parameters extractor returned [kind, [values...]] (the package's changelog()).
      auto changes = rows.map([](const Value& tagged) {
        return Change<Value>{rowKindOf(&tagged[0]), tagged[1]};
      });
      return sameParallelism(changes.name(name + " changelog"), op)
          .sink(mysqlChangelogSinkFactory(c, describe(op)), name);
    }
    return rows.sink(std::move(factory), name);
#else
    (void)in;
    throw ConfigError(describe(op) +
                      ": this build has no MySQL sink (configured without libmariadb)");
#endif
  }

  std::shared_ptr<JsJob> job_;
  const JsGraphOptions& options_;
  ExecutionContext& ctx_;
  std::map<int, const Value*> by_id_;
  std::map<int, int> consumers_;
  std::map<int, std::vector<const Value*>> readers_;
  std::map<int, std::vector<const Value*>> post_chains_;  // rolling op -> the chain after it
  std::set<int> absorbed_;         // map/flatMap/filter built by the rolling op before them
  std::set<int> chained_rolling_;  // rolling ops built with their chain and keyBy
  std::set<int> block_key_bys_;    // keyBys whose elements cross as key-group blocks
  // Keyed readers that take a keyBy's parsed batches in the same task (js_keyed_reader.hpp).
  std::shared_ptr<JsKeyedReaders> keyed_readers_ = std::make_shared<JsKeyedReaders>();
  std::map<int, Stream> side_streams_;  // sideOutput op -> its process operator's port
  std::set<int> fused_into_next_;
  std::set<int> fused_into_key_by_;  // chain ends built with the keyBy that reads them
  std::set<int> fused_windows_;      // window aggregates built with their chain and keyBy
  std::set<int> combined_windows_;   // window aggregates with a combiner before the exchange
  std::set<int> fused_into_window_;  // keyBys built by their window's aggregate
  std::set<int> windows_;
  std::map<int, Stream> streams_;
  std::map<int, Stream> released_;
  // Nexmark sources (their streams hold event ids) and their events for other readers.
  std::map<int, std::shared_ptr<const nexmark::Generator>> nexmark_sources_;
  std::map<int, Stream> decoded_;
  std::map<int, Stream> parsed_;  // streams of JSON texts, parsed for readers of Values
  std::set<int> timed_key_bys_;   // keyBys that run the assignTimestamps before them
};

}  // namespace

ExecutionContext JsGraphBuilder::build() {
  const Value& graph = job_->graph();
  const Value& job = graph["job"];
  ExecutionContext ctx(job["name"].isString() ? std::string(job["name"].asString()) : "job");
  if (job["parallelism"].isNumber()) ctx.parallelism(static_cast<int>(job["parallelism"].asInt()));
  Planner(job_, options_, ctx).run();
  return ctx;
}

}  // namespace lightflus::js
