// Nexmark q0 in TypeScript: every bid (pass-through), with the SQL's columns
// auction, bidder, price, dateTime, extra (docs/nexmark.md).
//
//   lightflusd run bench/nexmark/q0.ts --set generate=1000000 [--set sink=null]
//   lightflusd run bench/nexmark/q0.ts --set events=events.jsonl
import { Blackhole, ExecutionContext, FileSource, Nexmark, type NexmarkEvent, Stdout } from "lightflus";

export default function (ctx: ExecutionContext) {
  const events = ctx.param("events", "")
    ? ctx.fromSource(FileSource.jsonLines<NexmarkEvent>(ctx.param("events")))
    : ctx.fromSource(Nexmark.events({ count: ctx.param("generate", 1_000_000) }));
  events
    .flatMap((e: NexmarkEvent) => {
      const b = e.bid;
      return b === null ? [] : [{ auction: b.auction, bidder: b.bidder, price: b.price, dateTime: b.dateTime, extra: b.extra }];
    })
    .name("q0")
    .sink(ctx.param("sink", "print") === "null" ? Blackhole.new() : Stdout.new());
}
