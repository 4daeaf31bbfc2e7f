/**
 * Streams. A `Dataflow<T>` is a stream of T in one job; each transformation adds an operator to
 * the job's graph and returns the stream it produces:
 *
 *     source.createFlow(ctx)                       // Dataflow<string>
 *       .flatMap(line => line.split(" "))          // Dataflow<string>
 *       .keyBy(word => word)                       // KeyedDataflow<string, string>
 *       .window(TumblingWindow.of(Time.seconds(5)))// WindowedDataflow<string, string>
 *       .aggregate(count)                          // Dataflow<number>
 *       .sink(Stdout.new())                        // DataflowSink<number>
 *       .execute();
 *
 * Functions given to the operators are UDFs: they run later, in the engine's worker isolates,
 * so they must not rely on variables that change after the graph is built.
 */
import type { Sink } from "./connectors/connector";
import type { Kafka } from "./connectors/kafka";
import { StdoutSink } from "./connectors/stdout";
import type { ExecutionContext, OperatorFields } from "./context";
import { ConfigError, describeValue, requireInteger, requireNonEmptyString } from "./errors";
import type { AggregateConfig, OperatorKind } from "./graph";
import { ConnectedDataflow } from "./connected";
import { IntervalJoin } from "./interval_join";
import { type KeyedProcessFunction, OutputTag, type ProcessOptions } from "./process";
import { toMilliseconds } from "./time";
import { registerUdf } from "./udf";
import { toWatermarkConfig, type WatermarkOptions, type WatermarkStrategy } from "./watermark";
import { type IWindow, toWindowConfig, type WindowSpec } from "./window";
import { JoinedDataflows } from "./window_join";

/**
 * Folds elements into an accumulator: `createAccumulator()` starts one, `add(value, acc)` adds an
 * element, `getResult(acc)` makes the output, `merge(a, b)` joins two accumulators (needed by
 * session windows, which merge).
 */
export interface AggregateFunction<T, A, R> {
  createAccumulator(): A;
  add(value: T, accumulator: A): A;
  getResult(accumulator: A): R;
  merge?(a: A, b: A): A;
}

/** A stream of T. */
export class Dataflow<T> {
  /** @internal */
  protected readonly ctx_: ExecutionContext;
  /** @internal The operator that produces this stream. */
  protected readonly id_: number;

  /** @internal Streams are made by sources and operators, not constructed by jobs. */
  constructor(ctx: ExecutionContext, operator_id: number) {
    this.ctx_ = ctx;
    this.id_ = operator_id;
  }

  /** One output per element: `stream.map(s => s.length)`. */
  map<U>(fn: (value: T) => U): Dataflow<U> {
    return new Dataflow<U>(this.ctx_, this.addUdfOperator_("map", fn));
  }

  /** Zero or more outputs per element (an array, or any iterable): `lines.flatMap(l => l.split(" "))`. */
  flatMap<U>(fn: (value: T) => Iterable<U>): Dataflow<U> {
    return new Dataflow<U>(this.ctx_, this.addUdfOperator_("flatMap", fn));
  }

  /** The elements for which `fn` returns true: `stream.filter(n => n % 2 === 0)`. */
  filter(fn: (value: T) => boolean): Dataflow<T> {
    return new Dataflow<T>(this.ctx_, this.addUdfOperator_("filter", fn));
  }

  /** Partitions the stream by `fn(element)`; keyed operators then keep state per key. */
  keyBy<K>(fn: (value: T) => K): KeyedDataflow<K, T> {
    return new KeyedDataflow<K, T>(this.ctx_, this.addUdfOperator_("keyBy", fn));
  }

  /**
   * Cuts the whole stream, not each key, into windows (Flink's `windowAll`):
   * `.windowAll(TumblingWindow.of(Time.seconds(10))).aggregate(count)`. The windows fire in one
   * task (parallelism 1); a reduce, or an aggregate with `merge`, after a map/flatMap/filter is
   * pre-aggregated in the parallel tasks before it, so that only one partial per task and
   * window crosses to that task.
   */
  windowAll(window: WindowSpec | IWindow): AllWindowedDataflow<T> {
    const config = toWindowConfig(window, "windowAll()");
    const key = this.addUdfOperator_("keyBy", allWindowsKey);
    this.ctx_.operator(key).name = "windowAll";
    const op = this.ctx_.addOperator("window", [key], { window: config, keyed: true, parallelism: 1 }, "windowAll");
    return new AllWindowedDataflow<T>(this.ctx_, op.id);
  }

