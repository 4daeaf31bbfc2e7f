// The Nexmark source's events as a job's JavaScript sees them (mode "js": JSON.stringify of each
// object) or as the engine hands them to a sink without JavaScript (mode "value"), to stdout or,
// with `out`, to a JSON-lines file (exactly once with checkpoints). For
// lightflusd_nexmark_test.sh.
import { ExecutionContext, FileSink, Nexmark, type NexmarkEvent, Stdout } from "lightflus";

export default function (ctx: ExecutionContext) {
  const events = ctx.fromSource(Nexmark.events({ count: ctx.param("count", 1000), rate: ctx.param("rate", 0) }));
  const out = ctx.param("out", "");
  if (ctx.param("mode", "js") === "js") {
    const texts = events.map((e: NexmarkEvent) => JSON.stringify(e));
    texts.sink(out ? FileSink.lines<string>(out) : Stdout.new<string>());
  } else {
    events.sink(out ? FileSink.lines<NexmarkEvent>(out) : Stdout.new<NexmarkEvent>());
  }
}
