/**
 * Files: read a file line by line, write one line per element.
 *
 *     ctx.fromSource(FileSource.lines("input.txt"))       // Dataflow<string>
 *     stream.sink(FileSink.lines("output.txt"))            // strings as they are, else JSON
 *     ctx.fromSource(FileSource.jsonLines<Order>("orders.jsonl"))  // one JSON value per line
 *     stream.sink(FileSink.rolling("out").maxBytes(64 << 20).rollInterval(Time.minutes(5)))
 *
 * `FileSink.rolling(dir)` writes JSON lines into a series of files per parallel subtask,
 * `dir/part-<subtask>-<sequence>.jsonl`, starting a new file by size or age; a file appears under
 * its final name only once it is complete (it is written as a hidden `.inprogress` file, fsynced
 * and renamed) and, in a checkpointed job, once the checkpoint after it completed: exactly-once
 * across restarts. See docs/files.md.
 *
 * Paths are resolved by the engine (relative to its working directory). The job itself cannot
 * open files: the sandbox has no file access; the engine's file connector does the I/O.
 */
import { ConfigError, describeValue, requireInteger, requireNonEmptyString } from "../errors";
import type { ConnectorConfig } from "../graph";
import { type Duration, toMilliseconds } from "../time";
import { Sink, Source } from "./connector";

/** "lines": one string per line; "jsonLines": one JSON value per line. */
export type FileFormat = "lines" | "jsonLines";

export class FileSource<T> extends Source<T> {
  private constructor(
    private readonly path_: string,
    private readonly format_: FileFormat,
  ) {
    super();
  }

  /** Each line of the file (without its line break) as a string. */
  static lines(path: string): FileSource<string> {
    return new FileSource<string>(requireNonEmptyString(path, "FileSource.lines()", "the path"), "lines");
  }

  /** Each line of the file parsed as JSON. */
  static jsonLines<T = unknown>(path: string): FileSource<T> {
    return new FileSource<T>(requireNonEmptyString(path, "FileSource.jsonLines()", "the path"), "jsonLines");
  }

  /** @internal */
  connectorConfig(): ConnectorConfig {
    return { type: "file", path: this.path_, format: this.format_ };
  }

  protected readonly elementType_?: (value: T) => void;
}

export class FileSink<T> extends Sink<T> {
  private constructor(
    private readonly path_: string,
    private readonly format_: FileFormat,
  ) {
    super();
  }

  /** One line per element: strings as they are, other values as JSON. */
  static lines<T = string>(path: string): FileSink<T> {
    return new FileSink<T>(requireNonEmptyString(path, "FileSink.lines()", "the path"), "lines");
  }

  /** One JSON value per line (strings quoted too). */
  static jsonLines<T = unknown>(path: string): FileSink<T> {
    return new FileSink<T>(requireNonEmptyString(path, "FileSink.jsonLines()", "the path"), "jsonLines");
  }

  /**
   * Rolling JSON-lines files in the directory `dir`, one file series per parallel subtask:
   * `FileSink.rolling("out").maxBytes(1 << 20).rollInterval(Time.minutes(1))`.
   */
  static rolling<T = unknown>(dir: string): RollingFileSink<T> {
    return new RollingFileSink<T>(requireNonEmptyString(dir, "FileSink.rolling()", "the directory"));
  }

  /** @internal */
  connectorConfig(): ConnectorConfig {
    return { type: "file", path: this.path_, format: this.format_ };
  }
}

/** Rolling files made by `FileSink.rolling(dir)`; each setter returns the sink. */
export class RollingFileSink<T> extends Sink<T> {
  private prefix_ = "part";
  private suffix_ = ".jsonl";
  private max_bytes_: number | undefined;
  private roll_interval_ms_: number | undefined;
  private roll_on_checkpoint_ = false;
  private format_: FileFormat = "jsonLines";

  /** @internal */
  constructor(private readonly dir_: string) {
    super();
  }

  /** File names start with this (default "part"): `part-0-000000.jsonl`. */
  prefix(prefix: string): this {
    requireNonEmptyString(prefix, "FileSink.rolling().prefix()", "the prefix");
    if (prefix.includes("/")) throw new ConfigError(`FileSink.rolling().prefix(): the prefix must not contain "/", got "${prefix}"`);
    this.prefix_ = prefix;
    return this;
  }

  /** File names end with this (default ".jsonl"). */
  suffix(suffix: string): this {
    if (typeof suffix !== "string" || suffix.includes("/")) {
      throw new ConfigError(`FileSink.rolling().suffix(): expects a file name ending, got ${describeValue(suffix)}`);
    }
    this.suffix_ = suffix;
    return this;
  }

  /** A file is finished before it would exceed this many bytes (default 128 MiB). */
  maxBytes(n: number): this {
    this.max_bytes_ = requireInteger(n, "FileSink.rolling().maxBytes()", "the size", 1);
    return this;
  }

  /** A file is finished once it is this old (checked at each write and checkpoint). */
  rollInterval(interval: Duration): this {
    const ms = toMilliseconds(interval, "FileSink.rolling().rollInterval()");
    if (ms < 1) throw new ConfigError("FileSink.rolling().rollInterval(): expects at least 1 ms");
    this.roll_interval_ms_ = ms;
    return this;
  }

  /**
   * Roll the current file at every checkpoint too: each completed checkpoint then makes
   * everything written before it visible.
   */
  rollOnCheckpoint(roll = true): this {
    if (typeof roll !== "boolean") {
      throw new ConfigError(`FileSink.rolling().rollOnCheckpoint(): expects a boolean, got ${describeValue(roll)}`);
    }
    this.roll_on_checkpoint_ = roll;
    return this;
  }

  /** Lines as `FileSink.lines` writes them (strings as they are) instead of JSON for every value. */
  lines(): this {
    this.format_ = "lines";
    return this;
  }

  /** @internal */
  connectorConfig(): ConnectorConfig {
    const rolling: Record<string, unknown> = {
      prefix: this.prefix_,
      suffix: this.suffix_,
      rollOnCheckpoint: this.roll_on_checkpoint_,
    };
    if (this.max_bytes_ !== undefined) rolling.maxBytes = this.max_bytes_;
    if (this.roll_interval_ms_ !== undefined) rolling.rollIntervalMs = this.roll_interval_ms_;
    return { type: "file", path: this.dir_, format: this.format_, rolling };
  }
}
