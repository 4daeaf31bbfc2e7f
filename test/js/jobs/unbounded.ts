// An endless job: numbers forever, 2000 a second. Stopped with Ctrl-C (SIGINT) or SIGTERM.
import { ExecutionContext, Generator, Stdout } from "lightflus";

export default function (ctx: ExecutionContext) {
  ctx
    .fromSource(Generator.sequence(0).ratePerSecond(2000))
    .filter((n: number) => n % 2 === 0)
    .sink(Stdout.new<number>());
}
