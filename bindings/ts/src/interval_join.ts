/**
 * Interval join (Flink's): pairs of two keyed streams' elements whose timestamps are close.
 *
 *     orders.keyBy((o) => o.customer)
 *       .intervalJoin(payments.keyBy((p) => p.payer))
 *       .between(-5000, Time.seconds(30))
 *       .process((order, payment, ctx) => ({ order, payment }));
 *
 * A coProcess operator whose co-process function (below) keeps both sides in keyed map state by
 * timestamp, with clean-up timers (docs/joins.md, "TypeScript").
 */
import { addCoProcess, type EngineCollector, type StreamRef, sameJob } from "./connected";
// dataflow.ts imports this file too: the classes only meet inside methods, after both loaded.
import { ProcessedDataflow } from "./dataflow";
import { ConfigError, describeValue } from "./errors";
import type { Collector, KeyedCoProcessFunction, KeyedProcessContext, ProcessJoinContext } from "./process";
import { OutputTag } from "./process";
import { type Duration, toMilliseconds } from "./time";

/** `a.keyBy(ka).intervalJoin(b.keyBy(kb))`: give the bounds with `between()`. */
export class IntervalJoin<K, A, B> {
  /** @internal */
  constructor(
    private readonly left_: StreamRef,
    private readonly right_: StreamRef,
  ) {
    sameJob(left_, right_, "intervalJoin()");
  }

  /**
   * Joins b with a when `a.timestamp + lower <= b.timestamp <= a.timestamp + upper`. Bounds are
   * Times or whole numbers of milliseconds, which may be negative: `between(-5000,
   * Time.seconds(30))`. Throws when lower > upper.
   */
  between(lower: Duration, upper: Duration): IntervalJoined<K, A, B> {
    const lower_ms = signedMilliseconds(lower, "intervalJoin().between(): lower");
    const upper_ms = signedMilliseconds(upper, "intervalJoin().between(): upper");
    if (lower_ms > upper_ms) {
      throw new ConfigError(`intervalJoin().between(lower, upper) needs lower <= upper; got ${lower_ms} ms > ${upper_ms} ms`);
    }
    return new IntervalJoined<K, A, B>(this.left_, this.right_, {
      lowerMs: lower_ms,
      upperMs: upper_ms,
      lowerBoundExclusive: false,
      upperBoundExclusive: false,
      leftLateTag: null,
      rightLateTag: null,
    });
  }
}

function signedMilliseconds(d: Duration, where: string): number {
  if (typeof d === "number") {
    if (!Number.isInteger(d)) {
      throw new ConfigError(`${where} must be a whole number of milliseconds or a Time, got ${describeValue(d)}`);
    }
    return d;
  }
  return toMilliseconds(d, where);
}

/** The interval join's options as recorded in the graph (`join` of its coProcess operator). */
interface IntervalJoinConfig {
  lowerMs: number;
  upperMs: number;
  lowerBoundExclusive: boolean;
  upperBoundExclusive: boolean;
  leftLateTag: string | null;
  rightLateTag: string | null;
}

/**
 * What an interval join calls per pair: `fn(left, right, ctx, out)`. What it returns is emitted
 * unless undefined; `out.collect(v)` emits more. Outputs carry the larger of the two timestamps.
 */
export type ProcessJoinFunction<K, A, B, O> = (left: A, right: B, ctx: ProcessJoinContext<K>, out: Collector<O>) => O | void;

/** An interval join with its bounds: options, then `process()`. */
export class IntervalJoined<K, A, B> {
  /** @internal */
  constructor(
    private readonly left_: StreamRef,
    private readonly right_: StreamRef,
    private readonly config_: IntervalJoinConfig,
  ) {}

  /** Excludes b.timestamp == a.timestamp + lower. */
  lowerBoundExclusive(): IntervalJoined<K, A, B> {
    return this.with_({ lowerBoundExclusive: true });
  }

  /** Excludes b.timestamp == a.timestamp + upper. */
  upperBoundExclusive(): IntervalJoined<K, A, B> {
    return this.with_({ upperBoundExclusive: true });
  }

  /** Sends late elements of the first stream to `tag` (read with `getSideOutput(tag)`) instead of dropping them. */
  sideOutputLeftLateData(tag: OutputTag<A>): IntervalJoined<K, A, B> {
    return this.with_({ leftLateTag: requireTag(tag, "sideOutputLeftLateData()") });
  }

  /** Sends late elements of the second stream to `tag` (read with `getSideOutput(tag)`) instead of dropping them. */
  sideOutputRightLateData(tag: OutputTag<B>): IntervalJoined<K, A, B> {
    return this.with_({ rightLateTag: requireTag(tag, "sideOutputRightLateData()") });
  }

