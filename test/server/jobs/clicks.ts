// A job fed over HTTP for the daemon tests: clicks POSTed to /v1/jobs/{id}/events, one line
// "user n*2" per click, into a file.
import { ExecutionContext, FileSink, HttpSource } from "lightflus";

interface Click {
  user: string;
  n: number;
}

export default function (ctx: ExecutionContext) {
  ctx
    .fromSource(HttpSource.new<Click>())
    .name("clicks")
    .map((c: Click) => `${c.user} ${c.n * 2}`)
    .sink(FileSink.lines<string>(ctx.param("output")));
}
