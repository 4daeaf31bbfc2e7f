// The original Lightflus word count (typescript-api/src/wordCount.ts) writing to Redis with the
// original API (namespaced imports, Redis.new<T>().host().keyExtractor().valueExtractor()),
// reading a file instead of Kafka and with a rolling reduce, so that the last count written for
// a word is its total. The Redis server comes from the `redis` parameter:
//
//   lightflusd run test/redis/jobs/redisWordCount.ts --set redis=127.0.0.1:6379 --set input=FILE
import { context } from "lightflus-api/src/stream/context";
import { redis } from "lightflus-api/src/connectors/connectors";
import ExecutionContext = context.ExecutionContext;
import Redis = redis.Redis;
import { FileSource } from "lightflus";

async function wordCount(ctx: ExecutionContext) {
  let sink = Redis.new<{ t0: number, t1: string }>()
    .host(ctx.param("redis", "localhost"))
    .keyExtractor((v) => v.t1)
    .valueExtractor((v) => v.t0.toString());

  let stream = FileSource.lines(ctx.param("input", "examples/data/sample.txt")).createFlow(ctx);

  await stream.flatMap(line => line.toLowerCase().split(/[^a-z0-9]+/)
    .filter(w => w.length > 0)
    .map(v => {
      return { t0: 1, t1: v };
    }))
    .keyBy(v => v.t1)
    .reduce((v1, v2) => {
      return { t1: v1.t1, t0: v1.t0 + v2.t0 };
    })
    .sink(sink)
    .execute();
}

wordCount(ExecutionContext.new("wordCount", "default")).then();
