// The benchmark's map -> filter -> map chain (bench/ts_word_count.sh): numbers 1..N, printed
// one per line (to /dev/null in the benchmark).
import { ExecutionContext, Generator, Stdout } from "lightflus";

export default function (ctx: ExecutionContext) {
  ctx
    .fromSource(Generator.sequence(1, ctx.param("count", 10_000_000)))
    .map((n: number) => n * 2)
    .filter((n: number) => n % 3 === 0)
    .map((n: number) => n + 1)
    .sink(Stdout.new<number>());
}
