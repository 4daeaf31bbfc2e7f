// The baseline of bench/ts_chain.ts: the same chain as a plain loop, lines written in chunks to
// the file named by the second argument.
"use strict";
const fs = require("node:fs");
const count = Number(process.argv[2]);
const out = fs.openSync(process.argv[3], "w");
let lines = [];
for (let i = 1; i <= count; i++) {
  const n = i * 2;
  if (n % 3 === 0) lines.push(n + 1);
  if (lines.length === 4096) {
    fs.writeSync(out, lines.join("\n") + "\n");
    lines = [];
  }
}
if (lines.length > 0) fs.writeSync(out, lines.join("\n") + "\n");
