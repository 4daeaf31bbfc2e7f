// The original API's style as plain JavaScript (CommonJS, no imports but require): a namespaced
// context, the original window object form and a window reduce, reading a file given with
// --set input=FILE. Prints "word count" once per word: the window (event time, which for a
// file is the time it was read) spans ten years, so the whole input falls into one.
const { context } = require("lightflus-api/src/stream/context");
const { FileSource, Stdout } = require("lightflus");
const ExecutionContext = context.ExecutionContext;

async function originalFileWordCount(ctx) {
  await FileSource.lines(ctx.param("input"))
    .createFlow(ctx)
    .flatMap((line) => line.toLowerCase().split(/[^a-z0-9]+/).filter((w) => w.length > 0)
      .map((w) => ({ t0: 1, t1: w })))
    .keyBy((v) => v.t1)
    .window({ fixed: { size: { hours: 24 * 3650 } } })
    .reduce((v1, v2) => ({ t1: v1.t1, t0: v1.t0 + v2.t0 }))
    .map((v) => v.t1 + " " + v.t0)
    .sink(Stdout.new())
    .execute();
}

originalFileWordCount(ExecutionContext.new("originalFileWordCount", "default")).then();
