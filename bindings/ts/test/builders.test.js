// Builders validate their options: a missing or invalid option throws a ConfigError whose
// message names the builder, the option, and what to call. Runs under plain Node.js through the
// package's own name (dist/index.js).
"use strict";

const test = require("node:test");
const assert = require("node:assert/strict");
const lf = require("lightflus");

const { ConfigError, LightflusError, ExecutionContext, Kafka, Redis, Mysql, Time } = lf;

function throwsConfig(fn, message) {
  assert.throws(fn, (error) => {
    assert.ok(error instanceof ConfigError, `expected a ConfigError, got ${error}`);
    assert.ok(error instanceof LightflusError);
    if (message instanceof RegExp) assert.match(error.message, message);
    else assert.equal(error.message, message);
    return true;
  });
}

test("the package's original module paths resolve to the same module under Node.js", () => {
  assert.equal(require("lightflus/src/stream/context"), lf);
  assert.equal(require("lightflus/src/connectors/connectors"), lf);
  assert.equal(lf.context.ExecutionContext, ExecutionContext);
});

test("Kafka build() without brokers, topic, or with bad options, names the builder and option", () => {
  throwsConfig(
    () => Kafka.builder().topic("t").build(undefined, "string"),
    'Kafka.builder().build(): brokers are not set: call .brokers(["localhost:9092"])',
  );
  throwsConfig(
    () => Kafka.builder().brokers([]).topic("t").build(),
    /^Kafka\.builder\(\)\.build\(\): brokers must be a non-empty array/,
  );
  throwsConfig(
    () => Kafka.builder().brokers(["localhost:9092"]).build(),
    'Kafka.builder().build(): topic is not set: call .topic("name")',
  );
  throwsConfig(
    () => Kafka.builder().brokers(["localhost:9092"]).topic("").build(),
    'Kafka.builder().build(): the topic must be a non-empty string, got ""',
  );
  throwsConfig(
    () => Kafka.builder().brokers(["b:9092"]).topic("t").partition(-1).build(),
    "Kafka.builder().build(): the partition must be an integer >= 0, got number -1",
  );
  throwsConfig(
    () => Kafka.builder().brokers(["b:9092"]).topic("t").build(undefined, "symbol"),
    'Kafka.builder().build(): value type must be one of string, number, boolean, bigint, object, bytes, got "symbol"',
  );
});

test("Kafka build<T>(ctor?, type?) records how values are decoded", () => {
  const valueType = (...args) =>
    Kafka.builder().brokers(["b:9092"]).topic("t").build(...args).connectorConfig().valueType;
  class Order {}
  assert.equal(valueType(), "string");
  assert.equal(valueType(undefined, typeof ""), "string");
  assert.equal(valueType(null, "number"), "number");
  assert.equal(valueType(undefined, "object"), "object");
  assert.equal(valueType(undefined, "bytes"), "bytes");
  assert.equal(valueType(Order), "object");
  assert.equal(valueType(String), "string");
  assert.equal(valueType(Number), "number");
  assert.equal(valueType(Uint8Array), "bytes");
  assert.equal(Kafka.builder().brokers(["b:9092"]).topic("t").valueType("object").build().connectorConfig().valueType, "object");
  const config = Kafka.builder()
    .brokers(["a:9092", "b:9092"])
    .topic("t")
    .partition(3)
    .property("auto.offset.reset", "earliest")
    .build(undefined, "number")
    .connectorConfig();
  assert.deepEqual(config, {
    type: "kafka",
    brokers: ["a:9092", "b:9092"],
    topic: "t",
    group: null,
    partition: 3,
    valueType: "number",
    bounded: false,
    properties: { "auto.offset.reset": "earliest" },
  });
  assert.equal(Kafka.builder().brokers(["b:9092"]).topic("t").bounded().build().connectorConfig().bounded, true);
  throwsConfig(() => Kafka.builder().bounded("yes"), 'Kafka.builder().bounded(): expects a boolean, got "yes"');
});

