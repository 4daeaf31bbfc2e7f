// bench/ts_bench.sh "chain": map/filter/flatMap over JSON-lines objects, parse included.
import { ExecutionContext, FileSource, Stdout } from "lightflus";

interface Bid {
  auction: number;
  bidder: number;
  price: number;
  time: number;
}

export default function (ctx: ExecutionContext) {
  ctx
    .fromSource(FileSource.jsonLines(ctx.param("input")))
    .filter((b: Bid) => b.price > 5000)
    .map((b: Bid) => ({ auction: b.auction, bidder: b.bidder, euros: Math.round(b.price * 0.91) }))
    .flatMap((b: { auction: number; bidder: number; euros: number }) => (b.bidder % 2 === 0 ? [b, b] : [b]))
    .map((b: { auction: number; bidder: number; euros: number }) => `${b.auction} ${b.bidder} ${b.euros}`)
    .sink(Stdout.new<string>());
}
