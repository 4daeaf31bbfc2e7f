/**
 * Durations: window sizes, slides, session gaps, allowed lateness and watermark bounds.
 *
 * A `Time` is a whole number of milliseconds built with `Time.milliseconds(n)`,
 * `Time.seconds(n)`, `Time.minutes(n)`, `Time.hours(n)` or `Time.days(n)`. Wherever the API takes
 * a duration it also accepts a plain number of milliseconds and, for jobs written for the
 * original Lightflus API, an `ITime` object such as `{ seconds: 3, millis: 100 }` (its fields are
 * added up). The graph the host receives holds durations in milliseconds only.
 */
import { ConfigError, describeValue } from "./errors";

/** The original Lightflus duration object; its fields are summed. */
export interface ITime {
  millis?: number | null;
  seconds?: number | null;
  minutes?: number | null;
  hours?: number | null;
}

/** A duration: a `Time`, a number of milliseconds, or an original `ITime` object. */
export type Duration = Time | number | ITime;

/** A whole number of milliseconds. `Time.seconds(5).toMilliseconds() === 5000`. */
export class Time {
  private readonly ms_: number;

  private constructor(ms: number) {
    this.ms_ = ms;
  }

  /** `Time.milliseconds(250)` */
  static milliseconds(n: number): Time {
    return Time.of_(n, 1, "Time.milliseconds()");
  }

  /** `Time.seconds(5)` */
  static seconds(n: number): Time {
    return Time.of_(n, 1000, "Time.seconds()");
  }

  /** `Time.minutes(1)` */
  static minutes(n: number): Time {
    return Time.of_(n, 60_000, "Time.minutes()");
  }

  /** `Time.hours(1)` */
  static hours(n: number): Time {
    return Time.of_(n, 3_600_000, "Time.hours()");
  }

  /** `Time.days(1)` */
  static days(n: number): Time {
    return Time.of_(n, 86_400_000, "Time.days()");
  }

  /** The duration in milliseconds. */
  toMilliseconds(): number {
    return this.ms_;
  }

  toString(): string {
    return `${this.ms_} ms`;
  }

  private static of_(n: number, unit_ms: number, where: string): Time {
    if (typeof n !== "number" || !Number.isFinite(n) || n < 0) {
      throw new ConfigError(`${where} expects a finite number >= 0, got ${describeValue(n)}`);
    }
    const ms = n * unit_ms;
    if (!Number.isInteger(ms)) {
      throw new ConfigError(`${where}: ${n} is not a whole number of milliseconds`);
    }
    return new Time(ms);
  }
}

const ITIME_UNITS: ReadonlyArray<[keyof ITime, number]> = [
  ["millis", 1],
  ["seconds", 1000],
  ["minutes", 60_000],
  ["hours", 3_600_000],
];

/**
 * Converts a duration to milliseconds; `where` names the option for the error message,
 * e.g. `TumblingWindow.of(): size`.
 */
export function toMilliseconds(duration: Duration | null | undefined, where: string): number {
  if (duration instanceof Time) return duration.toMilliseconds();
  if (typeof duration === "number") {
    if (!Number.isInteger(duration) || duration < 0) {
      throw new ConfigError(
        `${where} must be a whole number of milliseconds >= 0 or a Time such as Time.seconds(5), ` +
          `got ${describeValue(duration)}`,
      );
    }
    return duration;
  }
  if (duration !== null && typeof duration === "object") {
    let total = 0;
    let any_field = false;
    for (const [field, unit_ms] of ITIME_UNITS) {
      const value = (duration as ITime)[field];
      if (value === undefined || value === null) continue;
      if (typeof value !== "number" || !Number.isFinite(value) || value < 0) {
        throw new ConfigError(`${where}: ${field} must be a number >= 0, got ${describeValue(value)}`);
      }
      total += value * unit_ms;
      any_field = true;
    }
    if (any_field && Number.isInteger(total)) return total;
  }
  throw new ConfigError(
    `${where} must be a Time such as Time.seconds(5), a number of milliseconds or ` +
      `{ seconds: 5 }, got ${describeValue(duration)}`,
  );
}