test("Kafka as a sink: sink() records brokers, topic, the key extractor's UDF and the value format", () => {
  const ctx = ExecutionContext.new("kafkaSink");
  const words = ctx.fromSource(lf.Generator.values(["a", "b"]));
  words.sink(Kafka.builder().brokers(["b:9092"]).topic("plain").build());
  words
    .map((w) => ({ word: w, n: 1 }))
    .sink(Kafka.builder().brokers(["b:9092"]).topic("out").keyExtractor((c) => c.word).valueFormat("json").build());
  const sinks = ctx.toGraph().operators.filter((op) => op.kind === "sink");
  assert.deepEqual(sinks[0].connector, {
    type: "kafka", brokers: ["b:9092"], topic: "plain", keyExtractor: null, valueFormat: "string",
    delivery: "idempotent", transactionalId: null, properties: {},
  });
  assert.equal(sinks[1].connector.valueFormat, "json");
  assert.equal(typeof sinks[1].connector.keyExtractor, "number");
  throwsConfig(() => Kafka.builder().valueFormat("xml"), 'Kafka.builder().valueFormat(): expects "string" or "json", got "xml"');
  throwsConfig(() => Kafka.builder().keyExtractor(3), "Kafka.builder().keyExtractor(): expects a function, got number 3");
});

test("Kafka sink: exactlyOnce() records the delivery and the transactional id (null: derived from the job)", () => {
  const ctx = ExecutionContext.new("kafkaExactlyOnce");
  const words = ctx.fromSource(lf.Generator.values(["a", "b"]));
  words.sink(Kafka.builder().brokers(["b:9092"]).topic("once").exactlyOnce().build());
  words.sink(Kafka.builder().brokers(["b:9092"]).topic("named").keyExtractor((w) => w).exactlyOnce("counts-tx").build());
  const sinks = ctx.toGraph().operators.filter((op) => op.kind === "sink");
  assert.equal(sinks[0].connector.delivery, "exactly-once");
  assert.equal(sinks[0].connector.transactionalId, null);
  assert.equal(sinks[1].connector.delivery, "exactly-once");
  assert.equal(sinks[1].connector.transactionalId, "counts-tx");
  assert.equal(typeof sinks[1].connector.keyExtractor, "number");
  // A source ignores the sink options.
  assert.equal(Kafka.builder().brokers(["b:9092"]).topic("t").exactlyOnce().build().connectorConfig().delivery, undefined);
  throwsConfig(() => Kafka.builder().exactlyOnce(""), 'Kafka.builder().exactlyOnce(): the transactional id must be a non-empty string, got ""');
  throwsConfig(() => Kafka.builder().exactlyOnce(7), "Kafka.builder().exactlyOnce(): the transactional id must be a non-empty string, got number 7");
});

function attach(sink) {
  const ctx = ExecutionContext.new("sinks");
  return ctx.fromSource(lf.Generator.sequence(0, 1)).sink(sink);
}

test("Redis sink without host or extractors names the sink and the option", () => {
  throwsConfig(
    () => attach(Redis.new().keyExtractor((v) => v).valueExtractor((v) => v)),
    'Redis sink: host is not set: call .host("localhost")',
  );
  throwsConfig(
    () => attach(Redis.new().host("localhost").valueExtractor((v) => v)),
    "Redis sink: keyExtractor is not set: call .keyExtractor(v => v.key)",
  );
  throwsConfig(
    () => attach(Redis.new().host("localhost").keyExtractor((v) => v)),
    "Redis sink: valueExtractor is not set: call .valueExtractor(v => v.value)",
  );
  throwsConfig(
    () => attach(Redis.new().host("localhost").keyExtractor("k").valueExtractor((v) => v)),
    "Redis sink: keyExtractor() expects a function, got \"k\"",
  );
});

test("Redis sink options: port from host or port(), tls, database, auth and the original password setter", () => {
  const sink = Redis.new().host("cache:6390").tls(true).database(2).auth("pw", "app").keyExtractor((v) => v).valueExtractor((v) => v);
  const config = sink.connectorConfig();
  assert.deepEqual(
    { ...config, keyExtractor: typeof config.keyExtractor, valueExtractor: typeof config.valueExtractor },
    {
      type: "redis",
      host: "cache",
      port: 6390,
      tls: true,
      database: 2,
      username: "app",
      password: "pw",
      keyExtractor: "number",
      valueExtractor: "number",
    },
  );
  const original = Redis.new().host("localhost").port(7000).keyExtractor((v) => v).valueExtractor((v) => v);
  original.password = "secret";
  assert.equal(original.connectorConfig().password, "secret");
  assert.equal(original.connectorConfig().port, 7000);
});

