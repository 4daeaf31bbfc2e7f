/**
 * Kafka source: reads a topic, decodes each record value, and streams the values.
 *
 *     const source = Kafka.builder()
 *       .brokers(["localhost:9092"]).topic("words").group("word_count")
 *       .build<string>(undefined, "string");
 *
 * How values are decoded (`valueType` in the graph) comes from `build<T>(ctor?, type?)`:
 * - a constructor: `String` -> "string", `Number` -> "number", `Boolean` -> "boolean",
 *   `Uint8Array`/`ArrayBuffer` -> "bytes", any other class -> "object" (the original rule,
 *   `typeof new ctor()`, without calling the constructor);
 * - else a type name: "string" (UTF-8 text), "number", "boolean", "bigint", "object" (JSON),
 *   "bytes" (a Uint8Array) — `typeof ""` works, as in the original API;
 * - else the builder's `.valueType(...)`;
 * - else "string" (as in the original documentation's `build<string>()`). Generic types are
 *   erased at run time, so `build<Order>()` alone decodes text: pass `Order` or "object" for JSON.
 * The C++ engine does the I/O (librdkafka); partitions are spread over the source's subtasks
 * unless `.partition(p)` pins one. `.bounded()` stops the source at the end offsets the
 * partitions had when the job started (batch jobs, demos, tests).
 *
 * The same builder makes a Kafka sink: pass the built connector to `sink()`.
 *
 *     counts.sink(Kafka.builder().brokers(["localhost:9092"]).topic("counts")
 *       .keyExtractor((c) => c.word).valueFormat("json").build());
 *
 * The sink writes strings as they are and other values as JSON (`valueFormat("string")`, the
 * default) or every value as JSON (`valueFormat("json")`), keyed by `keyExtractor` when given
 * (equal keys go to the same partition). By default it is idempotent and at-least-once;
 * `.exactlyOnce()` makes it write in Kafka transactions committed when a checkpoint completes,
 * so that `read_committed` readers see every record once across crashes and restarts (the job
 * must run with checkpoints: `lightflusd run --checkpoint-dir DIR`; docs/kafka.md).
 *
 *     counts.sink(Kafka.builder().brokers(["localhost:9092"]).topic("counts")
 *       .keyExtractor((c) => c.word).exactlyOnce().build());
 *
 * `valueType`, `group`, `partition` and `bounded` are source options; `keyExtractor`,
 * `valueFormat` and `exactlyOnce` are sink options.
 */
import { ConfigError, describeValue, requireInteger, requireNonEmptyString } from "../errors";
import type { ConnectorConfig } from "../graph";
import { registerUdf } from "../udf";
import { Source } from "./connector";

/** How a Kafka sink serializes values: strings as they are (others as JSON), or all as JSON. */
export type KafkaValueFormat = "string" | "json";

/**
 * What a Kafka sink promises: "idempotent" (the default: at-least-once, no duplicates from
 * retries) or "exactly-once" (transactions committed at checkpoints; `.exactlyOnce()`).
 */
export type KafkaDelivery = "idempotent" | "exactly-once";

/** How a Kafka source decodes record values. */
export type KafkaValueType = "string" | "number" | "boolean" | "bigint" | "object" | "bytes";

const VALUE_TYPES: readonly KafkaValueType[] = ["string", "number", "boolean", "bigint", "object", "bytes"];

/** A Kafka source, or a sink when passed to `sink()`; made by `Kafka.builder()...build()`. */
export class Kafka<T> extends Source<T> {
  /** @internal */
  constructor(
    private readonly config_: ConnectorConfig,
    private readonly sink_: {
      keyExtractor?: (value: T) => unknown;
      valueFormat: KafkaValueFormat;
      delivery: KafkaDelivery;
      transactionalId: string | null;
    },
  ) {
    super();
  }

  /** Starts a Kafka source builder. */
  static builder(): KafkaBuilder {
    return new KafkaBuilder();
  }

  /** @internal */
  connectorConfig(): ConnectorConfig {
    return { ...this.config_, properties: { ...(this.config_.properties as object) } };
  }

  /**
   * @internal The configuration of this connector used as a sink. Called once, when `sink()`
   * attaches it; registers the key extractor as a UDF.
   */
  sinkConnectorConfig(): ConnectorConfig {
    const where = "Kafka sink";
    const key = this.sink_.keyExtractor;
    return {
      type: "kafka",
      brokers: [...(this.config_.brokers as string[])],
      topic: this.config_.topic,
      keyExtractor: key === undefined ? null : registerUdf(key, `${where}: keyExtractor()`),
      valueFormat: this.sink_.valueFormat,
      delivery: this.sink_.delivery,
      transactionalId: this.sink_.transactionalId,
      properties: { ...(this.config_.properties as object) },
    };
  }

  // Ties T to the class for the type checker.
  protected readonly elementType_?: (value: T) => void;
}

/** Collects the options of a Kafka source; `build()` validates them. */
export class KafkaBuilder {
  private brokers_: string[] | undefined;
  private topic_: string | undefined;
  private group_: string | undefined;
  private partition_: number | undefined;
  private value_type_: string | undefined;
  private bounded_ = false;
  private key_extractor_: ((value: never) => unknown) | undefined;
  private value_format_: KafkaValueFormat = "string";
  private delivery_: KafkaDelivery = "idempotent";
  private transactional_id_: string | null = null;
  private readonly properties_: Record<string, string> = {};

  /** Bootstrap brokers: `.brokers(["localhost:9092"])`. Required. */
  brokers(brokers: string[]): this {
    this.brokers_ = brokers;
    return this;
  }

  /** The topic to read. Required. */
  topic(topic: string): this {
    this.topic_ = topic;
    return this;
  }

