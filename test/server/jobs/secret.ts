// A job whose sink has credentials, for the daemon tests: describing it must not show them.
// Nothing listens on port 1, so the job fails once it starts; its graph stays describable.
import { ExecutionContext, Generator, Redis } from "lightflus";

export default function (ctx: ExecutionContext) {
  ctx
    .fromSource(Generator.sequence(1, 10))
    .sink(
      Redis.new<number>()
        .host("127.0.0.1:1")
        .auth("hunter2-password", "app")
        .keyExtractor((n: number) => `k${n}`)
        .valueExtractor((n: number) => n),
    );
}
