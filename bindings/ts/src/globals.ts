/**
 * The API's classes as globals, for jobs written without imports, as in the original Lightflus
 * documentation (the runtime defines them in every worker isolate: src/runtime.ts). Such a job
 * file gets its editor's types with:
 *
 *   /// <reference types="lightflus/globals" />
 *
 * test/typings.test.js checks that every class the runtime defines as a global is declared here.
 */
import type * as api from "./index";

declare global {
  const Blackhole: typeof api.Blackhole;
  type Blackhole = api.Blackhole;
  const BlackholeSink: typeof api.BlackholeSink;
  type BlackholeSink<T> = api.BlackholeSink<T>;
  const ConfigError: typeof api.ConfigError;
  type ConfigError = api.ConfigError;
  const Dataflow: typeof api.Dataflow;
  type Dataflow<T> = api.Dataflow<T>;
  const DataflowSink: typeof api.DataflowSink;
  type DataflowSink<T> = api.DataflowSink<T>;
  const Elastic: typeof api.Elastic;
  type Elastic<T> = api.Elastic<T>;
  const ElasticBuilder: typeof api.ElasticBuilder;
  type ElasticBuilder = api.ElasticBuilder;
  const ExecutionContext: typeof api.ExecutionContext;
  type ExecutionContext = api.ExecutionContext;
  const FileSink: typeof api.FileSink;
  type FileSink<T> = api.FileSink<T>;
  const FileSource: typeof api.FileSource;
  type FileSource<T> = api.FileSource<T>;
  const FixedWindow: typeof api.FixedWindow;
  type FixedWindow = api.FixedWindow;
  // No global type Generator: that name is ES2015's generator interface (the value is ours).
  const Generator: typeof api.Generator;
  const GeneratorSource: typeof api.GeneratorSource;
  type GeneratorSource<T> = api.GeneratorSource<T>;
  const HttpEventSource: typeof api.HttpEventSource;
  type HttpEventSource<T> = api.HttpEventSource<T>;
  const HttpSource: typeof api.HttpSource;
  type HttpSource = api.HttpSource;
  const Kafka: typeof api.Kafka;
  type Kafka<T> = api.Kafka<T>;
  const KafkaBuilder: typeof api.KafkaBuilder;
  type KafkaBuilder = api.KafkaBuilder;
  const KeyedDataflow: typeof api.KeyedDataflow;
  type KeyedDataflow<K, T> = api.KeyedDataflow<K, T>;
  const LightflusError: typeof api.LightflusError;
  type LightflusError = api.LightflusError;
  const Mysql: typeof api.Mysql;
  type Mysql<T> = api.Mysql<T>;
  const MysqlConnectionOptionsBuilder: typeof api.MysqlConnectionOptionsBuilder;
  type MysqlConnectionOptionsBuilder = api.MysqlConnectionOptionsBuilder;
  const Nexmark: typeof api.Nexmark;
  type Nexmark = api.Nexmark;
  const NexmarkSource: typeof api.NexmarkSource;
  type NexmarkSource = api.NexmarkSource;
  type NexmarkEvent = api.NexmarkEvent;
  type NexmarkPerson = api.NexmarkPerson;
  type NexmarkAuction = api.NexmarkAuction;
  type NexmarkBid = api.NexmarkBid;
  const OutputTag: typeof api.OutputTag;
  type OutputTag<T> = api.OutputTag<T>;
  const ProcessedDataflow: typeof api.ProcessedDataflow;
  type ProcessedDataflow<T> = api.ProcessedDataflow<T>;
  const Redis: typeof api.Redis;
  type Redis<V> = api.Redis<V>;
  const RollingFileSink: typeof api.RollingFileSink;
  type RollingFileSink<T> = api.RollingFileSink<T>;
  const SandboxError: typeof api.SandboxError;
  type SandboxError = api.SandboxError;
  const SessionWindow: typeof api.SessionWindow;
  type SessionWindow = api.SessionWindow;
  const Sink: typeof api.Sink;
  type Sink<T> = api.Sink<T>;
  const SinkMode: typeof api.SinkMode;
  type SinkMode = api.SinkMode;
  const SlidingWindow: typeof api.SlidingWindow;
  type SlidingWindow = api.SlidingWindow;
  const Source: typeof api.Source;
  type Source<T> = api.Source<T>;
  const Statement: typeof api.Statement;
  type Statement<T> = api.Statement<T>;
  const Stdout: typeof api.Stdout;
  type Stdout = api.Stdout;
  const StdoutSink: typeof api.StdoutSink;
  type StdoutSink<T> = api.StdoutSink<T>;
  const Time: typeof api.Time;
  type Time = api.Time;
  const TumblingWindow: typeof api.TumblingWindow;
  type TumblingWindow = api.TumblingWindow;
  const Tuple2: typeof api.Tuple2;
  type Tuple2<A, B> = api.Tuple2<A, B>;
  const Tuple3: typeof api.Tuple3;
  type Tuple3<A, B, C> = api.Tuple3<A, B, C>;
  const UserCodeError: typeof api.UserCodeError;
  type UserCodeError = api.UserCodeError;
  const WatermarkStrategy: typeof api.WatermarkStrategy;
  type WatermarkStrategy = api.WatermarkStrategy;
  const WindowSpec: typeof api.WindowSpec;
  type WindowSpec = api.WindowSpec;
  const WindowedDataflow: typeof api.WindowedDataflow;
  type WindowedDataflow<K, T> = api.WindowedDataflow<K, T>;
  const AllWindowedDataflow: typeof api.AllWindowedDataflow;
  type AllWindowedDataflow<T> = api.AllWindowedDataflow<T>;
  const ConnectedDataflow: typeof api.ConnectedDataflow;
  type ConnectedDataflow<A, B> = api.ConnectedDataflow<A, B>;
  const KeyedConnectedDataflow: typeof api.KeyedConnectedDataflow;
  type KeyedConnectedDataflow<K, A, B> = api.KeyedConnectedDataflow<K, A, B>;
  const IntervalJoin: typeof api.IntervalJoin;
  type IntervalJoin<K, A, B> = api.IntervalJoin<K, A, B>;
  const IntervalJoined: typeof api.IntervalJoined;
  type IntervalJoined<K, A, B> = api.IntervalJoined<K, A, B>;
  const JoinedDataflows: typeof api.JoinedDataflows;
  type JoinedDataflows<A, B> = api.JoinedDataflows<A, B>;
  const JoinWhere: typeof api.JoinWhere;
  type JoinWhere<K, A, B> = api.JoinWhere<K, A, B>;
  const JoinEqualTo: typeof api.JoinEqualTo;
  type JoinEqualTo<K, A, B> = api.JoinEqualTo<K, A, B>;
  const WindowedJoin: typeof api.WindowedJoin;
  type WindowedJoin<K, A, B> = api.WindowedJoin<K, A, B>;
}

export {};
