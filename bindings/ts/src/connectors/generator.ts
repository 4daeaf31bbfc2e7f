/**
 * Generator source: numbers or fixed values made up by the engine, for demos, tests and
 * benchmarks.
 *
 *     Generator.sequence(1, 1000)                 // 1, 2, ..., 1000, then the source ends
 *     Generator.sequence(0).ratePerSecond(100)    // 0, 1, 2, ... forever, 100 per second
 *     Generator.values(["a b", "b c"])            // these values, in order
 *
 * Without a rate the engine emits as fast as the job consumes (backpressure applies).
 */
import { ConfigError, describeValue, requireInteger } from "../errors";
import type { ConnectorConfig } from "../graph";
import { Source } from "./connector";

export class GeneratorSource<T> extends Source<T> {
  private rate_per_second_: number | null = null;

  /** @internal */
  constructor(private readonly config_: ConnectorConfig) {
    super();
  }

  /** Emits at most `n` elements per second. */
  ratePerSecond(n: number): this {
    if (typeof n !== "number" || !Number.isFinite(n) || n <= 0) {
      throw new ConfigError(`Generator: ratePerSecond() expects a number > 0, got ${describeValue(n)}`);
    }
    this.rate_per_second_ = n;
    return this;
  }

  /** @internal */
  connectorConfig(): ConnectorConfig {
    return { ...this.config_, ratePerSecond: this.rate_per_second_ };
  }

  protected readonly elementType_?: (value: T) => void;
}

export class Generator {
  private constructor() {}

  /** The integers `from`, `from + 1`, ..., `to` (inclusive); without `to`, forever. */
  static sequence(from: number, to?: number): GeneratorSource<number> {
    const where = "Generator.sequence()";
    requireInteger(from, where, "from", Number.MIN_SAFE_INTEGER);
    if (to !== undefined && to !== null) {
      requireInteger(to, where, "to", Number.MIN_SAFE_INTEGER);
      if (to < from) throw new ConfigError(`${where}: to (${to}) must not be less than from (${from})`);
    }
    return new GeneratorSource<number>({ type: "generator", mode: "sequence", from, to: to ?? null });
  }

  /** The given values, in order (they must be JSON values: they travel in the graph). */
  static values<T>(values: T[]): GeneratorSource<T> {
    if (!Array.isArray(values)) {
      throw new ConfigError(`Generator.values() expects an array, got ${describeValue(values)}`);
    }
    let copy: T[];
    try {
      copy = JSON.parse(JSON.stringify(values)) as T[];
    } catch (error) {
      throw new ConfigError(`Generator.values(): the values must be JSON values: ${String(error)}`);
    }
    return new GeneratorSource<T>({ type: "generator", mode: "values", values: copy });
  }
}
