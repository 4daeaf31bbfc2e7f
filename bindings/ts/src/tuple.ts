/**
 * Tuples, as in the original documentation: `new Tuple2(word, 1)` with fields `t0` and `t1`.
 * Elements cross between operators as JSON-like values, so a downstream operator sees a plain
 * `{ t0, t1 }` object: use the fields, not methods or `instanceof`.
 */
export class Tuple2<A, B> {
  constructor(
    public t0: A,
    public t1: B,
  ) {}

  static of<A, B>(t0: A, t1: B): Tuple2<A, B> {
    return new Tuple2(t0, t1);
  }
}

export class Tuple3<A, B, C> {
  constructor(
    public t0: A,
    public t1: B,
    public t2: C,
  ) {}

  static of<A, B, C>(t0: A, t1: B, t2: C): Tuple3<A, B, C> {
    return new Tuple3(t0, t1, t2);
  }
}
