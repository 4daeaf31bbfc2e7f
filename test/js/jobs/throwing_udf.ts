// A map whose function throws on the element 3 (line 8).
import { ExecutionContext, Generator, Stdout } from "lightflus";

const ctx = ExecutionContext.new("throwingUdf");
ctx
  .fromSource(Generator.sequence(1, 5))
  .map((n: number) => {
    if (n === 3) throw new Error(`cannot handle ${n}`);
    return n * 10;
  })
  .name("times ten")
  .sink(Stdout.new<number>());
ctx.execute();
