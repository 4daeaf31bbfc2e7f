// Writes N Nexmark-like bid events as JSON lines for bench/ts_bench.sh:
//   {"auction": a, "bidder": b, "price": p, "time": t}
// auction in [0, 1000) (skewed: a few hot auctions), bidder in [0, 10000), price in [1, 10000),
// time in ms from 2026-01-01, ten events per millisecond, never decreasing (monotonous).
// Deterministic (a fixed linear congruential generator): node make_events.js N > events.jsonl
"use strict";
const n = Number(process.argv[2] ?? 2000000);
let seed = 42;
const next = () => {
  seed = (seed * 1103515245 + 12345) % 2147483648;
  return seed / 2147483648;
};
const start = Date.UTC(2026, 0, 1);
const out = [];
for (let i = 0; i < n; i++) {
  const r = next();
  const auction = r < 0.5 ? Math.floor(r * 20) : Math.floor(next() * 1000);
  const bidder = Math.floor(next() * 10000);
  const price = 1 + Math.floor(next() * 9999);
  const time = start + Math.floor(i / 10);
  out.push(`{"auction":${auction},"bidder":${bidder},"price":${price},"time":${time}}`);
  if (out.length === 10000) {
    process.stdout.write(out.join("\n") + "\n");
    out.length = 0;
  }
}
if (out.length > 0) process.stdout.write(out.join("\n") + "\n");