  /** The consumer group whose committed offsets the source starts from and commits to. */
  group(group: string): this {
    this.group_ = group;
    return this;
  }

  /** Reads only this partition (by default the source reads every partition of the topic). */
  partition(partition: number): this {
    this.partition_ = partition;
    return this;
  }

  /** How to decode values when build() is not told: "string", "number", "object" (JSON), ... */
  valueType(type: KafkaValueType): this {
    this.value_type_ = type;
    return this;
  }

  /**
   * Source: stop at the end offsets the partitions had when the job started, so that the job
   * finishes (batch jobs, demos, tests). By default the source reads forever.
   */
  bounded(bounded = true): this {
    if (typeof bounded !== "boolean") {
      throw new ConfigError(`Kafka.builder().bounded(): expects a boolean, got ${describeValue(bounded)}`);
    }
    this.bounded_ = bounded;
    return this;
  }

  /** Sink: the message key of an element (strings as they are, other keys as JSON). */
  keyExtractor<V>(fn: (value: V) => unknown): this {
    if (typeof fn !== "function") {
      throw new ConfigError(`Kafka.builder().keyExtractor(): expects a function, got ${describeValue(fn)}`);
    }
    this.key_extractor_ = fn as (value: never) => unknown;
    return this;
  }

  /** Sink: "string" writes strings as they are and other values as JSON (default); "json" all as JSON. */
  valueFormat(format: KafkaValueFormat): this {
    if (format !== "string" && format !== "json") {
      throw new ConfigError(`Kafka.builder().valueFormat(): expects "string" or "json", got ${describeValue(format)}`);
    }
    this.value_format_ = format;
    return this;
  }

  /**
   * Sink: exactly-once for `read_committed` readers. Records are written in Kafka transactions
   * committed when a checkpoint completes (they become visible about one checkpoint interval
   * later), and those not yet committed are kept in the checkpoint, so a job restarted from its
   * newest checkpoint after a crash (kill -9 included) writes every record once. Needs
   * checkpoints: `lightflusd run JOB --checkpoint-dir DIR` (without one, `run` refuses the job).
   *
   * `transactionalId` prefixes the Kafka transactional ids: subtask i uses
   * `<transactionalId>-<i>`. It must stay the same across restarts and be used by no other job
   * or sink. Default: `<job name>-sink-<operator id>`, e.g. "wordCount-sink-7".
   */
  exactlyOnce(transactionalId?: string): this {
    if (transactionalId !== undefined) {
      requireNonEmptyString(transactionalId, "Kafka.builder().exactlyOnce()", "the transactional id");
    }
    this.delivery_ = "exactly-once";
    this.transactional_id_ = transactionalId ?? null;
    return this;
  }

  /** A librdkafka consumer (or, for a sink, producer) property: `.property("auto.offset.reset", "earliest")`. */
  property(key: string, value: string | number | boolean): this {
    requireNonEmptyString(key, "Kafka.builder().property()", "the key");
    this.properties_[key] = String(value);
    return this;
  }

  /**
   * The source. `ctor` or `type` says how to decode values (see the file comment):
   * `build<string>(undefined, "string")`, `build<Order>(Order)`.
   */
  build<T>(ctor?: (new () => T) | null, type?: string | null): Kafka<T> {
    const where = "Kafka.builder().build()";
    if (this.brokers_ === undefined || this.brokers_ === null) {
      throw new ConfigError(`${where}: brokers are not set: call .brokers(["localhost:9092"])`);
    }
    if (!Array.isArray(this.brokers_) || this.brokers_.length === 0) {
      throw new ConfigError(`${where}: brokers must be a non-empty array of "host:port", got ${describeValue(this.brokers_)}`);
    }
    for (const broker of this.brokers_) requireNonEmptyString(broker, where, "each broker");
    if (this.topic_ === undefined || this.topic_ === null) {
      throw new ConfigError(`${where}: topic is not set: call .topic("name")`);
    }
    requireNonEmptyString(this.topic_, where, "the topic");
    if (this.group_ !== undefined && this.group_ !== null) requireNonEmptyString(this.group_, where, "the group");
    if (this.partition_ !== undefined && this.partition_ !== null) {
      requireInteger(this.partition_, where, "the partition", 0);
    }
    return new Kafka<T>({
      type: "kafka",
      brokers: [...this.brokers_],
      topic: this.topic_,
      group: this.group_ ?? null,
      partition: this.partition_ ?? null,
      valueType: decodingOf(ctor, type, this.value_type_, where),
      bounded: this.bounded_,
      properties: { ...this.properties_ },
    }, {
      keyExtractor: this.key_extractor_ as ((value: T) => unknown) | undefined,
      valueFormat: this.value_format_,
      delivery: this.delivery_,
      transactionalId: this.transactional_id_,
    });
  }
}

function decodingOf(ctor: unknown, type: unknown, builder_type: unknown, where: string): KafkaValueType {
  if (ctor !== undefined && ctor !== null) {
    if (typeof ctor !== "function") {
      throw new ConfigError(`${where}: the first argument must be a class (constructor), got ${describeValue(ctor)}`);
    }
    if (ctor === String) return "string";
    if (ctor === Number) return "number";
    if (ctor === Boolean) return "boolean";
    if (ctor === BigInt) return "bigint";
    if (ctor === Uint8Array || ctor === ArrayBuffer) return "bytes";
    return "object";
  }
  // Like the original documentation's `build<string>()`: without a type, values are text.
  const name = type ?? builder_type ?? "string";
  if (typeof name !== "string" || !(VALUE_TYPES as readonly string[]).includes(name)) {
    throw new ConfigError(`${where}: value type must be one of ${VALUE_TYPES.join(", ")}, got ${describeValue(name)}`);
  }
  return name as KafkaValueType;
}