  /**
   * Combines each element with the previous result and emits the new result. On a stream
   * without keyBy this is one global reduction (run with parallelism 1); see KeyedDataflow.reduce.
   */
  reduce(fn: (agg: T, current: T) => T): Dataflow<T> {
    return new Dataflow<T>(this.ctx_, this.addUdfOperator_("reduce", fn, { keyed: false }));
  }

  /**
   * Stamps each element with `fn(element)` (milliseconds since the epoch) as its event time and
   * emits watermarks as `watermark` says (default: timestamps only increase).
   */
  assignTimestamps(fn: (value: T) => number, watermark?: WatermarkStrategy | WatermarkOptions): Dataflow<T> {
    const config = toWatermarkConfig(watermark);
    return new Dataflow<T>(this.ctx_, this.addUdfOperator_("assignTimestamps", fn, { watermark: config }));
  }

  /** One stream of the elements of this stream and of `others` (same element type, same job). */
  union(...others: Dataflow<T>[]): Dataflow<T> {
    if (others.length === 0) throw new ConfigError("union() expects at least one other stream");
    const inputs = [this.id_];
    for (const other of others) {
      if (!(other instanceof Dataflow)) {
        throw new ConfigError(`union() expects streams, got ${describeValue(other)}`);
      }
      if (other.ctx_ !== this.ctx_) {
        throw new ConfigError(
          `union(): the streams belong to different jobs ("${this.ctx_.name}" and "${other.ctx_.name}")`,
        );
      }
      inputs.push(other.id_);
    }
    return new Dataflow<T>(this.ctx_, this.ctx_.addOperator("union", inputs).id);
  }

  /**
   * Pairs this stream with `other` (of any element type) for one operator over both:
   * `a.connect(b).keyBy(ka, kb).process({ processElement1, processElement2, onTimer? })`, a
   * keyed co-process function whose two sides share each key's state and timers.
   */
  connect<U>(other: Dataflow<U>): ConnectedDataflow<T, U> {
    return new ConnectedDataflow<T, U>(this.ref_(), streamRef(other, "connect()"));
  }

  /**
   * A window join with `other`: `a.join(b).where(ka).equalTo(kb).window(TumblingWindow.of(
   * Time.seconds(10))).apply((x, y) => output)` emits a result per pair of a window with equal
   * keys when the window fires.
   */
  join<U>(other: Dataflow<U>): JoinedDataflows<T, U> {
    return new JoinedDataflows<T, U>(this.ref_(), streamRef(other, "join()"));
  }

  /**
   * Writes the stream to `sink`: `stream.sink(Redis.new<T>().host("localhost")...)`, or to a
   * Kafka topic: `stream.sink(Kafka.builder().brokers([...]).topic("out").build())`.
   */
  sink(sink: Sink<T> | Kafka<T>): DataflowSink<T> {
    if (sink === null || typeof sink !== "object" || typeof sink.connectorConfig !== "function") {
      throw new ConfigError(`sink() expects a sink such as Stdout.new(), got ${describeValue(sink)}`);
    }
    // A Kafka connector is both a source and a sink; as a sink it records its sink options.
    const config = "sinkConnectorConfig" in sink ? sink.sinkConnectorConfig() : sink.connectorConfig();
    const op = this.ctx_.addOperator("sink", [this.id_], { connector: config }, config.type);
    return new DataflowSink<T>(this.ctx_, op.id);
  }

  /** Writes the stream to standard output: `sink(Stdout.new())`. */
  print(): DataflowSink<T> {
    return this.sink(new StdoutSink<T>());
  }

  /** Names the operator that produces this stream (shown in metrics, errors and the web page). */
  name(name: string): this {
    this.ctx_.operator(this.id_).name = requireNonEmptyString(name, "name()", "the operator name");
    return this;
  }

