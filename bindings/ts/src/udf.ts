/**
 * The UDF table: every user function a job hands to the API, in the order it was handed over.
 *
 * A UDF's id is its index here. Graphs refer to UDFs by id, and the host calls them by id in
 * each worker isolate; because every isolate evaluates the same job code, the ids agree.
 */
import { requireFunction } from "./errors";

// One table per isolate (per evaluation of the runtime bundle).
const udf_table: Function[] = [];

/** Adds `fn` to the UDF table and returns its id; `where` names the call for the error message. */
export function registerUdf(fn: unknown, where: string): number {
  requireFunction(fn, where);
  udf_table.push(fn);
  return udf_table.length - 1;
}

/** The UDF table itself (the host reads it as `lightflus.__udfs`). */
export function udfTable(): Function[] {
  return udf_table;
}
