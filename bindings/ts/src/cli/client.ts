/// <reference types="node" />
/**
 * The REST client of `lightflusd serve` (docs/server.md): one function per route, each turning
 * the server's JSON errors `{"error", "detail"}` and connection failures into a CliError whose
 * message says what went wrong and what to do. It talks only to the configured server.
 */
import * as http from "node:http";
import * as https from "node:https";
import type { SourceMapV3 } from "./bundle";
import type { Connection } from "./config";
import { CliError, ServerError } from "./errors";

/** A job as `GET /v1/jobs` lists it. */
export interface JobSummary {
  id: string;
  name: string;
  status: string;
  parallelism: number;
  error: string | null;
  recordsIn: number;
  recordsOut: number;
  /** When the job was submitted, if the server says (epoch milliseconds or an ISO date). */
  createdAt?: number | string;
}

/** A job's operator as `GET /v1/jobs/{id}` describes it. */
export interface OperatorMetrics {
  id: number;
  name: string;
  kind: string;
  parallelism: number;
  recordsIn: number;
  recordsOut: number;
  lateDropped: number;
  backpressureMs: number;
  queued: number;
  queueCapacity: number;
}

/** A job as `GET /v1/jobs/{id}` describes it. */
export interface JobDetail extends JobSummary {
  params: Record<string, string>;
  plan: string;
  graph: unknown;
  operators: OperatorMetrics[];
}

/** What `POST /v1/jobs` takes: the JSON envelope. */
export interface JobSubmission {
  name?: string;
  source: string;
  params: Record<string, string>;
  parallelism?: number;
  language: "js" | "ts";
  /**
   * The source map of `source` (JavaScript): the server reports the job's errors at the files,
   * lines and columns it names (`wordCount.ts:12:7`), not in `source`.
   */
  sourceMap?: SourceMapV3;
  /**
   * The file `source` was made from, for people to read: the web console shows it, and
   * `GET /v1/jobs/{id}/source?original=true` returns it. The server never runs it.
   */
  original?: { file: string; source: string };
  /** A savepoint (or checkpoint) file on the server to start from. */
  from?: string;
  /** With `from`: drop the state of operators the job no longer has. */
  allowNonRestoredState?: boolean;
}

/** `lightflusd serve --max-body-bytes` by default (docs/server.md). */
const DEFAULT_MAX_BODY_BYTES = 10 * 1024 * 1024;

interface Answer {
  status: number;
  body: string;
}

/** A client for one server. */
export class Client {
  constructor(
    readonly connection: Connection,
    private readonly timeout_ms = 60_000,
  ) {}

  /** `GET /v1/jobs`. */
  async listJobs(): Promise<JobSummary[]> {
    const answer = await this.request("GET", "/v1/jobs");
    return (this.json(answer) as { jobs: JobSummary[] }).jobs;
  }

  /** `GET /v1/jobs/{id}`; undefined when there is no such job. */
  async getJob(id: string): Promise<JobDetail | undefined> {
    const answer = await this.request("GET", `/v1/jobs/${encodeURIComponent(id)}`, undefined, [404]);
    return answer.status === 404 ? undefined : (this.json(answer) as JobDetail);
  }

  /** `POST /v1/jobs`: submits a job and returns what the server says about it. */
  async submitJob(job: JobSubmission): Promise<JobSummary> {
    return this.json(await this.request("POST", "/v1/jobs", JSON.stringify(job))) as JobSummary;
  }

  /** `DELETE /v1/jobs/{id}`: false when there is no such job. */
  async deleteJob(id: string): Promise<boolean> {
    const answer = await this.request("DELETE", `/v1/jobs/${encodeURIComponent(id)}`, undefined, [404]);
    return answer.status !== 404;
  }

  /** `DELETE /v1/jobs/{id}?savepoint=true`: stops the job with a savepoint; returns its path. */
  async stopWithSavepoint(id: string): Promise<string> {
    const answer = await this.request("DELETE", `/v1/jobs/${encodeURIComponent(id)}?savepoint=true`);
    return (this.json(answer) as { savepoint: string }).savepoint;
  }

  /** `POST /v1/jobs/{id}/savepoint`: takes a savepoint of a running job; returns its path. */
  async savepoint(id: string): Promise<string> {
    const answer = await this.request("POST", `/v1/jobs/${encodeURIComponent(id)}/savepoint`, "");
    return (this.json(answer) as { savepoint: string }).savepoint;
  }

  private json(answer: Answer): unknown {
    try {
      return JSON.parse(answer.body);
    } catch {
      throw new CliError(`${this.connection.server} answered ${answer.status} with something that is not JSON: ` +
        `${answer.body.slice(0, 200)} (is it a Lightflus server?)`);
    }
  }

