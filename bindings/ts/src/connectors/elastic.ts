/**
 * Elasticsearch sink (the original documentation's example sink): indexes each element as a
 * JSON document through the `_bulk` API.
 *
 *     Elastic.builder().host("http://localhost:9200").index("word_count")
 *       .sinkMode(SinkMode.UPSERT).idExtractor(v => v.t0).build<Tuple2<string, number>>()
 *
 * APPEND indexes every element as a new document; UPSERT writes the document with id
 * `idExtractor(element)`, so a replay overwrites instead of duplicating.
 */
import { ConfigError, requireNonEmptyString } from "../errors";
import type { ConnectorConfig } from "../graph";
import { registerUdf } from "../udf";
import { Sink } from "./connector";

export enum SinkMode {
  APPEND = "append",
  UPSERT = "upsert",
}

export class Elastic<T> extends Sink<T> {
  /** @internal */
  constructor(
    private readonly host_: string,
    private readonly index_: string,
    private readonly mode_: SinkMode,
    private readonly id_extractor_: ((value: T) => unknown) | undefined,
  ) {
    super();
  }

  static builder(): ElasticBuilder {
    return new ElasticBuilder();
  }

  /** @internal */
  connectorConfig(): ConnectorConfig {
    return {
      type: "elasticsearch",
      host: this.host_,
      index: this.index_,
      sinkMode: this.mode_,
      idExtractor: this.id_extractor_ === undefined ? null : registerUdf(this.id_extractor_, "Elastic sink: idExtractor()"),
    };
  }
}

export class ElasticBuilder {
  private host_: string | undefined;
  private index_: string | undefined;
  private mode_: SinkMode = SinkMode.APPEND;
  private id_extractor_: ((value: never) => unknown) | undefined;

  /** The cluster URL: `"http://localhost:9200"`. Required. */
  host(host: string): this {
    this.host_ = host;
    return this;
  }

  /** The index to write to. Required. */
  index(index: string): this {
    this.index_ = index;
    return this;
  }

  /** APPEND (default) or UPSERT (needs idExtractor). */
  sinkMode(mode: SinkMode): this {
    this.mode_ = mode;
    return this;
  }

  /** The document id of an element. */
  idExtractor<T>(fn: (value: T) => unknown): this {
    this.id_extractor_ = fn as (value: never) => unknown;
    return this;
  }

  build<T>(): Elastic<T> {
    const where = "Elastic.builder().build()";
    if (this.host_ === undefined) throw new ConfigError(`${where}: host is not set: call .host("http://localhost:9200")`);
    if (this.index_ === undefined) throw new ConfigError(`${where}: index is not set: call .index("name")`);
    requireNonEmptyString(this.host_, where, "host");
    requireNonEmptyString(this.index_, where, "index");
    if (this.mode_ !== SinkMode.APPEND && this.mode_ !== SinkMode.UPSERT) {
      throw new ConfigError(`${where}: sinkMode must be SinkMode.APPEND or SinkMode.UPSERT`);
    }
    if (this.mode_ === SinkMode.UPSERT && this.id_extractor_ === undefined) {
      throw new ConfigError(`${where}: SinkMode.UPSERT needs an id: call .idExtractor(v => v.id)`);
    }
    if (this.id_extractor_ !== undefined && typeof this.id_extractor_ !== "function") {
      throw new ConfigError(`${where}: idExtractor() expects a function`);
    }
    return new Elastic<T>(this.host_, this.index_, this.mode_, this.id_extractor_ as ((value: T) => unknown) | undefined);
  }
}
