/**
 * Window join (Flink's): the pairs of two streams' elements with equal keys in the same window.
 *
 *     bids.join(auctions)
 *       .where((b) => b.auction).equalTo((a) => a.id)
 *       .window(TumblingWindow.of(Time.seconds(10)))
 *       .apply((bid, auction) => ({ bid, auction }));
 *
 * A keyBy per input and a coProcess operator whose co-process function (below) keeps each key's
 * windows in keyed state (tumbling and sliding ones in a map by start, sessions in a list),
 * fired and dropped by timers (docs/joins.md, "TypeScript").
 */
import { addCoProcess, type EngineCollector, keySelector, type StreamRef, sameJob } from "./connected";
// dataflow.ts imports this file too: the classes only meet inside methods, after both loaded.
import { ProcessedDataflow } from "./dataflow";
import { ConfigError, describeValue } from "./errors";
import type { WindowConfig } from "./graph";
import type { Collector, KeyedCoProcessFunction, KeyedProcessContext, OnTimerContext } from "./process";
import { registerUdf } from "./udf";
import { type IWindow, toWindowConfig, type WindowSpec } from "./window";

/**
 * What a window join calls per pair: `fn(a, b, out)`. What it returns is emitted unless
 * undefined; `out.collect(v)` emits more (a flat join). Outputs carry the window's maxTimestamp().
 */
export type JoinFunction<A, B, O> = (first: A, second: B, out: Collector<O>) => O | void;

/** `a.join(b)`: give the first stream's key with `where()`. */
export class JoinedDataflows<A, B> {
  /** @internal */
  constructor(
    private readonly first_: StreamRef,
    private readonly second_: StreamRef,
  ) {
    sameJob(first_, second_, "join()");
  }

  /** The first stream's key. */
  where<K>(ka: (value: A) => K): JoinWhere<K, A, B> {
    keySelector(ka, "join(...).where()");
    return new JoinWhere<K, A, B>(this.first_, this.second_, ka);
  }
}

/** `a.join(b).where(ka)`: give the second stream's key with `equalTo()`. */
export class JoinWhere<K, A, B> {
  /** @internal */
  constructor(
    private readonly first_: StreamRef,
    private readonly second_: StreamRef,
    private readonly ka_: (value: A) => K,
  ) {}

  /** The second stream's key (of the same type as where()'s). */
  equalTo(kb: (value: B) => K): JoinEqualTo<K, A, B> {
    keySelector(kb, "join(...).where(...).equalTo()");
    return new JoinEqualTo<K, A, B>(this.first_, this.second_, this.ka_, kb);
  }
}

/** `a.join(b).where(ka).equalTo(kb)`: choose the window. */
export class JoinEqualTo<K, A, B> {
  /** @internal */
  constructor(
    private readonly first_: StreamRef,
    private readonly second_: StreamRef,
    private readonly ka_: (value: A) => K,
    private readonly kb_: (value: B) => K,
  ) {}

  /**
   * The windows pairs must share: `TumblingWindow.of(size)`, `SlidingWindow.of(size, slide)` or
   * `SessionWindow.withGap(gap)` (a key's session of both sides' elements), in event time (the
   * default) or processing time, with `allowedLateness()` if wanted (not for sessions yet).
   */
  window(window: WindowSpec | IWindow): WindowedJoin<K, A, B> {
    const config = toWindowConfig(window, "join(...).window()");
    if (config.type === "session" && config.allowedLatenessMs > 0) {
      throw new ConfigError(
        "join(...).window(): allowedLateness() with session windows is not supported by the TypeScript window join yet",
      );
    }
    return new WindowedJoin<K, A, B>(this.first_, this.second_, this.ka_, this.kb_, config);
  }
}

/** A window join with its keys and window: give the join function with `apply()`. */
export class WindowedJoin<K, A, B> {
  /** @internal */
  constructor(
    private readonly first_: StreamRef,
    private readonly second_: StreamRef,
    private readonly ka_: (value: A) => K,
    private readonly kb_: (value: B) => K,
    private readonly window_: WindowConfig,
  ) {}

