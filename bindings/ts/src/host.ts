/**
 * The bridge to the host that runs the job: the C++ engine (`lightflusd run`, `lightflusd serve`)
 * or, later, the `lightflus` CLI under Node.js.
 *
 * The host installs `globalThis.__lightflusHost` before it runs the job:
 *   - `params`: job parameters (`--set name=value`), read by `ctx.param(name)`;
 *   - `submit(graph)`: receives the logical graph when the job calls `execute()`;
 *   - `jobName`, `namespace` (optional): used for the context the host creates for a job that
 *     exports a function instead of calling `execute()` itself.
 * Nothing here touches Node.js: the same code runs in a bare V8 context.
 */
import { ConfigError } from "./errors";
import type { LogicalGraph } from "./graph";

/** What the host provides as `globalThis.__lightflusHost`. */
export interface LightflusHost {
  params?: Record<string, string>;
  submit?: (graph: LogicalGraph) => unknown;
  jobName?: string;
  namespace?: string;
}

/** A function that submits a graph somewhere other than an embedding host. */
export type RemoteSubmitter = (graph: LogicalGraph) => unknown;

let remote_submitter: RemoteSubmitter | undefined;
let submission_count = 0;

/** The host object, or undefined when the job runs outside a Lightflus host. */
export function currentHost(): LightflusHost | undefined {
  const host = (globalThis as { __lightflusHost?: unknown }).__lightflusHost;
  return host !== null && typeof host === "object" ? (host as LightflusHost) : undefined;
}

/** The job parameter `name` as the host passed it, or undefined. */
export function hostParam(name: string): string | undefined {
  const params = currentHost()?.params;
  if (params === undefined || params === null) return undefined;
  return Object.prototype.hasOwnProperty.call(params, name) ? String(params[name]) : undefined;
}

/**
 * The hook for deploying without an embedding host. Under Node.js the package's entry
 * (src/cli/node_index.ts) installs a submitter here that sends the job to the server at
 * LIGHTFLUS_ENDPOINT when that is set; without one, `execute()` outside a host fails with
 * instructions.
 */
export function setRemoteSubmitter(submitter: RemoteSubmitter | undefined): void {
  remote_submitter = submitter;
}

/** How many graphs this isolate has submitted (the host checks it to see if execute() ran). */
export function submissionCount(): number {
  return submission_count;
}

/** Hands `graph` to the host (or the remote submitter) and returns what it returned. */
export function submitGraph(graph: LogicalGraph): unknown {
  const host = currentHost();
  let result: unknown;
  if (host !== undefined && typeof host.submit === "function") {
    result = host.submit(graph);
  } else if (remote_submitter !== undefined) {
    result = remote_submitter(graph);
  } else {
    throw new ConfigError(
      `execute(): job "${graph.job.name}" is not running inside a Lightflus host, so there is ` +
        `nothing to run it. Run it locally with \`lightflusd run job.ts\` or deploy it with ` +
        `\`lightflus apply -f job.ts\`.`,
    );
  }
  submission_count += 1;
  return result;
}