test("Mysql sink validates connection, statement and one extractor per placeholder", () => {
  const connection = { host: "localhost", username: "u", password: "p", database: "db" };
  throwsConfig(
    () => attach(Mysql.new().statement("INSERT INTO t VALUES (?)").extractors((s) => s.setString(1, (v) => String(v)))),
    "Mysql sink: connection is not set: call .connection({ host, username, password, database })",
  );
  throwsConfig(
    () => attach(Mysql.new().connection({ ...connection, host: undefined }).statement("SELECT 1")),
    'Mysql sink: connection host is not set: pass .connection({ host: "localhost", ... })',
  );
  throwsConfig(
    () => attach(Mysql.new().connection({ ...connection, database: null }).statement("SELECT 1")),
    'Mysql sink: connection database is not set: pass .connection({ database: "name", ... })',
  );
  throwsConfig(
    () => attach(Mysql.new().connection(connection)),
    'Mysql sink: statement is not set: call .statement("INSERT INTO t (a, b) VALUES (?, ?)")',
  );
  throwsConfig(
    () =>
      attach(
        Mysql.new()
          .connection(connection)
          .statement("INSERT INTO t (a, b) VALUES (?, ?)")
          .extractors((s) => s.setString(1, (v) => String(v))),
      ),
    /^Mysql sink: the statement has 2 \? placeholder\(s\) but 1 extractor\(s\)/,
  );
  throwsConfig(
    () => Mysql.new().extractors((s) => s.setNumber(1, (v) => v).setNumber(1, (v) => v)),
    "Statement.setNumber(): placeholder 1 already has an extractor",
  );
});

test("Mysql sink records the statement and its parameters in placeholder order", () => {
  const sink = lf.Mysql.new()
    .extractors((s) => {
      s.setNumber(2, (v) => v.n);
      s.setString(1, (v) => v.word);
    })
    .statement("INSERT INTO counts (word, n, note) VALUES (?, ?, 'why?') -- really?")
    .connection(new lf.MysqlConnectionOptionsBuilder().host("db").username("u").password("p").database("stats").build());
  const config = sink.connectorConfig();
  assert.equal(config.type, "mysql");
  assert.equal(config.host, "db");
  assert.equal(config.port, 3306);
  assert.equal(config.database, "stats");
  assert.equal(config.username, "u");
  assert.deepEqual(
    config.parameters.map((p) => [p.index, p.type, typeof p.extractor]),
    [
      [1, "string", "number"],
      [2, "number", "number"],
    ],
  );
});

test("file, stdout, generator and elastic connectors validate and record their options", () => {
  throwsConfig(() => lf.FileSource.lines(""), 'FileSource.lines(): the path must be a non-empty string, got ""');
  throwsConfig(() => lf.FileSink.lines(42), "FileSink.lines(): the path must be a non-empty string, got number 42");
  throwsConfig(() => lf.Generator.sequence(5, 1), "Generator.sequence(): to (1) must not be less than from (5)");
  throwsConfig(() => lf.Generator.sequence(0).ratePerSecond(0), "Generator: ratePerSecond() expects a number > 0, got number 0");
  throwsConfig(() => lf.Elastic.builder().index("i").build(), 'Elastic.builder().build(): host is not set: call .host("http://localhost:9200")');
  throwsConfig(
    () => lf.Elastic.builder().host("h").index("i").sinkMode(lf.SinkMode.UPSERT).build(),
    "Elastic.builder().build(): SinkMode.UPSERT needs an id: call .idExtractor(v => v.id)",
  );
  assert.deepEqual(lf.FileSource.jsonLines("in.jsonl").connectorConfig(), { type: "file", path: "in.jsonl", format: "jsonLines" });
  assert.deepEqual(lf.Stdout.new().connectorConfig(), { type: "stdout" });
  assert.deepEqual(lf.Generator.values([1, "a", { b: 2 }]).ratePerSecond(10).connectorConfig(), {
    type: "generator",
    mode: "values",
    values: [1, "a", { b: 2 }],
    ratePerSecond: 10,
  });
});

test("Nexmark.events() validates and records its options; Blackhole.new() records its type", () => {
  assert.deepEqual(lf.Nexmark.events({ count: 1000 }).connectorConfig(), { type: "nexmark", count: 1000, rate: 0 });
  assert.deepEqual(lf.Nexmark.events().connectorConfig(), { type: "nexmark", count: 0, rate: 0 });
  assert.deepEqual(
    lf.Nexmark.events({ count: 5, rate: 100, eventTimeRate: 1000, firstEventTime: 0 }).connectorConfig(),
    { type: "nexmark", count: 5, rate: 100, eventTimeRate: 1000, firstEventTime: 0 },
  );
  throwsConfig(() => lf.Nexmark.events({ count: -1 }), "Nexmark.events(): count must be an integer >= 0, got number -1");
  throwsConfig(() => lf.Nexmark.events({ count: 1.5 }), "Nexmark.events(): count must be an integer >= 0, got number 1.5");
  throwsConfig(() => lf.Nexmark.events({ rate: -2 }), "Nexmark.events(): rate must be a number >= 0, got number -2");
  throwsConfig(() => lf.Nexmark.events({ eventTimeRate: 0 }), "Nexmark.events(): eventTimeRate must be > 0");
  throwsConfig(
    () => lf.Nexmark.events({ cout: 10 }),
    "Nexmark.events(): unknown option 'cout' (known: count, rate, eventTimeRate, firstEventTime)",
  );
  assert.deepEqual(lf.Blackhole.new().connectorConfig(), { type: "blackhole" });
});

