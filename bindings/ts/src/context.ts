/**
 * ExecutionContext: one job. It names the job, hands out job parameters, records the operators
 * that the job's streams add, and submits the resulting logical graph on `execute()`.
 *
 *     const ctx = ExecutionContext.new("wordCount", "default");
 *     ctx.fromSource(FileSource.lines("in.txt")).map(l => l.length).sink(Stdout.new());
 *     ctx.execute();
 */
import type { Source } from "./connectors/connector";
import { Dataflow } from "./dataflow";
import { ConfigError, describeValue, requireInteger, requireNonEmptyString } from "./errors";
import type { ConnectorConfig, LogicalGraph, OperatorKind, OperatorNode } from "./graph";
import { hostParam, submitGraph } from "./host";

/** The fields an operator has besides id, kind, name and inputs. */
export type OperatorFields = Omit<OperatorNode, "id" | "kind" | "name" | "inputs">;

export class ExecutionContext {
  /** The job's name. */
  name: string;
  /** The namespace the job runs in ("default" unless set). */
  namespace: string;

  private readonly operators_: OperatorNode[] = [];
  private readonly params_: Record<string, string | number | boolean> = {};
  private parallelism_: number | undefined;
  private checkpointInterval_: number | undefined;
  private executed_: { operator_count: number; result: Promise<unknown> } | undefined;

  /** Prefer `ExecutionContext.new(name, namespace)`. */
  constructor(name = "job", namespace = "default") {
    this.name = name;
    this.namespace = namespace;
  }

  /** A context for the job `name` in `namespace`: `ExecutionContext.new("wordCount", "default")`. */
  static new(name: string, namespace = "default"): ExecutionContext {
    requireNonEmptyString(name, "ExecutionContext.new()", "the job name");
    requireNonEmptyString(namespace, "ExecutionContext.new()", "the namespace");
    return new ExecutionContext(name, namespace);
  }

  /** A stream of the elements `source` reads: `ctx.fromSource(Kafka.builder()...build<string>(...))`. */
  fromSource<T>(source: Source<T>): Dataflow<T> {
    if (source === null || typeof source !== "object" || typeof source.createFlow !== "function") {
      throw new ConfigError(
        `ExecutionContext.fromSource() expects a source such as FileSource.lines(path), got ${describeValue(source)}`,
      );
    }
    return source.createFlow(this);
  }

  /**
   * The job parameter `name`, given on the command line as `--set name=value`.
   *
   * Without such a value, `fallback` is returned; without a fallback, this throws. With a number
   * (or boolean) fallback the value is parsed as a number (or as true/false/1/0):
   * `const window_seconds = ctx.param("windowSeconds", 5);`
   */
  param(name: string): string;
  param(name: string, fallback: string): string;
  param(name: string, fallback: number): number;
  param(name: string, fallback: boolean): boolean;
  param(name: string, fallback?: string | number | boolean): string | number | boolean {
    requireNonEmptyString(name, "ExecutionContext.param()", "the parameter name");
    const raw = hostParam(name);
    let value: string | number | boolean;
    if (raw === undefined) {
      if (fallback === undefined) {
        throw new ConfigError(
          `job parameter "${name}" is not set: pass --set ${name}=VALUE, or give a default: ` +
            `ctx.param("${name}", "default value")`,
        );
      }
      value = fallback;
    } else if (typeof fallback === "number") {
      value = Number(raw);
      if (raw.trim() === "" || !Number.isFinite(value)) {
        throw new ConfigError(`job parameter "${name}" must be a number, got ${JSON.stringify(raw)}`);
      }
    } else if (typeof fallback === "boolean") {
      const lowered = raw.trim().toLowerCase();
      if (lowered !== "true" && lowered !== "false" && lowered !== "1" && lowered !== "0") {
        throw new ConfigError(`job parameter "${name}" must be true or false, got ${JSON.stringify(raw)}`);
      }
      value = lowered === "true" || lowered === "1";
    } else {
      value = raw;
    }
    this.params_[name] = value;
    return value;
  }

