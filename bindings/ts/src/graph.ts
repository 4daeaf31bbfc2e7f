/**
 * The logical graph: what a job's builder calls record, and what the host receives.
 *
 * `execute()` hands the host one `LogicalGraph`, a plain JSON-serialisable object. Operators are
 * listed in the order they were created (so inputs always come before the operators reading
 * them); each names its inputs by operator id. User functions are not in the graph: an operator
 * (or a connector option such as a Redis key extractor) holds the id of a UDF, an index into the
 * runtime's UDF table (`lightflus.__udfs`). docs/js-graph.md is the full contract.
 */

/** What an operator does. */
export type OperatorKind =
  | "source"
  | "map"
  | "flatMap"
  | "filter"
  | "keyBy"
  | "reduce"
  | "aggregate"
  | "window"
  | "assignTimestamps"
  | "union"
  | "process"
  | "coProcess"
  | "sideOutput"
  | "sink";

/** A source or sink configuration: `type` names the connector, the rest are its options. */
export interface ConnectorConfig {
  type: string;
  [option: string]: unknown;
}

/** A window: sizes in milliseconds; `time` says which clock assigns elements to windows. */
export type WindowConfig =
  | {
      type: "tumbling";
      sizeMs: number;
      offsetMs: number;
      time: TimeCharacteristic;
      allowedLatenessMs: number;
      lateTag?: string;
    }
  | {
      type: "sliding";
      sizeMs: number;
      slideMs: number;
      offsetMs: number;
      time: TimeCharacteristic;
      allowedLatenessMs: number;
      lateTag?: string;
    }
  | { type: "session"; gapMs: number; time: TimeCharacteristic; allowedLatenessMs: number; lateTag?: string };

/** Event time (element timestamps and watermarks) or processing time (the wall clock). */
export type TimeCharacteristic = "event" | "processing";

/** How an `assignTimestamps` operator emits watermarks. */
export interface WatermarkConfig {
  /** The watermark trails the largest timestamp seen by this much. */
  maxOutOfOrdernessMs: number;
  /** A subtask that sees no element for this long is idle and does not hold watermarks back. */
  idleTimeoutMs: number | null;
}

/** The UDFs of an aggregate: ids into the UDF table; `merge` is null when not given. */
export interface AggregateConfig {
  createAccumulator: number;
  add: number;
  getResult: number;
  merge: number | null;
}

/** The UDFs and options of a process operator (coProcess: processElement1 and 2 instead). */
export interface ProcessConfig {
  processElement?: number;
  processElement1?: number;
  processElement2?: number;
  onTimer: number | null;
  ttlMs: number | null;
}

/** One operator of the logical graph. Fields other than the first five depend on `kind`. */
export interface OperatorNode {
  id: number;
  kind: OperatorKind;
  name: string;
  inputs: number[];
  /** Present only when the job set it with `.parallelism(n)`. */
  parallelism?: number;
  /** Present only when the job set it with `.uid(id)`: the state's name in checkpoints. */
  uid?: string;
  /** map, flatMap, filter, keyBy (key extractor), reduce, assignTimestamps (timestamp extractor). */
  udf?: number;
  /** source, sink. */
  connector?: ConnectorConfig;
  /** window. */
  window?: WindowConfig;
  /** assignTimestamps. */
  watermark?: WatermarkConfig;
  /** aggregate. */
  aggregate?: AggregateConfig;
  /** reduce, aggregate, window, process, coProcess: true when the input was partitioned by keyBy. */
  keyed?: boolean;
  /** process, coProcess: its UDFs (onTimer null when not given) and the state TTL (null: none). */
  process?: ProcessConfig;
  /**
   * coProcess made by intervalJoin() or join(): what it joins, for readers of the graph (the
   * engine runs the process functions).
   */
  join?: Record<string, unknown>;
  /** sideOutput: the OutputTag's name. */
  tag?: string;
  /** windowed reduce, aggregate: the window function (key, window, result) => output. */
  windowFunction?: number;
  /** With windowFunction: its result is an array (or iterable) of outputs (window process()). */
  windowFunctionFlat?: boolean;
}

/** What `execute()` submits to the host. */
export interface LogicalGraph {
  /** Version of this format; bumped on incompatible changes. */
  version: 1;
  job: {
    name: string;
    namespace: string;
    /** Present only when the job set it with `ctx.parallelism(n)`. */
    parallelism?: number;
    /** Present only when the job set it with `ctx.checkpointInterval(ms)`. */
    checkpointInterval?: number;
    /** Job parameters the job read with `ctx.param()`, with the values it got. */
    params: Record<string, string | number | boolean>;
  };
  operators: OperatorNode[];
}
