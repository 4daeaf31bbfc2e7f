/**
 * The `lightflus` package: the TypeScript API of Lightflus jobs.
 *
 * A job builds streams with these classes; `execute()` hands the recorded logical graph to the
 * Lightflus engine, which runs it (see docs/js-graph.md for the contract with the engine).
 */
export { ExecutionContext } from "./context";
export {
  Dataflow,
  KeyedDataflow,
  WindowedDataflow,
  AllWindowedDataflow,
  ProcessedDataflow,
  DataflowSink,
  type AggregateFunction,
  type TimeWindow,
  type WindowFunction,
  type AllWindowFunction,
  type Ranked,
} from "./dataflow";
export { ConnectedDataflow, KeyedConnectedDataflow } from "./connected";
export { IntervalJoin, IntervalJoined, type ProcessJoinFunction } from "./interval_join";
export { JoinedDataflows, JoinWhere, JoinEqualTo, WindowedJoin, type JoinFunction } from "./window_join";
export {
  OutputTag,
  type KeyedCoProcessFunction,
  type ProcessJoinContext,
  type Collector,
  type ValueState,
  type ListState,
  type MapState,
  type KeyedStateStore,
  type TimerService,
  type KeyedProcessContext,
  type OnTimerContext,
  type KeyedProcessFunction,
  type ProcessOptions,
} from "./process";
export { Time, type Duration, type ITime } from "./time";
export { WindowSpec, TumblingWindow, SlidingWindow, SessionWindow, FixedWindow, type IWindow } from "./window";
export { WatermarkStrategy, type WatermarkOptions } from "./watermark";
export { Tuple2, Tuple3 } from "./tuple";
export { LightflusError, ConfigError, SandboxError, UserCodeError } from "./errors";
export type { RowKind, ChangelogRow } from "./changelog";

export { Source, Sink } from "./connectors/connector";
export { Kafka, KafkaBuilder, type KafkaDelivery, type KafkaValueFormat, type KafkaValueType } from "./connectors/kafka";
export { Redis } from "./connectors/redis";
export { Mysql, Statement, MysqlConnectionOptionsBuilder, type IConnectionOpts } from "./connectors/mysql";
export { FileSource, FileSink, RollingFileSink, type FileFormat } from "./connectors/file";
export { Stdout, StdoutSink } from "./connectors/stdout";
export { Blackhole, BlackholeSink } from "./connectors/blackhole";
export { Generator, GeneratorSource } from "./connectors/generator";
export {
  Nexmark,
  NexmarkSource,
  type NexmarkOptions,
  type NexmarkEvent,
  type NexmarkPerson,
  type NexmarkAuction,
  type NexmarkBid,
} from "./connectors/nexmark";
export { HttpSource, HttpEventSource } from "./connectors/http";
export { Elastic, ElasticBuilder, SinkMode } from "./connectors/elastic";

export { context, connectors, kafka, redis, mysql } from "./compat";

export type {
  LogicalGraph,
  OperatorNode,
  OperatorKind,
  ConnectorConfig,
  WindowConfig,
  WatermarkConfig,
  AggregateConfig,
  TimeCharacteristic,
} from "./graph";
export type { LightflusHost } from "./host";

/**
 * The deployment hook (for the `lightflus` CLI): the function `execute()` calls when there is no
 * host object. Under Node.js with LIGHTFLUS_ENDPOINT set, the package's entry installs one that
 * deploys to that server (docs/cli.md).
 */
export { setRemoteSubmitter as __setRemoteSubmitter, type RemoteSubmitter } from "./host";