  /**
   * Pins the identity of this operator's state in checkpoints and savepoints (Flink's `uid`).
   * Without it an operator is known by its position in the job, so adding or removing an
   * operator before a stateful one makes a restore refuse (or, with
   * `--allow-non-restored-state`, drop) its state: `keyBy(w => w).reduce(f).uid("counts")`.
   */
  uid(uid: string): this {
    this.ctx_.operator(this.id_).uid = requireNonEmptyString(uid, "uid()", "the operator uid");
    return this;
  }

  /** Runs the operator that produces this stream as `parallelism` parallel subtasks. */
  parallelism(parallelism: number): this {
    this.ctx_.operator(this.id_).parallelism = requireInteger(parallelism, "parallelism()", "the parallelism", 1);
    return this;
  }

  /** Submits the job this stream belongs to (see ExecutionContext.execute). */
  execute(): Promise<unknown> {
    return this.ctx_.execute();
  }

  /** @internal This stream for the operators over two streams (connected.ts, interval_join.ts, window_join.ts). */
  ref_(): { ctx: ExecutionContext; id: number } {
    return { ctx: this.ctx_, id: this.id_ };
  }

  /** @internal Adds an operator with one UDF reading this stream; returns its id. */
  protected addUdfOperator_(kind: OperatorKind, fn: unknown, fields: OperatorFields = {}): number {
    const udf = registerUdf(fn, `${kind}()`);
    return this.ctx_.addOperator(kind, [this.id_], { udf, ...fields }).id;
  }
}

/**
 * A stream partitioned by key (from `keyBy`). Its reduce and aggregate keep one result per key;
 * map, flatMap and filter keep the partitioning.
 */
export class KeyedDataflow<K, T> extends Dataflow<T> {
  // Ties K to the class for the type checker.
  protected readonly keyType_?: (key: K) => void;

  override map<U>(fn: (value: T) => U): KeyedDataflow<K, U> {
    return new KeyedDataflow<K, U>(this.ctx_, this.addUdfOperator_("map", fn));
  }

  override flatMap<U>(fn: (value: T) => Iterable<U>): KeyedDataflow<K, U> {
    return new KeyedDataflow<K, U>(this.ctx_, this.addUdfOperator_("flatMap", fn));
  }

  override filter(fn: (value: T) => boolean): KeyedDataflow<K, T> {
    return new KeyedDataflow<K, T>(this.ctx_, this.addUdfOperator_("filter", fn));
  }

  /** Per key: combines each element with the key's previous result and emits the new result. */
  override reduce(fn: (agg: T, current: T) => T): KeyedDataflow<K, T> {
    return new KeyedDataflow<K, T>(this.ctx_, this.addUdfOperator_("reduce", fn, { keyed: true }));
  }

  /** Per key: adds each element to the key's accumulator and emits `getResult(accumulator)`. */
  aggregate<A, R>(fn: AggregateFunction<T, A, R>): KeyedDataflow<K, R> {
    return new KeyedDataflow<K, R>(this.ctx_, addAggregate(this.ctx_, this.id_, fn, true, false));
  }

  /**
   * Runs a keyed process function: per element `processElement(value, ctx, out)` with the key's
   * state (`ctx.state.value(name)`, `list`, `map`), timers (`ctx.timerService()`) and side
   * outputs (`ctx.output(tag, value)`); `onTimer(time, ctx, out)` when a timer fires. A plain
   * function `(value, ctx, out) => ...` works when no timers are needed.
   */
  process<O>(
    fn: KeyedProcessFunction<K, T, O> | ((value: T, ctx: import("./process").KeyedProcessContext<K>, out: import("./process").Collector<O>) => void),
    options: ProcessOptions = {},
  ): ProcessedDataflow<O> {
    let element: number;
    let timer: number | null = null;
    if (typeof fn === "function") {
      element = registerUdf(fn, "process()");
    } else if (fn !== null && typeof fn === "object" && typeof fn.processElement === "function") {
      element = registerUdf(fn.processElement.bind(fn), "process(): processElement");
      if (fn.onTimer !== undefined) {
        if (typeof fn.onTimer !== "function") {
          throw new ConfigError(`process(): onTimer must be a function, got ${describeValue(fn.onTimer)}`);
        }
        timer = registerUdf(fn.onTimer.bind(fn), "process(): onTimer");
      }
    } else {
      throw new ConfigError(
        `process() expects { processElement(value, ctx, out), onTimer?(time, ctx, out) } or a function, got ${describeValue(fn)}`,
      );
    }
    if (options === null || typeof options !== "object") {
      throw new ConfigError(`process(): options must be an object such as { ttl: Time.minutes(10) }, got ${describeValue(options)}`);
    }
    const ttlMs = options.ttl === undefined ? null : toMilliseconds(options.ttl, "process(): ttl");
    if (ttlMs === 0) throw new ConfigError("process(): ttl must be longer than 0 ms");
    const op = this.ctx_.addOperator("process", [this.id_], {
      process: { processElement: element, onTimer: timer, ttlMs },
      keyed: true,
    });
    return new ProcessedDataflow<O>(this.ctx_, op.id);
  }

