/**
 * Redis sink: for each element, `SET key value` with key = keyExtractor(element) and
 * value = valueExtractor(element) (strings as they are, other values as JSON).
 *
 *     Redis.new<{ word: string; count: number }>()
 *       .host("localhost")
 *       .keyExtractor(v => v.word)
 *       .valueExtractor(v => v.count.toString())
 */
import { ConfigError, requireInteger, requireNonEmptyString } from "../errors";
import type { ConnectorConfig } from "../graph";
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

  /** Connect with TLS. */
  tls(enabled: boolean): this {
    this.tls_ = enabled;
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
    return {
      type: "redis",
      host,
      port,
      tls: this.tls_ === true,
      database: this.database_,
      username: this.username_,
      password: this.password_,
      keyExtractor: registerUdf(this.key_extractor_, `${where}: keyExtractor()`),
      valueExtractor: registerUdf(this.value_extractor_, `${where}: valueExtractor()`),
    };
  }
}
