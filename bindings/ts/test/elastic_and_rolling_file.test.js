// The Elasticsearch sink builder (the original documentation's Elastic.builder()) and the
// rolling file sink (FileSink.rolling) validate their options and record them in the graph
// (docs/js-graph.md, "Connectors").
"use strict";

const test = require("node:test");
const assert = require("node:assert/strict");
const lf = require("lightflus");
const { createSandbox, plain } = require("./support/sandbox");

const { ConfigError, Elastic, SinkMode, FileSink, Time } = lf;

function throwsConfig(fn, message) {
  assert.throws(fn, (error) => {
    assert.ok(error instanceof ConfigError, `expected a ConfigError, got ${error}`);
    if (message instanceof RegExp) assert.match(error.message, message);
    else assert.equal(error.message, message);
    return true;
  });
}

test("Elastic.builder() records host, index, mode and only the options that were set", () => {
  const sink = Elastic.builder().host("http://es:9200").index("orders").sinkMode(SinkMode.APPEND).build();
  assert.deepEqual(sink.connectorConfig(), {
    type: "elasticsearch",
    host: "http://es:9200",
    index: "orders",
    sinkMode: "append",
    idExtractor: null,
  });
  const tuned = Elastic.builder()
    .host("https://es:9243")
    .index("orders")
    .maxActions(500)
    .maxBytes(1 << 20)
    .flushInterval(Time.milliseconds(200))
    .retryTimeout(Time.seconds(30))
    .basicAuth("elastic", "secret")
    .caFile("/etc/ca.pem")
    .tlsVerify(true)
    .build();
  assert.deepEqual(tuned.connectorConfig(), {
    type: "elasticsearch",
    host: "https://es:9243",
    index: "orders",
    sinkMode: "append",
    idExtractor: null,
    maxActions: 500,
    maxBytes: 1048576,
    flushIntervalMs: 200,
    retryTimeoutMs: 30000,
    username: "elastic",
    password: "secret",
    caFile: "/etc/ca.pem",
    tlsVerify: true,
  });
});

test("Elastic.builder() refuses bad options with the builder and option named", () => {
  throwsConfig(() => Elastic.builder().host("h").index("i").maxActions(0), "Elastic.builder().maxActions(): the count must be an integer >= 1, got number 0");
  throwsConfig(() => Elastic.builder().host("h").index("i").apiKey(""), /Elastic.builder\(\).apiKey\(\): the key must be a non-empty string/);
  throwsConfig(() => Elastic.builder().host("h").index("i").tlsVerify("no"), 'Elastic.builder().tlsVerify(): expects a boolean, got "no"');
  throwsConfig(
    () => Elastic.builder().host("h").index("i").sinkMode(SinkMode.UPSERT).build(),
    "Elastic.builder().build(): SinkMode.UPSERT needs an id: call .idExtractor(v => v.id)",
  );
});

test("an upsert job records the id extractor as a UDF of the sink", () => {
  const sandbox = createSandbox();
  sandbox.run(
    `
import { ExecutionContext, Generator, Elastic, SinkMode } from "lightflus";
const ctx = ExecutionContext.new("es");
ctx.fromSource(Generator.values([{ id: "a", n: 1 }]))
  .sink(Elastic.builder().host("http://localhost:9200").index("docs")
    .sinkMode(SinkMode.UPSERT).idExtractor((d: { id: string }) => d.id).build());
ctx.execute();
`,
    "es.ts",
  );
  const sink = plain(sandbox.submitted[0]).operators.find((op) => op.kind === "sink");
  assert.equal(sink.connector.type, "elasticsearch");
  assert.equal(sink.connector.sinkMode, "upsert");
  assert.equal(typeof sink.connector.idExtractor, "number");
});

test("FileSink.rolling() records the directory and its rolling options", () => {
  assert.deepEqual(FileSink.rolling("out").connectorConfig(), {
    type: "file",
    path: "out",
    format: "jsonLines",
    rolling: { prefix: "part", suffix: ".jsonl", rollOnCheckpoint: false },
  });
  const sink = FileSink.rolling("out").prefix("events").suffix(".json").maxBytes(4096).rollInterval(Time.minutes(1)).rollOnCheckpoint().lines();
  assert.deepEqual(sink.connectorConfig(), {
    type: "file",
    path: "out",
    format: "lines",
    rolling: { prefix: "events", suffix: ".json", rollOnCheckpoint: true, maxBytes: 4096, rollIntervalMs: 60000 },
  });
  throwsConfig(() => FileSink.rolling(""), 'FileSink.rolling(): the directory must be a non-empty string, got ""');
  throwsConfig(() => FileSink.rolling("out").prefix("a/b"), 'FileSink.rolling().prefix(): the prefix must not contain "/", got "a/b"');
  throwsConfig(() => FileSink.rolling("out").maxBytes(0), "FileSink.rolling().maxBytes(): the size must be an integer >= 1, got number 0");
  throwsConfig(() => FileSink.rolling("out").rollInterval(Time.milliseconds(0)), "FileSink.rolling().rollInterval(): expects at least 1 ms");
});