  /**
   * Sends a request; an error status not in `allowed` becomes a ServerError.
   *
   * A body goes with `Expect: 100-continue`: the server checks the header (the token, the body
   * limit) first and refuses with 401 or 413 before the body is sent, so a job over the limit
   * gets the server's answer rather than `write EPIPE`. A server that does not answer the
   * expectation within a second gets the body anyway (as curl does).
   */
  private request(method: string, route: string, body?: string, allowed: number[] = []): Promise<Answer> {
    const server = this.connection.server;
    const url = new URL(server + route);
    const headers: Record<string, string> = { Accept: "application/json" };
    const body_bytes = body === undefined ? 0 : Buffer.byteLength(body);
    if (body !== undefined) {
      headers["Content-Type"] = "application/json";
      headers["Content-Length"] = String(body_bytes);
      if (body_bytes > 0) headers.Expect = "100-continue";
    }
    if (this.connection.token !== undefined) headers.Authorization = `Bearer ${this.connection.token}`;
    const transport = url.protocol === "https:" ? https : http;
    return new Promise<Answer>((resolve, reject) => {
      let body_sent = headers.Expect === undefined;
      let continue_timer: NodeJS.Timeout | undefined;
      const request = transport.request(url, { method, headers, timeout: this.timeout_ms }, (response) => {
        // An answer before "100 Continue" refuses the body: it is never sent.
        const refused_early = !body_sent;
        body_sent = true;
        clearTimeout(continue_timer);
        const chunks: Buffer[] = [];
        response.on("data", (chunk: Buffer) => chunks.push(chunk));
        response.on("error", (error) => reject(this.connectionError(error)));
        response.on("end", () => {
          const answer = { status: response.statusCode ?? 0, body: Buffer.concat(chunks).toString("utf8") };
          if ((answer.status >= 200 && answer.status < 300) || allowed.includes(answer.status)) {
            resolve(answer);
          } else {
            reject(this.serverError(method, route, answer, body_bytes));
          }
          if (refused_early) request.destroy();
        });
      });
      const sendBody = (): void => {
        if (body_sent) return;
        body_sent = true;
        clearTimeout(continue_timer);
        request.end(body);
      };
      request.on("timeout", () => {
        request.destroy(new CliError(`${server} did not answer ${method} ${route} within ${this.timeout_ms / 1000} s`));
      });
      request.on("error", (error) =>
        reject(error instanceof CliError ? error : this.connectionError(error, body_bytes)),
      );
      if (body_sent) {
        request.end(body);
      } else {
        request.on("continue", sendBody);
        continue_timer = setTimeout(sendBody, 1000);
      }
    });
  }

  private connectionError(error: Error, body_bytes = 0): CliError {
    const code = (error as NodeJS.ErrnoException).code;
    if (body_bytes > 0 && (code === "EPIPE" || code === "ECONNRESET")) {
      // The server hung up while the body was on its way: most likely it was over the limit
      // and the server (or a proxy) closed without reading it.
      return new CliError(
        `the server at ${this.connection.server} closed the connection while the CLI sent ${body_bytes} bytes ` +
          `(${code}). A body over the server's limit does that: \`lightflusd serve\` takes at most ` +
          `--max-body-bytes (default ${DEFAULT_MAX_BODY_BYTES} bytes); make the job smaller or raise the limit.`,
      );
    }
    const why =
      code === "ECONNREFUSED"
        ? "connection refused"
        : code === "ENOTFOUND"
          ? "unknown host"
          : code === "ECONNRESET"
            ? "the connection was reset"
            : error.message;
    return new CliError(
      `cannot reach the Lightflus server at ${this.connection.server} (from ${this.connection.serverSource}): ${why}. ` +
        `Is \`lightflusd serve\` running there? Point the CLI at it with --server URL or LIGHTFLUS_ENDPOINT.`,
    );
  }

  private serverError(method: string, route: string, answer: Answer, body_bytes = 0): ServerError {
    let detail = answer.body.trim();
    try {
      const parsed = JSON.parse(answer.body) as { error?: unknown; detail?: unknown };
      if (typeof parsed.detail === "string") detail = parsed.detail;
      else if (typeof parsed.error === "string") detail = parsed.error;
    } catch {
      // Not JSON (a proxy's page, say): keep the text.
    }
    const server = this.connection.server;
    let message: string;
    switch (answer.status) {
      case 401:
        message =
          (this.connection.token === undefined
            ? `the server at ${server} needs a token`
            : `the server at ${server} refused the token from ${this.connection.tokenSource}`) +
          ` (401 Unauthorized). Pass --token TOKEN, set LIGHTFLUS_TOKEN, or store it with ` +
          `\`lightflus config set-credential\`.`;
        break;
      case 404:
        message = `not found on ${server}: ${detail}`;
        break;
      case 409:
        message = `${server} answered 409 Conflict: ${detail} (\`lightflus delete job NAME\` removes the old job)`;
        break;
      case 413:
        message =
          `the job is too large for ${server} (413 Payload Too Large): ${detail}; the request was ` +
          `${body_bytes} bytes. Make the job smaller (large data belongs in files or sources, not ` +
          `in the job) or start the server with a larger --max-body-bytes.`;
        break;
      case 429:
        message = `${server} runs as many jobs as it may (429): ${detail}. Delete a job first.`;
        break;
      default:
        message = `${method} ${route} failed on ${server} with ${answer.status}: ${detail}`;
    }
    return new ServerError(message, answer.status, detail);
  }
}
