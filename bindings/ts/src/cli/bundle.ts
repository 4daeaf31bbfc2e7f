/// <reference types="node" />
/**
 * Bundling a job for the server: the job file and everything it imports (local files, npm
 * packages) become one CommonJS script, with esbuild. The Lightflus API stays outside the bundle:
 * `lightflus`, `lightflus-api`, their sub-paths and the original examples' relative API paths
 * (`./stream/context`) remain `require(...)` calls, which the server's embedded runtime answers
 * (bindings/ts/src/runtime/modules.ts). Node.js built-ins are refused here, with the reason,
 * since a job runs sandboxed without them.
 *
 * A job written in the original scaffold's style declares a function named like its file that
 * nothing calls. Bundling would drop such a function as unused, so the bundle exports it as the
 * module's default export, which the server calls with a context (runtime/job.ts).
 *
 * The bundle comes with its source map, which goes to the server with it: the server then reports
 * errors at the file, line and column the user wrote (`lib/util.ts:12:7`). A server that does not
 * know the map reports `NAME.js:L:C` of the bundle, which `mapPositions` rewrites the same way.
 */
import * as fs from "node:fs";
import { builtinModules } from "node:module";
import * as path from "node:path";
import type * as esbuild_types from "esbuild";
import { createRequire } from "../runtime/modules";
import { CliError } from "./errors";

/** A bundled job. */
export interface Bundle {
  /** The CommonJS script to submit. */
  code: string;
  /** The source map of `code` (version 3). */
  sourceMap: SourceMapV3;
  /** The job file's base name without extension ("wordCount"). */
  baseName: string;
  /** Whether the job calls execute() itself (then the server names it after its context). */
  callsExecute: boolean;
}

/**
 * The fields of a version 3 source map this module uses, and sends to the server with the bundle
 * (without `sourcesContent`: the server needs the positions, not the text, and the body limit
 * counts every byte).
 */
export interface SourceMapV3 {
  version?: number;
  sources: string[];
  mappings: string;
}

const API_PACKAGES = /^lightflus(-api)?(\/|$)/;
const api_require = createRequire({});

/** Whether the job's runtime resolves `specifier` to the Lightflus API. */
function isApiModule(specifier: string): boolean {
  try {
    api_require(specifier);
    return true;
  } catch {
    return false;
  }
}

/** Loads esbuild (a dependency of this package), with a clear error when it is missing. */
function loadEsbuild(): typeof esbuild_types {
  try {
    return require("esbuild") as typeof esbuild_types;
  } catch (error) {
    throw new CliError(
      `bundling a job needs the esbuild package, which could not be loaded (${(error as Error).message.split("\n")[0]}); ` +
        `reinstall lightflus (npm install lightflus) or run \`npm install esbuild\``,
    );
  }
}

/** The base name of a job file: "jobs/wordCount.ts" -> "wordCount". */
export function jobBaseName(file: string): string {
  return path.basename(file).replace(/\.(d\.ts|ts|mts|cts|tsx|js|mjs|cjs|jsx)$/, "");
}

/**
 * What to append to the job file so that bundling keeps the scaffold's function named like the
 * file and exports it as the default: `export default NAME` for an ES module, an assignment to
 * `module.exports.default` for a CommonJS file or a plain script. Nothing when the job has a
 * default export already or declares no such function. Appended after the last line, so line
 * numbers do not move.
 */
export function entryFooter(source: string, base_name: string): string {
  if (!/^[A-Za-z_$][\w$]*$/.test(base_name)) return "";
  const declares = new RegExp(`(^|[\\s;])(async\\s+)?function\\s*\\*?\\s*${base_name.replace(/\$/g, "\\$")}\\s*\\(`, "m");
  if (!declares.test(source)) return "";
  if (/^\s*export\s+default\b/m.test(source) || /\bexports\.default\s*=/.test(source) || /\bas\s+default\b/.test(source)) {
    return "";
  }
  const is_esm = /^\s*(import|export)\b/m.test(source);
  return is_esm
    ? `\nexport default ${base_name};\n`
    : `\nif (typeof module === "object" && module.exports) module.exports.default = ${base_name};\n`;
}

/**
 * Bundles the job at `file` (TypeScript or JavaScript; relative to `cwd`, which file names in
 * messages are relative to). Throws CliError with esbuild's errors.
 */
