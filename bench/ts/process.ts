// bench/ts_bench.sh "process": keyBy(auction).process() with a map state of counts per 10 s
// window and an event-time timer per key and window that emits the window's count and clears
// it: a keyed process function with state and timers on every event.
import { ExecutionContext, FileSource, Stdout, WatermarkStrategy } from "lightflus";

interface Bid {
  auction: number;
  bidder: number;
  price: number;
  time: number;
}

export default function (ctx: ExecutionContext) {
  ctx
    .fromSource(FileSource.jsonLines(ctx.param("input")))
    .assignTimestamps((b: Bid) => b.time, WatermarkStrategy.forMonotonousTimestamps())
    .keyBy((b: Bid) => b.auction)
    .process({
      processElement(b: Bid, c, out) {
        const start = b.time - (b.time % 10000);
        const counts = c.state.map<number, number>("counts");
        const n = counts.get(start);
        if (n === undefined) {
          counts.put(start, 1);
          c.timerService().registerEventTimeTimer(start + 9999);
        } else {
          counts.put(start, n + 1);
        }
      },
      onTimer(t: number, c, out) {
        const start = t - 9999;
        const counts = c.state.map<number, number>("counts");
        out.collect(`${c.getCurrentKey()} ${start} ${counts.get(start)}`);
        counts.remove(start);
      },
    })
    .sink(Stdout.new<string>());
}
