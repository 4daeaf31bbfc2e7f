/**
 * Changelog rows: the rows of a result that changes over time, with Flink's row kinds in an
 * `op` member: `"+I"` (a new row), `"-U"` (the old content of a row about to change), `"+U"`
 * (its new content) and `"-D"` (a row removed). A row without `op` is an insert. The JSON-lines
 * sinks write rows as they are; the Redis, MySQL and Elasticsearch sinks apply them when told
 * with `.changelog()`: `+I`/`+U` write (upsert), `-U` is skipped (the `+U` after it
 * overwrites), `-D` deletes. See docs/typescript-jobs.md.
 */

/** Flink's row kinds. */
export type RowKind = "+I" | "-U" | "+U" | "-D";

/** A row of a changelog stream: the row's fields and its kind in `op`. */
export type ChangelogRow<T extends object> = T & { op?: RowKind };

/** @internal The row kind of an element (its `op` member; `"+I"` when it has none). */
export function changeKindOf(element: unknown): unknown {
  if (element !== null && typeof element === "object" && "op" in element) {
    return (element as { op: unknown }).op;
  }
  return "+I";
}

/** @internal The element without its `op` member (what a sink writes). */
export function withoutOp<T>(element: T): T {
  if (element === null || typeof element !== "object" || !("op" in element) || Array.isArray(element)) {
    return element;
  }
  const { op: _op, ...row } = element as Record<string, unknown>;
  return row as T;
}

/**
 * @internal An extractor for a changelog sink: `[kind, fn(row without op)]`, so that the kind
 * reaches the engine with the extracted value.
 */
export function taggedWithKind<T, R>(fn: (row: T) => R): (element: T) => [unknown, R] {
  return (element: T) => [changeKindOf(element), fn(withoutOp(element))];
}

/** @internal An extractor that sees the row without its `op` member. */
export function withoutOpThen<T, R>(fn: (row: T) => R): (element: T) => R {
  return (element: T) => fn(withoutOp(element));
}
