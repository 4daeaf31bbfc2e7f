// The baseline of bench/ts_rolling.sh: the rolling count of bench/ts_rolling.ts as a plain
// Node.js script. Reads the lines, makes the same {word, n} objects, keeps the running object
// per word in a Map and prints "word n" for every word read.
"use strict";
const fs = require("node:fs");
const readline = require("node:readline");

async function main() {
  const state = new Map();
  const out = [];
  let size = 0;
  const flush = () => {
    if (out.length > 0) process.stdout.write(out.join("\n") + "\n");
    out.length = 0;
    size = 0;
  };
  const lines = readline.createInterface({ input: fs.createReadStream(process.argv[2]), crlfDelay: Infinity });
  for await (const line of lines) {
    const words = line
      .toLowerCase()
      .split(/[^a-z0-9]+/)
      .filter((w) => w.length > 0)
      .map((word) => ({ word, n: 1 }));
    for (const wc of words) {
      const prev = state.get(wc.word);
      const next = prev === undefined ? wc : { word: prev.word, n: prev.n + wc.n };
      state.set(wc.word, next);
      out.push(`${next.word} ${next.n}`);
      if (++size >= 4096) flush();
    }
  }
  flush();
}

main();
