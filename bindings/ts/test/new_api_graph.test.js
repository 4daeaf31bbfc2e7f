// The new API (files, generator, stdout, event time, windows, aggregate, union, names and
// parallelism) records the expected graph.
"use strict";

const test = require("node:test");
const assert = require("node:assert/strict");
const { createSandbox, plain } = require("./support/sandbox");

test("event time, windows, aggregate, union, names and parallelism are recorded with their options", () => {
  const sandbox = createSandbox({ params: { input: "clicks.jsonl" } });
  const outcome = sandbox.run(
    `
import {
  ExecutionContext, FileSource, FileSink, Generator, Stdout, Time, WatermarkStrategy,
  TumblingWindow, SlidingWindow, SessionWindow, AggregateFunction,
} from "lightflus";

interface Click { user: string; page: string; time: number }

const count: AggregateFunction<Click, number, number> = {
  createAccumulator: () => 0,
  add: (_click, n) => n + 1,
  getResult: (n) => n,
  merge: (a, b) => a + b,
};

export default function (ctx: ExecutionContext) {
  ctx.parallelism(4);
  const clicks = ctx.fromSource(FileSource.jsonLines<Click>(ctx.param("input")))
    .assignTimestamps(c => c.time,
      WatermarkStrategy.boundedOutOfOrderness(Time.seconds(5)).withIdleness(Time.minutes(1)));
  const synthetic = ctx.fromSource(Generator.sequence(1, 100).ratePerSecond(50))
    .map(n => ({ user: "u" + (n % 3), page: "/", time: n * 1000 }))
    .assignTimestamps(c => c.time, { maxOutOfOrderness: 2000 });
  const all = clicks.union(synthetic).name("all clicks");

  all.keyBy(c => c.user)
    .window(SessionWindow.withGap(Time.minutes(30)).allowedLateness(Time.seconds(10)))
    .aggregate(count)
    .sink(FileSink.lines("sessions.txt"));

  all.keyBy(c => c.page)
    .window(SlidingWindow.of(Time.minutes(1), Time.seconds(10)).processingTime())
    .reduce((a, b) => a)
    .parallelism(2)
    .print()
    .name("console");

  all.filter(c => c.page !== "/")
    .keyBy(c => c.page)
    .window(TumblingWindow.of(Time.hours(1), Time.minutes(30)))
    .aggregate({ createAccumulator: () => [] as string[], add: (c, acc) => acc.concat(c.user), getResult: acc => acc.length })
    .sink(Stdout.new<number>());
}
`,
    "clicks.ts",
  );
  assert.deepEqual(plain(outcome), { style: "defaultExport", entry: "default", submitted: 1 });
  const graph = sandbox.submitted[0];
  assert.deepEqual(graph.job, { name: "clicks", namespace: "default", parallelism: 4, params: { input: "clicks.jsonl" } });
  assert.deepEqual(graph.operators, [
    { id: 1, kind: "source", name: "file", inputs: [], connector: { type: "file", path: "clicks.jsonl", format: "jsonLines" } },
    {
      id: 2,
      kind: "assignTimestamps",
      name: "assignTimestamps",
      inputs: [1],
      udf: 0,
      watermark: { maxOutOfOrdernessMs: 5000, idleTimeoutMs: 60000 },
    },
    {
      id: 3,
      kind: "source",
      name: "generator",
      inputs: [],
      connector: { type: "generator", mode: "sequence", from: 1, to: 100, ratePerSecond: 50 },
    },
    { id: 4, kind: "map", name: "map", inputs: [3], udf: 1 },
    {
      id: 5,
      kind: "assignTimestamps",
      name: "assignTimestamps",
      inputs: [4],
      udf: 2,
      watermark: { maxOutOfOrdernessMs: 2000, idleTimeoutMs: null },
    },
    { id: 6, kind: "union", name: "all clicks", inputs: [2, 5] },
    { id: 7, kind: "keyBy", name: "keyBy", inputs: [6], udf: 3 },
    {
      id: 8,
      kind: "window",
      name: "window",
      inputs: [7],
      window: { type: "session", gapMs: 1800000, time: "event", allowedLatenessMs: 10000 },
      keyed: true,
    },
    {
      id: 9,
      kind: "aggregate",
      name: "aggregate",
      inputs: [8],
      aggregate: { createAccumulator: 4, add: 5, getResult: 6, merge: 7 },
      keyed: true,
    },
    { id: 10, kind: "sink", name: "file", inputs: [9], connector: { type: "file", path: "sessions.txt", format: "lines" } },
    { id: 11, kind: "keyBy", name: "keyBy", inputs: [6], udf: 8 },
    {
      id: 12,
      kind: "window",
      name: "window",
      inputs: [11],
      window: { type: "sliding", sizeMs: 60000, slideMs: 10000, offsetMs: 0, time: "processing", allowedLatenessMs: 0 },
      keyed: true,
    },
    { id: 13, kind: "reduce", name: "reduce", inputs: [12], udf: 9, keyed: true, parallelism: 2 },
    { id: 14, kind: "sink", name: "console", inputs: [13], connector: { type: "stdout" } },
    { id: 15, kind: "filter", name: "filter", inputs: [6], udf: 10 },
    { id: 16, kind: "keyBy", name: "keyBy", inputs: [15], udf: 11 },
    {
      id: 17,
      kind: "window",
      name: "window",
      inputs: [16],
      window: { type: "tumbling", sizeMs: 3600000, offsetMs: 1800000, time: "event", allowedLatenessMs: 0 },
      keyed: true,
    },
    {
      id: 18,
      kind: "aggregate",
      name: "aggregate",
      inputs: [17],
      aggregate: { createAccumulator: 12, add: 13, getResult: 14, merge: null },
      keyed: true,
    },
    { id: 19, kind: "sink", name: "stdout", inputs: [18], connector: { type: "stdout" } },
  ]);
  // UDF ids follow the order in which the job handed functions over.
  const { lightflus } = sandbox;
  assert.equal(lightflus.__udfs.length, 15);
  assert.equal(lightflus.__call(0, { time: 1234 }), 1234);
  assert.equal(lightflus.__call(4), 0);
  assert.equal(lightflus.__call(5, { user: "a" }, 41), 42);
  assert.equal(lightflus.__call(7, 2, 3), 5);
  assert.deepEqual(plain(lightflus.__runChain([1], ["map"], [4])), [{ user: "u1", page: "/", time: 4000 }]);
});

