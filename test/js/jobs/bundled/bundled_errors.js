// bundled_errors.ts
var import_lightflus = require("lightflus");

// lib/checks.ts
function checked(n, mode2) {
  if (mode2 === "helper" && n === 2) {
    throw new RangeError(`${n} is out of range`);
  }
  return n;
}

// bundled_errors.ts
var ctx = import_lightflus.ExecutionContext.new("bundledErrors");
var mode = ctx.param("mode", "none");
if (mode === "top") {
  throw new Error("refused at the top level");
}
ctx.fromSource(import_lightflus.Generator.sequence(1, 3)).map((n) => checked(n, mode)).name("check").map((n) => {
  if (mode === "udf" && n === 3) throw new Error(`cannot handle ${n}`);
  if (mode === "require") return String(require(ctx.param("module", "fs")));
  return n * 10;
}).name("times ten").sink(import_lightflus.Stdout.new());
ctx.execute();
