// The benchmark's rolling keyed reduce over objects (bench/ts_rolling.sh), the original
// Lightflus README's shape: lines -> {word, n: 1} objects -> keyBy(word) -> reduce -> a string
// per update. Every input word prints the word's running count, as the Node.js script does.
import { ExecutionContext, FileSource, Stdout } from "lightflus";

interface WordCount {
  word: string;
  n: number;
}

export default function (ctx: ExecutionContext) {
  ctx
    .fromSource(FileSource.lines(ctx.param("input")))
    .flatMap((line: string) =>
      line
        .toLowerCase()
        .split(/[^a-z0-9]+/)
        .filter((w) => w.length > 0)
        .map((word): WordCount => ({ word, n: 1 })),
    )
    .keyBy((wc: WordCount) => wc.word)
    .reduce((a: WordCount, b: WordCount): WordCount => ({ word: a.word, n: a.n + b.n }))
    .map((wc: WordCount) => `${wc.word} ${wc.n}`)
    .sink(Stdout.new<string>());
}
