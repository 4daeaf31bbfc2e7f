// Word count on Kafka, written like the original Lightflus examples: lines from the topic
// "lines", flatMap / keyBy / reduce, and "word count" updates to the topic "counts", keyed by
// the word.
//
//   lightflusd run examples/ts/kafkaWordCount.ts --set brokers=127.0.0.1:40123 [--set bounded=true]
//
// `lightflusd dev-kafka --topic lines:2 --topic counts:2` starts a broker for it (scripts/demo.sh
// does all of this). With bounded=true the job stops at the end of the lines that were in the
// topic when it started; otherwise it keeps counting new lines. The reduce is rolling: every
// word's count is written again on each update, so the largest count of a word is its total.
import { context } from "lightflus-api/src/stream/context";
import ExecutionContext = context.ExecutionContext;
import { Kafka, Tuple2 } from "lightflus";

async function kafkaWordCount(ctx: ExecutionContext) {
  const brokers = ctx.param("brokers", "127.0.0.1:9092").split(",");
  const source = Kafka.builder()
    .brokers(brokers)
    .topic(ctx.param("input", "lines"))
    .group("kafkaWordCount")
    .bounded(ctx.param("bounded", "false") === "true")
    .build<string>(undefined, "string");
  await source
    .createFlow(ctx)
    .flatMap((line) =>
      line
        .toLowerCase()
        .split(/[^a-z0-9]+/)
        .filter((word) => word.length > 0)
        .map((word) => new Tuple2(word, 1)),
    )
    .keyBy((pair) => pair.t0)
    .reduce((total, pair) => new Tuple2(total.t0, total.t1 + pair.t1))
    .map((pair) => `${pair.t0} ${pair.t1}`)
    .sink(
      Kafka.builder()
        .brokers(brokers)
        .topic(ctx.param("output", "counts"))
        .keyExtractor((line: string) => line.split(" ")[0])
        .build(),
    )
    .execute();
}

kafkaWordCount(ExecutionContext.new("kafkaWordCount", "default")).then();