  /**
   * Joins this keyed stream with `other` (keyed by a key of the same type) on close timestamps:
   * `.intervalJoin(b.keyBy(kb)).between(lower, upper).process((a, b, ctx, out) => output)` pairs
   * a and b with equal keys when a.timestamp + lower <= b.timestamp <= a.timestamp + upper.
   */
  intervalJoin<U>(other: KeyedDataflow<K, U>): IntervalJoin<K, T, U> {
    if (!(other instanceof KeyedDataflow)) {
      throw new ConfigError(`intervalJoin() expects a keyed stream (b.keyBy(kb)), got ${describeValue(other)}`);
    }
    return new IntervalJoin<K, T, U>(this.ref_(), other.ref_());
  }

  /** Cuts each key's elements into windows: `.window(TumblingWindow.of(Time.seconds(5)))`. */
  window(window: WindowSpec | IWindow): WindowedDataflow<K, T> {
    const config = toWindowConfig(window, "window()");
    const op = this.ctx_.addOperator("window", [this.id_], { window: config, keyed: true });
    return new WindowedDataflow<K, T>(this.ctx_, op.id);
  }
}

/**
 * A keyed stream cut into windows. `reduce` and `aggregate` emit one result per key and window
 * when the window fires. Used directly (map, sink, ...), a window releases its elements when it
 * fires.
 */
export class WindowedDataflow<K, T> extends Dataflow<T> {
  protected readonly keyType_?: (key: K) => void;

  /**
   * Sends elements that arrive too late for their window (after the watermark passed its end
   * plus the allowed lateness) to the side output `tag` instead of dropping them: read them with
   * `getSideOutput(tag)` on the window's result stream.
   */
  sideOutputLateData(tag: OutputTag<T>): this {
    if (!(tag instanceof OutputTag)) {
      throw new ConfigError(`sideOutputLateData() expects an OutputTag, got ${describeValue(tag)}`);
    }
    const window = this.ctx_.operator(this.id_).window;
    if (window !== undefined) window.lateTag = tag.id;
    return this;
  }

  /**
   * Per key and window: folds the window's elements with `fn` and emits the result, or, with
   * `windowFn`, `windowFn(key, window, result)`.
   */
  override reduce(fn: (agg: T, current: T) => T): ProcessedDataflow<T>;
  override reduce<O>(fn: (agg: T, current: T) => T, windowFn: WindowFunction<K, T, O>): ProcessedDataflow<O>;
  override reduce<O>(fn: (agg: T, current: T) => T, windowFn?: WindowFunction<K, T, O>): ProcessedDataflow<T | O> {
    const fields = { keyed: true, ...windowFunctionFields(windowFn, "reduce()", false) };
    return new ProcessedDataflow<T | O>(this.ctx_, this.addUdfOperator_("reduce", fn, fields));
  }

