/**
 * Watermarks: how far event time has progressed. `assignTimestamps(f, strategy)` stamps each
 * element with `f(element)` (milliseconds since the epoch) and emits watermarks as the strategy
 * says; event-time windows fire when the watermark passes their end.
 *
 *     stream.assignTimestamps(e => e.time,
 *         WatermarkStrategy.boundedOutOfOrderness(Time.seconds(5)).withIdleness(Time.minutes(1)))
 *
 * A plain object works too: `{ maxOutOfOrderness: Time.seconds(5), idleness: Time.minutes(1) }`.
 */
import { ConfigError, describeValue } from "./errors";
import type { WatermarkConfig } from "./graph";
import { type Duration, toMilliseconds } from "./time";

/** The options form of a watermark strategy. */
export interface WatermarkOptions {
  /** How late (behind the largest timestamp seen) an element may be; default 0. */
  maxOutOfOrderness?: Duration;
  /** After this long without elements a subtask is idle and stops holding watermarks back. */
  idleness?: Duration;
}

export class WatermarkStrategy {
  private constructor(
    private readonly max_out_of_orderness_ms_: number,
    private readonly idle_timeout_ms_: number | null,
  ) {}

  /**
   * Timestamps only increase: the watermark is the largest timestamp seen minus 1 ms (Flink's
   * rule, a bounded out-of-orderness of 0), so more elements with that same timestamp are still
   * on time. The default of `assignTimestamps(f)`.
   */
  static forMonotonousTimestamps(): WatermarkStrategy {
    return new WatermarkStrategy(0, null);
  }

  /**
   * Elements may arrive up to `max` late: the watermark is the largest timestamp seen minus
   * `max` minus 1 ms.
   */
  static boundedOutOfOrderness(max: Duration): WatermarkStrategy {
    return new WatermarkStrategy(toMilliseconds(max, "WatermarkStrategy.boundedOutOfOrderness()"), null);
  }

  /** Marks a subtask idle after `timeout` without elements, so it does not stall windows. */
  withIdleness(timeout: Duration): WatermarkStrategy {
    const ms = toMilliseconds(timeout, "WatermarkStrategy.withIdleness()");
    if (ms <= 0) throw new ConfigError("WatermarkStrategy.withIdleness() must be longer than 0 ms");
    return new WatermarkStrategy(this.max_out_of_orderness_ms_, ms);
  }

  /** @internal */
  toConfig(): WatermarkConfig {
    return { maxOutOfOrdernessMs: this.max_out_of_orderness_ms_, idleTimeoutMs: this.idle_timeout_ms_ };
  }
}

/** Converts a strategy, an options object or nothing (monotonous timestamps) to its graph form. */
export function toWatermarkConfig(strategy: WatermarkStrategy | WatermarkOptions | undefined): WatermarkConfig {
  if (strategy === undefined) return WatermarkStrategy.forMonotonousTimestamps().toConfig();
  if (strategy instanceof WatermarkStrategy) return strategy.toConfig();
  if (strategy === null || typeof strategy !== "object") {
    throw new ConfigError(
      `assignTimestamps() expects a WatermarkStrategy or { maxOutOfOrderness, idleness }, got ${describeValue(strategy)}`,
    );
  }
  let result =
    strategy.maxOutOfOrderness === undefined
      ? WatermarkStrategy.forMonotonousTimestamps()
      : WatermarkStrategy.boundedOutOfOrderness(strategy.maxOutOfOrderness);
  if (strategy.idleness !== undefined) result = result.withIdleness(strategy.idleness);
  return result.toConfig();
}
