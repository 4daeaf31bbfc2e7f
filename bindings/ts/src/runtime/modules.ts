/**
 * The module registry of a job: what `require(...)` returns inside the sandbox.
 *
 * A job can import the Lightflus API under its own name and under the original API's paths;
 * all of them are the one `lightflus` namespace:
 *   - "lightflus", "lightflus-api", and their sub-paths such as "lightflus/context",
 *     "lightflus-api/src/stream/context", "lightflus-api/src/connectors/connectors";
 *   - the relative paths of the original API's own examples ("./stream/context",
 *     "./connectors/connectors", ...).
 * Everything else throws a SandboxError; Node.js built-ins with the message
 * `require("fs") is not available in a Lightflus job: jobs run sandboxed without Node.js built-ins`.
 */
import { SandboxError } from "../errors";

const PACKAGE_NAMES = ["lightflus", "lightflus-api"];

// Sub-paths of the package (after an optional "src/" or "dist/", without extension).
const KNOWN_PATHS = new Set([
  "",
  "index",
  // The original API's layout.
  "stream/context",
  "stream/dataflow",
  "connectors/connectors",
  "connectors/kafka",
  "connectors/redis",
  "connectors/mysql",
  // This package's layout.
  "context",
  "dataflow",
  "time",
  "window",
  "watermark",
  "tuple",
  "errors",
  "graph",
  "compat",
  "connectors/connector",
  "connectors/file",
  "connectors/stdout",
  "connectors/generator",
  "connectors/nexmark",
  "connectors/blackhole",
  "connectors/elastic",
  "connectors/http",
]);

const NODE_BUILTINS = new Set([
  "assert", "async_hooks", "buffer", "child_process", "cluster", "console", "constants", "crypto",
  "dgram", "diagnostics_channel", "dns", "domain", "events", "fs", "http", "http2", "https",
  "inspector", "module", "net", "os", "path", "perf_hooks", "process", "punycode", "querystring",
  "readline", "repl", "stream", "string_decoder", "sys", "timers", "tls", "trace_events", "tty",
  "url", "util", "v8", "vm", "wasi", "worker_threads", "zlib",
]);

/** Returns the `require` function of a job, resolving the Lightflus module names to `api`. */
export function createRequire(api: object): (specifier: string) => unknown {
  return function require(specifier: string): unknown {
    const reason = rejection(specifier);
    if (reason !== undefined) {
      throw new SandboxError(`require(${JSON.stringify(String(specifier))}) is not available in a Lightflus job: ${reason}`);
    }
    return api;
  };
}

/** Why `specifier` cannot be required, or undefined when it names the Lightflus API. */
function rejection(specifier: unknown): string | undefined {
  if (typeof specifier !== "string" || specifier.length === 0) return "a module name must be a non-empty string";
  if (specifier.startsWith("node:") || NODE_BUILTINS.has(specifier.split("/")[0]!)) {
    return "jobs run sandboxed without Node.js built-ins";
  }
  const relative = /^(\.\.?\/)+/.exec(specifier);
  if (relative !== null) {
    const path = normalise(specifier.slice(relative[0].length));
    if (path !== "" && KNOWN_PATHS.has(path)) return undefined;
    return "a job is a single file; put the code it imports into the job file";
  }
  for (const name of PACKAGE_NAMES) {
    if (specifier === name) return undefined;
    if (specifier.startsWith(`${name}/`)) {
      if (KNOWN_PATHS.has(normalise(specifier.slice(name.length + 1)))) return undefined;
      return `the ${name} package has no module "${specifier.slice(name.length + 1)}"; import from "lightflus"`;
    }
  }
  return 'a job can import only "lightflus"; bundle other libraries into the job file';
}

function normalise(path: string): string {
  return path
    .replace(/^(src|dist)\//, "")
    .replace(/\.(d\.ts|ts|js|cjs|mjs)$/, "")
    .replace(/(^|\/)index$/, "");
}
