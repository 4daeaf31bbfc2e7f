// The host finds a job's entry point in the three styles: execute() called by the job, a default
// export taking an ExecutionContext, or a function named like the file that nothing calls.
"use strict";

const test = require("node:test");
const assert = require("node:assert/strict");
const { createSandbox, plain } = require("./support/sandbox");

const BODY = `ctx.fromSource(Generator.sequence(1, 3)).map((n: number) => n * 2).sink(Stdout.new())`;

test("style 1: a job that calls execute() is submitted while it is evaluated", () => {
  const sandbox = createSandbox();
  const outcome = sandbox.run(
    `import { ExecutionContext, Generator, Stdout } from "lightflus";
     const ctx = ExecutionContext.new("doubler");
     ${BODY}.execute();`,
    "doubler.ts",
  );
  assert.deepEqual(plain(outcome), { style: "execute", entry: null, submitted: 1 });
  assert.equal(sandbox.submitted[0].job.name, "doubler");
});

test("style 2: a default-exported function gets a context named after the file and is executed", () => {
  const sandbox = createSandbox();
  const outcome = sandbox.run(
    `import { ExecutionContext, Generator, Stdout } from "lightflus";
     export default function (ctx: ExecutionContext) { ${BODY}; }`,
    "jobs/doubler.ts",
  );
  assert.deepEqual(plain(outcome), { style: "defaultExport", entry: "default", submitted: 1 });
  assert.deepEqual(sandbox.submitted[0].job, { name: "doubler", namespace: "default", params: {} });
  assert.deepEqual(
    sandbox.submitted[0].operators.map((op) => op.kind),
    ["source", "map", "sink"],
  );
});

test("style 2: the host's job name wins, and a default export that executes is not executed twice", () => {
  const sandbox = createSandbox({ jobName: "from-host" });
  const outcome = sandbox.run(
    `import { ExecutionContext, Generator, Stdout } from "lightflus";
     export default function (ctx: ExecutionContext) { ${BODY}.execute(); }`,
    "doubler.ts",
  );
  assert.deepEqual(plain(outcome), { style: "defaultExport", entry: "default", submitted: 1 });
  assert.equal(sandbox.submitted[0].job.name, "from-host");
});

test("style 2: an async default export resolves to the outcome", async () => {
  const sandbox = createSandbox();
  const outcome = sandbox.run(
    `import { ExecutionContext, Generator, Stdout } from "lightflus";
     export default async function (ctx: ExecutionContext) { await null; ${BODY}; }`,
    "doubler.ts",
  );
  assert.equal(typeof outcome.then, "function");
  assert.deepEqual(plain(await outcome), { style: "defaultExport", entry: "default", submitted: 1 });
  assert.equal(sandbox.submitted.length, 1);
});

test("style 3: an uncalled function named like the file is the entry point", () => {
  const sandbox = createSandbox();
  const outcome = sandbox.run(
    `import { ExecutionContext, Generator, Stdout } from "lightflus";
     function helper(n: number) { return n; }
     function wordCount(ctx: ExecutionContext) { ${BODY}; }`,
    "wordCount.ts",
  );
  assert.deepEqual(plain(outcome), { style: "namedFunction", entry: "wordCount", submitted: 1 });
  assert.equal(sandbox.submitted[0].job.name, "wordCount");
});

test("style 3 also finds an exported function named like the file", () => {
  const sandbox = createSandbox();
  const outcome = sandbox.run(
    `import { ExecutionContext, Generator, Stdout } from "lightflus";
     export function wordCount(ctx: ExecutionContext) { ${BODY}; }`,
    "wordCount.ts",
  );
  assert.deepEqual(plain(outcome), { style: "namedFunction", entry: "wordCount", submitted: 1 });
});

test("__resolveJob finds a function named like the file in a scope the host gives", () => {
  // A host that evaluates an import-free job as a classic script passes the global object.
  const sandbox = createSandbox();
  sandbox.evaluate(`function clicks(ctx) { ctx.fromSource(Generator.sequence(1, 2)).print(); }`, "clicks.js");
  const outcome = sandbox.lightflus.__resolveJob({}, "clicks", sandbox.context);
  assert.deepEqual(plain(outcome), { style: "namedFunction", entry: "clicks", submitted: 1 });
});

