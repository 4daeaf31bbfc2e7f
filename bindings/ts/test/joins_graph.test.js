// connect(), intervalJoin() and join() record a keyBy per input and one coProcess operator
// (docs/js-graph.md); their options are checked when the job builds its graph. What they do
// when run is tested in C++ (test/js/js_join_test.cpp).
"use strict";

const test = require("node:test");
const assert = require("node:assert/strict");
const { createSandbox, plain } = require("./support/sandbox");

test("connect, intervalJoin and a window join record keyBys and coProcess operators", () => {
  const sandbox = createSandbox();
  const outcome = sandbox.run(
    `
import { ExecutionContext, Generator, OutputTag, Stdout, Time, TumblingWindow } from "lightflus";

export default function (ctx: ExecutionContext) {
  const a = ctx.fromSource(Generator.sequence(1, 10));
  const b = ctx.fromSource(Generator.sequence(1, 10)).map((n) => ({ id: n }));
  a.connect(b)
    .keyBy((n) => n, (x) => x.id)
    .process({
      processElement1(n, c, out) { out.collect(n); },
      processElement2(x, c, out) { c.state.value<number>("x").update(x.id); },
      onTimer(t, c, out) {},
    }, { ttl: Time.minutes(1) })
    .uid("both")
    .sink(Stdout.new());
  const late = new OutputTag<number>("late");
  const joined = a.keyBy((n) => n % 3)
    .intervalJoin(b.keyBy((x) => x.id % 3))
    .between(-5000, Time.seconds(1))
    .upperBoundExclusive()
    .sideOutputLeftLateData(late)
    .process((n, x, c) => n + x.id);
  joined.sink(Stdout.new());
  joined.getSideOutput(late).sink(Stdout.new());
  a.join(b).where((n) => n).equalTo((x) => x.id)
    .window(TumblingWindow.of(Time.seconds(10)))
    .apply((n, x) => [n, x])
    .name("pairs")
    .sink(Stdout.new());
}
`,
    "joins.ts",
  );
  assert.deepEqual(plain(outcome), { style: "defaultExport", entry: "default", submitted: 1 });
  const ops = sandbox.submitted[0].operators.filter((op) => op.kind !== "source" && op.kind !== "sink");
  assert.deepEqual(ops, [
    { id: 3, kind: "map", name: "map", inputs: [2], udf: 0 },
    { id: 4, kind: "keyBy", name: "keyBy", inputs: [1], udf: 1 },
    { id: 5, kind: "keyBy", name: "keyBy", inputs: [3], udf: 2 },
    {
      id: 6,
      kind: "coProcess",
      name: "coProcess",
      inputs: [4, 5],
      uid: "both",
      process: { processElement1: 3, processElement2: 4, onTimer: 5, ttlMs: 60000 },
      keyed: true,
    },
    { id: 8, kind: "keyBy", name: "keyBy", inputs: [1], udf: 6 },
    { id: 9, kind: "keyBy", name: "keyBy", inputs: [3], udf: 7 },
    {
      id: 10,
      kind: "coProcess",
      name: "intervalJoin",
      inputs: [8, 9],
      process: { processElement1: 8, processElement2: 9, onTimer: 10, ttlMs: null },
      keyed: true,
      join: {
        type: "interval",
        lowerMs: -5000,
        upperMs: 1000,
        lowerBoundExclusive: false,
        upperBoundExclusive: true,
        leftLateTag: "late",
        rightLateTag: null,
      },
    },
    { id: 12, kind: "sideOutput", name: "side output 'late'", inputs: [10], tag: "late" },
    { id: 14, kind: "keyBy", name: "where", inputs: [1], udf: 11 },
    { id: 15, kind: "keyBy", name: "equalTo", inputs: [3], udf: 12 },
    {
      id: 16,
      kind: "coProcess",
      name: "pairs",
      inputs: [14, 15],
      process: { processElement1: 13, processElement2: 14, onTimer: 15, ttlMs: null },
      keyed: true,
      join: {
        type: "window",
        window: { type: "tumbling", sizeMs: 10000, offsetMs: 0, time: "event", allowedLatenessMs: 0 },
      },
    },
  ]);
});

test("two-input operators say what is wrong with their arguments", () => {
  const sandbox = createSandbox();
  const lf = sandbox.lightflus;
  const ctx = lf.ExecutionContext.new("bad");
  const other = lf.ExecutionContext.new("other");
  const a = ctx.fromSource(lf.Generator.sequence(1, 3));
  const b = ctx.fromSource(lf.Generator.sequence(1, 3));
  const keyed = (s) => s.keyBy((n) => n);
  assert.throws(() => a.connect(42), /connect\(\) expects a stream, got number 42/);
  assert.throws(() => a.connect(other.fromSource(lf.Generator.sequence(1, 3))), /connect\(\): the streams belong to different jobs \("bad" and "other"\)/);
  assert.throws(() => a.connect(b).keyBy((n) => n), /connect\(...\).keyBy\(ka, kb\): kb expects a key selector function/);
  assert.throws(
    () => a.connect(b).keyBy((n) => n, (n) => n).process({ processElement1() {} }),
    /process\(\) expects \{ processElement1\(value, ctx, out\), processElement2\(value, ctx, out\), onTimer\?\(time, ctx, out\) \}/,
  );
  assert.throws(() => keyed(a).intervalJoin(b), /intervalJoin\(\) expects a keyed stream \(b.keyBy\(kb\)\)/);
  assert.throws(() => keyed(a).intervalJoin(keyed(b)).between(10, 5), /between\(lower, upper\) needs lower <= upper; got 10 ms > 5 ms/);
  assert.throws(() => keyed(a).intervalJoin(keyed(b)).between(0.5, 5), /between\(\): lower must be a whole number of milliseconds/);
  assert.throws(
    () => keyed(a).intervalJoin(keyed(b)).between(5, 5).lowerBoundExclusive().process((x, y) => x),
    /the exclusive bounds leave an empty interval/,
  );
  assert.throws(() => keyed(a).intervalJoin(keyed(b)).between(0, 5).sideOutputLeftLateData("late"), /sideOutputLeftLateData\(\) expects an OutputTag/);
  assert.throws(
    () => a.join(b).where((n) => n).equalTo((n) => n).window(lf.SessionWindow.withGap(1000).allowedLateness(10)),
    /allowedLateness\(\) with session windows is not supported by the TypeScript window join yet/,
  );
  assert.throws(() => a.join(b).where((n) => n).equalTo((n) => n).window(lf.TumblingWindow.of(1000)).apply(1), /apply\(\) expects a function/);
});
