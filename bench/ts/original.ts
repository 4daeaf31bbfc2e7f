// bench/ts_bench.sh "original": the original Lightflus README's word count, its UDFs
// unchanged ({t0: 1, t1: word} objects, keyBy t1, reduce adding t0), reading a file and
// printing each update as JSON instead of Kafka -> Redis.
import { ExecutionContext, FileSource, Stdout } from "lightflus";

export default function (ctx: ExecutionContext) {
  ctx
    .fromSource(FileSource.lines(ctx.param("input")))
    .flatMap((value: string) =>
      value.split(" ").map((v) => {
        return { t0: 1, t1: v };
      }),
    )
    .keyBy((v) => v.t1)
    .reduce((v1, v2) => {
      return { t1: v1.t1, t0: v1.t0 + v2.t0 };
    })
    .sink(Stdout.new());
}