test("aggregate methods keep their object as this", () => {
  const sandbox = createSandbox();
  sandbox.run(
    `
import { ExecutionContext, Generator } from "lightflus";
class Average {
  private readonly zero = { sum: 0, count: 0 };
  createAccumulator() { return { ...this.zero }; }
  add(value: number, acc: { sum: number; count: number }) { return { sum: acc.sum + value, count: acc.count + 1 }; }
  getResult(acc: { sum: number; count: number }) { return acc.sum / acc.count; }
}
export default (ctx: ExecutionContext) => {
  ctx.fromSource(Generator.sequence(1, 10)).keyBy(n => n % 2).aggregate(new Average()).print();
};
`,
    "average.ts",
  );
  const { lightflus } = sandbox;
  const [create, add, result] = [1, 2, 3];
  let acc = lightflus.__call(create);
  for (const n of [1, 3, 5]) acc = lightflus.__call(add, n, acc);
  assert.equal(lightflus.__call(result, acc), 3);
  assert.deepEqual(sandbox.submitted[0].operators[2], {
    id: 3,
    kind: "aggregate",
    name: "aggregate",
    inputs: [2],
    aggregate: { createAccumulator: 1, add: 2, getResult: 3, merge: null },
    keyed: true,
  });
});

test("WatermarkStrategy.forMonotonousTimestamps() is a bound of 0 (watermark: max - 1 ms) and the default", () => {
  const sandbox = createSandbox();
  const lf = sandbox.lightflus;
  const watermarkOf = (...strategy) => {
    const ctx = lf.ExecutionContext.new("w");
    ctx.fromSource(lf.Generator.sequence(0, 1)).assignTimestamps((n) => n, ...strategy).print();
    return plain(ctx.toGraph().operators[1].watermark);
  };
  const monotonous = { maxOutOfOrdernessMs: 0, idleTimeoutMs: null };
  assert.deepEqual(watermarkOf(lf.WatermarkStrategy.forMonotonousTimestamps()), monotonous);
  assert.deepEqual(watermarkOf(), monotonous);
  assert.deepEqual(watermarkOf({}), monotonous);
  assert.deepEqual(watermarkOf(lf.WatermarkStrategy.forMonotonousTimestamps().withIdleness(lf.Time.seconds(3))), {
    maxOutOfOrdernessMs: 0,
    idleTimeoutMs: 3000,
  });
});

test("a sliding window may slide further than its size (elements between windows are dropped)", () => {
  const sandbox = createSandbox();
  const lf = sandbox.lightflus;
  const ctx = lf.ExecutionContext.new("w");
  ctx.fromSource(lf.Generator.sequence(0, 1)).keyBy((n) => n)
    .window(lf.SlidingWindow.of(lf.Time.seconds(2), lf.Time.seconds(5))).reduce((a, b) => a + b).print();
  assert.deepEqual(plain(ctx.toGraph().operators[2].window), {
    type: "sliding", sizeMs: 2000, slideMs: 5000, offsetMs: 0, time: "event", allowedLatenessMs: 0,
  });
});

