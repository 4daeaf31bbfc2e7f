// Nexmark q1 in TypeScript: every bid with its price in euros (0.908 * price, DECIMAL(23, 3)
// in the SQL: price * 908 / 1000 is the double nearest to that decimal), with the columns
// auction, bidder, price, dateTime, extra (docs/nexmark.md).
//
//   lightflusd run bench/nexmark/q1.ts --set generate=1000000 [--set sink=null]
//   lightflusd run bench/nexmark/q1.ts --set events=events.jsonl
import { Blackhole, ExecutionContext, FileSource, Nexmark, type NexmarkEvent, Stdout } from "lightflus";

export default function (ctx: ExecutionContext) {
  const events = ctx.param("events", "")
    ? ctx.fromSource(FileSource.jsonLines<NexmarkEvent>(ctx.param("events")))
    : ctx.fromSource(Nexmark.events({ count: ctx.param("generate", 1_000_000) }));
  events
    .flatMap((e: NexmarkEvent) => {
      const b = e.bid;
      return b === null
        ? []
        : [{ auction: b.auction, bidder: b.bidder, price: (b.price * 908) / 1000, dateTime: b.dateTime, extra: b.extra }];
    })
    .name("q1")
    .sink(ctx.param("sink", "print") === "null" ? Blackhole.new() : Stdout.new());
}
