// The TypeScript job of the exactly-once kill -9 test (lightflusd_exactly_once_kill_test.sh):
// Kafka records "<key>:<seq>" (each key's seq counting 1, 2, 3, ... in one partition) -> keyed
// rolling count with a per-key sequence check -> the exactly-once Kafka sink, keyed by <key>.
// Each output record is one key's {key, seq, count} after one more element, so a read_committed
// reader must see, per key, counts 1, 2, 3, ... with count === seq: no repeat (a duplicate), no
// gap (a loss), whatever happened to the process in between.
const ctx = ExecutionContext.new("kafkaSequenceCounts");
const brokers = ctx.param("brokers");
const input = ctx.param("input", "eo-in");
const output = ctx.param("output", "eo-out");
const bounded = ctx.param("bounded", false);

type Count = { key: string; seq: number; count: number };

ctx
  .fromSource(Kafka.builder().brokers([brokers]).topic(input).bounded(bounded).build<string>(undefined, "string"))
  // Every operator takes the job's --parallelism, which changes between runs: the source's
  // partition positions, the keyed counts and the sink's epochs are all re-split on restore.
  .map((record: string): Count => {
    const colon = record.lastIndexOf(":");
    return { key: record.slice(0, colon), seq: Number(record.slice(colon + 1)), count: 1 };
  }) // chained to the source: each key's records stay in order
  .keyBy((c: Count) => c.key)
  .reduce((acc: Count, c: Count): Count => {
    // Flink's SemanticsCheckMapper: within a key, each element follows the previous one.
    if (acc.count !== acc.seq || c.seq !== acc.seq + 1) {
      throw new Error(`sequence check: key ${c.key}: ${c.seq} after ${acc.seq} (count ${acc.count})`);
    }
    return { key: c.key, seq: c.seq, count: acc.count + 1 };
  })
  .sink(
    Kafka.builder()
      .brokers([brokers])
      .topic(output)
      .keyExtractor((c: Count) => c.key)
      .valueFormat("json")
      .exactlyOnce()
      .build(),
  );
ctx.execute();
