/**
 * Errors of the Lightflus TypeScript API.
 *
 * Every error the API throws derives from `LightflusError`, so a caller can tell Lightflus'
 * complaints from its own. `ConfigError` means a builder or an operator was given something
 * wrong or incomplete; its message names the builder, the option and what to call instead.
 * `SandboxError` means the job reached for something a sandboxed job cannot have.
 */

/** Base class of every error thrown by the Lightflus API. */
export class LightflusError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "LightflusError";
  }
}

/**
 * A builder, operator or job option is missing or invalid.
 *
 * Example message: `Kafka.builder().build(): brokers are not set: call .brokers(["localhost:9092"])`.
 */
export class ConfigError extends LightflusError {
  constructor(message: string) {
    super(message);
    this.name = "ConfigError";
  }
}

/** The job asked for something the sandbox does not provide (a Node.js module, a file, ...). */
export class SandboxError extends LightflusError {
  constructor(message: string) {
    super(message);
    this.name = "SandboxError";
  }
}

/** Describes a value for an error message: its type and, when short, the value itself. */
export function describeValue(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  switch (typeof value) {
    case "string":
      return value.length <= 40 ? JSON.stringify(value) : "a long string";
    case "number":
    case "boolean":
    case "bigint":
      return `${typeof value} ${String(value)}`;
    case "undefined":
      return "undefined";
    case "function":
      return "a function";
    default:
      return `a ${typeof value}`;
  }
}

/** Throws a ConfigError unless `fn` is a function; `where` names the call, e.g. `map()`. */
export function requireFunction(fn: unknown, where: string): asserts fn is Function {
  if (typeof fn !== "function") {
    throw new ConfigError(`${where} expects a function, got ${describeValue(fn)}`);
  }
}

/** Throws a ConfigError unless `value` is a non-empty string. */
export function requireNonEmptyString(value: unknown, where: string, what: string): string {
  if (typeof value !== "string" || value.length === 0) {
    throw new ConfigError(`${where}: ${what} must be a non-empty string, got ${describeValue(value)}`);
  }
  return value;
}

/** Throws a ConfigError unless `value` is an integer >= `min`. */
export function requireInteger(value: unknown, where: string, what: string, min: number): number {
  if (typeof value !== "number" || !Number.isInteger(value) || value < min) {
    throw new ConfigError(`${where}: ${what} must be an integer >= ${min}, got ${describeValue(value)}`);
  }
  return value;
}

/** A job's function (a UDF) returned something the operator cannot use. */
export class UserCodeError extends LightflusError {
  constructor(message: string) {
    super(message);
    this.name = "UserCodeError";
  }
}
