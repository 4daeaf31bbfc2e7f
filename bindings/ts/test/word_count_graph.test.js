// The builder API records the expected logical graph for a word count, written in the new flat
// style and in the original API's namespaced style, run as the C++ host runs jobs.
"use strict";

const test = require("node:test");
const assert = require("node:assert/strict");
const { createSandbox, plain } = require("./support/sandbox");

const FLAT_WORD_COUNT = `
import { ExecutionContext, Kafka, Redis, TumblingWindow, Time, Tuple2 } from "lightflus";

const ctx = ExecutionContext.new("wordCount", "default");
const lines = Kafka.builder()
  .brokers(["localhost:9092"])
  .topic("lines")
  .group("word_count")
  .build<string>(undefined, "string");

ctx.fromSource(lines)
  .flatMap(line => line.split(" ").map(word => new Tuple2(word, 1)))
  .name("split")
  .keyBy(pair => pair.t0)
  .window(TumblingWindow.of(Time.seconds(5)))
  .reduce((a, b) => new Tuple2(a.t0, a.t1 + b.t1))
  .sink(Redis.new<Tuple2<string, number>>()
    .host("localhost:6380")
    .keyExtractor(pair => pair.t0)
    .valueExtractor(pair => pair.t1.toString()))
  .parallelism(2)
  .execute();
`;

test("a word count in the flat style records source, flatMap, keyBy, window, reduce and sink", () => {
  const sandbox = createSandbox();
  const outcome = sandbox.run(FLAT_WORD_COUNT, "wordCount.ts");
  assert.deepEqual(plain(outcome), { style: "execute", entry: null, submitted: 1 });
  assert.equal(sandbox.submitted.length, 1);
  assert.deepEqual(sandbox.submitted[0], {
    version: 1,
    job: { name: "wordCount", namespace: "default", params: {} },
    operators: [
      {
        id: 1,
        kind: "source",
        name: "kafka",
        inputs: [],
        connector: {
          type: "kafka",
          brokers: ["localhost:9092"],
          topic: "lines",
          group: "word_count",
          partition: null,
          valueType: "string",
          bounded: false,
          properties: {},
        },
      },
      { id: 2, kind: "flatMap", name: "split", inputs: [1], udf: 0 },
      { id: 3, kind: "keyBy", name: "keyBy", inputs: [2], udf: 1 },
      {
        id: 4,
        kind: "window",
        name: "window",
        inputs: [3],
        window: { type: "tumbling", sizeMs: 5000, offsetMs: 0, time: "event", allowedLatenessMs: 0 },
        keyed: true,
      },
      { id: 5, kind: "reduce", name: "reduce", inputs: [4], udf: 2, keyed: true },
      {
        id: 6,
        kind: "sink",
        name: "redis",
        inputs: [5],
        parallelism: 2,
        connector: {
          type: "redis",
          host: "localhost",
          port: 6380,
          tls: false,
          database: 0,
          username: null,
          password: null,
          keyExtractor: 3,
          valueExtractor: 4,
        },
      },
    ],
  });
});

test("the UDFs of the flat word count compute word counts when the host calls them by id", () => {
  const sandbox = createSandbox();
  sandbox.run(FLAT_WORD_COUNT, "wordCount.ts");
  const { lightflus } = sandbox;
  const pairs = plain(lightflus.__runChain([0], ["flatMap"], ["to be or not to be"]));
  assert.deepEqual(pairs, [
    { t0: "to", t1: 1 },
    { t0: "be", t1: 1 },
    { t0: "or", t1: 1 },
    { t0: "not", t1: 1 },
    { t0: "to", t1: 1 },
    { t0: "be", t1: 1 },
  ]);
  assert.equal(lightflus.__call(1, { t0: "be", t1: 1 }), "be");
  // The engine hands over plain objects (elements cross operators as JSON-like values).
  assert.deepEqual(plain(lightflus.__call(2, { t0: "be", t1: 1 }, { t0: "be", t1: 2 })), { t0: "be", t1: 3 });
  assert.equal(lightflus.__call(3, { t0: "be", t1: 3 }), "be");
  assert.equal(lightflus.__call(4, { t0: "be", t1: 3 }), "3");
});

