// Clicks of which 39 arrive 20 s late and one cannot be parsed (the click 777): what the job
// drops is what `lightflusd run` reports at its end. Sliding windows of 1 s every 2 s leave
// gaps: the half of the clicks that falls between windows is dropped without being counted.
import { ExecutionContext, Generator, SlidingWindow, Stdout, Time, WatermarkStrategy } from "lightflus";

interface Click {
  user: string;
  time: number;
}

const ctx = ExecutionContext.new("lateClicks");
ctx
  .fromSource(Generator.sequence(0, 4999))
  .map((i: number): Click => {
    if (i === 777) throw new Error(`cannot parse click ${i}`);
    // Every hundredth click from 1150 on is 20 s late: the watermark passed it a batch ago.
    const late = i % 100 === 50 && i >= 1150;
    return { user: `user${i % 3}`, time: late ? i * 10 - 20_000 : i * 10 };
  })
  .name("parse")
  .assignTimestamps((c: Click) => c.time, WatermarkStrategy.forMonotonousTimestamps())
  .keyBy((c: Click) => c.user)
  .window(SlidingWindow.of(Time.seconds(1), Time.seconds(2)))
  .aggregate({
    createAccumulator: () => 0,
    add: (_c: Click, n: number) => n + 1,
    getResult: (n: number) => n,
    merge: (a: number, b: number) => a + b,
  })
  .name("count")
  .sink(Stdout.new<number>());
ctx.execute();