test("a file named like a global (Map.ts) does not run the global", () => {
  const sandbox = createSandbox();
  assert.throws(() => sandbox.run(`const x = 1;`, "Map.ts"), /job "Map" has nothing to run/);
  assert.throws(() => sandbox.run(`const x = 1;`, "Generator.ts"), /job "Generator" has nothing to run/);
  // Reserved words and file names that are not identifiers are safe to wrap.
  assert.throws(() => sandbox.run(`const x = 1;`, "default.ts"), /job "default" has nothing to run/);
  assert.throws(() => sandbox.run(`const x = 1;`, "word-count.ts"), /job "word-count" has nothing to run/);
});

test("a job with no entry point, or whose entry point builds nothing, fails with a clear message", () => {
  const sandbox = createSandbox();
  assert.throws(
    () => sandbox.run(`import { Time } from "lightflus"; const t = Time.seconds(1);`, "idle.ts"),
    /job "idle" has nothing to run: it did not call execute\(\), exports no default function, and declares no function idle\(ctx\)/,
  );
  assert.throws(
    () => sandbox.run(`export default function (ctx) { }`, "empty.ts"),
    /job "empty": the default export built no stream on the context it was given/,
  );
});

test("execute() without a host throws at once, saying how to run the job", () => {
  const sandbox = createSandbox({ host: false });
  assert.throws(
    () =>
      sandbox.run(
        `import { ExecutionContext, Generator, Stdout } from "lightflus";
         const ctx = ExecutionContext.new("doubler");
         ${BODY}.execute();`,
        "doubler.ts",
      ),
    (error) => {
      assert.equal(error.name, "ConfigError");
      assert.match(error.message, /job "doubler" is not running inside a Lightflus host/);
      assert.match(error.message, /lightflusd run job\.ts/);
      assert.match(error.message, /lightflus apply -f job\.ts/);
      return true;
    },
  );
});

test("the remote submitter hook receives the graph when there is no host", () => {
  const sandbox = createSandbox({ host: false });
  const received = [];
  sandbox.lightflus.__setRemoteSubmitter((graph) => {
    received.push(plain(graph));
    return "remote-1";
  });
  sandbox.run(
    `import { ExecutionContext, Generator, Stdout } from "lightflus";
     const ctx = ExecutionContext.new("doubler");
     ${BODY}.execute();`,
    "doubler.ts",
  );
  assert.equal(received.length, 1);
  assert.equal(received[0].job.name, "doubler");
});

test("ctx.param reads --set values from the host, with typed defaults", () => {
  const sandbox = createSandbox({ params: { topic: "clicks", windowSeconds: "10", debug: "true" } });
  sandbox.run(
    `import { ExecutionContext, Generator, Stdout } from "lightflus";
     export default function (ctx: ExecutionContext) {
       const topic: string = ctx.param("topic");
       const seconds: number = ctx.param("windowSeconds", 5);
       const debug: boolean = ctx.param("debug", false);
       const missing: number = ctx.param("missing", 7);
       ctx.fromSource(Generator.sequence(0, seconds + missing)).name(topic + (debug ? "-debug" : "")).print();
     }`,
    "params.ts",
  );
  const graph = sandbox.submitted[0];
  assert.deepEqual(graph.job.params, { topic: "clicks", windowSeconds: 10, debug: true, missing: 7 });
  assert.equal(graph.operators[0].name, "clicks-debug");
  assert.equal(graph.operators[0].connector.to, 17);
});

test("ctx.param without a value or default, or with a value of the wrong type, throws", () => {
  const sandbox = createSandbox({ params: { n: "ten" } });
  assert.throws(
    () => sandbox.evaluate(`lightflus.ExecutionContext.new("p").param("topic")`),
    { message: 'job parameter "topic" is not set: pass --set topic=VALUE, or give a default: ctx.param("topic", "default value")' },
  );
  assert.throws(() => sandbox.evaluate(`lightflus.ExecutionContext.new("p").param("n", 1)`), /job parameter "n" must be a number, got "ten"/);
});
