// The Mysql sink builder: the original API's shape, the graph JSON it records (docs/js-graph.md,
// "Connectors") and the combined parametersExtractor the engine runs once per batch. Runs a
// TypeScript job written against the original API in the sandbox that simulates the host.
"use strict";

const test = require("node:test");
const assert = require("node:assert/strict");
const lf = require("lightflus");
const { createSandbox, plain } = require("./support/sandbox");

const { ConfigError, ExecutionContext, Mysql, Time } = lf;

const connection = { host: "db", username: "u", password: "p", database: "stats" };

test("the original builder records the statement, its parameters and one parametersExtractor", () => {
  const config = Mysql.new()
    .connection(connection)
    .statement("INSERT INTO t (a, b) VALUES (?, ?)")
    .extractors((s) => {
      s.setNumber(2, (v) => v.n);
      s.setString(1, (v) => v.word);
    })
    .connectorConfig();
  assert.deepEqual(Object.keys(config).sort(), [
    "database", "host", "parameters", "parametersExtractor", "password", "port", "statement", "type", "username",
  ]);
  assert.equal(typeof config.parametersExtractor, "number");
  // Distinct UDF ids: the two extractors, then the combined one.
  const ids = new Set([...config.parameters.map((p) => p.extractor), config.parametersExtractor]);
  assert.equal(ids.size, 3);
});

test("maxBatchRows and reconnectTimeout are recorded and validated", () => {
  const config = Mysql.new()
    .connection({ ...connection, port: 3307 })
    .statement("REPLACE INTO t VALUES (?)")
    .extractors((s) => s.setNumber(1, (v) => v))
    .maxBatchRows(200)
    .reconnectTimeout(Time.seconds(5))
    .connectorConfig();
  assert.equal(config.port, 3307);
  assert.equal(config.maxBatchRows, 200);
  assert.equal(config.reconnectTimeoutMs, 5000);
  assert.throws(() => Mysql.new().maxBatchRows(0), ConfigError);
});

test("a TypeScript job in the original style: parametersExtractor gives each row in placeholder order", () => {
  const sandbox = createSandbox();
  const outcome = sandbox.run(`
    import { context } from "lightflus-api/src/stream/context";
    import { mysql } from "lightflus-api/src/connectors/connectors";
    import ExecutionContext = context.ExecutionContext;
    import Mysql = mysql.Mysql;
    import { Generator } from "lightflus";

    type Order = { id: number; name: string; total: number; paid: boolean; note?: string };
    const ctx = ExecutionContext.new("orders", "default");
    const orders = ctx.fromSource(Generator.values([{ id: 1, name: "a", total: 2.5, paid: true }]));
    orders.sink(
      Mysql.new<Order>()
        .connection({ host: "localhost", username: "app", password: "secret", database: "shop" })
        .statement("INSERT INTO orders (id, name, total, paid, note) VALUES (?, ?, ?, ?, ?)")
        .extractors((s) => {
          s.setNumber(1, (o) => o.id);
          s.setString(2, (o) => o.name);
          s.setNumber(3, (o) => o.total);
          s.setNumber(4, (o) => (o.paid ? 1 : 0));
          s.setString(5, (o) => o.note ?? null);
        }),
    );
    ctx.execute();
  `);
  assert.ok(outcome === undefined || outcome === null || typeof outcome === "object");
  assert.equal(sandbox.submitted.length, 1);
  const sink = sandbox.submitted[0].operators.find((op) => op.kind === "sink");
  assert.equal(sink.connector.type, "mysql");
  assert.equal(sink.connector.database, "shop");
  const row = sandbox.lightflus.__call(sink.connector.parametersExtractor, {
    id: 7, name: "seven", total: 12.25, paid: false,
  });
  assert.deepEqual(plain(row), [7, "seven", 12.25, 0, null]);
  // The engine runs it as a map chain over a whole batch.
  const rows = sandbox.lightflus.__runChain([sink.connector.parametersExtractor], ["map"], [
    { id: 1, name: "a", total: 1, paid: true, note: "n" },
    { id: 2, name: "b", total: 2, paid: false },
  ]);
  assert.deepEqual(plain(rows), [
    [1, "a", 1, 1, "n"],
    [2, "b", 2, 0, null],
  ]);
});
