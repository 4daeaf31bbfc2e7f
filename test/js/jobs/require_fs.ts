// Reads a file with Node's fs: not in a Lightflus job.
import * as fs from "fs";
import { ExecutionContext, Generator, Stdout } from "lightflus";

const ctx = ExecutionContext.new("requireFs");
ctx
  .fromSource(Generator.sequence(1, 3))
  .map((n: number) => fs.readFileSync(`/tmp/${n}`, "utf8"))
  .sink(Stdout.new<string>());
ctx.execute();
