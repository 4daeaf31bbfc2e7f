// HttpSource records an `http` source, fed by lightflusd serve's /v1/jobs/{id}/events.
"use strict";

const test = require("node:test");
const assert = require("node:assert/strict");
const { createSandbox, plain } = require("./support/sandbox");

test("HttpSource.new() records an http source that the job names", () => {
  const sandbox = createSandbox();
  const outcome = sandbox.run(
    `
import { ExecutionContext, HttpSource, Stdout } from "lightflus";

interface Click { user: string }

export default function (ctx: ExecutionContext) {
  ctx.fromSource(HttpSource.new<Click>()).name("clicks")
    .map((c) => c.user)
    .sink(Stdout.new<string>());
}
`,
    "clicks.ts",
  );
  assert.equal(plain(outcome).submitted, 1);
  const graph = sandbox.submitted[0];
  const source = graph.operators.find((op) => op.kind === "source");
  assert.equal(source.name, "clicks");
  assert.deepEqual(source.connector, { type: "http" });
});
