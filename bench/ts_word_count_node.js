// The benchmark's baseline (bench/ts_word_count.sh): the same word count as a plain Node.js
// script: read the lines, split them as the TypeScript job does, count in a Map, print
// "word count" per word.
"use strict";
const fs = require("node:fs");
const readline = require("node:readline");

async function main() {
  const counts = new Map();
  const lines = readline.createInterface({ input: fs.createReadStream(process.argv[2]), crlfDelay: Infinity });
  for await (const line of lines) {
    for (const word of line.toLowerCase().split(/[^a-z0-9]+/)) {
      if (word.length > 0) counts.set(word, (counts.get(word) ?? 0) + 1);
    }
  }
  const out = [];
  for (const [word, count] of counts) out.push(`${word} ${count}`);
  process.stdout.write(out.join("\n") + "\n");
}

main();
