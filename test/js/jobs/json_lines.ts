// Reads a JSON-lines file (the parameter "input") and prints each record's n doubled.
import { ExecutionContext, FileSource, Stdout } from "lightflus";

type Row = { n: number };

const ctx = ExecutionContext.new("jsonLines");
ctx
  .fromSource(FileSource.jsonLines<Row>(ctx.param("input")))
  .map((row: Row) => row.n * 2)
  .name("double")
  .sink(Stdout.new<number>());
ctx.execute();