  /**
   * Calls `fn(a, b, out)` for every pair (a, b) of a window with equal keys when the window
   * fires (an inner join: a window with elements of one side only emits nothing).
   */
  apply<O>(fn: JoinFunction<A, B, O>): ProcessedDataflow<O> {
    if (typeof fn !== "function") {
      throw new ConfigError(`join(...).window(...).apply() expects a function (a, b, out) => output, got ${describeValue(fn)}`);
    }
    const ctx = this.first_.ctx;
    const first = ctx.addOperator("keyBy", [this.first_.id], { udf: registerUdf(this.ka_, "join(...).where()") }, "where").id;
    const second = ctx.addOperator("keyBy", [this.second_.id], { udf: registerUdf(this.kb_, "join(...).equalTo()") }, "equalTo").id;
    const id = addCoProcess(
      first,
      second,
      ctx,
      windowJoinFunction(fn as JoinFunction<unknown, unknown, unknown>, this.window_),
      "join(...).apply()",
      {},
      "windowJoin",
      { join: { type: "window", window: this.window_ } },
    );
    return new ProcessedDataflow<O>(ctx, id);
  }
}

/** A window's elements of both sides. */
interface JoinPane {
  a: unknown[];
  b: unknown[];
}

/**
 * The window join as a co-process function (Flink's window operator over tagged elements):
 * each key's windows in map state by start; a timer at a window's maxTimestamp() fires it (all
 * pairs), one at maxTimestamp() + allowed lateness drops it. In event time an element whose
 * window is past that is dropped; one within the lateness fires its window again at once.
 */
function windowJoinFunction(fn: JoinFunction<unknown, unknown, unknown>, w: WindowConfig): KeyedCoProcessFunction<unknown, unknown, unknown, unknown> {
  if (w.type === "session") return sessionJoinFunction(fn, w.gapMs, w.time === "event");
  const size = w.sizeMs;
  const slide = w.type === "sliding" ? w.slideMs : w.sizeMs;
  const offset = w.offsetMs;
  const lateness = w.time === "event" ? w.allowedLatenessMs : 0;
  const event = w.time === "event";
  let stamped_out: EngineCollector<unknown> | null = null;
  let stamp = 0;
  const collector: Collector<unknown> = { collect: (v) => stamped_out!.__collectAt(v, stamp) };
  const fire = (pane: JoinPane, max_ts: number, out: Collector<unknown>) => {
    stamped_out = out as EngineCollector<unknown>;
    stamp = max_ts;
    for (const a of pane.a) {
      for (const b of pane.b) {
        const result = fn(a, b, collector);
        if (result !== undefined) stamped_out.__collectAt(result, max_ts);
      }
    }
  };
  const add = (side: "a" | "b", value: unknown, ctx: KeyedProcessContext<unknown>, out: Collector<unknown>) => {
    const timers = ctx.timerService();
    let time: number;
    if (event) {
      const ts = ctx.timestamp();
      if (ts === undefined) {
        throw new Error("join(...).window() in event time received an element without a timestamp; call assignTimestamps() on both inputs");
      }
      time = ts;
    } else {
      time = timers.currentProcessingTime();
    }
    const watermark = timers.currentWatermark();
    const panes = ctx.state.map<number, JoinPane>("windows");
    const last_start = time - ((((time - offset) % slide) + slide) % slide);
    for (let start = last_start; start > time - size; start -= slide) {
      const max_ts = start + size - 1;
      if (event && max_ts + lateness <= watermark) continue; // late: dropped
      let pane = panes.get(start);
      if (pane === undefined) {
        pane = { a: [], b: [] };
        panes.put(start, pane);
      }
      pane[side].push(value);
      if (event && max_ts <= watermark) {
        fire(pane, max_ts, out); // late within the allowed lateness: fires again
      } else if (event) {
        timers.registerEventTimeTimer(max_ts);
        if (lateness > 0) timers.registerEventTimeTimer(max_ts + lateness);
      } else {
        timers.registerProcessingTimeTimer(max_ts);
      }
    }
  };
  return {
    processElement1(a, ctx, out) {
      add("a", a, ctx, out);
    },
    processElement2(b, ctx, out) {
      add("b", b, ctx, out);
    },
    onTimer(t, ctx: OnTimerContext<unknown>, out) {
      const panes = ctx.state.map<number, JoinPane>("windows");
      const firing = panes.get(t - size + 1);
      if (firing !== undefined) {
        fire(firing, t, out);
        if (lateness === 0) panes.remove(t - size + 1);
      }
      if (lateness > 0) panes.remove(t - lateness - size + 1);
    },
  };
}

