// A job whose filter never returns: the daemon's time limit stops it, the daemon lives on.
import { ExecutionContext, Generator, FileSink } from "lightflus";

const ctx = ExecutionContext.new("forever");
ctx
  .fromSource(Generator.sequence(1, 5))
  .filter((n: number) => {
    while (n > 0) n = n + 1 - 1;
    return true;
  })
  .name("forever")
  .sink(FileSink.lines<number>(ctx.param("output", "/dev/null")));
ctx.execute();