  /**
   * Per key and window: aggregates the window's elements and emits `getResult(accumulator)`,
   * or, with `windowFn`, `windowFn(key, window, getResult(accumulator))`.
   */
  aggregate<A, R>(fn: AggregateFunction<T, A, R>): ProcessedDataflow<R>;
  aggregate<A, R, O>(fn: AggregateFunction<T, A, R>, windowFn: WindowFunction<K, R, O>): ProcessedDataflow<O>;
  aggregate<A, R, O>(fn: AggregateFunction<T, A, R>, windowFn?: WindowFunction<K, R, O>): ProcessedDataflow<R | O> {
    const window = this.ctx_.operator(this.id_).window;
    const id = addAggregate(this.ctx_, this.id_, fn, true, window?.type === "session");
    Object.assign(this.ctx_.operator(id), windowFunctionFields(windowFn, "aggregate()", false));
    return new ProcessedDataflow<R | O>(this.ctx_, id);
  }

  /**
   * Per key and window: the elements with the `n` highest `by(element)`, as
   * `{ rank, value, window: { start, end } }` rows in rank order when the window fires. Ties share
   * a rank and all make it (SQL's `RANK() <= n`): with scores 9, 7, 7, 5 and n = 2 the rows are
   * ranks 1, 2, 2. Only the candidates are kept (an aggregate, pre-aggregated like one).
   */
  topN(n: number, by: (value: T) => number): ProcessedDataflow<Ranked<T>> {
    const limit = requireInteger(n, "topN()", "n", 1);
    if (typeof by !== "function") {
      throw new ConfigError(`topN(): by must be a function (element) => number, got ${describeValue(by)}`);
    }
    const id = addAggregate(this.ctx_, this.id_, topNAggregate(limit, by), true, false);
    const rows = (_key: unknown, window: TimeWindow, ranked: [number, T][]): Ranked<T>[] =>
      rankRows(ranked, window);
    Object.assign(this.ctx_.operator(id), windowFunctionFields(rows, "topN()", true));
    this.ctx_.operator(id).name = "topN";
    return new ProcessedDataflow<Ranked<T>>(this.ctx_, id);
  }

  /**
   * Per key and window: `fn(key, window, elements)` with all the window's elements when it
   * fires; each item of the array (or iterable) it returns is an output. Keeps every element
   * until the window fires: prefer aggregate() when a fold will do.
   */
  process<O>(fn: (key: K, window: TimeWindow, elements: T[]) => Iterable<O>): ProcessedDataflow<O> {
    const collect: AggregateFunction<T, T[], T[]> = {
      createAccumulator: () => [],
      add: (value, acc) => {
        acc.push(value);
        return acc;
      },
      getResult: (acc) => acc,
      merge: (a, b) => a.concat(b),
    };
    const id = addAggregate(this.ctx_, this.id_, collect, true, false);
    Object.assign(this.ctx_.operator(id), windowFunctionFields(fn, "process()", true));
    this.ctx_.operator(id).name = "process";
    return new ProcessedDataflow<O>(this.ctx_, id);
  }
}

function streamRef(other: unknown, where: string): { ctx: ExecutionContext; id: number } {
  if (!(other instanceof Dataflow)) throw new ConfigError(`${where} expects a stream, got ${describeValue(other)}`);
  return other.ref_();
}

/** The key every element of a `windowAll` stream gets: one key, so one set of windows. */
function allWindowsKey(): number {
  return 0;
}

/**
 * The whole stream cut into windows (from `windowAll`): reduce, aggregate, process and topN as
 * on a keyed window, with window functions that see the window only. Results come from one task.
 */
export class AllWindowedDataflow<T> extends WindowedDataflow<number, T> {
  override reduce(fn: (agg: T, current: T) => T): ProcessedDataflow<T>;
  override reduce<O>(fn: (agg: T, current: T) => T, windowFn: AllWindowFunction<T, O>): ProcessedDataflow<O>;
  override reduce<O>(fn: (agg: T, current: T) => T, windowFn?: AllWindowFunction<T, O> | WindowFunction<number, T, O>): ProcessedDataflow<T | O> {
    const result: ProcessedDataflow<T | O> =
      windowFn === undefined
        ? (super.reduce(fn) as unknown as ProcessedDataflow<T | O>)
        : (super.reduce(fn, withoutKey(windowFn as AllWindowFunction<T, O>, "reduce()")) as unknown as ProcessedDataflow<T | O>);
    return single<T | O>(result);
  }

