// A job whose sink has credentials, and that reads a parameter named like a secret, for the
// daemon tests: describing it must show neither. Nothing listens on port 1, so the job fails
// once it starts; its graph stays describable.
import { ExecutionContext, Generator, Redis } from "lightflus";

export default function (ctx: ExecutionContext) {
  const accessKey = ctx.param("accessKey", "none");
  ctx
    .fromSource(Generator.sequence(1, 10))
    .filter(() => accessKey.length > 0)
    .sink(
      Redis.new<number>()
        .host("127.0.0.1:1")
        .auth("hunter2-password", "app")
        .keyExtractor((n: number) => `k${n}`)
        .valueExtractor((n: number) => n),
    );
}