test("windows validate their sizes, and the original window objects convert", () => {
  const sandbox = createSandbox();
  const lf = sandbox.lightflus;
  const windowOf = (spec) => {
    const ctx = lf.ExecutionContext.new("w");
    ctx.fromSource(lf.Generator.sequence(0, 1)).keyBy((n) => n).window(spec).print();
    return plain(ctx.toGraph().operators[2].window);
  };
  assert.deepEqual(windowOf(lf.FixedWindow.size(lf.Time.seconds(5))), {
    type: "tumbling", sizeMs: 5000, offsetMs: 0, time: "event", allowedLatenessMs: 0,
  });
  assert.deepEqual(windowOf(sandbox.evaluate("({ slide: { size: { minutes: 1 }, period: { seconds: 30 } } })")), {
    type: "sliding", sizeMs: 60000, slideMs: 30000, offsetMs: 0, time: "event", allowedLatenessMs: 0,
  });
  assert.deepEqual(windowOf(sandbox.evaluate("({ session: { timeout: { seconds: 1, millis: 500 } } })")), {
    type: "session", gapMs: 1500, time: "event", allowedLatenessMs: 0,
  });
  assert.throws(() => windowOf(sandbox.evaluate("({})")), /window\(\): set one window: \{ fixed: \{ size \} \}/);
  assert.throws(
    () => windowOf(sandbox.evaluate("({ fixed: { size: { seconds: 1 } }, session: { timeout: { seconds: 1 } } })")),
    /window\(\): set only one of fixed, slide and session/,
  );
  assert.throws(() => lf.TumblingWindow.of(0), /TumblingWindow.of\(\): size must be longer than 0 ms/);
  assert.throws(() => lf.TumblingWindow.of(1000, 1000), /offset \(1000 ms\) must be less than size \(1000 ms\)/);
  assert.throws(() => lf.SlidingWindow.of(lf.Time.seconds(10), 0), /SlidingWindow.of\(\): slide must be longer than 0 ms/);
  assert.throws(() => lf.SessionWindow.withGap("5s"), /SessionWindow.withGap\(\): gap must be a Time such as Time.seconds\(5\)/);
  assert.throws(() => windowOf(5000), /window\(\) expects a window such as TumblingWindow.of/);
  assert.throws(
    () => {
      const ctx = lf.ExecutionContext.new("w");
      ctx.fromSource(lf.Generator.sequence(0, 1)).keyBy((n) => n).window(lf.SessionWindow.withGap(1000))
        .aggregate({ createAccumulator: () => 0, add: (v, a) => a + v, getResult: (a) => a });
    },
    /aggregate\(\) over a SessionWindow needs merge\(a, b\)/,
  );
});

test("uid() names an operator's or a sink's state for checkpoints, and must not be empty", () => {
  const sandbox = createSandbox();
  const lf = sandbox.lightflus;
  const ctx = lf.ExecutionContext.new("u");
  ctx.fromSource(lf.Generator.sequence(0, 9)).keyBy((n) => n % 2).reduce((a, b) => a + b).uid("sums")
    .sink(lf.FileSink.lines("sums.txt")).uid("sums-file");
  const ops = plain(ctx.toGraph().operators);
  assert.equal(ops[2].uid, "sums");
  assert.equal(ops[3].uid, "sums-file");
  assert.equal(ops[0].uid, undefined);
  assert.throws(() => ctx.fromSource(lf.Generator.sequence(0, 1)).uid(""), /uid\(\)/);
});

test("windowAll() records a constant keyBy and a window with parallelism 1; topN validates n and by", () => {
  const sandbox = createSandbox();
  const lf = sandbox.lightflus;
  const ctx = lf.ExecutionContext.new("all");
  const windows = ctx.fromSource(lf.Generator.sequence(0, 9)).map((n) => n).windowAll(lf.TumblingWindow.of(lf.Time.seconds(1)));
  windows.topN(3, (n) => n).print();
  const ops = plain(ctx.toGraph().operators);
  assert.deepEqual(ops.slice(2, 5).map((o) => [o.kind, o.name, o.parallelism]), [
    ["keyBy", "windowAll", undefined],
    ["window", "windowAll", 1],
    ["aggregate", "topN", 1],
  ]);
  assert.equal(ops[4].windowFunctionFlat, true);
  assert.throws(() => windows.topN(0, (n) => n), /topN\(\)/);
  assert.throws(() => windows.topN(2, "score"), /topN\(\): by must be a function/);
});
