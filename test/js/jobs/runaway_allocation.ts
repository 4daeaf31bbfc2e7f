// A map that keeps everything it ever saw, and more.
import { ExecutionContext, Generator, Stdout } from "lightflus";

const hoard: string[][] = [];
const ctx = ExecutionContext.new("runawayAllocation");
ctx
  .fromSource(Generator.sequence(1, 10))
  .map((n: number) => {
    for (;;) hoard.push(new Array(1000).fill(`element ${n} ${hoard.length}`));
    return n;
  })
  .name("hoard")
  .sink(Stdout.new<number>());
ctx.execute();
