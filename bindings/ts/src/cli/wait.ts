/**
 * Following a submitted job until it has started: `lightflus apply` and `apply --wait`.
 *
 * The server answers a submission once the job's process has loaded it (201, status
 * `running`), but a job can still fail a moment later: a missing input file, a UDF that throws
 * on the first record, a process that crashes. `apply` watches the job until its first report
 * (at most START_UP_CHECK_MS) and reports it if it fails before that; `apply --wait` polls `GET /v1/jobs/{id}` (the REST API, no second one) until the
 * job has run (its process reported its operators, no restart pending) or finished, fails, or
 * the timeout passes.
 */
import type { Client, JobDetail, JobSummary } from "./client";
import { CliError, UsageError } from "./errors";

/** How often `--wait` asks the server (the job's process reports every 250 ms). */
export const POLL_INTERVAL_MS = 250;

/** `apply --wait` without `--timeout`. */
export const DEFAULT_WAIT_TIMEOUT_MS = 60_000;

/**
 * The longest `apply` without `--wait` watches a job that the server reports running before it
 * exits. It returns as soon as the job's process has opened its sources and reported once
 * (every 250 ms, usually within a second), so that a job failing at start-up (a missing input
 * file) exits non-zero; the bound is generous because a loaded machine (CI) can take seconds to
 * start a job process.
 */
export const START_UP_CHECK_MS = 10_000;

/** A job that failed (or was stopped or removed) before it ran; exit code 1. */
export class JobFailedError extends CliError {
  constructor(
    message: string,
    readonly job: JobSummary,
  ) {
    super(message);
    this.name = "JobFailedError";
  }
}

/**
 * Parses a duration: `90` or `90s` (seconds), `500ms`, `2m`. Throws UsageError naming `flag`
 * otherwise.
 */
export function parseDuration(text: string, flag: string): number {
  const match = /^([0-9]+(?:\.[0-9]+)?)(ms|s|m)?$/.exec(text.trim());
  if (match === null) {
    throw new UsageError(`${flag} expects a duration such as 30s, 2m or 500ms, got "${text}"`);
  }
  const value = Number(match[1]);
  const unit = match[2] ?? "s";
  return Math.round(value * (unit === "ms" ? 1 : unit === "s" ? 1000 : 60_000));
}

/** Whether a job has settled: undefined while it starts (or restarts), else the outcome. */
export function outcome(job: JobSummary | JobDetail): "running" | "finished" | "failed" | "stopped" | undefined {
  switch (job.status) {
    case "finished":
    case "failed":
    case "stopped":
      return job.status;
    case "running": {
      // A crashed job waiting for its restart stays `running` with `error` set.
      if (job.error !== null && job.error !== undefined && job.error !== "") return undefined;
      // Operators appear with the job process's first report: the job has run.
      const operators = (job as Partial<JobDetail>).operators;
      return operators !== undefined && operators.length > 0 ? "running" : undefined;
    }
    default:
      return undefined;
  }
}

/** The error for a job that did not run: `describeError` rewrites positions in its error. */
export function failure(job: JobSummary, server: string, describeError: (error: string) => string): JobFailedError {
  const error = job.error ? describeError(job.error) : "(the server gives no reason)";
  const what = job.status === "stopped" ? "was stopped" : "failed";
  return new JobFailedError(
    `job ${job.name} (${job.id}) ${what} on ${server}: ${error}\n` +
      `  (\`lightflus describe job ${job.id}\` shows it; \`lightflus delete job ${job.id}\` removes it)`,
    job,
  );
}

/** How `waitForJob` ends when the time is up. */
export type OnTimeout = "throw" | "return";

/**
 * Polls the job until it runs or finishes (returns it) or fails, is stopped or removed (throws
 * JobFailedError), or `timeout_ms` passes (throws CliError; with `on_timeout` "return", returns
 * the job as it is then).
 */
export async function waitForJob(
  client: Client,
  submitted: JobSummary,
  timeout_ms: number,
  describeError: (error: string) => string,
  onStatus: (job: JobSummary) => void = () => undefined,
  on_timeout: OnTimeout = "throw",
): Promise<JobSummary> {
  const server = client.connection.server;
  const deadline = Date.now() + timeout_ms;
  let job: JobSummary = submitted;
  let last_seen = `${submitted.status} ${submitted.error ?? ""}`;
  for (;;) {
    const settled = outcome(job);
    if (settled === "running" || settled === "finished") return job;
    if (settled !== undefined) throw failure(job, server, describeError);
    if (Date.now() >= deadline) {
      if (on_timeout === "return") return job;
      throw new CliError(
        `job ${job.name} (${job.id}) is still ${job.status}${job.error ? ` (${describeError(job.error)})` : ""} ` +
          `after ${timeout_ms / 1000} s of waiting; \`lightflus describe job ${job.id}\` shows it, ` +
          `--timeout waits longer`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, Math.min(POLL_INTERVAL_MS, Math.max(0, deadline - Date.now()))));
    const current = await client.getJob(job.id);
    if (current === undefined) {
      throw new JobFailedError(`job ${job.name} (${job.id}) is gone from ${server}: it was deleted while starting`, job);
    }
    job = current;
    if (`${job.status} ${job.error ?? ""}` !== last_seen) {
      last_seen = `${job.status} ${job.error ?? ""}`;
      onStatus(job);
    }
  }
}
