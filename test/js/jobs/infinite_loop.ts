// A filter that never returns.
import { ExecutionContext, Generator, Stdout } from "lightflus";

const ctx = ExecutionContext.new("infiniteLoop");
ctx
  .fromSource(Generator.sequence(1, 5))
  .filter((n: number) => {
    while (n > 0) n = n + 1 - 1;
    return true;
  })
  .name("forever")
  .sink(Stdout.new<number>());
ctx.execute();
