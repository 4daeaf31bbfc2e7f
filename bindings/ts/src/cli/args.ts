/**
 * The command line of `lightflus`: which command, its positional arguments and its flags.
 *
 *     lightflus [-s URL] [--token T] COMMAND [ARGS] [FLAGS]
 *
 * Flags may come before or after the command, as `--flag value` or `--flag=value`. `job` and
 * `task` (and their plurals) are synonyms everywhere, as in the original CLI. Parsing never
 * touches the network or the file system, so it is tested on its own.
 */
import { UsageError } from "./errors";

/** A flag a command accepts. */
interface FlagSpec {
  /** The long name, without dashes ("server"). */
  name: string;
  /** A one-letter alias ("s"). */
  short?: string;
  /** Whether it takes a value (`--name N`) or is a switch (`--dry-run`). */
  value: boolean;
  /** Whether it may be given several times (`--set a=1 --set b=2`). */
  repeated?: boolean;
}

/** The flags every command accepts. */
const GLOBAL_FLAGS: FlagSpec[] = [
  { name: "server", short: "s", value: true },
  { name: "token", value: true },
  { name: "help", short: "h", value: false },
];

/** The commands, their flags and how many positional arguments they take. */
export const COMMANDS: Record<string, { flags: FlagSpec[]; min: number; max: number }> = {
  apply: {
    flags: [
      { name: "file", short: "f", value: true },
      { name: "name", value: true },
      { name: "set", value: true, repeated: true },
      { name: "parallelism", short: "p", value: true },
      { name: "dry-run", value: false },
      { name: "from", value: true },
      { name: "allow-non-restored-state", value: false },
      { name: "wait", value: false },
      { name: "timeout", value: true },
    ],
    min: 0,
    max: 0,
  },
  get: { flags: [{ name: "output", short: "o", value: true }], min: 1, max: 2 },
  describe: { flags: [{ name: "output", short: "o", value: true }], min: 2, max: 2 },
  delete: { flags: [{ name: "savepoint", value: false }], min: 2, max: 2 },
  savepoint: { flags: [], min: 1, max: 1 },
  create: { flags: [], min: 1, max: 1 },
  "create-task": { flags: [], min: 1, max: 1 },
  config: { flags: [], min: 1, max: 2 },
  version: { flags: [], min: 0, max: 0 },
  help: { flags: [], min: 0, max: 1 },
};

/** A parsed command line. */
export interface Invocation {
  /** The command ("apply", "get", ...; "help" when none was given). */
  command: string;
  /** Positional arguments after the command. */
  args: string[];
  /** Flags by long name: a string, a list of strings for repeated flags, or true for switches. */
  flags: Record<string, string | string[] | true>;
}

/** Every flag of every command, by how it is written ("--server", "-s"). */
function flagByText(text: string): FlagSpec | undefined {
  const long = text.startsWith("--");
  const key = text.slice(long ? 2 : 1);
  const all = [...GLOBAL_FLAGS, ...Object.values(COMMANDS).flatMap((c) => c.flags)];
  return all.find((s) => (long ? s.name === key : s.short === key));
}

/** Parses `argv` (without "node" and the script). Throws UsageError on a malformed line. */
export function parseArgs(argv: readonly string[]): Invocation {
  const positional: string[] = [];
  const given: Array<{ spec: FlagSpec; value: string | true }> = [];
  for (let i = 0; i < argv.length; ++i) {
    const arg = argv[i]!;
    if (arg === "--") {
      positional.push(...argv.slice(i + 1));
      break;
    }
    if (!arg.startsWith("-") || arg === "-") {
      positional.push(arg);
      continue;
    }
    const eq = arg.indexOf("=");
    const text = eq < 0 ? arg : arg.slice(0, eq);
    const spec = flagByText(text);
    if (spec === undefined) {
      throw new UsageError(`unknown flag ${text}; run \`lightflus --help\``);
    }
    if (!spec.value) {
      if (eq >= 0) throw new UsageError(`flag --${spec.name} takes no value`);
      given.push({ spec, value: true });
    } else if (eq >= 0) {
      given.push({ spec, value: arg.slice(eq + 1) });
    } else if (i + 1 < argv.length) {
      given.push({ spec, value: argv[++i]! });
    } else {
      throw new UsageError(`flag --${spec.name} needs a value`);
    }
  }

  const command_name = positional.length === 0 ? "help" : positional[0]!;
  const command = COMMANDS[command_name];
  if (command === undefined) {
    throw new UsageError(`unknown command "${command_name}"; run \`lightflus --help\` for the list of commands`);
  }
  const allowed = [...GLOBAL_FLAGS, ...command.flags];
  const flags: Invocation["flags"] = {};
  for (const { spec, value } of given) {
    if (!allowed.some((s) => s.name === spec.name)) {
      throw new UsageError(
        `\`lightflus ${command_name}\` has no flag --${spec.name}; see \`lightflus ${command_name} --help\``,
      );
    }
    if (spec.repeated) {
      const list = (flags[spec.name] as string[] | undefined) ?? [];
      list.push(value as string);
      flags[spec.name] = list;
    } else if (spec.value && flags[spec.name] !== undefined) {
      throw new UsageError(`flag --${spec.name} is given twice`);
    } else {
      flags[spec.name] = value;
    }
  }
  const args = positional.slice(1);
  if (flags.help === true) return { command: command_name, args, flags };
  if (args.length < command.min || args.length > command.max) {
    throw new UsageError(
      `wrong number of arguments for \`lightflus ${command_name}\`; see \`lightflus ${command_name} --help\``,
    );
  }
  return { command: command_name, args, flags };
}

/** `job`, `jobs`, `task` and `tasks` name the one resource; anything else is a usage error. */
export function resourceKind(word: string | undefined, command: string): "job" {
  if (word === "job" || word === "jobs" || word === "task" || word === "tasks") return "job";
  throw new UsageError(
    `\`lightflus ${command}\` works on jobs: \`lightflus ${command} job${command === "get" ? "s" : " ID"}\`` +
      (word === undefined ? "" : ` (got "${word}")`),
  );
}

/** A string flag, or undefined. */
export function stringFlag(invocation: Invocation, name: string): string | undefined {
  const value = invocation.flags[name];
  return typeof value === "string" ? value : undefined;
}

/** Parses `--set k=v` values into a record; throws UsageError on a value without '='. */
export function parseSets(values: readonly string[]): Record<string, string> {
  const params: Record<string, string> = {};
  for (const text of values) {
    const eq = text.indexOf("=");
    if (eq <= 0) throw new UsageError(`--set expects NAME=VALUE, got "${text}"`);
    params[text.slice(0, eq)] = text.slice(eq + 1);
  }
  return params;
}

/** Parses `--parallelism N`: an integer of at least 1. */
export function parseParallelism(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  if (!/^[0-9]+$/.test(text) || Number(text) < 1) {
    throw new UsageError(`--parallelism expects a whole number of at least 1, got "${text}"`);
  }
  return Number(text);
}