/** A session of one key: its window [s, e) and both sides' elements. */
interface JoinSession extends JoinPane {
  s: number;
  e: number;
}

/**
 * The window join over session windows (Flink's merging windows, without allowed lateness):
 * each element opens the window [t, t + gap), merged with every session of its key it
 * intersects (touching ones too, as Flink's TimeWindow.intersects); a key's sessions are a
 * list in value state, each with a timer at its maxTimestamp() (moved when it grows), which
 * fires its pairs and drops it. In event time an element whose own window is behind the
 * watermark is dropped.
 */
function sessionJoinFunction(fn: JoinFunction<unknown, unknown, unknown>, gap: number, event: boolean): KeyedCoProcessFunction<unknown, unknown, unknown, unknown> {
  let stamped_out: EngineCollector<unknown> | null = null;
  let stamp = 0;
  const collector: Collector<unknown> = { collect: (v) => stamped_out!.__collectAt(v, stamp) };
  const add = (side: "a" | "b", value: unknown, ctx: KeyedProcessContext<unknown>) => {
    const timers = ctx.timerService();
    let time: number;
    if (event) {
      const ts = ctx.timestamp();
      if (ts === undefined) {
        throw new Error("join(...).window() in event time received an element without a timestamp; call assignTimestamps() on both inputs");
      }
      time = ts;
      if (time + gap - 1 <= timers.currentWatermark()) return; // late: dropped
    } else {
      time = timers.currentProcessingTime();
    }
    const state = ctx.state.value<JoinSession[]>("sessions");
    const merged: JoinSession = { s: time, e: time + gap, a: [], b: [] };
    merged[side].push(value);
    const kept: JoinSession[] = [];
    const replaced: number[] = [];
    for (const session of state.value() ?? []) {
      if (session.s <= merged.e && session.e >= merged.s) {
        merged.s = Math.min(merged.s, session.s);
        merged.e = Math.max(merged.e, session.e);
        for (const x of session.a) merged.a.push(x);
        for (const x of session.b) merged.b.push(x);
        replaced.push(session.e - 1);
      } else {
        kept.push(session);
      }
    }
    for (const t of replaced) {
      if (t === merged.e - 1) continue;
      if (event) timers.deleteEventTimeTimer(t);
      else timers.deleteProcessingTimeTimer(t);
    }
    if (event) timers.registerEventTimeTimer(merged.e - 1);
    else timers.registerProcessingTimeTimer(merged.e - 1);
    kept.push(merged);
    state.update(kept);
  };
  return {
    processElement1(a, ctx) {
      add("a", a, ctx);
    },
    processElement2(b, ctx) {
      add("b", b, ctx);
    },
    onTimer(t, ctx: OnTimerContext<unknown>, out) {
      const state = ctx.state.value<JoinSession[]>("sessions");
      const sessions = state.value() ?? [];
      const firing = sessions.find((session) => session.e - 1 === t);
      if (firing === undefined) return;
      stamped_out = out as EngineCollector<unknown>;
      stamp = t;
      for (const a of firing.a) {
        for (const b of firing.b) {
          const result = fn(a, b, collector);
          if (result !== undefined) stamped_out.__collectAt(result, t);
        }
      }
      const rest = sessions.filter((session) => session !== firing);
      if (rest.length === 0) state.clear();
      else state.update(rest);
    },
  };
}
