// Clicks per user in 10-second event-time windows, written in the new builder style: a default
// export that receives the context, job parameters, a generator source, event time with a
// bounded out-of-orderness watermark, a tumbling window and an aggregate.
//
//   lightflusd run examples/ts/windowedClicks.ts [--set events=10000] [--set users=5]
//
// Prints one "windowStart user count" line per window and user. Click i happens at
// START + i * 50 ms minus a delay of up to 2 s (so clicks arrive out of order); the watermark
// allows for exactly that, so no click is late.
import { ExecutionContext, Generator, Stdout, Time, TumblingWindow, WatermarkStrategy } from "lightflus";

interface Click {
  user: string;
  time: number;
}

interface Tally {
  user: string;
  count: number;
  first: number;
}

const START = 1_700_000_000_000;
const WINDOW_MS = 10_000;

export default function (ctx: ExecutionContext) {
  const events = ctx.param("events", 10_000);
  const users = ctx.param("users", 5);
  ctx
    .fromSource(Generator.sequence(0, events - 1))
    .map((i: number): Click => ({ user: `user${i % users}`, time: START + i * 50 - ((i * 7919) % 2001) }))
    .name("clicks")
    .assignTimestamps((click) => click.time, WatermarkStrategy.boundedOutOfOrderness(Time.seconds(2)))
    .keyBy((click) => click.user)
    .window(TumblingWindow.of(Time.milliseconds(WINDOW_MS)))
    .aggregate({
      // Accumulators cross into the engine as JSON between batches: keep them JSON values
      // (no Infinity, Map or class instances).
      createAccumulator: (): Tally => ({ user: "", count: 0, first: 0 }),
      add: (click: Click, tally: Tally): Tally => {
        if (tally.count === 0 || click.time < tally.first) tally.first = click.time;
        tally.user = click.user;
        tally.count += 1;
        return tally;
      },
      getResult: (tally: Tally) => `${tally.first - (tally.first % WINDOW_MS)} ${tally.user} ${tally.count}`,
    })
    .name("clicks per user")
    .sink(Stdout.new<string>());
}
