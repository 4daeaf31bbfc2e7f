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
 * unless `.partition(p)` pins one.
 */
import { ConfigError, describeValue, requireInteger, requireNonEmptyString } from "../errors";
import type { ConnectorConfig } from "../graph";
import { Source } from "./connector";

/** How a Kafka source decodes record values. */
export type KafkaValueType = "string" | "number" | "boolean" | "bigint" | "object" | "bytes";

const VALUE_TYPES: readonly KafkaValueType[] = ["string", "number", "boolean", "bigint", "object", "bytes"];

/** A Kafka source; made by `Kafka.builder()...build()`. */
export class Kafka<T> extends Source<T> {
  /** @internal */
  constructor(private readonly config_: ConnectorConfig) {
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

  /** A librdkafka consumer property: `.property("auto.offset.reset", "earliest")`. */
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
      properties: { ...this.properties_ },
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
