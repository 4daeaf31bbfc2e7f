// The benchmark's TypeScript word count (bench/ts_word_count.sh): lines -> words -> a count per
// word, printed once per word when the input ends ("word count"), as the Node.js script does.
import { ExecutionContext, FileSource, Stdout, Time, TumblingWindow } from "lightflus";

interface Tally {
  word: string;
  count: number;
}

export default function (ctx: ExecutionContext) {
  ctx
    .fromSource(FileSource.lines(ctx.param("input")))
    .flatMap((line: string) => line.toLowerCase().split(/[^a-z0-9]+/).filter((w) => w.length > 0))
    .keyBy((word: string) => word)
    // One window over the whole run (processing time; it fires when the input ends).
    .window(TumblingWindow.of(Time.days(3650)).processingTime())
    .aggregate({
      createAccumulator: (): Tally => ({ word: "", count: 0 }),
      add: (word: string, tally: Tally): Tally => {
        tally.word = word;
        tally.count += 1;
        return tally;
      },
      getResult: (tally: Tally) => `${tally.word} ${tally.count}`,
      // With merge (Flink's AggregateFunction has it too), each subtask pre-aggregates its batch
      // before the keyBy exchange at parallelism 2 and more.
      merge: (a: Tally, b: Tally): Tally => ({ word: a.word || b.word, count: a.count + b.count }),
    })
    .sink(Stdout.new<string>());
}
