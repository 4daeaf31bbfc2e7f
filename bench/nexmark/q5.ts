// Nexmark q5 in TypeScript: the auctions with the most bids in each 10 s window sliding by 2 s,
// with the columns auction, num (docs/nexmark.md). As in the C++ query: a sliding-window count
// per auction, then, per window (a 2 s tumbling window keyed by the window's start: a window's
// counts carry its maxTimestamp(), which falls in exactly one of them), the auctions whose count
// is the window's largest.
//
//   lightflusd run bench/nexmark/q5.ts --set generate=1000000 [--set sink=null]
//   lightflusd run bench/nexmark/q5.ts --set events=events.jsonl
import {
  Blackhole,
  ExecutionContext,
  FileSource,
  Nexmark,
  type NexmarkEvent,
  SlidingWindow,
  Stdout,
  Time,
  TumblingWindow,
  WatermarkStrategy,
} from "lightflus";

interface AuctionCount {
  auction: number;
  num: number;
  start: number;
}

export default function (ctx: ExecutionContext) {
  // The generator stamps each event with its dateTime; a file's events get it here, with the
  // nexmark DDL's 4 s bounded out-of-orderness.
  const events = ctx.param("events", "")
    ? ctx
        .fromSource(FileSource.jsonLines<NexmarkEvent>(ctx.param("events")))
        .assignTimestamps(
          (e: NexmarkEvent) => Date.parse((e.bid ?? e.auction ?? e.person)!.dateTime.replace(" ", "T") + "Z"),
          WatermarkStrategy.boundedOutOfOrderness(Time.seconds(4)),
        )
    : ctx.fromSource(Nexmark.events({ count: ctx.param("generate", 1_000_000) }));
  events
    .flatMap((e: NexmarkEvent) => (e.bid === null ? [] : [e.bid.auction]))
    .name("q5-bids")
    .keyBy((auction: number) => auction)
    .window(SlidingWindow.of(Time.seconds(10), Time.seconds(2)))
    .aggregate(
      {
        createAccumulator: () => 0,
        add: (_auction: number, n: number) => n + 1,
        getResult: (n: number) => n,
        merge: (a: number, b: number) => a + b,
      },
      (auction: number, window, num: number): AuctionCount => ({ auction, num, start: window.start }),
    )
    .name("q5-count")
    .keyBy((c: AuctionCount) => c.start)
    .window(TumblingWindow.of(Time.seconds(2)))
    .process((_start: number, _window, counts: AuctionCount[]) => {
      let max = 0;
      for (const c of counts) max = Math.max(max, c.num);
      return counts.filter((c) => c.num >= max).map((c) => ({ auction: c.auction, num: c.num }));
    })
    .name("q5")
    .sink(ctx.param("sink", "print") === "null" ? Blackhole.new() : Stdout.new());
}
