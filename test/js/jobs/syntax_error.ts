// A syntax error on line 4: lightflusd reports syntax_error.ts:4:col.
import { ExecutionContext, Generator, Stdout } from "lightflus";
const ctx = ExecutionContext.new("syntaxError");
ctx.fromSource(Generator.sequence(1, 3)).map((n: number) => n * ).sink(Stdout.new());
ctx.execute();
