/**
 * Keyed process functions: per-key state, timers and side outputs, as Flink's
 * KeyedProcessFunction has them.
 *
 *     const late = new OutputTag<Click>("late");
 *     clicks.keyBy((c) => c.user).process({
 *       processElement(click, ctx, out) {
 *         const count = ctx.state.value<number>("count");
 *         count.update((count.value() ?? 0) + 1);
 *         ctx.timerService().registerEventTimeTimer(ctx.timestamp()! + 60_000);
 *         if (click.late) ctx.output(late, click);
 *       },
 *       onTimer(time, ctx, out) {
 *         out.collect({ user: ctx.getCurrentKey(), clicks: ctx.state.value<number>("count").value() });
 *       },
 *     }, { ttl: Time.minutes(10) });
 *
 * The functions run in the engine's isolates with the key's state in V8 (docs/typescript-jobs.md,
 * "Process functions"); the objects below are made there. State values must be JSON values
 * (checkpoints store them as JSON).
 */

/** Names a side output: `ctx.output(tag, value)` writes to it, `getSideOutput(tag)` reads it. */
export class OutputTag<T> {
  /** @internal Ties T to the class for the type checker. */
  protected readonly elementType_?: (value: T) => void;
  readonly id: string;

  constructor(id: string) {
    if (typeof id !== "string" || id.length === 0) {
      throw new TypeError(`OutputTag needs a non-empty name, got ${String(id)}`);
    }
    this.id = id;
  }
}

/** Emits outputs of a process function. */
export interface Collector<T> {
  collect(value: T): void;
}

/** One value per key. */
export interface ValueState<T> {
  /** The value, or undefined when there is none (never set, cleared, or expired by TTL). */
  value(): T | undefined;
  update(value: T): void;
  clear(): void;
}

/** A list per key. */
export interface ListState<T> {
  /** The elements (a copy); empty when there are none. */
  get(): T[];
  add(value: T): void;
  addAll(values: T[]): void;
  update(values: T[]): void;
  clear(): void;
}

/** A map per key. Keys are compared as strings and numbers are (as a JS Map does). */
export interface MapState<K, V> {
  get(key: K): V | undefined;
  put(key: K, value: V): void;
  remove(key: K): void;
  contains(key: K): boolean;
  keys(): K[];
  values(): V[];
  entries(): [K, V][];
  isEmpty(): boolean;
  clear(): void;
}

/** The key's state, by name. */
export interface KeyedStateStore {
  value<T>(name: string): ValueState<T>;
  list<T>(name: string): ListState<T>;
  map<K, V>(name: string): MapState<K, V>;
  /** Flink's names for the same. */
  valueState<T>(name: string): ValueState<T>;
  listState<T>(name: string): ListState<T>;
  mapState<K, V>(name: string): MapState<K, V>;
}

/** Time and timers. Timers are per key; registering the same time twice makes one timer. */
export interface TimerService {
  currentWatermark(): number;
  currentProcessingTime(): number;
  registerEventTimeTimer(time: number): void;
  registerProcessingTimeTimer(time: number): void;
  deleteEventTimeTimer(time: number): void;
  deleteProcessingTimeTimer(time: number): void;
}

/** What processElement and onTimer see. */
export interface KeyedProcessContext<K> {
  getCurrentKey(): K;
  /** The element's timestamp (or the timer's time in onTimer); undefined without one. */
  timestamp(): number | undefined;
  readonly state: KeyedStateStore;
  timerService(): TimerService;
  /** Emits `value` to the side output `tag`. */
  output<X>(tag: OutputTag<X>, value: X): void;
}

/** What onTimer also sees: which clock fired the timer. */
export interface OnTimerContext<K> extends KeyedProcessContext<K> {
  timeDomain(): "event" | "processing";
}

/** A keyed process function; onTimer is needed only with timers. */
export interface KeyedProcessFunction<K, I, O> {
  processElement(value: I, ctx: KeyedProcessContext<K>, out: Collector<O>): void;
  onTimer?(timestamp: number, ctx: OnTimerContext<K>, out: Collector<O>): void;
}

/**
 * A keyed co-process function (`a.connect(b).keyBy(ka, kb).process(f)`, Flink's
 * KeyedCoProcessFunction): processElement1 gets the first stream's elements, processElement2
 * the second's; both see the key's state, which they share. onTimer is needed only with timers.
 */
export interface KeyedCoProcessFunction<K, I1, I2, O> {
  processElement1(value: I1, ctx: KeyedProcessContext<K>, out: Collector<O>): void;
  processElement2(value: I2, ctx: KeyedProcessContext<K>, out: Collector<O>): void;
  onTimer?(timestamp: number, ctx: OnTimerContext<K>, out: Collector<O>): void;
}

/** What an interval join's function sees besides the pair (Flink's ProcessJoinFunction.Context). */
export interface ProcessJoinContext<K> {
  getCurrentKey(): K;
  getLeftTimestamp(): number;
  getRightTimestamp(): number;
  /** The output's timestamp: the larger of the two. */
  timestamp(): number;
  /** Emits `value` to the side output `tag`. */
  output<X>(tag: OutputTag<X>, value: X): void;
}

/** Options of `process()`. */
export interface ProcessOptions {
  /**
   * State time-to-live: a key's state not written for this long (processing time) reads as
   * empty and is removed. A Time or milliseconds.
   */
  ttl?: import("./time").Duration;
}
