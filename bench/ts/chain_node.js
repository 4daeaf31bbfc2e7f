// The baseline of bench/ts/chain.ts: the same filter/map/flatMap/map over the parsed lines.
"use strict";
const fs = require("node:fs");
const readline = require("node:readline");

async function main() {
  const out = [];
  const lines = readline.createInterface({ input: fs.createReadStream(process.argv[2]), crlfDelay: Infinity });
  for await (const line of lines) {
    const b = JSON.parse(line);
    if (!(b.price > 5000)) continue;
    const m = { auction: b.auction, bidder: b.bidder, euros: Math.round(b.price * 0.91) };
    for (const x of m.bidder % 2 === 0 ? [m, m] : [m]) out.push(`${x.auction} ${x.bidder} ${x.euros}`);
    if (out.length >= 4096) {
      process.stdout.write(out.join("\n") + "\n");
      out.length = 0;
    }
  }
  if (out.length > 0) process.stdout.write(out.join("\n") + "\n");
}

main();
