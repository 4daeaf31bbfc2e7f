// A bounded job for the daemon tests: the squares of 1..count, one per line, into a file.
import { ExecutionContext, FileSink, Generator } from "lightflus";

const ctx = ExecutionContext.new("squares");
ctx
  .fromSource(Generator.sequence(1, Number(ctx.param("count", "1000"))))
  .map((n: number) => n * n)
  .name("square")
  .sink(FileSink.lines<number>(ctx.param("output")));
ctx.execute();