export async function bundleJob(file: string, cwd: string = process.cwd()): Promise<Bundle> {
  const absolute = path.resolve(cwd, file);
  let source: string;
  try {
    source = fs.readFileSync(absolute, "utf8");
  } catch (error) {
    throw new CliError(`cannot read the job file ${file}: ${(error as Error).message}`);
  }
  const base_name = jobBaseName(absolute);
  const esbuild = loadEsbuild();
  const plugin: esbuild_types.Plugin = {
    name: "lightflus-job",
    setup(build) {
      build.onResolve({ filter: /.*/ }, (args) => {
        if (args.kind === "entry-point") return undefined;
        const specifier = args.path;
        if (API_PACKAGES.test(specifier)) return { path: specifier, external: true };
        if (specifier.startsWith("node:") || builtinModules.includes(specifier.split("/")[0]!)) {
          return {
            errors: [{ text: `"${specifier}" is a Node.js built-in: a Lightflus job runs sandboxed without Node.js built-ins` }],
          };
        }
        // The original examples import the API by relative paths ("./stream/context"); keep
        // those external unless such a file really exists beside the job.
        if (/^\.\.?\//.test(specifier) && isApiModule(specifier) && !existsModule(path.resolve(args.resolveDir, specifier))) {
          return { path: specifier, external: true };
        }
        return undefined;
      });
      build.onLoad({ filter: /.*/ }, (args) => {
        if (path.resolve(args.path) !== absolute) return undefined;
        const ext = path.extname(absolute).slice(1);
        const loader = (["ts", "mts", "cts"].includes(ext) ? "ts" : ext === "tsx" ? "tsx" : ext === "jsx" ? "jsx" : "js") as esbuild_types.Loader;
        return { contents: source + entryFooter(source, base_name), loader };
      });
    },
  };

  let result: esbuild_types.BuildResult & { outputFiles: esbuild_types.OutputFile[] };
  try {
    result = await esbuild.build({
      entryPoints: [absolute],
      bundle: true,
      write: false,
      format: "cjs",
      platform: "neutral",
      mainFields: ["module", "main"],
      target: "es2020",
      sourcemap: "external",
      outfile: path.join(path.dirname(absolute), `${base_name}.bundle.js`),
      plugins: [plugin],
      logLevel: "silent",
      absWorkingDir: cwd,
    });
  } catch (error) {
    const failure = error as esbuild_types.BuildFailure;
    if (!Array.isArray(failure.errors)) throw error;
    throw new CliError(`cannot bundle ${file}:\n${failure.errors.map(formatMessage).join("\n")}`);
  }
  const js = result.outputFiles.find((f) => f.path.endsWith(".js"));
  const map = result.outputFiles.find((f) => f.path.endsWith(".js.map"));
  if (js === undefined || map === undefined) throw new CliError(`esbuild produced no bundle for ${file}`);
  const esbuild_map = JSON.parse(map.text) as SourceMapV3;
  const source_map: SourceMapV3 = {
    version: 3,
    // The map's sources are relative to the bundle's folder; show them relative to the current one.
    sources: esbuild_map.sources.map((s) => path.relative(cwd, path.resolve(path.dirname(js.path), s)) || s),
    mappings: esbuild_map.mappings,
  };
  return {
    code: js.text.replace(/\/\/# sourceMappingURL=\S*\s*$/, ""),
    sourceMap: source_map,
    baseName: base_name,
    callsExecute: /\.\s*execute\s*\(/.test(source),
  };
}

function existsModule(base: string): boolean {
  const candidates = ["", ".ts", ".tsx", ".js", ".mjs", ".cjs", "/index.ts", "/index.js"].map((ext) => base + ext);
  return candidates.some((candidate) => fs.existsSync(candidate) && fs.statSync(candidate).isFile());
}

function formatMessage(message: esbuild_types.Message): string {
  const where = message.location;
  if (where === null) return `  error: ${message.text}`;
  return `  ${where.file}:${where.line}:${where.column + 1}: error: ${message.text}\n    ${where.lineText}`;
}

// --- Source maps ---------------------------------------------------------------------------

const BASE64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/** One mapping: a generated column (0-based) to a source, line and column (all 0-based). */
type Segment = [number, number, number, number];

/** Decodes the "mappings" of a source map into segments per generated line. */
export function decodeMappings(mappings: string): Segment[][] {
  const lines: Segment[][] = [];
  let source = 0;
  let source_line = 0;
  let source_column = 0;
  for (const line_text of mappings.split(";")) {
    const line: Segment[] = [];
    let column = 0;
    for (const segment_text of line_text.split(",")) {
      if (segment_text === "") continue;
      const values = decodeVlq(segment_text);
      column += values[0] ?? 0;
      if (values.length >= 4) {
        source += values[1]!;
        source_line += values[2]!;
        source_column += values[3]!;
        line.push([column, source, source_line, source_column]);
      }
    }
    lines.push(line);
  }
  return lines;
}

function decodeVlq(text: string): number[] {
  const values: number[] = [];
  let value = 0;
  let shift = 0;
  for (const char of text) {
    const digit = BASE64.indexOf(char);
    if (digit < 0) break;
    value += (digit & 31) << shift;
    if (digit & 32) {
      shift += 5;
    } else {
      values.push(value & 1 ? -(value >>> 1) : value >>> 1);
      value = 0;
      shift = 0;
    }
  }
  return values;
}

/**
 * The original position of line `line`, column `column` (both from 1) of the bundle: the file
 * and position the user wrote, or undefined when the bundle's own code is there.
 */
export function originalPosition(
  map: SourceMapV3,
  line: number,
  column: number,
  decoded: Segment[][] = decodeMappings(map.mappings),
): { file: string; line: number; column: number } | undefined {
  const segments = decoded[line - 1];
  if (segments === undefined || segments.length === 0) return undefined;
  let best: Segment | undefined;
  for (const segment of segments) {
    if (segment[0] <= column - 1) best = segment;
    else break;
  }
  best ??= segments[0]!;
  const file = map.sources[best[1]];
  if (file === undefined) return undefined;
  return { file, line: best[2] + 1, column: best[3] + 1 };
}

/**
 * Rewrites every `LABEL:line:col` in `text` (an error of the server about the bundle it knows as
 * `LABEL`, e.g. "wordCount.js") into the user's `file:line:col`.
 */
export function mapPositions(text: string, label: string, map: SourceMapV3): string {
  const decoded = decodeMappings(map.mappings);
  const escaped = label.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  return text.replace(new RegExp(`${escaped}:(\\d+):(\\d+)`, "g"), (whole, line: string, column: string) => {
    const original = originalPosition(map, Number(line), Number(column), decoded);
    return original === undefined ? whole : `${original.file}:${original.line}:${original.column}`;
  });
}
