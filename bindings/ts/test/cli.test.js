// The `lightflus` CLI (dist/cli.js, from src/cli): argument parsing, the config file, the
// scaffold, bundling, and its messages for each server error, against a small HTTP server on
// loopback that answers like `lightflusd serve` (docs/server.md) and records what it received.
// test/server/lightflus_cli_test.sh runs the CLI against the real daemon.
"use strict";

const test = require("node:test");
const assert = require("node:assert/strict");
const fs = require("node:fs");
const http = require("node:http");
const os = require("node:os");
const path = require("node:path");
const { execFile } = require("node:child_process");
const { createSandbox, plain } = require("./support/sandbox");

const PACKAGE_DIR = path.join(__dirname, "..");
const CLI = path.join(PACKAGE_DIR, "dist", "cli.js");
const cli = require(CLI);

/** A temp folder, removed after the test. */
function tempDir(t) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "lightflus-cli-test-"));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** Runs the CLI in process; returns { code, stdout, stderr }. */
async function runCli(argv, { env = {}, cwd = process.cwd(), stdin = "" } = {}) {
  let stdout = "";
  let stderr = "";
  const code = await cli.run(argv, {
    stdout: (text) => (stdout += text),
    stderr: (text) => (stderr += text),
    env: { HOME: path.join(os.tmpdir(), "lightflus-cli-test-no-home"), ...env },
    stdin: () => stdin,
    cwd,
  });
  return { code, stdout, stderr };
}

/**
 * A loopback HTTP server answering with `handler(request, body)` -> [status, jsonBody]; records
 * the requests. Closed after the test.
 */
