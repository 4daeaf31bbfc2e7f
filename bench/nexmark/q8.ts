// Nexmark q8 in TypeScript: the people who registered and put up an auction in the same 10 s
// tumbling window, with the columns id, name, stime (the window's start; docs/nexmark.md). As
// in the C++ query: one element per seller and window (the SQL's GROUP BY seller, window: a
// tumbling window aggregate, whose result carries the window's maxTimestamp(), inside the same
// window of the join), then a window join with the persons.
//
//   lightflusd run bench/nexmark/q8.ts --set generate=1000000 [--set sink=null]
//   lightflusd run bench/nexmark/q8.ts --set events=events.jsonl
import {
  Blackhole,
  ExecutionContext,
  FileSource,
  Nexmark,
  type NexmarkEvent,
  Stdout,
  Time,
  TumblingWindow,
  WatermarkStrategy,
} from "lightflus";

interface NewPerson {
  id: number;
  name: string;
  dateTime: string;
}

const WINDOW_MS = 10_000;

/** "2015-07-15 00:00:10.000" for the start of the window holding `dateTime` (TIMESTAMP(3), UTC). */
function windowStart(dateTime: string): string {
  const t = Date.parse(dateTime.replace(" ", "T") + "Z");
  const start = t - ((t % WINDOW_MS) + WINDOW_MS) % WINDOW_MS;
  return new Date(start).toISOString().replace("T", " ").replace("Z", "");
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
  const persons = events
    .flatMap((e: NexmarkEvent): NewPerson[] => {
      const p = e.person;
      return p === null ? [] : [{ id: p.id, name: p.name, dateTime: p.dateTime }];
    })
    .name("q8-persons");
  const sellers = events
    .flatMap((e: NexmarkEvent) => (e.auction === null ? [] : [e.auction.seller]))
    .name("q8-auctions")
    .keyBy((seller: number) => seller)
    .window(TumblingWindow.of(Time.milliseconds(WINDOW_MS)))
    .aggregate(
      {
        createAccumulator: () => false,
        add: (_seller: number, _any: boolean) => true,
        getResult: (any: boolean) => any,
        merge: (a: boolean, b: boolean) => a || b,
      },
      (seller: number) => seller,
    )
    .name("q8-sellers");
  persons
    .join(sellers)
    .where((p) => p.id)
    .equalTo((seller) => seller)
    .window(TumblingWindow.of(Time.milliseconds(WINDOW_MS)))
    .apply((p) => ({ id: p.id, name: p.name, stime: windowStart(p.dateTime) }))
    .name("q8")
    .sink(ctx.param("sink", "print") === "null" ? Blackhole.new() : Stdout.new());
}
