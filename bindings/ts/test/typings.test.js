// The .d.ts files type-check jobs in both styles under a strict tsconfig, and catch type errors
// in users' editors. Jobs are compiled in memory against dist/types.
"use strict";

const test = require("node:test");
const assert = require("node:assert/strict");
const path = require("node:path");
const ts = require("typescript");

const PACKAGE_DIR = path.join(__dirname, "..");
const TYPES = path.join(PACKAGE_DIR, "dist", "types", "index.d.ts");

/** Type-checks `source` as a job file; returns the diagnostics as "line: message" strings. */
function typeCheck(source, options = {}) {
  const file_name = path.join(PACKAGE_DIR, "test", "__virtual__", "job.ts");
  const compiler_options = {
    strict: true,
    noEmit: true,
    target: ts.ScriptTarget.ES2020,
    lib: ["lib.es2020.d.ts"],
    types: [],
    module: ts.ModuleKind.CommonJS,
    moduleResolution: ts.ModuleResolutionKind.Node10,
    baseUrl: PACKAGE_DIR,
    paths: { lightflus: [TYPES], "lightflus-api/*": [TYPES] },
    ...options,
  };
  const host = ts.createCompilerHost(compiler_options);
  const original_get = host.getSourceFile.bind(host);
  host.getSourceFile = (name, version) =>
    path.resolve(name) === file_name ? ts.createSourceFile(name, source, version) : original_get(name, version);
  const original_exists = host.fileExists.bind(host);
  host.fileExists = (name) => path.resolve(name) === file_name || original_exists(name);
  const program = ts.createProgram([file_name], compiler_options, host);
  return ts.getPreEmitDiagnostics(program).map((d) => {
    const line = d.file && d.start !== undefined ? d.file.getLineAndCharacterOfPosition(d.start).line + 1 : 0;
    return `${line}: ${ts.flattenDiagnosticMessageText(d.messageText, "\n")}`;
  });
}

test("a new-style job type-checks under strict settings", () => {
  const diagnostics = typeCheck(`
import { ExecutionContext, FileSource, Stdout, Time, TumblingWindow, Tuple2, WatermarkStrategy, Generator } from "lightflus";

export default function (ctx: ExecutionContext): void {
  const words = ctx.fromSource(FileSource.lines(ctx.param("input", "in.txt")))
    .flatMap(line => line.split(" "))
    .map(word => new Tuple2(word, 1));
  const counted = words
    .assignTimestamps(() => Date.now(), WatermarkStrategy.boundedOutOfOrderness(Time.seconds(1)))
    .keyBy(pair => pair.t0)
    .window(TumblingWindow.of(Time.seconds(5)))
    .reduce((a, b) => new Tuple2(a.t0, a.t1 + b.t1));
  counted.union(ctx.fromSource(Generator.sequence(1, 3)).map(n => new Tuple2("n", n)))
    .sink(Stdout.new<Tuple2<string, number>>())
    .name("out")
    .parallelism(1);
  const total: Promise<unknown> = ctx.execute();
  void total;
}
`);
  assert.deepEqual(diagnostics, []);
});

test("an original-API job with import-equals and the original module paths type-checks", () => {
  const diagnostics = typeCheck(`
import { context } from "lightflus-api/src/stream/context";
import { kafka, redis, mysql } from "lightflus-api/src/connectors/connectors";
import ExecutionContext = context.ExecutionContext;
import Kafka = kafka.Kafka;
import Redis = redis.Redis;
import Mysql = mysql.Mysql;

async function wordCount(ctx: ExecutionContext) {
  let source = Kafka.builder().brokers(["localhost:9092"]).topic("topic").group("g").partition(0)
    .build<string>(undefined, typeof "");
  let sink = Redis.new<{ t0: number, t1: string }>()
    .host("localhost")
    .keyExtractor((v) => v.t1)
    .valueExtractor((v) => v.t0.toString());
  let db = Mysql.new<{ t0: number, t1: string }>()
    .connection({ host: "localhost", username: "u", password: "p", database: "d" })
    .statement("INSERT INTO c VALUES (?, ?)")
    .extractors(s => { s.setString(1, v => v.t1); s.setNumber(2, v => v.t0); });
  let stream = source.createFlow(ctx);
  let counts = stream.flatMap(value => value.split(" ").map(v => ({ t0: 1, t1: v })))
    .keyBy(v => v.t1)
    .window({ fixed: { size: { seconds: 3 } }, trigger: { watermark: { triggerTime: { seconds: 3, millis: 100 } } } })
    .reduce((v1, v2) => ({ t1: v1.t1, t0: v1.t0 + v2.t0 }));
  counts.sink(db);
  await counts.sink(sink).execute();
}

wordCount(ExecutionContext.new("wordCount", "default")).then();
`);
  assert.deepEqual(diagnostics, []);
});