  override aggregate<A, R>(fn: AggregateFunction<T, A, R>): ProcessedDataflow<R>;
  override aggregate<A, R, O>(fn: AggregateFunction<T, A, R>, windowFn: AllWindowFunction<R, O>): ProcessedDataflow<O>;
  override aggregate<A, R, O>(
    fn: AggregateFunction<T, A, R>,
    windowFn?: AllWindowFunction<R, O> | WindowFunction<number, R, O>,
  ): ProcessedDataflow<R | O> {
    const result: ProcessedDataflow<R | O> =
      windowFn === undefined
        ? (super.aggregate(fn) as unknown as ProcessedDataflow<R | O>)
        : (super.aggregate(fn, withoutKey(windowFn as AllWindowFunction<R, O>, "aggregate()")) as unknown as ProcessedDataflow<R | O>);
    return single<R | O>(result);
  }

  /** Per window: `fn(window, elements)` with all its elements; each item it returns is an output. */
  override process<O>(fn: ((window: TimeWindow, elements: T[]) => Iterable<O>) | ((key: number, window: TimeWindow, elements: T[]) => Iterable<O>)): ProcessedDataflow<O> {
    if (typeof fn !== "function") {
      throw new ConfigError(`process(): expects a function (window, elements) => outputs, got ${describeValue(fn)}`);
    }
    const perWindow = fn as (window: TimeWindow, elements: T[]) => Iterable<O>;
    return single(super.process((_key: number, window: TimeWindow, elements: T[]) => perWindow(window, elements)));
  }

  override topN(n: number, by: (value: T) => number): ProcessedDataflow<Ranked<T>> {
    return single(super.topN(n, by));
  }
}

/** What a windowAll's result becomes, knowing its window. */
export type AllWindowFunction<R, O> = (window: TimeWindow, result: R) => O;

/** A row of `topN`: the element, its rank (ties share one) and its window. */
export interface Ranked<T> {
  rank: number;
  value: T;
  window: { start: number; end: number };
}

function withoutKey<R, O>(fn: AllWindowFunction<R, O>, where: string): WindowFunction<number, R, O> {
  if (typeof fn !== "function") {
    throw new ConfigError(`${where}: the window function must be a function (window, result) => output, got ${describeValue(fn)}`);
  }
  return (_key: number, window: TimeWindow, result: R) => fn(window, result);
}

/** A windowAll's result runs in the one task of its windows. */
function single<X>(result: ProcessedDataflow<X>): ProcessedDataflow<X> {
  return result.parallelism(1);
}

/** topN's accumulator: [score, element] pairs, best first, cut to the elements of rank <= n. */
function topNAggregate<T>(n: number, by: (value: T) => number): AggregateFunction<T, [number, T][], [number, T][]> {
  const cut = (acc: [number, T][]): [number, T][] => {
    acc.sort((a, b) => b[0] - a[0]);
    if (acc.length <= n) return acc;
    const threshold = acc[n - 1]![0];
    let end = n;
    while (end < acc.length && acc[end]![0] === threshold) end++;
    acc.length = end;
    return acc;
  };
  return {
    createAccumulator: () => [],
    add: (value, acc) => {
      const score = by(value);
      if (typeof score !== "number" || Number.isNaN(score)) {
        throw new TypeError(`topN(): by(element) must return a number, got ${describeValue(score)}`);
      }
      // A full accumulator keeps only what ranks at least as high as its last candidate.
      if (acc.length >= n && score < acc[acc.length - 1]![0]) return acc;
      acc.push([score, value]);
      return cut(acc);
    },
    getResult: (acc) => acc,
    merge: (a, b) => cut(a.concat(b)),
  };
}

function rankRows<T>(ranked: [number, T][], window: TimeWindow): Ranked<T>[] {
  const rows: Ranked<T>[] = [];
  for (let i = 0; i < ranked.length; i++) {
    const rank = i > 0 && ranked[i]![0] === ranked[i - 1]![0] ? rows[i - 1]!.rank : i + 1;
    rows.push({ rank, value: ranked[i]![1], window: { start: window.start, end: window.end } });
  }
  return rows;
}

/**
 * A window's bounds in milliseconds: it holds the elements with start <= timestamp < end.
 * Its results carry the timestamp `maxTimestamp()` (end - 1), as in Flink.
 */
