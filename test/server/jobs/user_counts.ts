// An endless keyed job for the web console's browser test: 500 numbers a second, a running
// count per user (a hash exchange after keyBy), into a file. It reads `apiToken`, a parameter
// named like a secret, which the console must show redacted.
import { ExecutionContext, FileSink, Generator } from "lightflus";

interface Count {
  user: string;
  count: number;
}

export default function (ctx: ExecutionContext) {
  const token = ctx.param("apiToken", "");
  ctx
    .fromSource(Generator.sequence(0).ratePerSecond(500))
    .name("numbers")
    .map((n: number): Count => ({ user: `u${n % 5}`, count: token.length > 0 ? 1 : 0 }))
    .name("toUser")
    .keyBy((c: Count) => c.user)
    .reduce((a: Count, b: Count): Count => ({ user: a.user, count: a.count + b.count }))
    .name("perUser")
    .sink(FileSink.jsonLines<Count>(ctx.param("output")));
}
