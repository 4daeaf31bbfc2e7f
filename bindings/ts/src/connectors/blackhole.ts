/**
 * Blackhole sink: drops every element (Flink's blackhole connector), for benchmarks that measure
 * a job without the cost of writing its output: `stream.sink(Blackhole.new())`.
 */
import type { ConnectorConfig } from "../graph";
import { Sink } from "./connector";

/** The sink behind `Blackhole.new()`. */
export class BlackholeSink<T> extends Sink<T> {
  /** @internal */
  connectorConfig(): ConnectorConfig {
    return { type: "blackhole" };
  }
}

export class Blackhole {
  private constructor() {}

  /** A sink that drops each element: `Blackhole.new<string>()`. */
  static new<T>(): BlackholeSink<T> {
    return new BlackholeSink<T>();
  }
}
