#!/usr/bin/env node
/// <reference types="node" />
/**
 * The `lightflus` command (docs/cli.md): deploys TypeScript jobs to a `lightflusd serve` server
 * and manages them over its REST API (docs/server.md).
 *
 * `run(argv, io)` does the work and returns the exit code, so tests call it in process; the
 * script at the bottom is the executable (dist/cli.js, the package's `bin`).
 */
import * as fs from "node:fs";
import { VERSION } from "../version";
import { parseArgs, parseParallelism, parseSets, resourceKind, stringFlag, type Invocation } from "./args";
import { bundleJob, mapPositions } from "./bundle";
import { Client, type JobDetail, type JobSummary } from "./client";
import { configPath, readConfig, resolveConnection, writeConfig, normaliseServer } from "./config";
import { deployJob } from "./deploy";
import { CliError, UsageError } from "./errors";
import { describeJob, jobTable } from "./format";
import { COMMAND_HELP, MAIN_HELP } from "./help";
import { scaffold } from "./scaffold";
import { DEFAULT_WAIT_TIMEOUT_MS, START_UP_CHECK_MS, outcome, parseDuration, waitForJob } from "./wait";

// For the tests (test/cli*.test.js), which load dist/cli.js.
export { parseArgs } from "./args";
export { bundleJob, entryFooter, mapPositions } from "./bundle";
export { readConfig, resolveConnection, writeConfig } from "./config";
export { age, jobTable } from "./format";
export { scaffold } from "./scaffold";

/** Where a command writes, and what it reads (tests pass their own). */
export interface Io {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  env: Record<string, string | undefined>;
  /** Reads standard input (for `config set-credential` without TOKEN). */
  stdin: () => string;
  cwd: string;
}

const defaultIo: Io = {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
  env: process.env,
  stdin: () => fs.readFileSync(0, "utf8"),
  cwd: process.cwd(),
};