// The original repository's typescript-api/src/wordCount.ts, with its imports pointing at the
// published package paths instead of the repository's relative paths.
const ORIGINAL_WORD_COUNT = `
// wordCount example

import { context } from "lightflus-api/src/stream/context";
import { kafka, redis } from "lightflus-api/src/connectors/connectors";
import ExecutionContext = context.ExecutionContext;
import Kafka = kafka.Kafka;
import Redis = redis.Redis;

async function wordCount(ctx: ExecutionContext) {
  let source = Kafka
    .builder()
    .brokers(["localhost:9092"])
    .topic("topic")
    .group("word_count")
    .build<string>(undefined, typeof "");


  let sink = Redis.new<{ t0: number, t1: string }>()
    .host("localhost")
    .keyExtractor((v) => v.t1)
    .valueExtractor((v) => v.t0.toString());

  let stream = source.createFlow(ctx);

  await stream.flatMap(value => value.split(" ").map(v => {
    return { t0: 1, t1: v };
  }))
    .keyBy(v => v.t1)
    .window({
      fixed: {
        size: {
          seconds: 3
        }
      },
      trigger: {
        watermark: {
          triggerTime: {
            seconds: 3,
            millis: 100
          }
        }
      }
    })
    .reduce((v1, v2) => {
      return { t1: v1.t1, t0: v1.t0 + v2.t0 };
    })
    .sink(sink)
    .execute();
}

wordCount(ExecutionContext.new("wordCount", "default")).then();
`;

test("the original API's word count, with import-equals and the original module paths, records its graph", async () => {
  const sandbox = createSandbox();
  const outcome = sandbox.run(ORIGINAL_WORD_COUNT, "wordCount.ts");
  assert.deepEqual(plain(outcome), { style: "execute", entry: null, submitted: 1 });
  assert.deepEqual(sandbox.submitted, [
    {
      version: 1,
      job: { name: "wordCount", namespace: "default", params: {} },
      operators: [
        {
          id: 1,
          kind: "source",
          name: "kafka",
          inputs: [],
          connector: {
            type: "kafka",
            brokers: ["localhost:9092"],
            topic: "topic",
            group: "word_count",
            partition: null,
            valueType: "string",
            bounded: false,
          bounded: false,
            properties: {},
          },
        },
        { id: 2, kind: "flatMap", name: "flatMap", inputs: [1], udf: 0 },
        { id: 3, kind: "keyBy", name: "keyBy", inputs: [2], udf: 1 },
        {
          id: 4,
          kind: "window",
          name: "window",
          inputs: [3],
          window: { type: "tumbling", sizeMs: 3000, offsetMs: 0, time: "event", allowedLatenessMs: 0 },
          keyed: true,
        },
        { id: 5, kind: "reduce", name: "reduce", inputs: [4], udf: 2, keyed: true },
        {
          id: 6,
          kind: "sink",
          name: "redis",
          inputs: [5],
          connector: {
            type: "redis",
            host: "localhost",
            port: 6379,
            tls: false,
            database: 0,
            username: null,
            password: null,
            keyExtractor: 3,
            valueExtractor: 4,
          },
        },
      ],
    },
  ]);
  // The UDFs are the job's own functions.
  assert.deepEqual(plain(sandbox.lightflus.__runChain([0], ["flatMap"], ["a b"])), [
    { t0: 1, t1: "a" },
    { t0: 1, t1: "b" },
  ]);
  assert.deepEqual(plain(sandbox.lightflus.__call(2, { t0: 1, t1: "a" }, { t0: 2, t1: "a" })), { t1: "a", t0: 3 });
});

