// Inside the sandbox a job can require only the Lightflus API, under its own and the original
// API's names; Node.js built-ins and other packages throw the documented messages.
"use strict";

const test = require("node:test");
const assert = require("node:assert/strict");
const { createSandbox } = require("./support/sandbox");

test('require("fs") throws the documented message', () => {
  const { lightflus } = createSandbox();
  assert.throws(
    () => lightflus.__require("fs"),
    (error) => {
      assert.equal(
        error.message,
        'require("fs") is not available in a Lightflus job: jobs run sandboxed without Node.js built-ins',
      );
      assert.equal(error.name, "SandboxError");
      return true;
    },
  );
});

test("every Node.js built-in is refused, with or without the node: prefix", () => {
  const { lightflus } = createSandbox();
  for (const name of ["net", "child_process", "node:fs", "fs/promises", "http", "worker_threads", "process"]) {
    assert.throws(
      () => lightflus.__require(name),
      { message: `require(${JSON.stringify(name)}) is not available in a Lightflus job: jobs run sandboxed without Node.js built-ins` },
    );
  }
});

test("a job that requires fs fails when it is run, with the documented message", () => {
  const sandbox = createSandbox();
  assert.throws(
    () => sandbox.run(`import * as fs from "fs";\nexport default function (ctx) { fs.readFileSync("/etc/passwd"); }`, "steal.ts"),
    { message: 'require("fs") is not available in a Lightflus job: jobs run sandboxed without Node.js built-ins' },
  );
  assert.equal(sandbox.submitted.length, 0);
});

test("other packages and relative files are refused with their own reasons", () => {
  const { lightflus } = createSandbox();
  assert.throws(() => lightflus.__require("lodash"), {
    message: 'require("lodash") is not available in a Lightflus job: a job can import only "lightflus"; bundle other libraries into the job file',
  });
  assert.throws(() => lightflus.__require("./utils"), {
    message: 'require("./utils") is not available in a Lightflus job: a job is a single file; put the code it imports into the job file',
  });
  assert.throws(() => lightflus.__require("lightflus/nope"), /the lightflus package has no module "nope"/);
});

test("the package, its sub-paths and the original API's module paths all resolve to globalThis.lightflus", () => {
  const { lightflus } = createSandbox();
  const names = [
    "lightflus",
    "lightflus/context",
    "lightflus/connectors/kafka",
    "lightflus/src/window.ts",
    "lightflus-api",
    "lightflus-api/src/stream/context",
    "lightflus-api/src/stream/dataflow",
    "lightflus-api/src/connectors/connectors",
    "lightflus-api/src/connectors/kafka.js",
    "./stream/context",
    "../connectors/connectors",
  ];
  for (const name of names) assert.equal(lightflus.__require(name), lightflus, name);
  assert.equal(typeof lightflus.context.ExecutionContext.new, "function");
  assert.equal(lightflus.context.ExecutionContext, lightflus.ExecutionContext);
  assert.equal(lightflus.kafka.Kafka, lightflus.Kafka);
  assert.equal(lightflus.redis.Redis, lightflus.Redis);
  assert.equal(lightflus.mysql.Mysql, lightflus.Mysql);
  assert.equal(lightflus.connectors.Source, lightflus.Source);
});

test("the runtime needs no Node.js and no eval, and defines the API classes as globals", () => {
  // createSandbox() evaluates the bundle in a bare context with code generation from strings off.
  const sandbox = createSandbox();
  assert.equal(sandbox.evaluate("typeof require + typeof process + typeof module"), "undefinedundefinedundefined");
  assert.equal(sandbox.evaluate("ExecutionContext === lightflus.ExecutionContext && Time === lightflus.Time"), true);
  assert.equal(sandbox.evaluate("typeof context"), "undefined", "namespaces are not globals");
  assert.equal(sandbox.lightflus.__version, require("../package.json").version);
});