/** Runs the CLI with `argv` (without "node" and the script); returns the exit code. */
export async function run(argv: readonly string[], io: Io = defaultIo): Promise<number> {
  try {
    const invocation = parseArgs(argv);
    if (invocation.flags.help === true || invocation.command === "help") {
      const topic = invocation.command === "help" ? invocation.args[0] : invocation.command;
      const text = topic === undefined ? MAIN_HELP : COMMAND_HELP[topic];
      if (text === undefined) throw new UsageError(`no help for "${topic}": it is not a command`);
      io.stdout(`${text}\n`);
      return 0;
    }
    await dispatch(invocation, io);
    return 0;
  } catch (error) {
    if (error instanceof CliError) {
      io.stderr(`lightflus: ${error.message}\n`);
      return error.exitCode;
    }
    io.stderr(`lightflus: internal error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    return 1;
  }
}

async function dispatch(invocation: Invocation, io: Io): Promise<void> {
  const { command, args } = invocation;
  const client = (): Client =>
    new Client(
      resolveConnection(
        { server: stringFlag(invocation, "server"), token: stringFlag(invocation, "token") },
        io.env,
        configPath(io.env),
      ),
    );
  switch (command) {
    case "version":
      io.stdout(`lightflus ${VERSION}\n`);
      return;
    case "apply":
      return apply(invocation, client, io);
    case "get": {
      resourceKind(args[0], "get");
      const format = outputFormat(invocation, ["table", "json"]);
      let jobs = await client().listJobs();
      if (args[1] !== undefined) jobs = jobs.filter((job) => job.id === args[1] || job.name === args[1]);
      if (args[1] !== undefined && jobs.length === 0) throw new CliError(`no job "${args[1]}" on ${client().connection.server}`);
      io.stdout(format === "json" ? `${JSON.stringify(jobs, null, 2)}\n` : `${jobTable(jobs)}\n`);
      return;
    }
    case "describe": {
      resourceKind(args[0], "describe");
      const format = outputFormat(invocation, ["text", "json"]);
      const job = await findJob(client(), args[1]!);
      io.stdout(format === "json" ? `${JSON.stringify(job, null, 2)}\n` : `${describeJob(job)}\n`);
      return;
    }
    case "delete": {
      resourceKind(args[0], "delete");
      const c = client();
      const job = await findJob(c, args[1]!);
      if (invocation.flags.savepoint === true) {
        const path = await c.stopWithSavepoint(job.id);
        io.stderr(`job ${job.name} (${job.id}) stopped with a savepoint\n`);
        io.stdout(`${path}\n`);
        return;
      }
      if (!(await c.deleteJob(job.id))) throw new CliError(`job ${args[1]} is already gone from ${c.connection.server}`);
      io.stdout(`job ${job.name} (${job.id}) deleted\n`);
      return;
    }
    case "savepoint": {
      const c = client();
      const job = await findJob(c, args[0]!);
      const path = await c.savepoint(job.id);
      io.stderr(`savepoint of job ${job.name} (${job.id}) taken\n`);
      io.stdout(`${path}\n`);
      return;
    }
    case "create":
    case "create-task": {
      const written = scaffold(args[0]!, io.cwd);
      for (const file of written) io.stdout(`created ${file}\n`);
      const bare = args[0]!.replace(/\.ts$/, "");
      io.stdout(`Deploy it with: lightflus apply -f ${bare}.ts\n`);
      return;
    }
    case "config":
      return config(invocation, io);
    default:
      throw new UsageError(`unknown command "${command}"`);
  }
}

async function apply(invocation: Invocation, client: () => Client, io: Io): Promise<void> {
  const file = stringFlag(invocation, "file");
  if (file === undefined) throw new UsageError("apply needs the job file: lightflus apply -f job.ts");
  const params = parseSets((invocation.flags.set as string[] | undefined) ?? []);
  const parallelism = parseParallelism(stringFlag(invocation, "parallelism"));
  const name = stringFlag(invocation, "name");
  if (invocation.flags["dry-run"] === true) {
    io.stdout((await bundleJob(file, io.cwd)).code);
    return;
  }
  const c = client();
  const from = stringFlag(invocation, "from");
  const allowNonRestoredState = invocation.flags["allow-non-restored-state"] === true;
  if (allowNonRestoredState && from === undefined)
    throw new UsageError("--allow-non-restored-state goes with --from SAVEPOINT");
  const wait = invocation.flags.wait === true;
  const timeout = stringFlag(invocation, "timeout");
  if (timeout !== undefined && !wait) throw new UsageError("--timeout goes with --wait");
  const timeout_ms = timeout === undefined ? DEFAULT_WAIT_TIMEOUT_MS : parseDuration(timeout, "--timeout");
  const bundle = await bundleJob(file, io.cwd);
  const job = await deployJob(c, { file, name, params, parallelism, from, allowNonRestoredState, cwd: io.cwd }, bundle);
  io.stderr(`job ${job.name} submitted to ${c.connection.server} (status ${job.status})\n`);
  // The id goes out even for a job that failed: it is what describe and delete take.
  io.stdout(`${job.id}\n`);
  // The server names positions in the bundle after the job ("job.js" until it knows the name).
  const describeError = (error: string): string =>
    [`${job.name}.js`, "job.js"].reduce((text, label) => mapPositions(text, label, bundle.sourceMap), error);
  if (!wait) {
    // A job failing at start-up (a missing file, a UDF throwing on its first record) fails
    // within its first report: look that long, then leave it running.
    await waitForJob(c, job, START_UP_CHECK_MS, describeError, () => undefined, "return");
    return;
  }
  // Progress while it starts (a restart after a crash says so in `error`); a failure is the
  // error waitForJob throws.
  const progress = (current: JobSummary): void => {
    if (outcome(current) !== undefined) return;
    io.stderr(`job ${current.name} is ${current.status}${current.error ? `: ${describeError(current.error)}` : ""}\n`);
  };
  const settled = await waitForJob(c, job, timeout_ms, describeError, progress);
  io.stderr(`job ${settled.name} (${settled.id}) is ${settled.status}\n`);
}

/** The job with id `key`, else the one job named `key`. */
async function findJob(client: Client, key: string): Promise<JobDetail> {
  const by_id = await client.getJob(key);
  if (by_id !== undefined) return by_id;
  const named: JobSummary[] = (await client.listJobs()).filter((job) => job.name === key);
  if (named.length === 0) {
    throw new CliError(`no job with the id or name "${key}" on ${client.connection.server} (see \`lightflus get jobs\`)`);
  }
  if (named.length > 1) {
    throw new CliError(`several jobs are named "${key}": use an id (${named.map((job) => job.id).join(", ")})`);
  }
  const job = await client.getJob(named[0]!.id);
  if (job === undefined) throw new CliError(`job "${key}" disappeared from ${client.connection.server}`);
  return job;
}

function outputFormat(invocation: Invocation, formats: string[]): string {
  const format = stringFlag(invocation, "output") ?? formats[0]!;
  if (!formats.includes(format)) {
    throw new UsageError(`--output must be ${formats.join(" or ")}, got "${format}"`);
  }
  return format;
}

function config(invocation: Invocation, io: Io): void {
  const file = configPath(io.env);
  const [action, value] = invocation.args;
  switch (action) {
    case "set-credential": {
      let token = value ?? stringFlag(invocation, "token");
      if (token === undefined) token = io.stdin().split("\n")[0];
      token = token?.trim();
      if (!token) throw new UsageError("set-credential needs a token: lightflus config set-credential TOKEN (or on stdin)");
      writeConfig({ ...readConfig(file), token }, file);
      io.stdout(`token stored in ${file}\n`);
      return;
    }
    case "delete-credential": {
      const { token: _removed, ...rest } = readConfig(file);
      void _removed;
      writeConfig(rest, file);
      io.stdout(`token removed from ${file}\n`);
      return;
    }
    case "set-server": {
      if (value === undefined) throw new UsageError("set-server needs a URL: lightflus config set-server http://HOST:PORT");
      const server = normaliseServer(value, "set-server");
      writeConfig({ ...readConfig(file), server }, file);
      io.stdout(`server ${server} stored in ${file}\n`);
      return;
    }
    case "view": {
      const stored = readConfig(file);
      io.stdout(`config file: ${file}\n`);
      io.stdout(`server: ${stored.server ?? "<not set>"}\n`);
      io.stdout(`token: ${stored.token === undefined ? "<not set>" : `${"*".repeat(Math.min(8, stored.token.length))} (set)`}\n`);
      return;
    }
    default:
      throw new UsageError(
        `unknown config action "${action}": use set-credential, delete-credential, set-server or view`,
      );
  }
}

if (require.main === module) {
  void run(process.argv.slice(2)).then((code) => {
    process.exitCode = code;
  });
}
