// Word count, written like the original Lightflus examples: a namespaced import from the
// original module path, ExecutionContext.new(name, namespace), a source's createFlow(ctx),
// flatMap / keyBy / reduce / sink, and an async function that awaits execute().
//
//   lightflusd run examples/ts/wordCount.ts [--set input=FILE] [--parallelism 2]
//
// The reduce is rolling (as in the original): every word updates its count, and every update
// is printed as "word count". The last (largest) count printed for a word is its total.
import { context } from "lightflus-api/src/stream/context";
import ExecutionContext = context.ExecutionContext;
import { FileSource, Stdout, Tuple2 } from "lightflus";

async function wordCount(ctx: ExecutionContext) {
  const source = FileSource.lines(ctx.param("input", "examples/data/sample.txt"));
  await source
    .createFlow(ctx)
    .flatMap((line) =>
      line
        .toLowerCase()
        .split(/[^a-z0-9]+/)
        .filter((word) => word.length > 0)
        .map((word) => new Tuple2(word, 1)),
    )
    .keyBy((pair) => pair.t0)
    .reduce((total, pair) => new Tuple2(total.t0, total.t1 + pair.t1))
    .map((pair) => `${pair.t0} ${pair.t1}`)
    .sink(Stdout.new<string>())
    .execute();
}

wordCount(ExecutionContext.new("wordCount", "default")).then();
