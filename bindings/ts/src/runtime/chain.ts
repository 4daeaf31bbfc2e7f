/**
 * Calling UDFs from the host. A fused chain of stateless operators (map, flatMap, filter) runs
 * as one JS call per batch: an array of elements in, the array of outputs out, so the C++/JS
 * boundary is crossed per batch, not per element.
 *
 * Elements go through the chain depth-first, one input element at a time, so that when a UDF
 * throws, `chainPosition` tells the host which UDF failed on which input element, and which
 * outputs the elements before it produced (for a dead-letter policy).
 */
import { describeValue, LightflusError, UserCodeError } from "../errors";
import { udfTable } from "../udf";

/** The operators a chain can hold. */
export type ChainKind = "map" | "flatMap" | "filter";

/** Where the last chain call was; meaningful after a chain threw. */
export interface ChainPosition {
  /** The UDF that was called last (the one that threw). */
  udf: number;
  /** Its operator kind. */
  kind: string;
  /** The index in the batch input of the element being processed. */
  index: number;
  /** The output array of the failed call. */
  output: unknown[];
  /** How many outputs the elements before `index` produced: `output.slice(0, outputLength)`. */
  outputLength: number;
}

export const chainPosition: ChainPosition = { udf: -1, kind: "", index: -1, output: [], outputLength: 0 };

const MAP = 0;
const FLAT_MAP = 1;
const FILTER = 2;
const KIND_CODES: Record<string, number> = { map: MAP, flatMap: FLAT_MAP, filter: FILTER };

/**
 * Compiles a chain once: the returned function applies the UDFs `udf_ids`, whose operators are
 * `kinds`, in order, to every element of its input array and returns the outputs in order. When
 * it is also given an `origins` array, it appends to it, for every output, the index in `input`
 * of the element it came from (the host keeps each output's timestamp and key that way).
 */
export function compileChain(
  udf_ids: readonly number[],
  kinds: readonly string[],
): (input: readonly unknown[], origins?: number[]) => unknown[] {
  if (!Array.isArray(udf_ids) || !Array.isArray(kinds) || udf_ids.length !== kinds.length) {
    throw new LightflusError("__runChain(): udfIds and kinds must be arrays of the same length");
  }
  const ids = [...udf_ids];
  const codes = kinds.map((kind) => {
    const code = KIND_CODES[kind];
    if (code === undefined) {
      throw new LightflusError(`__runChain(): a chain holds map, flatMap and filter operators, not ${describeValue(kind)}`);
    }
    return code;
  });
  const fns = ids.map((id) => udfById(id, "__runChain()"));
  const kind_names = [...kinds];
  const stage_count = fns.length;

  return (input, origins) => {
    const output: unknown[] = [];
    const track = Array.isArray(origins);
    const position = chainPosition;
    position.output = output;

    const run = (first_stage: number, start_value: unknown): void => {
      let value = start_value;
      for (let stage = first_stage; stage < stage_count; stage++) {
        position.udf = ids[stage]!;
        position.kind = kind_names[stage]!;
        const code = codes[stage];
        if (code === MAP) {
          value = fns[stage]!(value);
        } else if (code === FILTER) {
          if (!fns[stage]!(value)) return;
        } else {
          const produced: unknown = fns[stage]!(value);
          if (Array.isArray(produced)) {
            for (let i = 0; i < produced.length; i++) run(stage + 1, produced[i]);
          } else if (produced === undefined || produced === null) {
            // Nothing to emit, as with an empty array.
          } else if (typeof produced !== "string" && typeof (produced as Iterable<unknown>)[Symbol.iterator] === "function") {
            for (const item of produced as Iterable<unknown>) run(stage + 1, item);
          } else {
            throw new UserCodeError(
              `flatMap() function (UDF ${ids[stage]}) returned ${describeValue(produced)}; it must return an ` +
                `array (or another iterable) of the elements to emit`,
            );
          }
          return;
        }
      }
      output.push(value);
      if (track) origins!.push(position.index);
    };

    for (let index = 0; index < input.length; index++) {
      position.index = index;
      position.outputLength = output.length;
      run(0, input[index]);
    }
    position.outputLength = output.length;
    return output;
  };
}

/** Applies a chain to one batch: `__runChain([0, 1], ["flatMap", "filter"], lines)`. */
export function runChain(udf_ids: readonly number[], kinds: readonly string[], input: readonly unknown[]): unknown[] {
  if (!Array.isArray(input)) throw new LightflusError("__runChain(): input must be an array");
  return compileChain(udf_ids, kinds)(input);
}

/** Calls one UDF: `__call(keyUdf, element)`, `__call(reduceUdf, acc, element)`. */
export function callUdf(udf_id: number, ...args: unknown[]): unknown {
  const fn = udfById(udf_id, "__call()");
  chainPosition.udf = udf_id;
  chainPosition.kind = "call";
  return fn(...args);
}

function udfById(id: number, where: string): (...args: unknown[]) => unknown {
  const fn = udfTable()[id];
  if (typeof fn !== "function") throw new LightflusError(`${where}: there is no UDF ${describeValue(id)}`);
  return fn as (...args: unknown[]) => unknown;
}
