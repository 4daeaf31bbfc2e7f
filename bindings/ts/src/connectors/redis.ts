/**
 * Redis sink: for each element, `SET key value` with key = keyExtractor(element) and
 * value = valueExtractor(element): strings as they are, numbers as decimal text, other values
 * as JSON. `.command("hset")` and `.command("xadd")` write hashes and streams instead, and
 * `.ttl(Time.minutes(5))` lets the keys expire. At-least-once (docs/redis.md).
 *
 *     Redis.new<{ word: string; count: number }>()
 *       .host("localhost")
 *       .keyExtractor(v => v.word)
 *       .valueExtractor(v => v.count.toString())
 */
import { taggedWithKind, withoutOpThen } from "../changelog";
import { ConfigError, describeValue, requireInteger, requireNonEmptyString } from "../errors";
import type { ConnectorConfig } from "../graph";
import { type Duration, toMilliseconds } from "../time";
import { registerUdf } from "../udf";
import { Sink } from "./connector";

export class Redis<V> extends Sink<V> {
  private host_: string | undefined;
  private port_: number | undefined;
  private tls_ = false;
  private database_ = 0;
  private username_: string | null = null;
  private password_: string | null = null;
  private key_extractor_: ((value: V) => unknown) | undefined;
  private value_extractor_: ((value: V) => unknown) | undefined;
  private tls_ca_file_: string | null = null;
  private tls_verify_ = true;
  private command_: RedisCommand = "set";
  private hash_key_: string | null = null;
  private stream_field_: string | null = null;
  private ttl_ms_: number | null = null;
  private changelog_ = false;
  private batch_size_: number | null = null;
  private reconnect_timeout_ms_: number | null = null;

  /** Starts a Redis sink: `Redis.new<T>()`. */
  static new<T>(): Redis<T> {
    return new Redis<T>();
  }

  /** The server: `"localhost"` or `"localhost:6379"`. Required. */
  host(host: string): this {
    this.host_ = host;
    return this;
  }

  /** The server port (default 6379, or the port in host). */
  port(port: number): this {
    this.port_ = port;
    return this;
  }

  /**
   * Connect with TLS, verifying the server's certificate and name against the system's CAs,
   * or against `caFile` (a PEM file on the host). `verify: false` accepts any certificate.
   */
  tls(enabled: boolean, options?: { caFile?: string; verify?: boolean }): this {
    this.tls_ = enabled;
    if (options?.caFile !== undefined) {
      this.tls_ca_file_ = requireNonEmptyString(options.caFile, "Redis sink", "tls caFile");
    }
    if (options?.verify !== undefined) {
      if (typeof options.verify !== "boolean") {
        throw new ConfigError(`Redis sink: tls verify must be a boolean, got ${describeValue(options.verify)}`);
      }
      this.tls_verify_ = options.verify;
    }
    return this;
  }

  /** The database number (default 0). */
  database(database: number): this {
    this.database_ = database;
    return this;
  }

  /** Authenticate with AUTH [username] password. */
  auth(password: string, username?: string): this {
    this.password_ = password;
    this.username_ = username ?? null;
    return this;
  }

  /** The original API's way to set the password: `sink.password = "secret"`. */
  set password(password: string) {
    this.password_ = password;
  }

  /** The Redis key of an element. Required. */
  keyExtractor(fn: (value: V) => unknown): this {
    this.key_extractor_ = fn;
    return this;
  }

  /** The value stored for an element. Required. */
  valueExtractor(fn: (value: V) => unknown): this {
    this.value_extractor_ = fn;
    return this;
  }

  /**
   * The command each element is written with: `"set"` (default: `SET key value`), `"hset"`
   * (`HSET key field value`: with `.hashKey(h)` every element is a field of the hash `h` and
   * the key extractor gives the field; without it the value must be an object, one field per
   * member) or `"xadd"` (`XADD key * value <value>`, or one field per member of an object).
   */
  command(command: RedisCommand): this {
    if (command !== "set" && command !== "hset" && command !== "xadd") {
      throw new ConfigError(
        `Redis sink: command() expects "set", "hset" or "xadd", got ${describeValue(command)}`,
      );
    }
    this.command_ = command;
    return this;
  }

  /** HSET into this one hash: the key extractor gives the field. Implies `.command("hset")`. */
  hashKey(key: string): this {
    this.hash_key_ = requireNonEmptyString(key, "Redis sink", "hashKey");
    this.command_ = "hset";
    return this;
  }

