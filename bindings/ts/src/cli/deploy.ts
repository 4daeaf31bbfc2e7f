/// <reference types="node" />
/**
 * Deploying jobs: `lightflus apply` and, as in the original Lightflus, running a job with Node.js
 * while LIGHTFLUS_ENDPOINT is set (`LIGHTFLUS_ENDPOINT=http://host:8080 node dist/wordCount.js`).
 *
 * The server runs a job's source, not a graph: its UDFs are JavaScript functions that run in the
 * server's V8 isolates. So both paths bundle the job's entry file with esbuild (bundle.ts) and
 * POST the bundle as JavaScript in a JSON envelope, with its source map, so that the server
 * reports errors (in `describe`, in the REST API) at the user's files and lines. Under Node.js the entry file is the script
 * Node.js runs (`process.argv[1]`, compiled JS or TypeScript run by a loader such as tsx), and
 * the job parameters the run resolved with `ctx.param()` go along, so that the server builds the
 * same graph.
 */
import * as path from "node:path";
import type { LogicalGraph } from "../graph";
import { setRemoteSubmitter } from "../host";
import { bundleJob, mapPositions, type Bundle } from "./bundle";
import { Client, type JobSummary } from "./client";
import { normaliseServer, resolveConnection, type Connection } from "./config";
import { CliError, ServerError } from "./errors";
import * as fs from "node:fs";

/** What to deploy: the job file and the envelope's fields. */
export interface DeployOptions {
  file: string;
  name?: string | undefined;
  params: Record<string, string>;
  parallelism?: number | undefined;
  /** A savepoint on the server to start from, and whether state for missing operators may go. */
  from?: string | undefined;
  allowNonRestoredState?: boolean | undefined;
  /** The folder `file` and the file names in messages are relative to (default: the current one). */
  cwd?: string | undefined;
}

/** The name the server gives a job without `name`, and the label of its errors. */
function serverLabel(name: string | undefined): string {
  return `${name ?? "job"}.js`;
}

/**
 * The name to submit when none is given: none when the job calls execute() itself (the server
 * then takes the name from `ExecutionContext.new(name)`); else the file's base name, which the
 * server also needs to find the scaffold's function.
 */
export function defaultJobName(bundle: Bundle): string | undefined {
  if (bundle.callsExecute) return undefined;
  return /^[A-Za-z0-9_.-]{1,64}$/.test(bundle.baseName) ? bundle.baseName : undefined;
}

/** The job file as the user wrote it, named relative to `cwd`, for the server to show. */
function originalOf(options: DeployOptions): { file: string; source: string } {
  const cwd = options.cwd ?? process.cwd();
  const absolute = path.resolve(cwd, options.file);
  const relative = path.relative(cwd, absolute);
  const file = relative === "" || relative.startsWith("..") ? path.basename(absolute) : relative;
  return { file, source: fs.readFileSync(absolute, "utf8") };
}

/** Bundles and submits a job; returns the server's answer. Errors name the user's lines. */
export async function deployJob(client: Client, options: DeployOptions, bundle?: Bundle): Promise<JobSummary> {
  const bundled = bundle ?? (await bundleJob(options.file, options.cwd));
  const name = options.name ?? defaultJobName(bundled);
  try {
    return await client.submitJob({
      ...(name === undefined ? {} : { name }),
      source: bundled.code,
      params: options.params,
      ...(options.parallelism === undefined ? {} : { parallelism: options.parallelism }),
      language: "js",
      sourceMap: bundled.sourceMap,
      original: originalOf(options),
      ...(options.from === undefined ? {} : { from: options.from }),
      ...(options.allowNonRestoredState === true ? { allowNonRestoredState: true } : {}),
    });
  } catch (error) {
    if (error instanceof ServerError && error.status === 400) {
      const detail = mapPositions(error.detail, serverLabel(name), bundled.sourceMap);
      throw new CliError(`the server rejected the job ${options.file}: ${detail}`);
    }
    throw error;
  }
}

type Env = Record<string, string | undefined>;

/** The server LIGHTFLUS_ENDPOINT (or LIGHTFLUS_SERVICE_HOST and _PORT) names, or undefined. */
export function endpointFromEnv(env: Env = process.env): string | undefined {
  if (env.LIGHTFLUS_ENDPOINT) return normaliseServer(env.LIGHTFLUS_ENDPOINT, "LIGHTFLUS_ENDPOINT");
  if (env.LIGHTFLUS_SERVICE_HOST) return resolveConnection({}, { ...env, LIGHTFLUS_TOKEN: "unused" }).server;
  return undefined;
}

/**
 * Under Node.js with LIGHTFLUS_ENDPOINT set, makes `execute()` deploy the running script to that
 * server (the package's Node.js entry, node_index.ts, calls this when it is loaded). Without the
 * variable nothing is installed, and execute() fails with its usual instructions.
 *
 * A script in the scaffold's style (a function named like the file, never called) submits no
 * graph; when such a script ends without having deployed anything, it is deployed then.
 */
export function installNodeDeployer(env: Env = process.env): void {
  const endpoint = endpointFromEnv(env);
  const entry = process.argv[1];
  if (endpoint === undefined || entry === undefined) return;

  let deployed = false;
  const deploy = (name: string | undefined, params: Record<string, string>): Promise<JobSummary> => {
    deployed = true;
    const run = async (): Promise<JobSummary> => {
      const connection: Connection = {
        ...resolveConnection({ server: endpoint }, env),
        serverSource: env.LIGHTFLUS_ENDPOINT ? "LIGHTFLUS_ENDPOINT" : "LIGHTFLUS_SERVICE_HOST/LIGHTFLUS_SERVICE_PORT",
      };
      const job = await deployJob(new Client(connection), { file: entry, name, params });
      process.stdout.write(`lightflus: deployed job ${job.name} (id ${job.id}) to ${connection.server}\n`);
      return job;
    };
    const result = run();
    // Report here, once and readably; callers that await execute() still see the rejection.
    result.catch((error: unknown) => {
      process.stderr.write(`lightflus: ${error instanceof Error ? error.message : String(error)}\n`);
      process.exitCode = 1;
    });
    return result;
  };

  setRemoteSubmitter((graph: LogicalGraph) => {
    const params: Record<string, string> = {};
    for (const [key, value] of Object.entries(graph.job.params ?? {})) params[key] = String(value);
    return deploy(graph.job.name, params);
  });

  process.once("beforeExit", () => {
    if (deployed || process.exitCode) return;
    const base = path.basename(entry).replace(/\.(ts|mts|cts|js|mjs|cjs)$/, "");
    if (!/^[A-Za-z_]\w*$/.test(base)) return;
    let source = "";
    try {
      source = fs.readFileSync(entry, "utf8");
    } catch {
      return;
    }
    if (new RegExp(`function\\s+${base}\\s*\\(`).test(source)) {
      void deploy(base, {}).catch(() => undefined);
    }
  });
}