  /** Calls `fn(left, right, ctx, out)` for every joined pair (see ProcessJoinFunction). */
  process<O>(fn: ProcessJoinFunction<K, A, B, O>): ProcessedDataflow<O> {
    if (typeof fn !== "function") {
      throw new ConfigError(`intervalJoin().process() expects a function (left, right, ctx, out) => output, got ${describeValue(fn)}`);
    }
    const c = this.config_;
    const lower = c.lowerBoundExclusive ? c.lowerMs + 1 : c.lowerMs;
    const upper = c.upperBoundExclusive ? c.upperMs - 1 : c.upperMs;
    if (lower > upper) throw new ConfigError("intervalJoin(): the exclusive bounds leave an empty interval");
    const ctx = this.left_.ctx;
    const id = addCoProcess(
      this.left_.id,
      this.right_.id,
      ctx,
      intervalJoinFunction(fn as ProcessJoinFunction<unknown, unknown, unknown, unknown>, lower, upper, c.leftLateTag, c.rightLateTag),
      "intervalJoin().process()",
      {},
      "intervalJoin",
      { join: { type: "interval", ...c } },
    );
    return new ProcessedDataflow<O>(ctx, id);
  }

  private with_(change: Partial<IntervalJoinConfig>): IntervalJoined<K, A, B> {
    return new IntervalJoined<K, A, B>(this.left_, this.right_, { ...this.config_, ...change });
  }
}

function requireTag(tag: unknown, where: string): string {
  if (!(tag instanceof OutputTag)) throw new ConfigError(`${where} expects an OutputTag, got ${describeValue(tag)}`);
  return tag.id;
}

type Buffer = [number, unknown[]][];

/**
 * The interval join as a co-process function (the C++ IntervalJoinFunction's rules, Flink's):
 * each side buffered in map state by timestamp; one clean-up timer per (key, time) serves both
 * sides: the first stream's bucket at s is due at s + max(upper, 0), the second's at s + max(-lower,
 * 0). An element behind the watermark is late: dropped, or sent to its side's tag.
 */
function intervalJoinFunction(
  fn: ProcessJoinFunction<unknown, unknown, unknown, unknown>,
  lower: number,
  upper: number,
  left_late: string | null,
  right_late: string | null,
): KeyedCoProcessFunction<unknown, unknown, unknown, unknown> {
  const left_tag = left_late === null ? null : new OutputTag<unknown>(left_late);
  const right_tag = right_late === null ? null : new OutputTag<unknown>(right_late);
  let left_ts = 0;
  let right_ts = 0;
  let key_ctx: KeyedProcessContext<unknown> | null = null;
  const join_ctx: ProcessJoinContext<unknown> = {
    getCurrentKey: () => key_ctx!.getCurrentKey(),
    getLeftTimestamp: () => left_ts,
    getRightTimestamp: () => right_ts,
    timestamp: () => Math.max(left_ts, right_ts),
    output: (tag, value) => key_ctx!.output(tag, value),
  };
  let stamped_out: EngineCollector<unknown> | null = null;
  let stamp = 0;
  const collector: Collector<unknown> = { collect: (v) => stamped_out!.__collectAt(v, stamp) };
  const join = (a: unknown, b: unknown, ta: number, tb: number, ctx: KeyedProcessContext<unknown>, out: Collector<unknown>) => {
    left_ts = ta;
    right_ts = tb;
    key_ctx = ctx;
    stamped_out = out as EngineCollector<unknown>;
    stamp = Math.max(ta, tb);
    const result = fn(a, b, join_ctx, collector);
    if (result !== undefined) stamped_out.__collectAt(result, stamp);
  };
  const timestampOf = (ctx: KeyedProcessContext<unknown>): number => {
    const ts = ctx.timestamp();
    if (ts === undefined) {
      throw new Error("intervalJoin() received an element without a timestamp; call assignTimestamps() on both inputs before the join");
    }
    return ts;
  };
  const add = (ctx: KeyedProcessContext<unknown>, name: string, ts: number, value: unknown) => {
    const buffer = ctx.state.map<number, unknown[]>(name);
    const bucket = buffer.get(ts);
    if (bucket === undefined) buffer.put(ts, [value]);
    else bucket.push(value);
  };
  return {
    processElement1(a, ctx, out) {
      const ts = timestampOf(ctx);
      if (ts < ctx.timerService().currentWatermark()) {
        if (left_tag !== null) ctx.output(left_tag, a);
        return;
      }
      add(ctx, "left", ts, a);
      for (const [t, bs] of ctx.state.map<number, unknown[]>("right").entries() as Buffer) {
        if (t < ts + lower || t > ts + upper) continue;
        for (const b of bs) join(a, b, ts, t, ctx, out);
      }
      ctx.timerService().registerEventTimeTimer(upper > 0 ? ts + upper : ts);
    },
    processElement2(b, ctx, out) {
      const ts = timestampOf(ctx);
      if (ts < ctx.timerService().currentWatermark()) {
        if (right_tag !== null) ctx.output(right_tag, b);
        return;
      }
      add(ctx, "right", ts, b);
      for (const [t, as] of ctx.state.map<number, unknown[]>("left").entries() as Buffer) {
        if (t < ts - upper || t > ts - lower) continue;
        for (const a of as) join(a, b, t, ts, ctx, out);
      }
      ctx.timerService().registerEventTimeTimer(lower < 0 ? ts - lower : ts);
    },
    onTimer(t, ctx) {
      ctx.state.map<number, unknown[]>("left").remove(upper <= 0 ? t : t - upper);
      ctx.state.map<number, unknown[]>("right").remove(lower <= 0 ? t + lower : t);
    },
  };
}
