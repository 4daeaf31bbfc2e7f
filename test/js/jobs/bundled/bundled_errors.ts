// Bundled by `lightflus apply` into bundled_errors.js and bundled_errors.js.map (see
// test/js/jobs/bundled/README.md): the errors of the bundle must name this file or
// lib/checks.ts, line and column. The parameter "mode" picks the error.
import { ExecutionContext, Generator, Stdout } from "lightflus";
import { checked } from "./lib/checks";

declare const require: (name: string) => unknown;
const ctx = ExecutionContext.new("bundledErrors");
const mode = ctx.param("mode", "none");
if (mode === "top") {
  throw new Error("refused at the top level");
}
ctx
  .fromSource(Generator.sequence(1, 3))
  .map((n: number) => checked(n, mode))
  .name("check")
  .map((n: number) => {
    if (mode === "udf" && n === 3) throw new Error(`cannot handle ${n}`);
    if (mode === "require") return String(require(ctx.param("module", "fs")));
    return n * 10;
  })
  .name("times ten")
  .sink(Stdout.new<number | string>());
ctx.execute();
