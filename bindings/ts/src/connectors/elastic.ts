/**
 * Elasticsearch sink (the original documentation's example sink): indexes each element as a
 * JSON document through the `_bulk` API.
 *
 *     Elastic.builder().host("http://localhost:9200").index("word_count")
 *       .sinkMode(SinkMode.UPSERT).idExtractor(v => v.t0).build<Tuple2<string, number>>()
 *
 * APPEND indexes every element as a new document (under `idExtractor(element)` when given);
 * UPSERT writes the document with id `idExtractor(element)` (an `update` with `doc_as_upsert`),
 * so a replay overwrites instead of duplicating. Elements that are not objects are written as
 * `{"value": element}`. Requests are batched (`maxActions`, `maxBytes`, `flushInterval`), retried
 * on 429/5xx with backoff for up to `retryTimeout`; a document Elasticsearch refuses (a mapping
 * error) fails the job with its id and the reason. The C++ engine does the I/O
 * (docs/elasticsearch.md).
 */
import { ConfigError, describeValue, requireInteger, requireNonEmptyString } from "../errors";
import type { ConnectorConfig } from "../graph";
import { type Duration, toMilliseconds } from "../time";
import { registerUdf } from "../udf";
import { Sink } from "./connector";

export enum SinkMode {
  APPEND = "append",
  UPSERT = "upsert",
}

/** Optional settings; recorded in the graph only when set. */
interface ElasticOptions {
  maxActions?: number;
  maxBytes?: number;
  flushIntervalMs?: number;
  retryTimeoutMs?: number;
  username?: string;
  password?: string;
  apiKey?: string;
  tlsVerify?: boolean;
  caFile?: string;
  changelog?: boolean;
}

export class Elastic<T> extends Sink<T> {
  /** @internal */
  constructor(
    private readonly host_: string,
    private readonly index_: string,
    private readonly mode_: SinkMode,
    private readonly id_extractor_: ((value: T) => unknown) | undefined,
    private readonly options_: ElasticOptions = {},
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
      ...this.options_,
    };
  }
}

export class ElasticBuilder {
  private host_: string | undefined;
  private index_: string | undefined;
  private mode_: SinkMode = SinkMode.APPEND;
  private id_extractor_: ((value: never) => unknown) | undefined;
  private readonly options_: ElasticOptions = {};

  /** The cluster URL: `"http://localhost:9200"` (or `https://...`, or `host:port`). Required. */
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

  /** The document id of an element (strings as they are, numbers in decimal, others as JSON). */
  idExtractor<T>(fn: (value: T) => unknown): this {
    this.id_extractor_ = fn as (value: never) => unknown;
    return this;
  }

  /**
   * The elements are changelog rows (an `op` member of `"+I"`, `"-U"`, `"+U"` or `"-D"`; none:
   * `"+I"`): `+I`/`+U` are indexed (or upserted) under their id without `op`, `-U` is skipped
   * and `-D` is a `delete` action (a missing document counts as deleted). Needs idExtractor.
   */
  changelog(): this {
    this.options_.changelog = true;
    return this;
  }

  /** A bulk request is sent after this many documents (default 1000). */
  maxActions(n: number): this {
    this.options_.maxActions = requireInteger(n, "Elastic.builder().maxActions()", "the count", 1);
    return this;
  }

  /** A bulk request is sent before it exceeds this many bytes (default 5 MiB). */
  maxBytes(n: number): this {
    this.options_.maxBytes = requireInteger(n, "Elastic.builder().maxBytes()", "the size", 1);
    return this;
  }

  /** A buffered document is sent at the latest after this long (default 1 s). */
  flushInterval(interval: Duration): this {
    this.options_.flushIntervalMs = toMilliseconds(interval, "Elastic.builder().flushInterval()");
    return this;
  }

  /** How long a failing bulk request (429, 5xx, network) is retried before the job fails (default 60 s). */
  retryTimeout(timeout: Duration): this {
    this.options_.retryTimeoutMs = toMilliseconds(timeout, "Elastic.builder().retryTimeout()");
    return this;
  }

  /** HTTP basic authentication. */
  basicAuth(username: string, password: string): this {
    this.options_.username = requireNonEmptyString(username, "Elastic.builder().basicAuth()", "the username");
    if (typeof password !== "string") {
      throw new ConfigError(`Elastic.builder().basicAuth(): the password must be a string, got ${describeValue(password)}`);
    }
    this.options_.password = password;
    return this;
  }

  /** An API key (sent as `Authorization: ApiKey <key>`). */
  apiKey(key: string): this {
    this.options_.apiKey = requireNonEmptyString(key, "Elastic.builder().apiKey()", "the key");
    return this;
  }

  /** HTTPS: the CA certificates (a PEM file on the engine's machine) to verify the server with. */
  caFile(path: string): this {
    this.options_.caFile = requireNonEmptyString(path, "Elastic.builder().caFile()", "the path");
    return this;
  }

  /** HTTPS: `false` skips verifying the server's certificate (development only). */
  tlsVerify(verify: boolean): this {
    if (typeof verify !== "boolean") {
      throw new ConfigError(`Elastic.builder().tlsVerify(): expects a boolean, got ${describeValue(verify)}`);
    }
    this.options_.tlsVerify = verify;
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
    if (this.options_.changelog === true && this.id_extractor_ === undefined) {
      throw new ConfigError(`${where}: changelog() needs an id: call .idExtractor(v => v.id)`);
    }
    if (this.id_extractor_ !== undefined && typeof this.id_extractor_ !== "function") {
      throw new ConfigError(`${where}: idExtractor() expects a function`);
    }
    return new Elastic<T>(
      this.host_,
      this.index_,
      this.mode_,
      this.id_extractor_ as ((value: T) => unknown) | undefined,
      { ...this.options_ },
    );
  }
}
