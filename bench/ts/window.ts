// bench/ts_bench.sh "window": a tumbling 10 s event-time window per auction aggregating the
// bids' count, sum and maximum price over JSON-lines events.
import { ExecutionContext, FileSource, Stdout, Time, TumblingWindow, WatermarkStrategy } from "lightflus";

interface Bid {
  auction: number;
  bidder: number;
  price: number;
  time: number;
}
interface Acc {
  auction: number;
  start: number;
  count: number;
  sum: number;
  max: number;
}

export default function (ctx: ExecutionContext) {
  ctx
    .fromSource(FileSource.jsonLines(ctx.param("input")))
    .assignTimestamps((b: Bid) => b.time, WatermarkStrategy.forMonotonousTimestamps())
    .keyBy((b: Bid) => b.auction)
    .window(TumblingWindow.of(Time.seconds(10)))
    .aggregate({
      createAccumulator: (): Acc => ({ auction: -1, start: 0, count: 0, sum: 0, max: 0 }),
      add: (b: Bid, a: Acc): Acc => {
        a.auction = b.auction;
        a.start = b.time - (b.time % 10000);
        a.count += 1;
        a.sum += b.price;
        if (b.price > a.max) a.max = b.price;
        return a;
      },
      getResult: (a: Acc) => `${a.auction} ${a.start} ${a.count} ${a.sum} ${a.max}`,
      merge: (a: Acc, b: Acc): Acc => ({
        auction: a.count > 0 ? a.auction : b.auction,
        start: a.count > 0 ? a.start : b.start,
        count: a.count + b.count,
        sum: a.sum + b.sum,
        max: Math.max(a.max, b.max),
      }),
    })
    .sink(Stdout.new<string>());
}
