// The Redis sink builder: the original API's shape, the options it added (command, hashKey,
// streamField, ttl, batchSize, reconnectTimeout) and the graph JSON they record
// (docs/js-graph.md, "Connectors"). Runs under plain Node.js through the package's own name.
"use strict";

const test = require("node:test");
const assert = require("node:assert/strict");
const lf = require("lightflus");

const { ConfigError, ExecutionContext, Redis, Time } = lf;

function sinkConfig(sink) {
  const ctx = ExecutionContext.new("redis");
  ctx.fromSource(lf.Generator.sequence(0, 1)).sink(sink);
  return ctx.toGraph().operators.find((op) => op.kind === "sink").connector;
}

function base() {
  return Redis.new().host("localhost").keyExtractor((v) => v.k).valueExtractor((v) => v.v);
}

test("the original Redis builder records SET with only the original options", () => {
  const config = base().connectorConfig();
  assert.deepEqual(Object.keys(config).sort(), [
    "database", "host", "keyExtractor", "password", "port", "tls", "type", "username", "valueExtractor",
  ]);
  assert.equal(config.port, 6379);
  assert.equal(config.command, undefined);
  const recorded = sinkConfig(base().port(6390).command("hset"));
  assert.equal(recorded.type, "redis");
  assert.equal(recorded.port, 6390);
  assert.equal(recorded.command, "hset");
  assert.equal(typeof recorded.keyExtractor, "number");
});

test("command, hashKey, streamField, ttl, batchSize and reconnectTimeout are recorded", () => {
  const hset = base().hashKey("counts").ttl(Time.minutes(5)).batchSize(50).reconnectTimeout(Time.seconds(3)).connectorConfig();
  assert.equal(hset.command, "hset");
  assert.equal(hset.hashKey, "counts");
  assert.equal(hset.ttlMs, 300000);
  assert.equal(hset.batchSize, 50);
  assert.equal(hset.reconnectTimeoutMs, 3000);
  const xadd = base().command("xadd").streamField("event").ttl({ seconds: 2 }).connectorConfig();
  assert.equal(xadd.command, "xadd");
  assert.equal(xadd.streamField, "event");
  assert.equal(xadd.ttlMs, 2000);
  assert.equal(base().ttl(0).connectorConfig().ttlMs, undefined);
  const tls = base().tls(true, { caFile: "/etc/redis/ca.pem", verify: false }).connectorConfig();
  assert.equal(tls.tls, true);
  assert.equal(tls.tlsCaFile, "/etc/redis/ca.pem");
  assert.equal(tls.tlsVerify, false);
  assert.equal(base().tls(true).connectorConfig().tlsCaFile, undefined);
});

test("bad Redis options are ConfigErrors that name the option", () => {
  assert.throws(() => base().command("del"), (e) => e instanceof ConfigError &&
    e.message === 'Redis sink: command() expects "set", "hset" or "xadd", got "del"');
  assert.throws(() => base().hashKey("h").command("set").connectorConfig(), (e) => e instanceof ConfigError &&
    e.message === 'Redis sink: hashKey() needs the command "hset", not "set"');
  assert.throws(() => base().ttl(-1), (e) => e instanceof ConfigError && /ttl\(\)/.test(e.message));
  assert.throws(() => base().batchSize(0), (e) => e instanceof ConfigError && /batchSize/.test(e.message));
});
