// The baseline of bench/ts/window.ts: tumbling 10 s windows per auction (count, sum, max
// price), each emitted when the watermark (largest time - 1) passes its end.
"use strict";
const fs = require("node:fs");
const readline = require("node:readline");

async function main() {
  const windows = new Map(); // start -> Map(auction -> acc)
  const out = [];
  const flush = () => {
    if (out.length > 0) process.stdout.write(out.join("\n") + "\n");
    out.length = 0;
  };
  const fire = (upTo) => {
    for (const [start, accs] of windows) {
      if (start + 9999 > upTo) continue;
      for (const a of accs.values()) out.push(`${a.auction} ${a.start} ${a.count} ${a.sum} ${a.max}`);
      windows.delete(start);
    }
    if (out.length >= 4096) flush();
  };
  let watermark = -Infinity;
  const lines = readline.createInterface({ input: fs.createReadStream(process.argv[2]), crlfDelay: Infinity });
  for await (const line of lines) {
    const b = JSON.parse(line);
    const start = b.time - (b.time % 10000);
    let accs = windows.get(start);
    if (accs === undefined) windows.set(start, (accs = new Map()));
    let a = accs.get(b.auction);
    if (a === undefined) accs.set(b.auction, (a = { auction: b.auction, start, count: 0, sum: 0, max: 0 }));
    a.count += 1;
    a.sum += b.price;
    if (b.price > a.max) a.max = b.price;
    if (b.time - 1 > watermark) {
      watermark = b.time - 1;
      fire(watermark);
    }
  }
  fire(Infinity);
  flush();
}

main();
