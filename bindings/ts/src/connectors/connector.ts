/**
 * Source and Sink: the two ends of a stream. A connector builder (Kafka, FileSource, Redis, ...)
 * produces one of these; the stream API turns it into a `source` or `sink` operator whose
 * `connector` field is the connector's configuration. The C++ engine does the I/O.
 */
import type { ExecutionContext } from "../context";
import type { Dataflow } from "../dataflow";
import type { ConnectorConfig } from "../graph";

/** Something a stream reads from. `source.createFlow(ctx)` is `ctx.fromSource(source)`. */
export abstract class Source<T> {
  /** A stream of the elements this source reads, in the job of `ctx`. */
  createFlow(ctx: ExecutionContext): Dataflow<T> {
    return ctx.addSource<T>(this.connectorConfig());
  }

  /** @internal The validated configuration recorded in the graph. */
  abstract connectorConfig(): ConnectorConfig;
}

/** Something a stream writes to: `stream.sink(Stdout.new())`. */
export abstract class Sink<T> {
  /**
   * @internal The validated configuration recorded in the graph. Called once, when the sink is
   * attached; registers the sink's extractor functions as UDFs.
   */
  abstract connectorConfig(): ConnectorConfig;

  // Ties T to the class so that a Sink<string> is not a Sink<number> to the type checker.
  protected readonly elementType_?: (value: T) => void;
}
