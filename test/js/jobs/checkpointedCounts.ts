// A stateful job for the kill -9 test: numbers 0..N-1 at a steady rate -> keyed rolling count
// with a per-key sequence check -> a JSON-lines file (and, with --set rolling=DIR, rolling
// files in DIR too). Each output line is one key's count after
// one more element, so, read back, every key's counts must step 1, 2, 3, ... with no repeat
// (a duplicate) and no gap (a loss), whatever happened to the process in between.
const ctx = ExecutionContext.new("checkpointedCounts");
const total = ctx.param("count", 200000);
const rate = ctx.param("rate", 50000);
const keys = ctx.param("keys", 10);
const out = ctx.param("out");
// A directory for a second, rolling file sink at the job's parallelism ("": none).
const rolling = ctx.param("rolling", "");

type Count = { key: number; count: number; last: number };

const counts = ctx
  .fromSource(Generator.sequence(0, total - 1).ratePerSecond(rate))
  .parallelism(1) // one generator: the keyed part may change its parallelism between runs
  .map((i: number): Count => ({ key: i % keys, count: 1, last: i }))
  .parallelism(1) // a rebalance into parallel maps would reorder each key's elements
  .keyBy((c: Count) => c.key)
  .reduce((acc: Count, c: Count): Count => {
    // Flink's SemanticsCheckMapper: within a key, each element follows the previous one.
    if (c.last !== acc.last + keys) throw new Error(`key ${c.key}: ${c.last} after ${acc.last}`);
    return { key: c.key, count: acc.count + 1, last: c.last };
  });
counts.sink(FileSink.jsonLines(out));
if (rolling) counts.sink(FileSink.rolling(rolling).maxBytes(256 * 1024));
ctx.execute();