  /** The default parallelism of the job's operators: `ctx.parallelism(4)`. */
  parallelism(parallelism: number): this {
    this.parallelism_ = requireInteger(parallelism, "ExecutionContext.parallelism()", "the parallelism", 1);
    return this;
  }

  /**
   * Takes a checkpoint of the job's state every `ms` milliseconds: `ctx.checkpointInterval(5000)`.
   * `lightflusd serve` keeps them under its data dir; `lightflusd run` under `--checkpoint-dir`.
   * A restarted job resumes from its newest checkpoint. The `--checkpoint-interval` flag overrides it.
   */
  checkpointInterval(ms: number): this {
    this.checkpointInterval_ = requireInteger(ms, "ExecutionContext.checkpointInterval()", "the interval in ms", 1);
    return this;
  }

  /** The logical graph recorded so far (what `execute()` submits). */
  toGraph(): LogicalGraph {
    const job: LogicalGraph["job"] = { name: this.name, namespace: this.namespace, params: { ...this.params_ } };
    if (this.parallelism_ !== undefined) job.parallelism = this.parallelism_;
    if (this.checkpointInterval_ !== undefined) job.checkpointInterval = this.checkpointInterval_;
    // A deep copy: the graph holds only JSON values, and callers must not reach into the context.
    return JSON.parse(JSON.stringify({ version: 1, job, operators: this.operators_ })) as LogicalGraph;
  }

  /**
   * Validates the graph and submits it to the host, which runs the job.
   *
   * Throws at once (a ConfigError) when the graph is invalid or there is no host; otherwise returns
   * a promise of what the host's `submit` returned. A context is executed once: calling execute()
   * again without adding operators returns the first result.
   */
  execute(): Promise<unknown> {
    if (this.executed_ !== undefined) {
      if (this.executed_.operator_count === this.operators_.length) return this.executed_.result;
      throw new ConfigError(
        `job "${this.name}" was already executed, and operators were added after that: build every ` +
          `stream first, then call execute() once`,
      );
    }
    const graph = this.validatedGraph_();
    const result = Promise.resolve(submitGraph(graph));
    this.executed_ = { operator_count: this.operators_.length, result };
    return result;
  }

  /** @internal Whether execute() has submitted this context's graph. */
  get executed(): boolean {
    return this.executed_ !== undefined;
  }

  /** @internal How many operators the job has added. */
  get operatorCount(): number {
    return this.operators_.length;
  }

  /** @internal Adds an operator and returns it (the stream classes call this). */
  addOperator(kind: OperatorKind, inputs: number[], fields: OperatorFields = {}, name: string = kind): OperatorNode {
    for (const input of inputs) this.operator(input);
    const op: OperatorNode = { id: this.operators_.length + 1, kind, name, inputs, ...fields };
    this.operators_.push(op);
    return op;
  }

  /** @internal Adds a source operator reading with `config`; returns its stream. */
  addSource<T>(config: ConnectorConfig): Dataflow<T> {
    return new Dataflow<T>(this, this.addOperator("source", [], { connector: config }, config.type).id);
  }

  /** @internal The operator with id `id`. */
  operator(id: number): OperatorNode {
    const op = this.operators_[id - 1];
    if (op === undefined || op.id !== id) {
      throw new ConfigError(`job "${this.name}" has no operator ${id}`);
    }
    return op;
  }

  private validatedGraph_(): LogicalGraph {
    requireNonEmptyString(this.name, "execute()", "the job name");
    requireNonEmptyString(this.namespace, "execute()", "the namespace");
    const has_source = this.operators_.some((op) => op.kind === "source");
    const has_sink = this.operators_.some((op) => op.kind === "sink");
    if (!has_source) {
      throw new ConfigError(`job "${this.name}" has no source: start a stream with ctx.fromSource(source)`);
    }
    if (!has_sink) {
      throw new ConfigError(
        `job "${this.name}" has no sink, so it would produce nothing: end a stream with ` +
          `.sink(sink) (or .print())`,
      );
    }
    return this.toGraph();
  }
}
