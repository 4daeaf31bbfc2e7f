/**
 * The runtime bundle (dist/lightflus-runtime.js): the script the C++ host evaluates in each
 * worker isolate before a job. It installs `globalThis.lightflus`: the whole public API (what a
 * job's `require("lightflus")` returns) plus the host entry points, all prefixed with `__`:
 *
 *   __udfs, __call, __runChain, __compileChain, __chainPosition  calling UDFs
 *   __require, __wrapJob, __runJob, __resolveJob                 loading and starting the job
 *   __setRemoteSubmitter (from the API), __version
 *
 * It also defines the API's classes (ExecutionContext, Kafka, Time, ...) as globals, so that jobs
 * written like the original documentation, without imports, run. docs/js-graph.md is the contract.
 */
import * as api from "./index";
import { callUdf, chainPosition, compileChain, runChain } from "./runtime/chain";
import { type JobOutcome, resolveJob, runJob, wrapJob } from "./runtime/job";
import { createRequire } from "./runtime/modules";
import { udfTable } from "./udf";
import { VERSION } from "./version";

const lightflus: Record<string, unknown> = { ...api };
const job_require = createRequire(lightflus);

Object.assign(lightflus, {
  __version: VERSION,
  __udfs: udfTable(),
  __call: callUdf,
  __runChain: runChain,
  __compileChain: compileChain,
  __chainPosition: chainPosition,
  __require: job_require,
  __wrapJob: wrapJob,
  __runJob: (job_function: Function, file_name: string): JobOutcome | Promise<JobOutcome> =>
    runJob(job_function, file_name, job_require),
  __resolveJob: resolveJob,
});

const global_object = globalThis as Record<string, unknown>;
global_object.lightflus = lightflus;
// The API's classes as globals: writable and configurable, so a job's own declarations win.
for (const [name, value] of Object.entries(api)) {
  if (/^[A-Z]/.test(name) && !(name in global_object)) {
    Object.defineProperty(global_object, name, { value, writable: true, configurable: true, enumerable: false });
  }
}

// An ES module marker: without any export, esbuild would treat this entry as CommonJS and wrap
// every module of the bundle in a lazy initialiser.
export {};
