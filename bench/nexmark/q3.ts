// Nexmark q3 in TypeScript: the sellers in OR, ID or CA with an auction in category 10, with the
// columns name, city, state, id (the auction's; docs/nexmark.md). As in the C++ query, a regular
// inner join on connect(): a person (at most one per id) meets the auctions they sell; auctions
// that come before their seller wait in list state.
//
//   lightflusd run bench/nexmark/q3.ts --set generate=1000000 [--set sink=null]
//   lightflusd run bench/nexmark/q3.ts --set events=events.jsonl
import { Blackhole, ExecutionContext, FileSource, Nexmark, type NexmarkEvent, Stdout } from "lightflus";

interface AuctionKey {
  id: number;
  seller: number;
}

interface Seller {
  id: number;
  name: string;
  city: string;
  state: string;
}

export default function (ctx: ExecutionContext) {
  const events = ctx.param("events", "")
    ? ctx.fromSource(FileSource.jsonLines<NexmarkEvent>(ctx.param("events")))
    : ctx.fromSource(Nexmark.events({ count: ctx.param("generate", 1_000_000) }));
  const auctions = events
    .flatMap((e: NexmarkEvent): AuctionKey[] => {
      const a = e.auction;
      return a !== null && a.category === 10 ? [{ id: a.id, seller: a.seller }] : [];
    })
    .name("q3-auctions");
  const persons = events
    .flatMap((e: NexmarkEvent): Seller[] => {
      const p = e.person;
      return p !== null && (p.state === "OR" || p.state === "ID" || p.state === "CA")
        ? [{ id: p.id, name: p.name, city: p.city, state: p.state }]
        : [];
    })
    .name("q3-persons");
  auctions
    .connect(persons)
    .keyBy(
      (a) => a.seller,
      (p) => p.id,
    )
    .process({
      processElement1(a, c, out) {
        const p = c.state.value<Seller>("person").value();
        if (p !== undefined) out.collect({ name: p.name, city: p.city, state: p.state, id: a.id });
        else c.state.list<number>("auctions").add(a.id);
      },
      processElement2(p, c, out) {
        const waiting = c.state.list<number>("auctions");
        for (const id of waiting.get()) out.collect({ name: p.name, city: p.city, state: p.state, id });
        waiting.clear();
        c.state.value<Seller>("person").update(p);
      },
    })
    .name("q3")
    .sink(ctx.param("sink", "print") === "null" ? Blackhole.new() : Stdout.new());
}
