// A helper module of bundled_errors.ts: bundling puts it into the same script.
export function checked(n: number, mode: string): number {
  if (mode === "helper" && n === 2) {
    throw new RangeError(`${n} is out of range`);
  }
  return n;
}
