// The baseline of bench/ts/original.ts: the same objects, the same reduce, each
// update printed as JSON.
"use strict";
const fs = require("node:fs");
const readline = require("node:readline");

async function main() {
  const state = new Map();
  const out = [];
  const lines = readline.createInterface({ input: fs.createReadStream(process.argv[2]), crlfDelay: Infinity });
  for await (const value of lines) {
    for (const v of value.split(" ").map((v) => ({ t0: 1, t1: v }))) {
      const prev = state.get(v.t1);
      const next = prev === undefined ? v : { t1: prev.t1, t0: prev.t0 + v.t0 };
      state.set(v.t1, next);
      out.push(JSON.stringify(next));
    }
    if (out.length >= 4096) {
      process.stdout.write(out.join("\n") + "\n");
      out.length = 0;
    }
  }
  if (out.length > 0) process.stdout.write(out.join("\n") + "\n");
}

main();
