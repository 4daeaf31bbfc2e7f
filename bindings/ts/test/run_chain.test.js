// __runChain applies fused map/flatMap/filter chains to a batch, one JS call per batch, and
// __call calls single UDFs; outputs are compared with results worked out by hand.
"use strict";

const test = require("node:test");
const assert = require("node:assert/strict");
const { createSandbox, plain } = require("./support/sandbox");

// Registers UDFs in the sandbox through the API (ids 0, 1, 2, ... in order) and returns the sandbox.
function sandboxWithUdfs(...sources) {
  const sandbox = createSandbox();
  sandbox.evaluate(`
    var ctx = lightflus.ExecutionContext.new("chains");
    var stream = ctx.fromSource(lightflus.Generator.sequence(0, 10));
    ${sources.map((source) => `stream = stream.map(${source});`).join("\n")}
  `);
  return sandbox;
}

test("a map, flatMap and filter chain gives the exact outputs in order", () => {
  const sandbox = sandboxWithUdfs(
    "(line) => line.trim()", // 0 map
    "(line) => line.split(' ')", // 1 flatMap
    "(word) => word.length > 2", // 2 filter
    "(word) => word.toUpperCase()", // 3 map
  );
  const output = sandbox.lightflus.__runChain(
    [0, 1, 2, 3],
    ["map", "flatMap", "filter", "map"],
    ["  the cat sat  ", "on a mat", "", "elephants go"],
  );
  // By hand: "the cat sat" -> THE CAT SAT; "on a mat" -> MAT; "" -> [""] filtered; "elephants go" -> ELEPHANTS.
  assert.deepEqual(plain(output), ["THE", "CAT", "SAT", "MAT", "ELEPHANTS"]);
});

test("an empty chain returns its input, and an empty batch gives an empty output", () => {
  const sandbox = sandboxWithUdfs("(x) => x + 1");
  assert.deepEqual(plain(sandbox.lightflus.__runChain([], [], [1, 2, 3])), [1, 2, 3]);
  assert.deepEqual(plain(sandbox.lightflus.__runChain([0], ["map"], [])), []);
});

test("flatMap accepts arrays, other iterables and null, and rejects strings", () => {
  const sandbox = sandboxWithUdfs(
    "(n) => [n, n * 10]", // 0
    "(n) => new Set([n, n, n + 1])", // 1
    "(n) => (n % 2 === 0 ? null : [n])", // 2
    "(n) => String(n)", // 3
    "function* (n) { for (let i = 0; i < n; i++) yield i; }", // 4
  );
  const { lightflus } = sandbox;
  assert.deepEqual(plain(lightflus.__runChain([0], ["flatMap"], [1, 2])), [1, 10, 2, 20]);
  assert.deepEqual(plain(lightflus.__runChain([1], ["flatMap"], [5])), [5, 6]);
  assert.deepEqual(plain(lightflus.__runChain([2], ["flatMap"], [1, 2, 3, 4])), [1, 3]);
  assert.deepEqual(plain(lightflus.__runChain([4, 0], ["flatMap", "flatMap"], [3])), [0, 0, 1, 10, 2, 20]);
  assert.throws(() => lightflus.__runChain([3], ["flatMap"], [7]), (error) => {
    assert.equal(error.name, "UserCodeError");
    assert.match(error.message, /flatMap\(\) function \(UDF 3\) returned "7"; it must return an array/);
    return true;
  });
});

test("filter keeps elements for which the function returns a truthy value", () => {
  const sandbox = sandboxWithUdfs("(x) => x"); // 0
  assert.deepEqual(plain(sandbox.lightflus.__runChain([0], ["filter"], [0, 1, "", "a", null, [], false, true])), [
    1,
    "a",
    [],
    true,
  ]);
});

test("a compiled chain is reusable across batches", () => {
  const sandbox = sandboxWithUdfs("(x) => x * 2", "(x) => x > 4");
  const chain = sandbox.lightflus.__compileChain([0, 1], ["map", "filter"]);
  assert.deepEqual(plain(chain([1, 2, 3])), [6]);
  assert.deepEqual(plain(chain([10, 0])), [20]);
});

test("when a UDF throws, __chainPosition names the UDF, the input element and the outputs before it", () => {
  const sandbox = sandboxWithUdfs(
    "(s) => s.split(',')", // 0 flatMap
    "(s) => { if (s === 'bad') throw new Error('bad element'); return s + '!'; }", // 1 map
  );
  const { lightflus } = sandbox;
  assert.throws(() => lightflus.__runChain([0, 1], ["flatMap", "map"], ["a,b", "c,bad,d", "e"]), /bad element/);
  const position = lightflus.__chainPosition;
  assert.equal(position.udf, 1);
  assert.equal(position.kind, "map");
  assert.equal(position.index, 1);
  // "a,b" produced two outputs; "c" of the failing element is not counted.
  assert.equal(position.outputLength, 2);
  assert.deepEqual(plain(position.output.slice(0, position.outputLength)), ["a!", "b!"]);
});

test("__call calls one UDF with any number of arguments", () => {
  const sandbox = sandboxWithUdfs("(v) => v.id", "(a, b) => ({ n: a.n + b.n })");
  assert.equal(sandbox.lightflus.__call(0, { id: "k1" }), "k1");
  assert.deepEqual(plain(sandbox.lightflus.__call(1, { n: 2 }, { n: 5 })), { n: 7 });
  assert.throws(() => sandbox.lightflus.__call(99, 1), /there is no UDF number 99/);
});

test("__runChain rejects unknown kinds and mismatched arguments", () => {
  const sandbox = sandboxWithUdfs("(x) => x");
  assert.throws(() => sandbox.lightflus.__runChain([0], ["keyBy"], [1]), /map, flatMap and filter operators, not "keyBy"/);
  assert.throws(() => sandbox.lightflus.__runChain([0, 0], ["map"], [1]), /same length/);
  assert.throws(() => sandbox.lightflus.__runChain([7], ["map"], [1]), /there is no UDF number 7/);
});

test("a compiled chain given an origins array records the input index of every output", () => {
  const sandbox = sandboxWithUdfs(
    "(n) => [n, n]", // 0 flatMap
    "(n) => n % 2 === 1", // 1 filter
  );
  const chain = sandbox.lightflus.__compileChain([0, 1], ["flatMap", "filter"]);
  const origins = [];
  const output = chain([1, 2, 3], origins);
  // By hand: 1 -> [1, 1] kept; 2 -> [2, 2] dropped; 3 -> [3, 3] kept.
  assert.deepEqual(plain(output), [1, 1, 3, 3]);
  assert.deepEqual(plain(origins), [0, 0, 2, 2]);
});
