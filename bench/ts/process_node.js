// The baseline of bench/ts/process.ts: the same per-key window counts with timers, as a plain
// Node.js script (a Map per key, a min-heap of timer times, the watermark = largest time - 1).
"use strict";
const fs = require("node:fs");
const readline = require("node:readline");

const heap = [];
const push = (x) => {
  let i = heap.length;
  heap.push(x);
  while (i > 0) {
    const p = (i - 1) >> 1;
    if (heap[p] <= x) break;
    heap[i] = heap[p];
    i = p;
  }
  heap[i] = x;
};
const pop = () => {
  const top = heap[0], last = heap.pop();
  if (heap.length > 0) {
    let i = 0;
    for (;;) {
      let c = 2 * i + 1;
      if (c >= heap.length) break;
      if (c + 1 < heap.length && heap[c + 1] < heap[c]) c++;
      if (heap[c] >= last) break;
      heap[i] = heap[c];
      i = c;
    }
    heap[i] = last;
  }
  return top;
};

async function main() {
  const keys = new Map(); // auction -> Map(start -> count)
  const timers = new Map(); // time -> Set(auction)
  const out = [];
  const flush = () => {
    if (out.length > 0) process.stdout.write(out.join("\n") + "\n");
    out.length = 0;
  };
  const fire = (upTo) => {
    while (heap.length > 0 && heap[0] <= upTo) {
      const t = pop();
      const start = t - 9999;
      for (const auction of timers.get(t)) {
        const counts = keys.get(auction);
        out.push(`${auction} ${start} ${counts.get(start)}`);
        counts.delete(start);
      }
      timers.delete(t);
    }
    if (out.length >= 4096) flush();
  };
  let watermark = -Infinity;
  const lines = readline.createInterface({ input: fs.createReadStream(process.argv[2]), crlfDelay: Infinity });
  for await (const line of lines) {
    const b = JSON.parse(line);
    let counts = keys.get(b.auction);
    if (counts === undefined) keys.set(b.auction, (counts = new Map()));
    const start = b.time - (b.time % 10000);
    const n = counts.get(start);
    if (n === undefined) {
      counts.set(start, 1);
      const t = start + 9999;
      let set = timers.get(t);
      if (set === undefined) {
        timers.set(t, (set = new Set()));
        push(t);
      }
      set.add(b.auction);
    } else {
      counts.set(start, n + 1);
    }
    if (b.time - 1 > watermark) {
      watermark = b.time - 1;
      fire(watermark);
    }
  }
  fire(Infinity);
  flush();
}

main();