  /** XADD: the field name of values that are not objects (default `"value"`). */
  streamField(field: string): this {
    this.stream_field_ = requireNonEmptyString(field, "Redis sink", "streamField");
    return this;
  }

  /** Time to live of the written keys: `.ttl(Time.minutes(5))`, or milliseconds. */
  ttl(ttl: Duration): this {
    const ms = toMilliseconds(ttl, "Redis sink: ttl()");
    this.ttl_ms_ = ms > 0 ? ms : null;
    return this;
  }

  /** At most this many commands per pipelined round trip (default 1000). */
  batchSize(n: number): this {
    this.batch_size_ = requireInteger(n, "Redis sink", "batchSize", 1);
    return this;
  }

  /** How long the sink reconnects after losing the server before failing the job (default 30 s). */
  reconnectTimeout(timeout: Duration): this {
    this.reconnect_timeout_ms_ = toMilliseconds(timeout, "Redis sink: reconnectTimeout()");
    return this;
  }

  /**
   * The elements are changelog rows (an `op` member of `"+I"`, `"-U"`, `"+U"` or `"-D"`; none:
   * `"+I"`): `+I`/`+U` are written, `-U` is skipped (the `+U` after it overwrites the key) and
   * `-D` deletes the key (`DEL`, or `HDEL` from the hash of `.hashKey()`). The extractors see
   * the row without `op`. Not with `xadd` (a stream only appends).
   */
  changelog(): this {
    this.changelog_ = true;
    return this;
  }

  /** @internal */
  connectorConfig(): ConnectorConfig {
    const where = "Redis sink";
    if (this.host_ === undefined || this.host_ === null) {
      throw new ConfigError(`${where}: host is not set: call .host("localhost")`);
    }
    let host = requireNonEmptyString(this.host_, where, "host");
    let port = 6379;
    const colon = host.lastIndexOf(":");
    if (colon > 0 && !host.includes("]", colon) && /^\d+$/.test(host.slice(colon + 1))) {
      port = Number(host.slice(colon + 1));
      host = host.slice(0, colon);
    }
    if (this.port_ !== undefined) port = this.port_;
    requireInteger(port, where, "port", 1);
    requireInteger(this.database_, where, "database", 0);
    if (this.key_extractor_ === undefined) {
      throw new ConfigError(`${where}: keyExtractor is not set: call .keyExtractor(v => v.key)`);
    }
    if (this.value_extractor_ === undefined) {
      throw new ConfigError(`${where}: valueExtractor is not set: call .valueExtractor(v => v.value)`);
    }
    if (this.hash_key_ !== null && this.command_ !== "hset") {
      throw new ConfigError(`${where}: hashKey() needs the command "hset", not "${this.command_}"`);
    }
    const config: ConnectorConfig = {
      type: "redis",
      host,
      port,
      tls: this.tls_ === true,
      database: this.database_,
      username: this.username_,
      password: this.password_,
      keyExtractor: registerUdf(
        this.changelog_ ? withoutOpThen(this.key_extractor_) : this.key_extractor_,
        `${where}: keyExtractor()`,
      ),
      valueExtractor: registerUdf(
        this.changelog_ ? taggedWithKind(this.value_extractor_) : this.value_extractor_,
        `${where}: valueExtractor()`,
      ),
    };
    // The options the original API did not have appear only when set (docs/js-graph.md).
    if (this.tls_ca_file_ !== null) config.tlsCaFile = this.tls_ca_file_;
    if (!this.tls_verify_) config.tlsVerify = false;
    if (this.command_ !== "set") config.command = this.command_;
    if (this.hash_key_ !== null) config.hashKey = this.hash_key_;
    if (this.stream_field_ !== null) config.streamField = this.stream_field_;
    if (this.ttl_ms_ !== null) config.ttlMs = this.ttl_ms_;
    if (this.batch_size_ !== null) config.batchSize = this.batch_size_;
    if (this.reconnect_timeout_ms_ !== null) config.reconnectTimeoutMs = this.reconnect_timeout_ms_;
    if (this.changelog_) {
      if (this.command_ === "xadd") {
        throw new ConfigError(`${where}: changelog() cannot apply to "xadd" (a stream only appends)`);
      }
      config.changelog = true;
    }
    return config;
  }
}

/** The command a Redis sink writes with. */
export type RedisCommand = "set" | "hset" | "xadd";
