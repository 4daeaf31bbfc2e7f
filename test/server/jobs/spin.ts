// A job whose UDF never returns (under --time-limit 0 nothing stops it): it must not starve
// the daemon's other jobs.
import { ExecutionContext, Generator, Stdout } from "lightflus";

const ctx = ExecutionContext.new("spin");
ctx
  .fromSource(Generator.sequence(0).ratePerSecond(10))
  .map((n: number) => {
    let x = n;
    for (;;) x = (x * 31 + 7) % 1000003;
    return x;
  })
  .sink(Stdout.new<number>());
ctx.execute();
