// Nexmark q2 in TypeScript: the bids on auctions whose id is a multiple of 123, with the columns
// auction, price (docs/nexmark.md).
//
//   lightflusd run bench/nexmark/q2.ts --set generate=1000000 [--set sink=null]
//   lightflusd run bench/nexmark/q2.ts --set events=events.jsonl
import { Blackhole, ExecutionContext, FileSource, Nexmark, type NexmarkEvent, Stdout } from "lightflus";

export default function (ctx: ExecutionContext) {
  const events = ctx.param("events", "")
    ? ctx.fromSource(FileSource.jsonLines<NexmarkEvent>(ctx.param("events")))
    : ctx.fromSource(Nexmark.events({ count: ctx.param("generate", 1_000_000) }));
  events
    .flatMap((e: NexmarkEvent) => {
      const b = e.bid;
      return b !== null && b.auction % 123 === 0 ? [{ auction: b.auction, price: b.price }] : [];
    })
    .name("q2")
    .sink(ctx.param("sink", "print") === "null" ? Blackhole.new() : Stdout.new());
}