test("operators reject non-functions, bad names and parallelism, and foreign streams in union", () => {
  const ctx = ExecutionContext.new("ops");
  const stream = ctx.fromSource(lf.Generator.sequence(0, 9));
  throwsConfig(() => stream.map(5), "map() expects a function, got number 5");
  throwsConfig(() => stream.keyBy(undefined), "keyBy() expects a function, got undefined");
  throwsConfig(() => stream.parallelism(0), "parallelism(): the parallelism must be an integer >= 1, got number 0");
  throwsConfig(() => stream.parallelism(1.5), "parallelism(): the parallelism must be an integer >= 1, got number 1.5");
  throwsConfig(() => stream.name(""), 'name(): the operator name must be a non-empty string, got ""');
  throwsConfig(() => stream.union(), "union() expects at least one other stream");
  const other = ExecutionContext.new("other").fromSource(lf.Generator.sequence(0, 1));
  throwsConfig(() => stream.union(other), 'union(): the streams belong to different jobs ("ops" and "other")');
  throwsConfig(() => stream.sink({}), "sink() expects a sink such as Stdout.new(), got a object");
  throwsConfig(() => ctx.fromSource("in.txt"), 'ExecutionContext.fromSource() expects a source such as FileSource.lines(path), got "in.txt"');
  throwsConfig(() => ExecutionContext.new(""), 'ExecutionContext.new(): the job name must be a non-empty string, got ""');
});

test("execute() checks the graph: a source and a sink are needed, and a context executes once", () => {
  const host = { submitted: [], submit(graph) { this.submitted.push(graph); return "id"; } };
  globalThis.__lightflusHost = host;
  try {
    throwsConfig(() => ExecutionContext.new("empty").execute(), 'job "empty" has no source: start a stream with ctx.fromSource(source)');
    const ctx = ExecutionContext.new("once");
    const stream = ctx.fromSource(lf.Generator.sequence(0, 1));
    throwsConfig(() => ctx.execute(), 'job "once" has no sink, so it would produce nothing: end a stream with .sink(sink) (or .print())');
    const sink = stream.print();
    const first = sink.execute();
    assert.equal(sink.execute(), first);
    assert.equal(host.submitted.length, 1);
    stream.map((x) => x).print();
    throwsConfig(() => ctx.execute(), /job "once" was already executed, and operators were added after that/);
  } finally {
    delete globalThis.__lightflusHost;
  }
});

test("execute() returns a promise of what the host's submit returned", async () => {
  globalThis.__lightflusHost = { submit: () => "job-42" };
  try {
    const ctx = ExecutionContext.new("promise");
    const result = ctx.fromSource(lf.Generator.sequence(0, 1)).print().execute();
    assert.ok(result instanceof Promise);
    assert.equal(await result, "job-42");
  } finally {
    delete globalThis.__lightflusHost;
  }
});

test("execute() under plain Node.js without a host explains how to run the job", () => {
  const ctx = ExecutionContext.new("local");
  ctx.fromSource(lf.Generator.sequence(0, 1)).print();
  throwsConfig(
    () => ctx.execute(),
    'execute(): job "local" is not running inside a Lightflus host, so there is nothing to run it. ' +
      "Run it locally with `lightflusd run job.ts` or deploy it with `lightflus apply -f job.ts`.",
  );
});

test("Time converts to milliseconds and rejects negative or fractional milliseconds", () => {
  assert.equal(Time.milliseconds(250).toMilliseconds(), 250);
  assert.equal(Time.seconds(5).toMilliseconds(), 5000);
  assert.equal(Time.seconds(1.5).toMilliseconds(), 1500);
  assert.equal(Time.minutes(2).toMilliseconds(), 120000);
  assert.equal(Time.hours(1).toMilliseconds(), 3600000);
  assert.equal(Time.days(1).toMilliseconds(), 86400000);
  throwsConfig(() => Time.seconds(-1), "Time.seconds() expects a finite number >= 0, got number -1");
  throwsConfig(() => Time.milliseconds(0.5), "Time.milliseconds(): 0.5 is not a whole number of milliseconds");
});
