/**
 * Operators over two streams (Flink's DataStream API has them so): `a.connect(b)` pairs two
 * streams of any element types, `.keyBy(ka, kb)` partitions both by key, and `.process(f)` runs
 * a keyed co-process function over both:
 *
 *     orders.connect(customers)
 *       .keyBy((o) => o.customer, (c) => c.id)
 *       .process({
 *         processElement1(order, ctx, out) { ... },   // an element of orders
 *         processElement2(customer, ctx, out) { ... }, // an element of customers
 *         onTimer(time, ctx, out) { ... },             // optional
 *       });
 *
 * It is one `coProcess` operator in the graph (docs/js-graph.md): the engine runs it as the
 * keyed process operator over both inputs, each input's keyBy exchange tagging its elements with
 * their side (so the watermark is the minimum of both inputs', and barriers align across both).
 * The joins (interval_join.ts, window_join.ts) are co-process functions written in this
 * package, with their buffers in keyed state and clean-up timers, so they checkpoint and restore
 * (also at another parallelism) as any process function does (docs/joins.md, "TypeScript").
 */
import type { ExecutionContext } from "./context";
// dataflow.ts imports this file too: the classes only meet inside methods, after both loaded.
import { ProcessedDataflow } from "./dataflow";
import { ConfigError, describeValue } from "./errors";
import type { Collector, KeyedCoProcessFunction, ProcessOptions } from "./process";
import { toMilliseconds } from "./time";
import { registerUdf } from "./udf";

/** What the joins need of a stream: its job and the operator producing it. */
export interface StreamRef {
  readonly ctx: ExecutionContext;
  readonly id: number;
}

/** @internal The collector of a process function inside the engine, with the joins' stamped emit. */
export interface EngineCollector<O> extends Collector<O> {
  __collectAt(value: O, timestamp: number): void;
}

export function sameJob(a: StreamRef, b: StreamRef, where: string): void {
  if (a.ctx !== b.ctx) {
    throw new ConfigError(`${where}: the streams belong to different jobs ("${a.ctx.name}" and "${b.ctx.name}")`);
  }
}

export function keySelector(fn: unknown, where: string): Function {
  if (typeof fn !== "function") {
    throw new ConfigError(`${where} expects a key selector function (element) => key, got ${describeValue(fn)}`);
  }
  return fn;
}

/** Adds the coProcess operator reading the keyed streams `first` and `second`. */
export function addCoProcess(
  first: number,
  second: number,
  ctx: ExecutionContext,
  fn: KeyedCoProcessFunction<unknown, unknown, unknown, unknown>,
  where: string,
  options: ProcessOptions,
  name: string,
  extra: Record<string, unknown> = {},
): number {
  if (fn === null || typeof fn !== "object" || typeof fn.processElement1 !== "function" || typeof fn.processElement2 !== "function") {
    throw new ConfigError(
      `${where} expects { processElement1(value, ctx, out), processElement2(value, ctx, out), onTimer?(time, ctx, out) }, got ${describeValue(fn)}`,
    );
  }
  // Methods are registered bound, so that `this` inside them is the object the job passed.
  const element1 = registerUdf(fn.processElement1.bind(fn), `${where}: processElement1`);
  const element2 = registerUdf(fn.processElement2.bind(fn), `${where}: processElement2`);
  let timer: number | null = null;
  if (fn.onTimer !== undefined) {
    if (typeof fn.onTimer !== "function") {
      throw new ConfigError(`${where}: onTimer must be a function, got ${describeValue(fn.onTimer)}`);
    }
    timer = registerUdf(fn.onTimer.bind(fn), `${where}: onTimer`);
  }
  if (options === null || typeof options !== "object") {
    throw new ConfigError(`${where}: options must be an object such as { ttl: Time.minutes(10) }, got ${describeValue(options)}`);
  }
  const ttlMs = options.ttl === undefined ? null : toMilliseconds(options.ttl, `${where}: ttl`);
  if (ttlMs === 0) throw new ConfigError(`${where}: ttl must be longer than 0 ms`);
  const op = ctx.addOperator(
    "coProcess",
    [first, second],
    { process: { processElement1: element1, processElement2: element2, onTimer: timer, ttlMs }, keyed: true, ...extra },
    name,
  );
  return op.id;
}



/** Two streams, possibly of different element types, for one operator: `a.connect(b)`. */
export class ConnectedDataflow<A, B> {
  /** @internal */
  constructor(
    private readonly first_: StreamRef,
    private readonly second_: StreamRef,
  ) {
    sameJob(first_, second_, "connect()");
  }

  /**
   * Partitions both streams by key, `ka(a)` for the first and `kb(b)` for the second, so that
   * the elements of both with one key meet in one subtask and share its state. The keys are
   * compared as the keys of keyBy are (equal JSON), so both must give the same type.
   */
  keyBy<K>(ka: (value: A) => K, kb: (value: B) => K): KeyedConnectedDataflow<K, A, B> {
    keySelector(ka, "connect(...).keyBy(ka, kb): ka");
    keySelector(kb, "connect(...).keyBy(ka, kb): kb");
    const ctx = this.first_.ctx;
    const first = ctx.addOperator("keyBy", [this.first_.id], { udf: registerUdf(ka, "connect(...).keyBy(): ka") }).id;
    const second = ctx.addOperator("keyBy", [this.second_.id], { udf: registerUdf(kb, "connect(...).keyBy(): kb") }).id;
    return new KeyedConnectedDataflow<K, A, B>(ctx, first, second);
  }
}

/** Two streams partitioned by the same key (from `connect(b).keyBy(ka, kb)`). */
export class KeyedConnectedDataflow<K, A, B> {
  /** @internal */
  constructor(
    private readonly ctx_: ExecutionContext,
    private readonly first_: number,
    private readonly second_: number,
  ) {}

  /**
   * Runs a keyed co-process function (Flink's KeyedCoProcessFunction):
   * `processElement1(a, ctx, out)` per element of the first stream, `processElement2(b, ctx,
   * out)` per element of the second, `onTimer(time, ctx, out)` per timer. `ctx` is the context
   * of `keyBy(...).process()`: the key's state (shared by both sides), timers, the element's
   * timestamp and side outputs (`ctx.output(tag, v)`, read with `getSideOutput(tag)`).
   */
  process<O>(fn: KeyedCoProcessFunction<K, A, B, O>, options: ProcessOptions = {}): ProcessedDataflow<O> {
    const where = "connect(...).keyBy(...).process()";
    const id = addCoProcess(this.first_, this.second_, this.ctx_, fn as KeyedCoProcessFunction<unknown, unknown, unknown, unknown>, where, options, "coProcess");
    return new ProcessedDataflow<O>(this.ctx_, id);
  }
}
