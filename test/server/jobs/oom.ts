// A job that allocates 800 MB at once on its first record: V8 aborts its whole process
// ("Fatal javascript OOM"), which under serve is the job's process only.
import { ExecutionContext, Generator, Stdout } from "lightflus";

const ctx = ExecutionContext.new("oom");
ctx
  .fromSource(Generator.sequence(0).ratePerSecond(10))
  .map((n: number) => new Array(1e8).fill(0).length + n)
  .sink(Stdout.new<number>());
ctx.execute();