async function fakeServer(t, handler) {
  const requests = [];
  const server = http.createServer((request, response) => {
    const chunks = [];
    request.on("data", (chunk) => chunks.push(chunk));
    request.on("end", () => {
      const body = Buffer.concat(chunks).toString("utf8");
      requests.push({ method: request.method, url: request.url, headers: request.headers, body });
      const [status, answer] = handler(request, body);
      const text = typeof answer === "string" ? answer : JSON.stringify(answer);
      response.writeHead(status, { "Content-Type": "application/json" });
      response.end(status === 204 ? undefined : text);
    });
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  t.after(() => new Promise((resolve) => server.close(resolve)));
  return { url: `http://127.0.0.1:${server.address().port}`, requests };
}

const JOB = {
  id: "0123456789abcdef",
  name: "squares",
  status: "running",
  parallelism: 2,
  error: null,
  recordsIn: 1500,
  recordsOut: 1499,
};

// --- Arguments -------------------------------------------------------------------------------

test("flags go before or after the command, with a space or '='; --set repeats", () => {
  assert.deepEqual(cli.parseArgs(["-s", "http://h:1", "apply", "-f", "job.ts", "--set", "a=1", "--set=b=2", "--name=n"]), {
    command: "apply",
    args: [],
    flags: { server: "http://h:1", file: "job.ts", set: ["a=1", "b=2"], name: "n" },
  });
  assert.deepEqual(cli.parseArgs(["get", "tasks", "--token", "t", "-o", "json"]), {
    command: "get",
    args: ["tasks"],
    flags: { token: "t", output: "json" },
  });
  assert.deepEqual(cli.parseArgs([]).command, "help");
  assert.deepEqual(cli.parseArgs(["describe", "--help"]).flags, { help: true });
});

test("a malformed command line is a usage error (exit 2) that says what is wrong", async () => {
  const cases = [
    [["frobnicate"], /unknown command "frobnicate"/],
    [["get", "jobs", "--bogus"], /unknown flag --bogus/],
    [["delete", "job", "x", "-f", "job.ts"], /`lightflus delete` has no flag --file/],
    [["apply", "-f"], /flag --file needs a value/],
    [["apply", "-f", "a.ts", "-f", "b.ts"], /--file is given twice/],
    [["apply"], /apply needs the job file/],
    [["apply", "-f", "job.ts", "--set", "novalue"], /--set expects NAME=VALUE, got "novalue"/],
    [["apply", "-f", "job.ts", "--parallelism", "0"], /--parallelism expects a whole number of at least 1/],
    [["describe", "job"], /wrong number of arguments for `lightflus describe`/],
    [["get", "pods"], /works on jobs.*got "pods"/],
    [["get", "jobs", "-o", "yaml"], /--output must be table or json/],
    [["config", "frob"], /unknown config action "frob"/],
  ];
  for (const [argv, pattern] of cases) {
    const result = await runCli(argv);
    assert.equal(result.code, 2, `${argv.join(" ")}: ${result.stderr}`);
    assert.match(result.stderr, /^lightflus: /);
    assert.match(result.stderr, pattern, argv.join(" "));
  }
});

test("every command has --help, and job and task are synonyms", async () => {
  for (const command of ["apply", "get", "describe", "delete", "create", "create-task", "config", "version"]) {
    const result = await runCli([command, "--help"]);
    assert.equal(result.code, 0);
    assert.match(result.stdout, new RegExp(`^Usage: lightflus ${command}`), command);
  }
  const main = await runCli(["--help"]);
  assert.match(main.stdout, /apply -f JOB\.ts/);
  assert.match((await runCli(["version"])).stdout, new RegExp(`^lightflus ${require("../package.json").version}\n$`));
});

// --- Server and token ------------------------------------------------------------------------

test("the server comes from --server, LIGHTFLUS_ENDPOINT, LIGHTFLUS_SERVICE_HOST/PORT, the config, the default", (t) => {
  const home = tempDir(t);
  const file = path.join(home, ".lightflus", "config");
  const resolve = (flags, env) => cli.resolveConnection(flags, { HOME: home, ...env }, file);
  assert.equal(resolve({}, {}).server, "http://127.0.0.1:8080");
  cli.writeConfig({ server: "http://stored:1" }, file);
  assert.equal(resolve({}, {}).server, "http://stored:1");
  assert.equal(resolve({}, { LIGHTFLUS_SERVICE_HOST: "svc", LIGHTFLUS_SERVICE_PORT: "9000" }).server, "http://svc:9000");
  assert.equal(resolve({}, { LIGHTFLUS_ENDPOINT: "env:2", LIGHTFLUS_SERVICE_HOST: "svc" }).server, "http://env:2");
  assert.equal(resolve({ server: "https://flag:3/" }, { LIGHTFLUS_ENDPOINT: "env:2" }).server, "https://flag:3");
  assert.throws(() => resolve({ server: "ftp://x" }, {}), /must be an http:\/\/ or https:\/\/ URL/);
});

test("config set-credential stores the token with mode 0600; the token's precedence", async (t) => {
  const home = tempDir(t);
  const file = path.join(home, ".lightflus", "config");
  const stored = await runCli(["config", "set-credential", "s3cret"], { env: { HOME: home } });
  assert.equal(stored.code, 0, stored.stderr);
  assert.equal(fs.statSync(file).mode & 0o777, 0o600);
  assert.equal(fs.statSync(path.dirname(file)).mode & 0o777, 0o700);
  assert.deepEqual(JSON.parse(fs.readFileSync(file, "utf8")), { token: "s3cret" });

  // From standard input, keeping the other settings; the mode stays 0600.
  cli.writeConfig({ server: "http://h:1", token: "old" }, file);
  assert.equal((await runCli(["config", "set-credential"], { env: { HOME: home }, stdin: "fromstdin\n" })).code, 0);
  assert.deepEqual(JSON.parse(fs.readFileSync(file, "utf8")), { server: "http://h:1", token: "fromstdin" });
  assert.equal(fs.statSync(file).mode & 0o777, 0o600);

  const resolve = (flags, env) => cli.resolveConnection(flags, { HOME: home, ...env }, file);
  assert.equal(resolve({}, {}).token, "fromstdin");
  assert.equal(resolve({}, { LIGHTFLUS_TOKEN: "env" }).token, "env");
  assert.equal(resolve({ token: "flag" }, { LIGHTFLUS_TOKEN: "env" }).token, "flag");

  const view = await runCli(["config", "view"], { env: { HOME: home } });
  assert.doesNotMatch(view.stdout, /fromstdin/);
  assert.match(view.stdout, /token: \*+ \(set\)/);

  // A token in a file others can read is refused, with the fix.
  fs.chmodSync(file, 0o644);
  assert.throws(() => cli.readConfig(file), /others can read it \(mode 0644\); run `chmod 600/);
  fs.writeFileSync(file, "{not json");
  assert.throws(() => cli.readConfig(file), /is not valid JSON/);
});

// --- Scaffold --------------------------------------------------------------------------------

test("create writes NAME.ts in the scaffold's style and a tsconfig.json, and never overwrites", async (t) => {
  const dir = tempDir(t);
  const created = await runCli(["create", "wordCount"], { cwd: dir });
  assert.equal(created.code, 0, created.stderr);
  const job = fs.readFileSync(path.join(dir, "wordCount.ts"), "utf8");
  assert.match(job, /^function wordCount\(ctx: ExecutionContext\) \{$/m);
  assert.match(job, /from "lightflus"/);
  assert.equal(JSON.parse(fs.readFileSync(path.join(dir, "tsconfig.json"), "utf8")).compilerOptions.strict, true);

  // The engine's host (simulated) calls the function named like the file.
  const sandbox = createSandbox();
  const outcome = sandbox.run(job, "wordCount.ts");
  assert.deepEqual(plain(outcome), { style: "namedFunction", entry: "wordCount", submitted: 1 });
  assert.deepEqual(sandbox.submitted[0].operators.map((op) => op.kind), ["source", "map", "sink"]);

  const again = await runCli(["create-task", "wordCount"], { cwd: dir });
  assert.equal(again.code, 1);
  assert.match(again.stderr, /wordCount\.ts already exists; not overwriting it/);
  assert.equal(fs.readFileSync(path.join(dir, "wordCount.ts"), "utf8"), job);

  // create-task is the same command; an existing tsconfig.json is kept.
  fs.writeFileSync(path.join(dir, "tsconfig.json"), "{}\n");
  assert.equal((await runCli(["create-task", "clicks"], { cwd: dir })).code, 0);
  assert.match(fs.readFileSync(path.join(dir, "clicks.ts"), "utf8"), /^function clicks\(ctx: ExecutionContext\)/m);
  assert.equal(fs.readFileSync(path.join(dir, "tsconfig.json"), "utf8"), "{}\n");

  for (const bad of ["2fast", "my-job", "class", "../evil"]) {
    const result = await runCli(["create", bad], { cwd: dir });
    assert.equal(result.code, 2, bad);
    assert.match(result.stderr, /cannot name a job file/);
  }
});

// --- Bundling --------------------------------------------------------------------------------

test("apply --dry-run bundles local imports and keeps the Lightflus API external; the bundle runs in the host", async (t) => {
  const dir = tempDir(t);
  fs.mkdirSync(path.join(dir, "lib"));
  fs.writeFileSync(path.join(dir, "lib", "math.ts"), "export const triple = (n: number): number => 3 * n;\n");
  fs.writeFileSync(
    path.join(dir, "triples.ts"),
    `import { context } from "lightflus-api/src/stream/context";
import ExecutionContext = context.ExecutionContext;
import { Generator, Stdout } from "lightflus";
import { triple } from "./lib/math";

function triples(ctx: ExecutionContext) {
  ctx.fromSource(Generator.sequence(1, 3)).map((n: number) => triple(n)).sink(Stdout.new<number>());
}
`,
  );
  const result = await runCli(["apply", "-f", "triples.ts", "--dry-run"], { cwd: dir });
  assert.equal(result.code, 0, result.stderr);
  const bundle = result.stdout;
  assert.match(bundle, /require\("lightflus-api\/src\/stream\/context"\)/);
  assert.match(bundle, /require\("lightflus"\)/);
  assert.match(bundle, /3 \* n/); // the helper is inside
  assert.doesNotMatch(bundle, /require\("\.\/lib\/math"\)/);

  const sandbox = createSandbox();
  const wrapped = sandbox.lightflus.__wrapJob(bundle, "triples.js");
  const outcome = sandbox.lightflus.__runJob(sandbox.evaluate(wrapped, "triples.js"), "triples.js");
  assert.equal(plain(outcome).submitted, 1);
  assert.equal(sandbox.lightflus.__call(sandbox.submitted[0].operators[1].udf, 5), 15);
});

test("the scaffold's function becomes the default export only when the job has none", () => {
  assert.equal(cli.entryFooter("import x from 'lightflus';\nfunction job(ctx) {}\n", "job"), "\nexport default job;\n");
  assert.match(cli.entryFooter("function job(ctx) {}\n", "job"), /module\.exports\.default = job/);
  assert.equal(cli.entryFooter("export default function (ctx) {}\nfunction job() {}", "job"), "");
  assert.equal(cli.entryFooter("function other(ctx) {}\n", "job"), "");
  assert.equal(cli.entryFooter("function job(ctx) {}\n", "my-job"), "");
});

test("positions in the bundle map back to the user's file", () => {
  // Line 1 "AAAA": column 0 -> a.ts 1:1. Line 2 "AACA,IAAI": column 0 -> 2:1, column 4 -> 2:5.
  const map = { sources: ["src/a.ts"], mappings: "AAAA;AACA,IAAI" };
  assert.equal(cli.mapPositions("Error (at job.js:2:7) and job.js:1:1", "job.js", map), "Error (at src/a.ts:2:5) and src/a.ts:1:1");
  assert.equal(cli.mapPositions("at other.js:2:7", "job.js", map), "at other.js:2:7");
});

// --- Talking to a server ---------------------------------------------------------------------

test("apply posts the bundle as a JSON envelope with the token and prints the id", async (t) => {
  // The job has run once GET shows its operators (apply looks for a failure at start-up).
  const server = await fakeServer(t, (request) =>
    request.method === "POST" ? [201, { ...JOB, status: "created" }] : [200, { ...JOB, operators: [{ id: 0 }] }],
  );
  const dir = tempDir(t);
  fs.writeFileSync(
    path.join(dir, "squares.ts"),
    'import { ExecutionContext, Generator, Stdout } from "lightflus";\n' +
      'const ctx = ExecutionContext.new("squares");\n' +
      "ctx.fromSource(Generator.sequence(1, 3)).map((n: number) => n * n).sink(Stdout.new<number>());\n" +
      "ctx.execute();\n",
  );
  const result = await runCli(
    ["apply", "-f", "squares.ts", "--set", "count=5", "--set", "label=a=b", "-p", "2"],
    { cwd: dir, env: { LIGHTFLUS_ENDPOINT: server.url, LIGHTFLUS_TOKEN: "tok" } },
  );
  assert.equal(result.code, 0, result.stderr);
  assert.equal(result.stdout, `${JOB.id}\n`);
  const [request, ...polls] = server.requests;
  assert.equal(request.method, "POST");
  assert.equal(request.url, "/v1/jobs");
  assert.equal(request.headers.authorization, "Bearer tok");
  assert.equal(request.headers["content-type"], "application/json");
  // The server may refuse the body (401, 413) before it is sent.
  assert.equal(request.headers.expect, "100-continue");
  assert.ok(polls.length >= 1 && polls.every((poll) => poll.method === "GET" && poll.url === `/v1/jobs/${JOB.id}`));
  const envelope = JSON.parse(request.body);
  // The job calls execute(): the server names it after its context, so no name is sent.
  assert.equal(envelope.name, undefined);
  assert.deepEqual(envelope.params, { count: "5", label: "a=b" });
  assert.equal(envelope.parallelism, 2);
  assert.equal(envelope.language, "js");
  assert.match(envelope.source, /require\("lightflus"\)/);
  // The bundle's source map goes along (the server reports errors at squares.ts:L:C), lean: no
  // sourcesContent.
  assert.equal(envelope.sourceMap.version, 3);
  assert.deepEqual(envelope.sourceMap.sources, ["squares.ts"]);
  assert.equal(typeof envelope.sourceMap.mappings, "string");
  assert.equal(envelope.sourceMap.sourcesContent, undefined);

  const before = server.requests.length;
  await runCli(["apply", "-f", "squares.ts", "--name", "mine"], { cwd: dir, env: { LIGHTFLUS_ENDPOINT: server.url } });
  assert.equal(JSON.parse(server.requests[before].body).name, "mine");
  assert.equal(server.requests[before].headers.authorization, undefined);
});

/** A job file in a temp dir whose line 3 calls ctx.param("input"); returns the dir. */
function jobDir(t) {
  const dir = tempDir(t);
  fs.writeFileSync(
    path.join(dir, "reader.ts"),
    'import { ExecutionContext, FileSource, Stdout } from "lightflus";\n' +
      'const ctx = ExecutionContext.new("reader");\n' +
      'ctx.fromSource(FileSource.jsonLines(ctx.param("input"))).map((r: { n: number }) => r.n * 2).sink(Stdout.new<number>());\n' +
      "ctx.execute();\n",
  );
  return dir;
}

test("apply exits 1 with the job's error when the job fails at start-up", async (t) => {
  const dir = jobDir(t);
  // The server's error names the bundle's line of the map; the CLI shows reader.ts:3.
  const bundle = (await runCli(["apply", "-f", "reader.ts", "--dry-run"], { cwd: dir })).stdout;
  const line = bundle.split("\n").findIndex((text) => text.includes("r.n * 2")) + 1;
  const column = bundle.split("\n")[line - 1].indexOf("r.n * 2") + 1;
  const error = `job 'reader' failed: operator 'map' (subtask 1): TypeError: x (at reader.js:${line}:${column})`;
  const server = await fakeServer(t, (request) =>
    request.method === "POST" ? [201, { ...JOB, name: "reader" }] : [200, { ...JOB, name: "reader", status: "failed", error, operators: [] }],
  );
  const result = await runCli(["apply", "-f", "reader.ts", "--set", "input=/data/in.jsonl"], { cwd: dir, env: { LIGHTFLUS_ENDPOINT: server.url } });
  assert.equal(result.code, 1);
  assert.equal(result.stdout, `${JOB.id}\n`); // what describe and delete take
  assert.match(result.stderr, new RegExp(`job reader \\(${JOB.id}\\) failed on ${server.url}: job 'reader' failed: operator 'map' \\(subtask 1\\): TypeError: x \\(at reader\\.ts:3:\\d+\\)`));
  assert.match(result.stderr, /lightflus describe job 0123456789abcdef/);

  // A job the server already answers as failed is reported at once.
  const failed = await fakeServer(t, () => [201, { ...JOB, status: "failed", error: "cannot open '/data/in.jsonl'" }]);
  const at_once = await runCli(["apply", "-f", "reader.ts", "--set", "input=/data/in.jsonl"], { cwd: dir, env: { LIGHTFLUS_ENDPOINT: failed.url } });
  assert.equal(at_once.code, 1);
  assert.match(at_once.stderr, /failed on .*: cannot open '\/data\/in\.jsonl'/);
  assert.equal(failed.requests.length, 1);
});

test("apply --wait follows the job until it runs, and fails when it fails or the time is up", async (t) => {
  const dir = jobDir(t);
  // created, then running with a restart pending, then running with its first report.
  const states = [
    { status: "created", error: null, operators: [] },
    { status: "running", error: "restarting in 1000 ms (restart 1 of 3) after the job's process killed by signal 9", operators: [] },
    { status: "running", error: null, operators: [{ id: 0 }] },
  ];
  let polls = 0;
  const server = await fakeServer(t, (request) =>
    request.method === "POST"
      ? [201, { ...JOB, name: "reader", status: "created" }]
      : [200, { ...JOB, name: "reader", ...states[Math.min(polls++, states.length - 1)] }],
  );
  const env = { LIGHTFLUS_ENDPOINT: server.url };
  const running = await runCli(["apply", "-f", "reader.ts", "--set", "input=x", "--wait"], { cwd: dir, env });
  assert.equal(running.code, 0, running.stderr);
  assert.equal(polls, 3);
  assert.match(running.stderr, /job reader is running: restarting in 1000 ms/);
  assert.match(running.stderr, /job reader \(0123456789abcdef\) is running\n$/);

  // Finished counts as started.
  const finished = await fakeServer(t, (request) =>
    request.method === "POST" ? [201, { ...JOB, name: "reader" }] : [200, { ...JOB, name: "reader", status: "finished", operators: [{ id: 0 }] }],
  );
  const done = await runCli(["apply", "-f", "reader.ts", "--set", "input=x", "--wait"], { cwd: dir, env: { LIGHTFLUS_ENDPOINT: finished.url } });
  assert.equal(done.code, 0, done.stderr);
  assert.match(done.stderr, /is finished\n$/);

  // Never past "created": the timeout ends the wait with exit 1.
  const stuck = await fakeServer(t, () => [201, { ...JOB, name: "reader", status: "created", operators: [] }]);
  const started = Date.now();
  const late = await runCli(["apply", "-f", "reader.ts", "--set", "input=x", "--wait", "--timeout", "600ms"], { cwd: dir, env: { LIGHTFLUS_ENDPOINT: stuck.url } });
  assert.equal(late.code, 1);
  assert.match(late.stderr, /job reader \(0123456789abcdef\) is still created after 0\.6 s of waiting/);
  assert.ok(Date.now() - started < 5000);

  // Deleted while it starts.
  const gone = await fakeServer(t, (request) => (request.method === "POST" ? [201, { ...JOB, status: "created" }] : [404, { error: "Not Found", detail: "no job" }]));
  const vanished = await runCli(["apply", "-f", "reader.ts", "--set", "input=x", "--wait"], { cwd: dir, env: { LIGHTFLUS_ENDPOINT: gone.url } });
  assert.equal(vanished.code, 1);
  assert.match(vanished.stderr, /is gone from/);

  for (const [argv, pattern] of [
    [["--timeout", "5s"], /--timeout goes with --wait/],
    [["--wait", "--timeout", "soon"], /--timeout expects a duration such as 30s, 2m or 500ms, got "soon"/],
  ]) {
    const usage = await runCli(["apply", "-f", "reader.ts", ...argv], { cwd: dir, env });
    assert.equal(usage.code, 2);
    assert.match(usage.stderr, pattern);
  }
});

test("apply of a job over the server's body limit says so, with the limit", async (t) => {
  const dir = jobDir(t);
  // As lightflusd does: 413 after the header, without reading the body.
  let body_bytes = 0;
  const server = http.createServer();
  server.on("checkContinue", (request, response) => {
    request.on("data", (chunk) => (body_bytes += chunk.length));
    response.writeHead(413, { "Content-Type": "application/json", Connection: "close" });
    response.end(JSON.stringify({ error: "Payload Too Large", detail: "the request body exceeds the limit of 100 bytes" }));
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  t.after(() => new Promise((resolve) => server.close(resolve)));
  const env = { LIGHTFLUS_ENDPOINT: `http://127.0.0.1:${server.address().port}` };
  const result = await runCli(["apply", "-f", "reader.ts", "--set", "input=x"], { cwd: dir, env });
  assert.equal(result.code, 1);
  assert.match(result.stderr, /the job is too large for .* \(413 Payload Too Large\): the request body exceeds the limit of 100 bytes; the request was \d+ bytes\..*--max-body-bytes/);
  assert.equal(body_bytes, 0); // refused before it was sent

  // A server that hangs up instead of answering: the message still points at the limit.
  const rude = require("node:net").createServer((socket) => socket.once("data", () => socket.destroy()));
  await new Promise((resolve) => rude.listen(0, "127.0.0.1", resolve));
  t.after(() => new Promise((resolve) => rude.close(resolve)));
  const hung_up = await runCli(["apply", "-f", "reader.ts", "--set", "input=x"], { cwd: dir, env: { LIGHTFLUS_ENDPOINT: `http://127.0.0.1:${rude.address().port}` } });
  assert.equal(hung_up.code, 1);
  assert.match(hung_up.stderr, /closed the connection while the CLI sent \d+ bytes \((ECONNRESET|EPIPE)\)\. A body over the server's limit does that: .*--max-body-bytes \(default 10485760 bytes\)/);
});

test("the server's errors become clear messages and a non-zero exit", async (t) => {
  let answer;
  // A 404 is about one job: the list (which `describe NAME` reads) stays empty and fine.
  const server = await fakeServer(t, (request) =>
    answer[0] === 404 && request.url === "/v1/jobs" ? [200, { jobs: [] }] : answer,
  );
  const dir = tempDir(t);
  fs.writeFileSync(
    path.join(dir, "bad.ts"),
    'import { ExecutionContext } from "lightflus";\n\nconst ctx = ExecutionContext.new("bad");\nctx.param("missing");\n',
  );
  const env = { LIGHTFLUS_ENDPOINT: server.url };

  answer = [401, { error: "Unauthorized", detail: "this route needs the header Authorization: Bearer TOKEN" }];
  let result = await runCli(["get", "jobs"], { env });
  assert.equal(result.code, 1);
  assert.match(result.stderr, /needs a token \(401 Unauthorized\)\. Pass --token TOKEN, set LIGHTFLUS_TOKEN/);
  result = await runCli(["get", "jobs", "--token", "wrong"], { env });
  assert.match(result.stderr, /refused the token from --token \(401 Unauthorized\)/);

  // A 400 about the bundle's line 4 ("bad.js:4:5" from the server) points at bad.ts line 4.
  const bundle = (await runCli(["apply", "-f", "bad.ts", "--dry-run"], { cwd: dir })).stdout;
  const line = bundle.split("\n").findIndex((text) => text.includes('param("missing")')) + 1;
  const column = bundle.split("\n")[line - 1].indexOf("ctx.param") + 1;
  answer = [400, { error: "Bad Request", detail: `job bad.js: ConfigError: job parameter "missing" is not set (at bad.js:${line}:${column})` }];
  result = await runCli(["apply", "-f", "bad.ts"], { cwd: dir, env });
  assert.equal(result.code, 1);
  assert.match(result.stderr, /the server rejected the job .*bad\.ts: job bad\.js: ConfigError: job parameter "missing" is not set \(at bad\.ts:4:1\)/);

  answer = [409, { error: "Conflict", detail: "a job named 'bad' exists; delete it or pick another name" }];
  result = await runCli(["apply", "-f", "bad.ts", "--name", "bad"], { cwd: dir, env });
  assert.equal(result.code, 1);
  assert.match(result.stderr, /409 Conflict: a job named 'bad' exists/);

  answer = [404, { error: "Not Found", detail: "no job nope" }];
  result = await runCli(["describe", "job", "nope"], { env });
  assert.equal(result.code, 1);
  assert.match(result.stderr, /no job with the id or name "nope"/);

  answer = [500, "<html>oops</html>"];
  result = await runCli(["get", "jobs"], { env });
  assert.equal(result.code, 1);
  assert.match(result.stderr, /GET \/v1\/jobs failed on http:\/\/127\.0\.0\.1:\d+ with 500: <html>oops<\/html>/);

  // A syntax error is found while bundling, with the file, line and column.
  fs.writeFileSync(path.join(dir, "syntax.ts"), "const x = ;\n");
  result = await runCli(["apply", "-f", "syntax.ts"], { cwd: dir, env });
  assert.equal(result.code, 1);
  assert.match(result.stderr, /cannot bundle .*syntax\.ts:\n {2}syntax\.ts:1:11: error: Unexpected ";"/);
});

test("an unreachable server is named, with where its address came from", async (t) => {
  // A port that was just free: listen, note it, close.
  const probe = http.createServer();
  await new Promise((resolve) => probe.listen(0, "127.0.0.1", resolve));
  const port = probe.address().port;
  await new Promise((resolve) => probe.close(resolve));
  void t;
  const result = await runCli(["get", "jobs"], { env: { LIGHTFLUS_SERVICE_HOST: "127.0.0.1", LIGHTFLUS_SERVICE_PORT: String(port) } });
  assert.equal(result.code, 1);
  assert.match(
    result.stderr,
    new RegExp(`cannot reach the Lightflus server at http://127\\.0\\.0\\.1:${port} \\(from LIGHTFLUS_SERVICE_HOST/LIGHTFLUS_SERVICE_PORT\\): connection refused`),
  );
});

test("get jobs prints a table; describe and delete find a job by id or name", async (t) => {
  const detail = {
    ...JOB,
    params: { count: "1500" },
    plan: "job 'squares'\n  task x2: source 'generator' -> jsChain 'square' -> sink 'file'\n",
    graph: null,
    operators: [
      { id: 0, name: "generator", kind: "source", parallelism: 1, recordsIn: 0, recordsOut: 1500, lateDropped: 0, backpressureMs: 1500, queued: 1, queueCapacity: 8 },
    ],
  };
  const server = await fakeServer(t, (request) => {
    if (request.url === "/v1/jobs") return [200, { jobs: [JOB, { ...JOB, id: "fedcba9876543210", name: "other", status: "failed", parallelism: 0, recordsIn: 0, recordsOut: 0, createdAt: Date.now() - 90_000 }] }];
    if (request.url === `/v1/jobs/${JOB.id}`) return request.method === "DELETE" ? [204, ""] : [200, detail];
    return [404, { error: "Not Found", detail: "no such job" }];
  });
  const env = { LIGHTFLUS_ENDPOINT: server.url };
  const list = await runCli(["get", "tasks"], { env });
  assert.equal(list.code, 0, list.stderr);
  assert.equal(
    list.stdout,
    "ID                NAME     STATUS   PARALLELISM  RECORDS-IN  RECORDS-OUT  AGE\n" +
      "0123456789abcdef  squares  running  2            1500        1499         -\n" +
      "fedcba9876543210  other    failed   default      0           0            90s\n",
  );

  const described = await runCli(["describe", "task", "squares"], { env });
  assert.equal(described.code, 0, described.stderr);
  assert.match(described.stdout, /^Name: +squares$/m);
  assert.match(described.stdout, /^Status: +running$/m);
  assert.match(described.stdout, /^Params: +count=1500$/m);
  assert.match(described.stdout, /^ {2}0 +generator +source +1 +0 +1500 +0 +1\.5s +1\/8$/m);
  assert.match(described.stdout, /^ {4}task x2: source 'generator'/m);
  const json = await runCli(["describe", "job", JOB.id, "-o", "json"], { env });
  assert.deepEqual(JSON.parse(json.stdout), detail);

  const deleted = await runCli(["delete", "job", "squares"], { env });
  assert.equal(deleted.code, 0, deleted.stderr);
  assert.equal(deleted.stdout, `job squares (${JOB.id}) deleted\n`);
  assert.equal(server.requests.at(-1).method, "DELETE");
  assert.equal(server.requests.at(-1).url, `/v1/jobs/${JOB.id}`);
});

// --- Deploying from Node.js ------------------------------------------------------------------

/** Runs `node script` in `dir` with `env`; resolves { code, stdout, stderr }. */
function runNode(dir, script, env) {
  return new Promise((resolve) => {
    const child_env = { ...process.env, NODE_PATH: path.join(PACKAGE_DIR, "node_modules"), ...env };
    for (const key of ["LIGHTFLUS_ENDPOINT", "LIGHTFLUS_TOKEN", "LIGHTFLUS_SERVICE_HOST"]) {
      if (!(key in env)) delete child_env[key];
    }
    execFile(process.execPath, [script], { cwd: dir, env: child_env }, (error, stdout, stderr) => {
      resolve({ code: error ? error.code : 0, stdout, stderr });
    });
  });
}

test("a job run with Node.js deploys itself when LIGHTFLUS_ENDPOINT is set", async (t) => {
  const server = await fakeServer(t, () => [201, { ...JOB, name: "nodeJob" }]);
  const dir = tempDir(t);
  fs.mkdirSync(path.join(dir, "node_modules"));
  fs.symlinkSync(PACKAGE_DIR, path.join(dir, "node_modules", "lightflus"), "dir");
  fs.writeFileSync(path.join(dir, "helper.js"), "exports.inc = (n) => n + 1;\n");
  fs.writeFileSync(
    path.join(dir, "nodeJob.js"),
    'const { ExecutionContext, Generator, Stdout } = require("lightflus");\n' +
      'const { inc } = require("./helper");\n' +
      'const ctx = ExecutionContext.new("nodeJob");\n' +
      'ctx.fromSource(Generator.sequence(1, ctx.param("count", 3))).map((n) => inc(n)).sink(Stdout.new());\n' +
      "ctx.execute();\n",
  );

  // Without the variable, execute() fails as before: nothing is sent.
  const plain_run = await runNode(dir, "nodeJob.js", {});
  assert.notEqual(plain_run.code, 0);
  assert.match(plain_run.stderr, /not running inside a Lightflus host/);
  assert.equal(server.requests.length, 0);

  const deployed = await runNode(dir, "nodeJob.js", { LIGHTFLUS_ENDPOINT: server.url, LIGHTFLUS_TOKEN: "tok" });
  assert.equal(deployed.code, 0, deployed.stderr);
  assert.match(deployed.stdout, new RegExp(`deployed job nodeJob \\(id ${JOB.id}\\) to ${server.url}`));
  assert.equal(server.requests.length, 1);
  const envelope = JSON.parse(server.requests[0].body);
  assert.equal(envelope.name, "nodeJob");
  assert.deepEqual(envelope.params, { count: "3" }); // what the run resolved
  assert.match(envelope.source, /n \+ 1/); // the helper is bundled
  assert.equal(server.requests[0].headers.authorization, "Bearer tok");

  // A script in the scaffold's style (a function nothing calls) is deployed when it ends.
  fs.writeFileSync(
    path.join(dir, "scaffolded.js"),
    'const { Generator, Stdout } = require("lightflus");\n' +
      "function scaffolded(ctx) { ctx.fromSource(Generator.sequence(1, 2)).sink(Stdout.new()); }\n",
  );
  const scaffolded = await runNode(dir, "scaffolded.js", { LIGHTFLUS_ENDPOINT: server.url });
  assert.equal(scaffolded.code, 0, scaffolded.stderr);
  assert.equal(JSON.parse(server.requests[1].body).name, "scaffolded");
  assert.match(JSON.parse(server.requests[1].body).source, /module\.exports\.default = scaffolded/);
});

test("a failed deploy from Node.js prints the CLI's message and exits non-zero", async (t) => {
  const server = await fakeServer(t, () => [401, { error: "Unauthorized", detail: "needs a token" }]);
  const dir = tempDir(t);
  fs.mkdirSync(path.join(dir, "node_modules"));
  fs.symlinkSync(PACKAGE_DIR, path.join(dir, "node_modules", "lightflus"), "dir");
  fs.writeFileSync(
    path.join(dir, "job.js"),
    'const { ExecutionContext, Generator, Stdout } = require("lightflus");\n' +
      'const ctx = ExecutionContext.new("j");\nctx.fromSource(Generator.sequence(1, 2)).sink(Stdout.new());\nctx.execute();\n',
  );
  const result = await runNode(dir, "job.js", { LIGHTFLUS_ENDPOINT: server.url });
  assert.equal(result.code, 1);
  assert.match(result.stderr, /^lightflus: the server at http:\/\/127\.0\.0\.1:\d+ needs a token \(401 Unauthorized\)/m);
});
