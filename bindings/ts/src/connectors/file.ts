/**
 * Files: read a file line by line, write one line per element.
 *
 *     ctx.fromSource(FileSource.lines("input.txt"))       // Dataflow<string>
 *     stream.sink(FileSink.lines("output.txt"))            // strings as they are, else JSON
 *     ctx.fromSource(FileSource.jsonLines<Order>("orders.jsonl"))  // one JSON value per line
 *
 * Paths are resolved by the engine (relative to its working directory). The job itself cannot
 * open files: the sandbox has no file access; the engine's file connector does the I/O.
 */
import { requireNonEmptyString } from "../errors";
import type { ConnectorConfig } from "../graph";
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

  /** @internal */
  connectorConfig(): ConnectorConfig {
    return { type: "file", path: this.path_, format: this.format_ };
  }
}
