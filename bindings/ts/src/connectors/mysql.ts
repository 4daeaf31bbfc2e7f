/**
 * MySQL / MariaDB sink: runs a prepared statement per element, its `?` placeholders bound to
 * values extracted from the element.
 *
 *     Mysql.new<{ word: string; count: number }>()
 *       .connection({ host: "localhost", username: "app", password: "secret", database: "stats" })
 *       .statement("INSERT INTO counts (word, n) VALUES (?, ?)")
 *       .extractors(s => {
 *         s.setString(1, v => v.word);
 *         s.setNumber(2, v => v.count);
 *       })
 *
 * Binding: the placeholders, left to right, take the extractors in increasing index order, so
 * 1-based (JDBC style) and 0-based numbering both work; there must be one extractor per `?`.
 * The engine computes all the parameters of a batch of elements in one call of the recorded
 * `parametersExtractor` (`x => [e1(x), e2(x), ...]`), then runs the prepared statement for
 * each row, one transaction per batch (docs/mysql.md).
 */
import { ConfigError, describeValue, requireInteger, requireNonEmptyString } from "../errors";
import type { ConnectorConfig } from "../graph";
import { type Duration, toMilliseconds } from "../time";
import { taggedWithKind } from "../changelog";
import { registerUdf } from "../udf";
import { Sink } from "./connector";

/** How to reach the database (the original API's `IConnectionOpts`, plus an optional port). */
export interface IConnectionOpts {
  host?: string | null;
  port?: number | null;
  username?: string | null;
  password?: string | null;
  database?: string | null;
}

type ParameterType = "string" | "number";

/** A SQL statement and the extractors that fill its `?` placeholders. */
export class Statement<T> {
  private sql_: string | undefined;
  private readonly extractors_ = new Map<number, { type: ParameterType; fn: (value: T) => unknown }>();

  /** A statement with SQL `sql`. */
  static new<T0>(sql?: string): Statement<T0> {
    const statement = new Statement<T0>();
    statement.sql_ = sql;
    return statement;
  }

  /** Binds placeholder `index` to the string `fn(element)`. */
  setString(index: number, fn: (value: T) => string): this {
    return this.set_(index, "string", fn, "setString");
  }

  /** Binds placeholder `index` to the number `fn(element)`. */
  setNumber(index: number, fn: (value: T) => number): this {
    return this.set_(index, "number", fn, "setNumber");
  }

  /** @internal */
  setSql(sql: string): void {
    this.sql_ = sql;
  }

  /** @internal The statement and its parameters, extractors registered as UDFs. */
  toConfig(where: string): {
    statement: string;
    parameters: { index: number; type: ParameterType; extractor: number }[];
    parametersExtractor: number;
    row: (value: T) => unknown[];
  } {
    if (this.sql_ === undefined || this.sql_ === null) {
      throw new ConfigError(`${where}: statement is not set: call .statement("INSERT INTO t (a, b) VALUES (?, ?)")`);
    }
    const sql = requireNonEmptyString(this.sql_, where, "statement");
    const placeholders = countPlaceholders(sql);
    if (placeholders !== this.extractors_.size) {
      throw new ConfigError(
        `${where}: the statement has ${placeholders} ? placeholder(s) but ${this.extractors_.size} extractor(s): ` +
          `call .extractors(s => { s.setString(1, v => ...); ... }) with one setString/setNumber per placeholder`,
      );
    }
    const indexes = [...this.extractors_.keys()].sort((a, b) => a - b);
    const parameters = indexes.map((index) => {
      const { type, fn } = this.extractors_.get(index)!;
      return { index, type, extractor: registerUdf(fn, `${where}: extractor ${index}`) };
    });
    // One call per element for all its parameters: the engine runs it over a whole batch.
    const fns = indexes.map((index) => this.extractors_.get(index)!.fn);
    const row = (value: T): unknown[] => fns.map((fn) => fn(value));
    return { statement: sql, parameters, parametersExtractor: registerUdf(row, `${where}: parameters`), row };
  }

  private set_(index: number, type: ParameterType, fn: (value: T) => unknown, method: string): this {
    const where = `Statement.${method}()`;
    requireInteger(index, where, "the index", 0);
    if (typeof fn !== "function") {
      throw new ConfigError(`${where} expects a function as second argument, got ${describeValue(fn)}`);
    }
    if (this.extractors_.has(index)) {
      throw new ConfigError(`${where}: placeholder ${index} already has an extractor`);
    }
    this.extractors_.set(index, { type, fn });
    return this;
  }
}

/** A MySQL sink; `Mysql.new<T>()`. */
export class Mysql<T> extends Sink<T> {
  private connection_: IConnectionOpts | undefined;
  private readonly statement_ = Statement.new<T>();
  private max_batch_rows_: number | null = null;
  private reconnect_timeout_ms_: number | null = null;
  private delete_statement_: string | null = null;

  static new<T>(): Mysql<T> {
    return new Mysql<T>();
  }

  /** Where to connect: `{ host, port?, username, password, database }`. Required. */
  connection(options: IConnectionOpts): this {
    this.connection_ = options;
    return this;
  }

  /** The SQL to run per element, with `?` placeholders. Required. */
  statement(sql: string): this {
    this.statement_.setSql(sql);
    return this;
  }

