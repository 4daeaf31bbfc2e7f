// A keyed process function for the kill -9 test (lightflusd_process_kill_test.sh): numbers
// 0..N-1 at a steady rate, number i of key i % keys with event time i ms and per-key sequence
// number floor(i / keys) + 1 -> keyBy(key).process(fn) -> a JSON-lines file, and its side
// output -> another. Every record the function writes is determined by the input alone, not by
// when it runs, so whatever happened to the process in between, read back the files must hold
// each of them exactly once:
// - {kind: "error"}: a sequence number that did not follow the key's previous one by exactly
//   +1 (Flink's SemanticsCheckMapper); there must be none.
// - {kind: "window"}: an event-time timer at the end of each tumbling window of event time
//   (mapState "windows": window end -> elements in it), with the key's running total.
// - {kind: "ptimer"}: a processing-time timer registered by every element whose sequence
//   number is 50 mod 100, 20 ms later (listState "pending": [time, seq]); the timers still
//   pending when the input ends are written by the final timer instead (`at: "end"`).
// - {kind: "final"}: an event-time timer at the end of the input with the key's count
//   (valueState "count").
// - the side output: every element whose sequence number is a multiple of 100.
const ctx = ExecutionContext.new("checkpointedProcess");
const total = ctx.param("count", 200000);
const rate = ctx.param("rate", 50000);
const keys = ctx.param("keys", 10);
const windowMs = ctx.param("window", 1000);
const out = ctx.param("out");
const side = ctx.param("side");

// Beyond every element's time: this timer fires at the end of the input only.
const FINAL = 8.64e15;
const hundredths = new OutputTag<{ key: number; seq: number }>("hundredths");

const key = (i: number) => i % keys;
const processed = ctx
  .fromSource(Generator.sequence(0, total - 1).ratePerSecond(rate))
  .parallelism(1) // one generator: the keyed part may change its parallelism between runs
  .assignTimestamps((i: number) => i, WatermarkStrategy.forMonotonousTimestamps())
  .parallelism(1) // a rebalance would reorder each key's elements
  .keyBy(key)
  .process({
    processElement(i: number, c, out) {
      const k = key(i), seq = Math.floor(i / keys) + 1;
      const last = c.state.valueState<number>("last");
      const after = last.value() ?? 0;
      if (seq !== after + 1) out.collect({ kind: "error", key: k, seq, after });
      last.update(seq);
      const count = c.state.valueState<number>("count");
      count.update((count.value() ?? 0) + 1);

      // Each timer registered once only, so a timer the restore loses is never fired.
      const timers = c.timerService();
      if (count.value() === 1) timers.registerEventTimeTimer(FINAL);
      const end = Math.floor(i / windowMs) * windowMs + windowMs - 1;
      const windows = c.state.mapState<number, number>("windows");
      const n = windows.get(end);
      if (n === undefined) timers.registerEventTimeTimer(end);
      windows.put(end, (n ?? 0) + 1);

      if (seq % 100 === 50) {
        const at = timers.currentProcessingTime() + 20;
        c.state.listState<[number, number]>("pending").add([at, seq]);
        timers.registerProcessingTimeTimer(at);
      }
      if (seq % 100 === 0) c.output(hundredths, { key: k, seq });
    },
    onTimer(t: number, c, out) {
      const k = c.getCurrentKey() as number;
      const pending = c.state.listState<[number, number]>("pending");
      if (c.timeDomain() === "processing") {
        const [due, later] = partition(pending.get(), (p) => p[0] === t);
        for (const [, seq] of due) out.collect({ kind: "ptimer", key: k, seq, at: "timer" });
        pending.update(later);
      } else if (t === FINAL) {
        for (const [at, seq] of pending.get()) {
          out.collect({ kind: "ptimer", key: k, seq, at: "end" });
          c.timerService().deleteProcessingTimeTimer(at);
        }
        pending.clear();
        out.collect({ kind: "final", key: k, count: c.state.valueState<number>("count").value() });
      } else {
        const windows = c.state.mapState<number, number>("windows");
        const fired = c.state.valueState<number>("fired");
        const n = windows.get(t) ?? 0;
        windows.remove(t);
        fired.update((fired.value() ?? 0) + n);
        out.collect({ kind: "window", key: k, end: t, n, total: fired.value() });
      }
    },
  });
processed.sink(FileSink.jsonLines(out));
processed.getSideOutput(hundredths).sink(FileSink.jsonLines(side));
ctx.execute();

function partition<T>(xs: T[], f: (x: T) => boolean): [T[], T[]] {
  const yes: T[] = [], no: T[] = [];
  for (const x of xs) (f(x) ? yes : no).push(x);
  return [yes, no];
}