export interface TimeWindow {
  readonly start: number;
  readonly end: number;
  maxTimestamp(): number;
  getStart(): number;
  getEnd(): number;
}

/** What a window's result becomes, knowing the key and the window. */
export type WindowFunction<K, R, O> = (key: K, window: TimeWindow, result: R) => O;

function windowFunctionFields(fn: unknown, where: string, flat: boolean): OperatorFields {
  if (fn === undefined) return {};
  if (typeof fn !== "function") {
    throw new ConfigError(`${where}: the window function must be a function (key, window, result) => output, got ${describeValue(fn)}`);
  }
  return { windowFunction: registerUdf(fn, `${where}: window function`), windowFunctionFlat: flat };
}

/**
 * The main output of a process function or a window; side outputs (`ctx.output(tag, v)`, a
 * window's `sideOutputLateData(tag)`) come from `getSideOutput(tag)`.
 */
export class ProcessedDataflow<T> extends Dataflow<T> {
  /** The elements the process function sent to `tag` with `ctx.output(tag, value)`. */
  getSideOutput<X>(tag: OutputTag<X>): Dataflow<X> {
    if (!(tag instanceof OutputTag)) {
      throw new ConfigError(`getSideOutput() expects an OutputTag, got ${describeValue(tag)}`);
    }
    const op = this.ctx_.addOperator("sideOutput", [this.id_], { tag: tag.id }, `side output '${tag.id}'`);
    return new Dataflow<X>(this.ctx_, op.id);
  }
}

/** The end of a stream, returned by `sink()`: name it, set its parallelism, or execute the job. */
export class DataflowSink<T> {
  /** @internal */
  constructor(
    private readonly ctx_: ExecutionContext,
    private readonly id_: number,
  ) {}

  /** Names the sink operator. */
  name(name: string): this {
    this.ctx_.operator(this.id_).name = requireNonEmptyString(name, "name()", "the operator name");
    return this;
  }

  /**
   * Pins the identity of the sink's state in checkpoints (the files it wrote, its open
   * transactions), as `uid()` on a stream does: `.sink(FileSink.lines("out.txt")).uid("out")`.
   */
  uid(uid: string): this {
    this.ctx_.operator(this.id_).uid = requireNonEmptyString(uid, "uid()", "the operator uid");
    return this;
  }

  /** Runs the sink as `parallelism` parallel subtasks. */
  parallelism(parallelism: number): this {
    this.ctx_.operator(this.id_).parallelism = requireInteger(parallelism, "parallelism()", "the parallelism", 1);
    return this;
  }

  /** Submits the job (see ExecutionContext.execute). */
  execute(): Promise<unknown> {
    return this.ctx_.execute();
  }

  // Ties T to the class for the type checker.
  protected readonly elementType_?: (value: T) => void;
}

function addAggregate<T, A, R>(
  ctx: ExecutionContext,
  input: number,
  fn: AggregateFunction<T, A, R>,
  keyed: boolean,
  needs_merge: boolean,
): number {
  if (fn === null || typeof fn !== "object") {
    throw new ConfigError(
      `aggregate() expects { createAccumulator, add, getResult, merge? }, got ${describeValue(fn)}`,
    );
  }
  // Methods are registered bound, so that `this` inside them is the object the job passed.
  const part = (name: "createAccumulator" | "add" | "getResult" | "merge"): number => {
    const method: unknown = fn[name];
    if (typeof method !== "function") {
      throw new ConfigError(`aggregate(): ${name} must be a function, got ${describeValue(method)}`);
    }
    return registerUdf(method.bind(fn), `aggregate(): ${name}`);
  };
  const config: AggregateConfig = {
    createAccumulator: part("createAccumulator"),
    add: part("add"),
    getResult: part("getResult"),
    merge: fn.merge === undefined ? null : part("merge"),
  };
  if (needs_merge && config.merge === null) {
    throw new ConfigError("aggregate() over a SessionWindow needs merge(a, b): sessions merge when a gap fills");
  }
  return ctx.addOperator("aggregate", [input], { aggregate: config, keyed }).id;
}