test("the package's exports map gives editors the types for lightflus and the original paths", () => {
  // Self-reference through package.json "exports" (node16 resolution), no paths mapping.
  const diagnostics = typeCheck(
    `
import { ExecutionContext, Stdout } from "lightflus";
import { context } from "lightflus/src/stream/context";
const ctx: ExecutionContext = context.ExecutionContext.new("x");
ctx.fromSource({} as never).sink(Stdout.new());
`,
    { module: ts.ModuleKind.Node16, moduleResolution: ts.ModuleResolutionKind.Node16, paths: undefined, baseUrl: undefined },
  );
  assert.deepEqual(diagnostics, []);
});

test("type errors in a job are reported", () => {
  const diagnostics = typeCheck(`
import { ExecutionContext, FileSource, Time } from "lightflus";
export default function (ctx: ExecutionContext) {
  ctx.fromSource(FileSource.lines("in.txt")).map(line => line.length).filter(n => n.startsWith("a"));
  Time.seconds("5");
}
`);
  assert.equal(diagnostics.length, 2, diagnostics.join("\n"));
  assert.match(diagnostics[0], /^4: Property 'startsWith' does not exist on type 'number'/);
  assert.match(diagnostics[1], /^5: Argument of type 'string' is not assignable to parameter of type 'number'/);
});

test("jobs over two streams type-check, and a side's element type is checked", () => {
  const diagnostics = typeCheck(`
import { ExecutionContext, Generator, OutputTag, Stdout, Time, TumblingWindow } from "lightflus";
interface Order { id: number; customer: string }
interface Customer { id: string; name: string }
export default function (ctx: ExecutionContext) {
  const orders = ctx.fromSource(Generator.sequence(1, 9)).map((n): Order => ({ id: n, customer: "c" + n }));
  const customers = ctx.fromSource(Generator.sequence(1, 9)).map((n): Customer => ({ id: "c" + n, name: "n" }));
  orders.connect(customers)
    .keyBy((o) => o.customer, (c) => c.id)
    .process<string>({
      processElement1(o, c, out) { out.collect(o.customer + c.getCurrentKey()); },
      processElement2(x, c, out) { c.state.value<string>("name").update(x.name); },
      onTimer(t, c, out) { out.collect(c.timeDomain()); },
    })
    .uid("shipping")
    .sink(Stdout.new());
  const late = new OutputTag<Order>("late");
  const paid = orders.keyBy((o) => o.customer)
    .intervalJoin(customers.keyBy((c) => c.id))
    .between(-5000, Time.seconds(1))
    .lowerBoundExclusive()
    .sideOutputLeftLateData(late)
    .process((o, c, jc) => ({ order: o.id, name: c.name, at: jc.timestamp() }));
  const at: number = 0;
  paid.map((p) => p.order + at).sink(Stdout.new());
  paid.getSideOutput(late).map((o) => o.customer).sink(Stdout.new());
  orders.join(customers).where((o) => o.customer).equalTo((c) => c.id)
    .window(TumblingWindow.of(Time.seconds(10)))
    .apply((o, c) => o.id + c.name)
    .map((s) => s.length)
    .sink(Stdout.new());
  orders.connect(customers).keyBy((o) => o.customer, (c) => c.id).process({
    processElement1(o, c, out) {},
    processElement2(x, c, out) { x.customer; },
  });
}
`);
  assert.equal(diagnostics.length, 1, diagnostics.join("\n"));
  assert.match(diagnostics[0], /^34: Property 'customer' does not exist on type 'Customer'/);
});

