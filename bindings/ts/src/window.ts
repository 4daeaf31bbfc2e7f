/**
 * Windows: how a keyed stream is cut into finite groups that `reduce` or `aggregate` folds.
 *
 *     stream.keyBy(w => w).window(TumblingWindow.of(Time.seconds(5))).reduce((a, b) => a + b)
 *
 * - `TumblingWindow.of(size)`: fixed-size windows that do not overlap (the original API's
 *   `FixedWindow.size(size)` is the same window).
 * - `SlidingWindow.of(size, slide)`: windows of `size` starting every `slide`; an element belongs
 *   to size/slide windows.
 * - `SessionWindow.withGap(gap)`: a key's window closes after `gap` without elements.
 *
 * Windows use event time (element timestamps and watermarks) unless `.processingTime()` is called.
 * `window()` also accepts the original API's object form, e.g.
 * `{ fixed: { size: { seconds: 3 } } }`, `{ slide: { size, period } }`, `{ session: { timeout } }`;
 * its `trigger` field is accepted and ignored (a window fires when the watermark passes its end).
 */
import { ConfigError, describeValue } from "./errors";
import type { TimeCharacteristic, WindowConfig } from "./graph";
import { type Duration, type ITime, toMilliseconds } from "./time";

/** A window of the API: one of TumblingWindow, SlidingWindow, SessionWindow. */
export abstract class WindowSpec {
  protected time_: TimeCharacteristic = "event";
  protected allowed_lateness_ms_ = 0;

  /** Assign elements to windows by the wall clock instead of by their timestamps. */
  processingTime(): this {
    this.time_ = "processing";
    return this;
  }

  /** Assign elements to windows by their timestamps (the default). */
  eventTime(): this {
    this.time_ = "event";
    return this;
  }

  /**
   * Keep a window's state this long after the watermark passed its end; a late element within
   * that time fires the window again with the element added. Later elements are dropped.
   */
  allowedLateness(lateness: Duration): this {
    this.allowed_lateness_ms_ = toMilliseconds(lateness, `${this.constructor.name}.allowedLateness()`);
    return this;
  }

  /** @internal The window as recorded in the graph. */
  abstract toConfig(): WindowConfig;
}

/** Fixed-size, non-overlapping windows: `TumblingWindow.of(Time.seconds(5))`. */
export class TumblingWindow extends WindowSpec {
  private constructor(
    private readonly size_ms_: number,
    private readonly offset_ms_: number,
  ) {
    super();
  }

  /** Windows of `size`, aligned to the epoch plus `offset` (e.g. a time-zone shift). */
  static of(size: Duration, offset: Duration = 0): TumblingWindow {
    const size_ms = positiveMilliseconds(size, "TumblingWindow.of(): size");
    const offset_ms = toMilliseconds(offset, "TumblingWindow.of(): offset");
    if (offset_ms >= size_ms) {
      throw new ConfigError(`TumblingWindow.of(): offset (${offset_ms} ms) must be less than size (${size_ms} ms)`);
    }
    return new TumblingWindow(size_ms, offset_ms);
  }

  /** @internal */
  toConfig(): WindowConfig {
    return {
      type: "tumbling",
      sizeMs: this.size_ms_,
      offsetMs: this.offset_ms_,
      time: this.time_,
      allowedLatenessMs: this.allowed_lateness_ms_,
    };
  }
}

/** The original API's name for a tumbling window: `FixedWindow.size(Time.seconds(5))`. */
export class FixedWindow {
  private constructor() {}

  /** A tumbling window of `size`. */
  static size(size: Duration): TumblingWindow {
    return TumblingWindow.of(size);
  }
}

/** Overlapping windows of `size` that start every `slide`: `SlidingWindow.of(Time.minutes(1), Time.seconds(10))`. */
export class SlidingWindow extends WindowSpec {
  private constructor(
    private readonly size_ms_: number,
    private readonly slide_ms_: number,
    private readonly offset_ms_: number,
  ) {
    super();
  }

  static of(size: Duration, slide: Duration, offset: Duration = 0): SlidingWindow {
    const size_ms = positiveMilliseconds(size, "SlidingWindow.of(): size");
    const slide_ms = positiveMilliseconds(slide, "SlidingWindow.of(): slide");
    const offset_ms = toMilliseconds(offset, "SlidingWindow.of(): offset");
    if (offset_ms >= slide_ms) {
      throw new ConfigError(`SlidingWindow.of(): offset (${offset_ms} ms) must be less than slide (${slide_ms} ms)`);
    }
    return new SlidingWindow(size_ms, slide_ms, offset_ms);
  }

  /** @internal */
  toConfig(): WindowConfig {
    return {
      type: "sliding",
      sizeMs: this.size_ms_,
      slideMs: this.slide_ms_,
      offsetMs: this.offset_ms_,
      time: this.time_,
      allowedLatenessMs: this.allowed_lateness_ms_,
    };
  }
}

/** Per-key windows that close after `gap` without elements: `SessionWindow.withGap(Time.minutes(5))`. */
export class SessionWindow extends WindowSpec {
  private constructor(private readonly gap_ms_: number) {
    super();
  }

  static withGap(gap: Duration): SessionWindow {
    return new SessionWindow(positiveMilliseconds(gap, "SessionWindow.withGap(): gap"));
  }

  /** @internal */
  toConfig(): WindowConfig {
    return { type: "session", gapMs: this.gap_ms_, time: this.time_, allowedLatenessMs: this.allowed_lateness_ms_ };
  }
}

/** The original Lightflus window object: exactly one of `fixed`, `slide`, `session`. */
export interface IWindow {
  fixed?: { size?: ITime | null } | null;
  slide?: { size?: ITime | null; period?: ITime | null } | null;
  session?: { timeout?: ITime | null } | null;
  /** Accepted for compatibility and ignored. */
  trigger?: unknown;
}

/** Converts a window of either API to its graph form; `where` names the call for errors. */
export function toWindowConfig(window: WindowSpec | IWindow, where: string): WindowConfig {
  if (window instanceof WindowSpec) return window.toConfig();
  if (window === null || typeof window !== "object") {
    throw new ConfigError(
      `${where} expects a window such as TumblingWindow.of(Time.seconds(5)), got ${describeValue(window)}`,
    );
  }
  const fixed = window.fixed?.size != null;
  const slide = window.slide?.size != null && window.slide?.period != null;
  const session = window.session?.timeout != null;
  const count = Number(fixed) + Number(slide) + Number(session);
  if (count !== 1) {
    throw new ConfigError(
      count === 0
        ? `${where}: set one window: { fixed: { size } }, { slide: { size, period } } or { session: { timeout } } ` +
            `(or use TumblingWindow.of(), SlidingWindow.of(), SessionWindow.withGap())`
        : `${where}: set only one of fixed, slide and session`,
    );
  }
  if (fixed) return TumblingWindow.of(window.fixed!.size!).toConfig();
  if (slide) return SlidingWindow.of(window.slide!.size!, window.slide!.period!).toConfig();
  return SessionWindow.withGap(window.session!.timeout!).toConfig();
}

function positiveMilliseconds(duration: Duration, where: string): number {
  const ms = toMilliseconds(duration, where);
  if (ms <= 0) throw new ConfigError(`${where} must be longer than 0 ms`);
  return ms;
}
