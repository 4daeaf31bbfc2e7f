/// <reference types="node" />
/**
 * Where the server is and which token to send, and the CLI's config file.
 *
 * The server, first found wins: `--server`/`-s`, `LIGHTFLUS_ENDPOINT`, `LIGHTFLUS_SERVICE_HOST`
 * with `LIGHTFLUS_SERVICE_PORT` (the original CLI's variables, as Kubernetes sets them for a
 * service named lightflus), the `server` of the config file, `http://127.0.0.1:8080`.
 * The token: `--token`, `LIGHTFLUS_TOKEN`, the `token` of the config file, none.
 *
 * The config file is `$HOME/.lightflus/config`, JSON `{"server": ..., "token": ...}`. It holds a
 * credential, so it is written with mode 0600 (its folder 0700), atomically (a temp file renamed
 * over it), and the CLI refuses to read a token from a file that others can read.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { CliError } from "./errors";

/** The default server: `lightflusd serve` with its default flags. */
export const DEFAULT_SERVER = "http://127.0.0.1:8080";

/** The contents of the config file. */
export interface ConfigFile {
  server?: string;
  token?: string;
}

/** The server and token a command uses, and where each came from (for messages). */
export interface Connection {
  server: string;
  serverSource: string;
  token: string | undefined;
  tokenSource: string | undefined;
}

type Env = Record<string, string | undefined>;

/** The config file's path: `$HOME/.lightflus/config`. */
export function configPath(env: Env = process.env): string {
  const home = env.HOME !== undefined && env.HOME !== "" ? env.HOME : os.homedir();
  return path.join(home, ".lightflus", "config");
}

/** Reads the config file; an absent file is an empty config. */
export function readConfig(file: string = configPath()): ConfigFile {
  let text: string;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return {};
    throw new CliError(`cannot read ${file}: ${(error as Error).message}`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new CliError(`${file} is not valid JSON (${(error as Error).message}); fix or delete it`);
  }
  if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) {
    throw new CliError(`${file} must hold a JSON object such as {"token": "..."}; fix or delete it`);
  }
  const config: ConfigFile = {};
  const record = parsed as Record<string, unknown>;
  for (const key of ["server", "token"] as const) {
    if (record[key] === undefined) continue;
    if (typeof record[key] !== "string") throw new CliError(`${file}: "${key}" must be a string`);
    config[key] = record[key] as string;
  }
  if (config.token !== undefined) {
    const mode = fs.statSync(file).mode & 0o777;
    if ((mode & 0o077) !== 0) {
      throw new CliError(
        `${file} holds a token but others can read it (mode ${mode.toString(8).padStart(4, "0")}); ` +
          `run \`chmod 600 ${file}\``,
      );
    }
  }
  return config;
}

/** Writes the config file with mode 0600 (its folder 0700), atomically. */
export function writeConfig(config: ConfigFile, file: string = configPath()): void {
  const dir = path.dirname(file);
  try {
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    const temp = path.join(dir, `.config.${process.pid}.tmp`);
    const fd = fs.openSync(temp, "w", 0o600);
    try {
      fs.fchmodSync(fd, 0o600); // openSync's mode is filtered by the umask and ignored for an existing file
      fs.writeFileSync(fd, `${JSON.stringify(config, null, 2)}\n`);
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(temp, file);
  } catch (error) {
    throw new CliError(`cannot write ${file}: ${(error as Error).message}`);
  }
}

/** Turns "host:port" or a URL into a base URL without a trailing slash. */
export function normaliseServer(text: string, source: string): string {
  const trimmed = text.trim();
  const with_scheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(trimmed) ? trimmed : `http://${trimmed}`;
  let url: URL;
  try {
    url = new URL(with_scheme);
  } catch {
    throw new CliError(`${source} is not a server address: "${text}" (expected http://HOST:PORT)`);
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new CliError(`${source}: the server must be an http:// or https:// URL, got "${text}"`);
  }
  return url.toString().replace(/\/+$/, "");
}

/** The server and token from the flags, the environment and the config file. */
export function resolveConnection(
  flags: { server?: string | undefined; token?: string | undefined },
  env: Env = process.env,
  config_file: string = configPath(env),
): Connection {
  let config: ConfigFile | undefined;
  const config_of = (): ConfigFile => (config ??= readConfig(config_file));

  let server: string;
  let server_source: string;
  if (flags.server !== undefined) {
    [server, server_source] = [flags.server, "--server"];
  } else if (env.LIGHTFLUS_ENDPOINT) {
    [server, server_source] = [env.LIGHTFLUS_ENDPOINT, "LIGHTFLUS_ENDPOINT"];
  } else if (env.LIGHTFLUS_SERVICE_HOST) {
    const port = env.LIGHTFLUS_SERVICE_PORT || "8080";
    const host = env.LIGHTFLUS_SERVICE_HOST.includes(":") ? `[${env.LIGHTFLUS_SERVICE_HOST}]` : env.LIGHTFLUS_SERVICE_HOST;
    [server, server_source] = [`${host}:${port}`, "LIGHTFLUS_SERVICE_HOST/LIGHTFLUS_SERVICE_PORT"];
  } else if (config_of().server !== undefined) {
    [server, server_source] = [config_of().server!, config_file];
  } else {
    [server, server_source] = [DEFAULT_SERVER, "the default"];
  }

  let token: string | undefined;
  let token_source: string | undefined;
  if (flags.token !== undefined) {
    [token, token_source] = [flags.token, "--token"];
  } else if (env.LIGHTFLUS_TOKEN) {
    [token, token_source] = [env.LIGHTFLUS_TOKEN, "LIGHTFLUS_TOKEN"];
  } else if (config_of().token !== undefined) {
    [token, token_source] = [config_of().token, config_file];
  }
  return {
    server: normaliseServer(server, server_source),
    serverSource: server_source,
    token,
    tokenSource: token_source,
  };
}
