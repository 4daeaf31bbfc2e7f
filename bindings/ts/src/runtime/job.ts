/**
 * Running a job module in the host. A job is a CommonJS module (TypeScript transpiled by the
 * host) in one of three styles:
 *   1. it builds its streams and calls `.execute()` itself (the original style);
 *   2. it default-exports a function that takes an ExecutionContext;
 *   3. it declares a function named like its file (`wordCount.ts` -> `function wordCount(ctx)`)
 *      that nothing calls (the original CLI's scaffold).
 * For 2 and 3 the host must call the function; `resolveJob` does that, with a context named after
 * the job, and executes the context if the function did not.
 *
 * Host steps: `src = __wrapJob(js, "wordCount")`; compile `src` as a script (origin: the job's
 * file name) to get a function `f`; `outcome = __runJob(f, "wordCount.ts")`. A host that
 * evaluates the module some other way calls `__resolveJob(module.exports, "wordCount", scope)`.
 */
import { ExecutionContext } from "../context";
import { ConfigError, describeValue } from "../errors";
import { currentHost, submissionCount } from "../host";

/** How the job's entry point was found. */
export type JobStyle = "execute" | "defaultExport" | "namedFunction";

/** What `__runJob` / `__resolveJob` report. */
export interface JobOutcome {
  style: JobStyle;
  /** The name of the function the host called (null for "execute"). */
  entry: string | null;
  /** How many graphs were submitted. */
  submitted: number;
}

const RESERVED_WORDS = new Set(
  (
    "await break case catch class const continue debugger default delete do else enum export extends " +
    "false finally for function if implements import in instanceof interface let new null package " +
    "private protected public return static super switch this throw true try typeof var void while " +
    "with yield arguments eval undefined"
  ).split(" "),
);

/** The base name of a job file: "jobs/wordCount.ts" -> "wordCount". */
export function jobBaseName(file_name: string): string {
  const base = String(file_name).split(/[\\/]/).pop() ?? "";
  return base.replace(/\.(d\.ts|ts|mts|cts|js|mjs|cjs)$/, "");
}

/**
 * The source of a function expression wrapping the transpiled job `js_source` as a CommonJS
 * module: `(function (exports, require, module, __filename, __dirname) {...})`. It returns the
 * job's own function named `file_base_name`, if the job declares one. The prefix has no line
 * break, so line numbers are those of `js_source` (columns shift on line 1 only).
 */
export function wrapJob(js_source: string, file_base_name: string): string {
  const name = jobBaseName(file_base_name);
  const lookup =
    /^[A-Za-z_$][\w$]*$/.test(name) && !RESERVED_WORDS.has(name)
      ? `return typeof ${name} === "function" && ${name} !== globalThis.${name} ? ${name} : undefined;`
      : "return undefined;";
  return `(function (exports, require, module, __filename, __dirname) {${js_source}\n;${lookup}\n})`;
}

/**
 * Runs a job wrapped by `wrapJob` and compiled by the host, then finds and runs its entry point
 * (see `resolveJob`). Returns the outcome, or a promise of it when the entry point is async.
 */
export function runJob(
  job_function: Function,
  file_name: string,
  require: (specifier: string) => unknown,
): JobOutcome | Promise<JobOutcome> {
  if (typeof job_function !== "function") {
    throw new ConfigError(`__runJob() expects the compiled job wrapper (a function), got ${describeValue(job_function)}`);
  }
  const base = jobBaseName(file_name);
  const slash = Math.max(file_name.lastIndexOf("/"), file_name.lastIndexOf("\\"));
  const dir_name = slash < 0 ? "." : file_name.slice(0, slash);
  const module = { exports: {} as unknown };
  const local_entry: unknown = job_function.call(module.exports, module.exports, require, module, file_name, dir_name);
  return resolveJob(module.exports, base, { [base]: local_entry });
}

/**
 * Finds and runs the entry point of an evaluated job module:
 *   - if the job already called execute(), there is nothing to do ("execute");
 *   - else `module.exports` itself or its `default`, if a function ("defaultExport");
 *   - else an exported function named `file_base_name`, or one in `scope` ("namedFunction").
 * The function gets `ExecutionContext.new(jobName, namespace)` (from the host object; by default
 * the file's base name and "default"); if it returns without executing, the context is executed.
 */
export function resolveJob(
  module_exports: unknown,
  file_base_name: string,
  scope: object = globalThis,
): JobOutcome | Promise<JobOutcome> {
  const base = jobBaseName(file_base_name);
  if (submissionCount() > 0) return { style: "execute", entry: null, submitted: submissionCount() };

  const exported = module_exports as Record<string, unknown> | null | undefined;
  let entry: Function | undefined;
  let style: JobStyle = "defaultExport";
  let entry_name = "default";
  if (typeof module_exports === "function") {
    entry = module_exports;
  } else if (exported !== null && typeof exported === "object" && typeof exported.default === "function") {
    entry = exported.default;
  } else {
    style = "namedFunction";
    entry_name = base;
    const candidates = [exported?.[base], (scope as Record<string, unknown> | null)?.[base]];
    entry = candidates.find((candidate): candidate is Function => isJobFunction(candidate));
  }
  if (entry === undefined) {
    throw new ConfigError(
      `job "${base}" has nothing to run: it did not call execute(), exports no default function, and ` +
        `declares no function ${base}(ctx). End a stream with .execute(), or write ` +
        `\`export default function (ctx: ExecutionContext) { ... }\``,
    );
  }

  const host = currentHost();
  const ctx = ExecutionContext.new(host?.jobName ?? base, host?.namespace ?? "default");
  const where = style === "defaultExport" ? "the default export" : `${base}(ctx)`;
  const finish = (): JobOutcome => {
    if (submissionCount() === 0) {
      if (ctx.operatorCount === 0) {
        throw new ConfigError(
          `job "${base}": ${where} built no stream on the context it was given: ` +
            `start streams with ctx.fromSource(source)`,
        );
      }
      ctx.execute();
    }
    return { style, entry: entry_name, submitted: submissionCount() };
  };
  const returned: unknown = entry(ctx);
  if (returned !== null && typeof returned === "object" && typeof (returned as PromiseLike<unknown>).then === "function") {
    return Promise.resolve(returned).then(finish);
  }
  return finish();
}

// A function the job declared, not a built-in or a global the runtime installed.
function isJobFunction(candidate: unknown): candidate is Function {
  if (typeof candidate !== "function") return false;
  if (/\{\s*\[native code\]\s*\}\s*$/.test(Function.prototype.toString.call(candidate))) return false;
  const lightflus = (globalThis as { lightflus?: Record<string, unknown> }).lightflus;
  return lightflus === undefined || !Object.values(lightflus).includes(candidate);
}
