/**
 * Stdout sink: prints one line per element on the engine's standard output (strings as they
 * are, other values as JSON). For demos and debugging: `stream.sink(Stdout.new())` or
 * `stream.print()`.
 */
import type { ConnectorConfig } from "../graph";
import { Sink } from "./connector";

/** The sink behind `Stdout.new()` and `print()`. */
export class StdoutSink<T> extends Sink<T> {
  /** @internal */
  connectorConfig(): ConnectorConfig {
    return { type: "stdout" };
  }
}

export class Stdout {
  private constructor() {}

  /** A sink that prints each element: `Stdout.new<string>()`. */
  static new<T>(): StdoutSink<T> {
    return new StdoutSink<T>();
  }
}