  /** Calls `fn` with the statement, to bind its placeholders: `s => s.setString(1, v => v.id)`. */
  extractors(fn: (statement: Statement<T>) => void): this {
    if (typeof fn !== "function") {
      throw new ConfigError(`Mysql sink: extractors() expects a function, got ${describeValue(fn)}`);
    }
    fn(this.statement_);
    return this;
  }

  /** At most this many rows per transaction (default 1000; a larger batch is split). */
  maxBatchRows(n: number): this {
    this.max_batch_rows_ = requireInteger(n, "Mysql sink", "maxBatchRows", 1);
    return this;
  }

  /** How long the sink reconnects after losing the server before failing the job (default 60 s). */
  reconnectTimeout(timeout: Duration): this {
    this.reconnect_timeout_ms_ = toMilliseconds(timeout, "Mysql sink: reconnectTimeout()");
    return this;
  }

  /** @internal */
  /**
   * The elements are changelog rows (an `op` member of `"+I"`, `"-U"`, `"+U"` or `"-D"`; none:
   * `"+I"`): `+I`/`+U` run the statement (make it an upsert: `INSERT ... ON DUPLICATE KEY
   * UPDATE` or `REPLACE`), `-U` is skipped and `-D` runs `deleteStatement`
   * (`"DELETE FROM t WHERE id = ?"`), its `?`s bound to the first parameters. Rows apply in order.
   */
  changelog(deleteStatement: string): this {
    this.delete_statement_ = requireNonEmptyString(deleteStatement, "Mysql sink", "changelog(deleteStatement)");
    return this;
  }

  connectorConfig(): ConnectorConfig {
    const where = "Mysql sink";
    const connection = this.connection_;
    if (connection === undefined || connection === null || typeof connection !== "object") {
      throw new ConfigError(
        `${where}: connection is not set: call .connection({ host, username, password, database })`,
      );
    }
    if (connection.host === undefined || connection.host === null) {
      throw new ConfigError(`${where}: connection host is not set: pass .connection({ host: "localhost", ... })`);
    }
    if (connection.database === undefined || connection.database === null) {
      throw new ConfigError(`${where}: connection database is not set: pass .connection({ database: "name", ... })`);
    }
    const host = requireNonEmptyString(connection.host, where, "connection host");
    const database = requireNonEmptyString(connection.database, where, "connection database");
    const port = connection.port ?? 3306;
    requireInteger(port, where, "connection port", 1);
    const { statement, parameters, parametersExtractor, row } = this.statement_.toConfig(where);
    const config: ConnectorConfig = {
      type: "mysql",
      host,
      port,
      username: connection.username ?? null,
      password: connection.password ?? null,
      database,
      statement,
      parameters,
      parametersExtractor,
    };
    if (this.max_batch_rows_ !== null) config.maxBatchRows = this.max_batch_rows_;
    if (this.reconnect_timeout_ms_ !== null) config.reconnectTimeoutMs = this.reconnect_timeout_ms_;
    if (this.delete_statement_ !== null) {
      const deletes = countPlaceholders(this.delete_statement_);
      if (deletes > parameters.length) {
        throw new ConfigError(
          `${where}: the changelog's delete statement has ${deletes} ? placeholder(s), more than the ` +
            `statement's ${parameters.length}: its ?s take the first parameters`,
        );
      }
      config.changelog = true;
      config.deleteStatement = this.delete_statement_;
      // The row kind travels with the parameters: [kind, [values...]].
      config.parametersExtractor = registerUdf(taggedWithKind(row), `${where}: parameters`);
    }
    return config;
  }
}

/** The original API's builder for connection options. */
export class MysqlConnectionOptionsBuilder {
  private readonly options_: IConnectionOpts = {};

  host(host: string): this {
    this.options_.host = host;
    return this;
  }

  port(port: number): this {
    this.options_.port = port;
    return this;
  }

  username(username: string): this {
    this.options_.username = username;
    return this;
  }

  password(password: string): this {
    this.options_.password = password;
    return this;
  }

  database(database: string): this {
    this.options_.database = database;
    return this;
  }

  build(): IConnectionOpts {
    return { ...this.options_ };
  }
}

/** Counts `?` outside quoted strings, quoted identifiers and comments. */
export function countPlaceholders(sql: string): number {
  let count = 0;
  let i = 0;
  while (i < sql.length) {
    const c = sql[i];
    if (c === "'" || c === '"' || c === "`") {
      // Skip the quoted text up to its closing quote; a doubled quote or a backslash escapes one.
      i += 1;
      while (i < sql.length) {
        if (sql[i] === "\\") {
          i += 2;
        } else if (sql[i] === c && sql[i + 1] === c) {
          i += 2;
        } else if (sql[i] === c) {
          break;
        } else {
          i += 1;
        }
      }
    } else if (c === "-" && sql[i + 1] === "-") {
      while (i < sql.length && sql[i] !== "\n") i += 1;
    } else if (c === "#") {
      while (i < sql.length && sql[i] !== "\n") i += 1;
    } else if (c === "/" && sql[i + 1] === "*") {
      const end = sql.indexOf("*/", i + 2);
      i = end < 0 ? sql.length : end + 1;
    } else if (c === "?") {
      count += 1;
    }
    i += 1;
  }
  return count;
}