test("an import-free job type-checks with the globals, in both module resolutions", () => {
  // The original documentation's style: no imports, the API's classes are globals. The job sits
  // in a project with the package in its node_modules, as a user's would.
  const job = `/// <reference types="lightflus/globals" />
async function wordCount(ctx: ExecutionContext): Promise<void> {
  const words: Dataflow<string> = ctx.fromSource(FileSource.lines(ctx.param("input", "in.txt")))
    .flatMap((line) => line.split(" "));
  const counts: KeyedDataflow<string, Tuple2<string, number>> = words
    .map((word) => new Tuple2(word, 1)).keyBy((pair) => pair.t0);
  counts.window(TumblingWindow.of(Time.seconds(5))).reduce((a, b) => new Tuple2(a.t0, a.t1 + b.t1))
    .union(ctx.fromSource(Generator.sequence(1, 3)).map((n) => new Tuple2("n", n)))
    .sink(Stdout.new<Tuple2<string, number>>());
  await ctx.execute();
}
wordCount(ExecutionContext.new("wordCount", "default")).then();
const typo: number = Time.seconds(1);
`;
  const fs = require("node:fs");
  const os = require("node:os");
  const project = fs.mkdtempSync(path.join(os.tmpdir(), "lightflus-globals-"));
  try {
    fs.mkdirSync(path.join(project, "node_modules"));
    fs.symlinkSync(PACKAGE_DIR, path.join(project, "node_modules", "lightflus"), "dir");
    const file = path.join(project, "job.ts");
    fs.writeFileSync(file, job);
    for (const [module, resolution] of [
      [ts.ModuleKind.CommonJS, ts.ModuleResolutionKind.Node10],
      [ts.ModuleKind.Node16, ts.ModuleResolutionKind.Node16],
    ]) {
      const options = { strict: true, noEmit: true, target: ts.ScriptTarget.ES2020, lib: ["lib.es2020.d.ts"],
                        types: [], module, moduleResolution: resolution };
      const program = ts.createProgram([file], options);
      const diagnostics = ts.getPreEmitDiagnostics(program).map((d) => {
        const line = d.file && d.start !== undefined ? d.file.getLineAndCharacterOfPosition(d.start).line + 1 : 0;
        return `${line}: ${ts.flattenDiagnosticMessageText(d.messageText, "\n")}`;
      });
      // Only the deliberate error: a Duration is not a number.
      assert.equal(diagnostics.length, 1, diagnostics.join("\n"));
      assert.match(diagnostics[0], /^13: Type 'Time' is not assignable to type 'number'/);
    }
  } finally {
    fs.rmSync(project, { recursive: true, force: true });
  }
});

test("the Nexmark queries in bench/nexmark type-check under strict settings", () => {
  const dir = path.join(PACKAGE_DIR, "..", "..", "bench", "nexmark");
  const queries = require("node:fs").readdirSync(dir).filter((name) => name.endsWith(".ts"));
  assert.ok(queries.includes("q1.ts"), `no TypeScript queries in ${dir}`);
  for (const name of queries) {
    const diagnostics = typeCheck(require("node:fs").readFileSync(path.join(dir, name), "utf8"));
    assert.deepEqual(diagnostics, [], `${name}:\n${diagnostics.join("\n")}`);
  }
});

test("the globals declare every class the runtime defines as a global", () => {
  const api = require("../dist/index.js");
  const globals = require("node:fs").readFileSync(path.join(PACKAGE_DIR, "dist", "types", "globals.d.ts"), "utf8");
  const declared = new Set([...globals.matchAll(/^\s*const (\w+): typeof/gm)].map((m) => m[1]));
  const defined = Object.keys(api).filter((name) => /^[A-Z]/.test(name));
  assert.deepEqual(defined.filter((name) => !declared.has(name)), []);
  assert.deepEqual([...declared].filter((name) => !defined.includes(name)), []);
});