test("the original API's flat module paths and a class passed to build() decode JSON objects", () => {
  // The original repository's typescript-api/src/userAction.ts, imports pointing at the package.
  const sandbox = createSandbox();
  sandbox.run(
    `
import { ExecutionContext } from "lightflus-api/src/stream/context";
import { Kafka } from "lightflus-api/src/connectors/kafka";
import { Redis } from "lightflus-api/src/connectors/redis";

class UserAction {
  userId: string;
  itemId: string;
  action: number;
  timestamp: string;
}

function userAction(ctx: ExecutionContext) {
  let source = Kafka
    .builder()
    .brokers(["localhost:9092"])
    .topic("user_action_topic")
    .group("user_action")
    .build<UserAction>(UserAction);

  let sink = Redis.new<{ userId: string, weights: { factor: number, action: number }[] }>()
    .host("localhost")
    .keyExtractor((v) => v.userId)
    .valueExtractor((v) => v.weights);

  let dataflow = source.createFlow(ctx);
  dataflow.keyBy(action => {
    return action.userId;
  }).map(action => {
    return { userId: action.userId, weights: [{ factor: action.action * 2, action: action.action }] };
  }).reduce((agg, value) => {
    agg.weights.push(...value.weights);
    return agg;
  }).sink(sink).execute().then();
}

userAction(ExecutionContext.new("userAction", "default"));
`,
    "userAction.ts",
  );
  assert.equal(sandbox.submitted.length, 1);
  const ops = sandbox.submitted[0].operators;
  assert.deepEqual(
    ops.map((op) => [op.id, op.kind, op.inputs]),
    [
      [1, "source", []],
      [2, "keyBy", [1]],
      [3, "map", [2]],
      [4, "reduce", [3]],
      [5, "sink", [4]],
    ],
  );
  assert.equal(ops[0].connector.valueType, "object");
  assert.equal(ops[3].keyed, true);
});

test("the original documentation's scaffold runs without imports: a function named like the file", () => {
  // From the original documentation's "Create Your First Lightflus Application"; nothing calls
  // wordCount, and the API names are used without imports.
  const sandbox = createSandbox();
  const outcome = sandbox.run(
    `
// wordCount.ts
// generated by tableflow cli
// Tableflow will only execute the function with the same name of task file

function wordCount(ctx: ExecutionContext) {
    let source = Kafka.builder()
        .brokers(["xxxx:9092"])
        .topic("topic")
        .build<string>();
    let sink = Elastic.builder()
        .host("xxx")
        .index("wordCount")
        .sinkMode(SinkMode.APPEND)
        .build<Tuple2<string, number>>();

    let stream = ctx.fromSource(source);
    stream.flatMap(value => value.split(" ").map(v => new Tuple2(v, 1)))
        .keyBy(v => v.t0)
        .window(FixedWindow.size(Time.seconds(5)))
        .reduce((agg, current) => {
            agg.t1 = agg.t1 + current.t1;
            return agg;
        })
        .sink(sink);
}
`,
    "wordCount.ts",
  );
  assert.deepEqual(plain(outcome), { style: "namedFunction", entry: "wordCount", submitted: 1 });
  const graph = sandbox.submitted[0];
  assert.deepEqual(graph.job, { name: "wordCount", namespace: "default", params: {} });
  assert.deepEqual(
    graph.operators.map((op) => op.kind),
    ["source", "flatMap", "keyBy", "window", "reduce", "sink"],
  );
  assert.deepEqual(graph.operators[3].window, {
    type: "tumbling",
    sizeMs: 5000,
    offsetMs: 0,
    time: "event",
    allowedLatenessMs: 0,
  });
  assert.deepEqual(graph.operators[5].connector, {
    type: "elasticsearch",
    host: "xxx",
    index: "wordCount",
    sinkMode: "append",
    idExtractor: null,
  });
});

test("evaluating the same job in two isolates gives the same graph and UDF ids", () => {
  const first = createSandbox();
  const second = createSandbox();
  first.run(FLAT_WORD_COUNT, "wordCount.ts");
  second.run(FLAT_WORD_COUNT, "wordCount.ts");
  assert.deepEqual(first.submitted, second.submitted);
  assert.equal(first.lightflus.__udfs.length, 5);
  assert.equal(second.lightflus.__udfs.length, 5);
});
