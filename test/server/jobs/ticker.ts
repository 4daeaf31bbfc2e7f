// An endless job for the daemon tests: even numbers, 1000 a second, into a file.
import { ExecutionContext, FileSink, Generator } from "lightflus";

const ctx = ExecutionContext.new("ticker");
ctx
  .fromSource(Generator.sequence(0).ratePerSecond(1000))
  .filter((n: number) => n % 2 === 0)
  .name("evens")
  .sink(FileSink.lines<number>(ctx.param("output")));
ctx.execute();
