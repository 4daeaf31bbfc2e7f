// An endless job for the daemon's kill test: 0, 1, 2, ... at 1000 a second into rolling files
// (FileSink.rolling, two series, a part per checkpoint). A part becomes visible when the
// checkpoint after it completes, so the visible parts always hold 0 .. n-1, each once.
import { ExecutionContext, FileSink, Generator } from "lightflus";

const ctx = ExecutionContext.new("rollingTicker");
ctx
  .fromSource(Generator.sequence(0).ratePerSecond(1000))
  .sink(FileSink.rolling(ctx.param("output")).prefix("n").rollOnCheckpoint())
  .parallelism(2);
ctx.execute();
