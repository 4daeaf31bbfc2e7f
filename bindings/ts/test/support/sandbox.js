// Simulates the C++ host: a bare V8 context (no Node.js: no require, process, console or
// timers, no eval) in which the runtime bundle is evaluated, a fake __lightflusHost captures the
// submitted graphs, and TypeScript jobs are transpiled with TypeScript's transpileModule to
// CommonJS, wrapped with __wrapJob, compiled as a script and started with __runJob.
"use strict";

const fs = require("node:fs");
const path = require("node:path");
const vm = require("node:vm");
const ts = require("typescript");

const RUNTIME_PATH = path.join(__dirname, "..", "..", "dist", "lightflus-runtime.js");
const RUNTIME_SOURCE = fs.readFileSync(RUNTIME_PATH, "utf8");

/** Turns a value from the sandbox's realm into a plain value of this realm. */
function plain(value) {
  return value === undefined ? undefined : JSON.parse(JSON.stringify(value));
}

/** Transpiles a TypeScript job the way the host does. */
function transpile(source, file_name) {
  return ts.transpileModule(source, {
    fileName: file_name,
    compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2020 },
  }).outputText;
}

/**
 * A fresh sandbox: `{ context, lightflus, submitted, run(tsSource, fileName) }`.
 * `options.host === false` leaves __lightflusHost undefined.
 */
function createSandbox(options = {}) {
  const context = vm.createContext({}, { codeGeneration: { strings: false, wasm: false } });
  const submitted = [];
  if (options.host !== false) {
    context.__lightflusHost = {
      params: options.params ?? {},
      jobName: options.jobName,
      submit(graph) {
        // The C++ host serialises the graph (v8::JSON::Stringify); do the same.
        submitted.push(JSON.parse(JSON.stringify(graph)));
        return `job-${submitted.length}`;
      },
    };
  }
  vm.runInContext(RUNTIME_SOURCE, context, { filename: "lightflus-runtime.js" });
  const lightflus = context.lightflus;
  return {
    context,
    lightflus,
    submitted,
    /** Evaluates JavaScript in the sandbox (like the host evaluating a script). */
    evaluate(js, file_name = "script.js") {
      return vm.runInContext(js, context, { filename: file_name });
    },
    /** Transpiles, wraps, compiles and runs a TypeScript job; returns __runJob's outcome. */
    run(ts_source, file_name = "job.ts") {
      const wrapped = lightflus.__wrapJob(transpile(ts_source, file_name), file_name);
      const job_function = vm.runInContext(wrapped, context, { filename: file_name });
      return lightflus.__runJob(job_function, file_name);
    },
  };
}

module.exports = { createSandbox, transpile, plain, RUNTIME_PATH };
