/** The `--help` text of `lightflus` and of each of its commands. */

const CONNECTION = `Server and token (every command that talks to the server):
  -s, --server URL   the lightflusd server (else LIGHTFLUS_ENDPOINT, else LIGHTFLUS_SERVICE_HOST
                     and LIGHTFLUS_SERVICE_PORT, else "server" in ~/.lightflus/config, else
                     http://127.0.0.1:8080)
      --token TOKEN  the server's token (else LIGHTFLUS_TOKEN, else the credential stored with
                     \`lightflus config set-credential\`)`;

export const MAIN_HELP = `lightflus: deploy and manage Lightflus jobs on a lightflusd server.

Usage: lightflus COMMAND [ARGS] [FLAGS]

Commands:
  apply -f JOB.ts        bundle a job (with its imports) and submit it; prints its id
  get jobs               list the server's jobs
  describe job ID|NAME   show a job: status, counters per operator, plan, last error
  delete job ID|NAME     stop a job and remove it (--savepoint: take a savepoint first)
  savepoint ID|NAME      take a savepoint of a running job; prints its path on the server
  create NAME            write NAME.ts (a job skeleton) and a tsconfig.json
  create-task NAME       the same (the original CLI's name)
  config set-credential [TOKEN]
                         store the server's token in ~/.lightflus/config (mode 0600)
  config set-server URL  store the server's address in ~/.lightflus/config
  config view            show the stored settings (the token masked)
  version                print the CLI's version
  help [COMMAND]         this text, or a command's

"job" and "task" (and "jobs", "tasks") are synonyms: \`lightflus get tasks\` works.

${CONNECTION}

Run \`lightflus COMMAND --help\` for a command's flags. Documentation: docs/cli.md.`;

export const COMMAND_HELP: Record<string, string> = {
  apply: `Usage: lightflus apply -f JOB.ts [--name NAME] [--set KEY=VALUE]... [--parallelism N]
                       [--from SAVEPOINT [--allow-non-restored-state]]
                       [--wait [--timeout DURATION]]

Bundles JOB.ts (TypeScript or JavaScript) and everything it imports (local files, npm
packages) into one script with esbuild, submits it to the server and prints the new job's id.
The Lightflus API ("lightflus", "lightflus-api" and their sub-paths) is not bundled: the
server provides it. Node.js built-ins cannot be used in a job.

Exits 1 with the job's error when the server rejects the job or reports it failed; with
--wait it follows the job until it runs or finishes (exit 0), fails (exit 1) or the timeout
passes (exit 1).

Flags:
  -f, --file JOB.ts      the job file (required)
      --name NAME        the job's name (default: the name the job gives ExecutionContext.new()
                         if it calls execute(), else the file's base name)
      --set KEY=VALUE    a job parameter, read with ctx.param("KEY"); repeatable
  -p, --parallelism N    the job's default parallelism
      --dry-run          print the bundle instead of submitting it
      --from SAVEPOINT   start from the state in this savepoint (a path on the server, as
                         \`lightflus savepoint\` prints it); operators match by uid
      --allow-non-restored-state
                         with --from: drop the state of operators the job no longer has
      --wait             follow the job until it runs (its first report, no restart pending)
                         or finishes; fail with its error if it fails first
      --timeout DURATION with --wait: how long to wait (default 60s; 90, 90s, 2m, 500ms)

${CONNECTION}`,
  get: `Usage: lightflus get jobs [ID|NAME] [-o table|json]

Lists the server's jobs: id, name, status, parallelism, records read and written, age.
"jobs", "job", "tasks" and "task" are the same.

Flags:
  -o, --output FORMAT    table (default) or json

${CONNECTION}`,
  describe: `Usage: lightflus describe job ID|NAME [-o text|json]

Shows one job: status, parameters, last error, per-operator records in/out, late drops,
backpressure and queue fill, and its physical plan.

Flags:
  -o, --output FORMAT    text (default) or json

${CONNECTION}`,
  delete: `Usage: lightflus delete job ID|NAME [--savepoint]

Stops the job and removes it from the server.

Flags:
      --savepoint        take a savepoint first and print its path (start new code from it
                         with \`lightflus apply -f JOB.ts --from PATH\`)

${CONNECTION}`,
  savepoint: `Usage: lightflus savepoint ID|NAME

Takes a savepoint of a running job (a consistent copy of its state, kept until you delete it)
and prints its path on the server. Start a job from it with
\`lightflus apply -f JOB.ts --from PATH\`.

${CONNECTION}`,
  create: `Usage: lightflus create NAME

Writes NAME.ts, a job in the original scaffold's style (a function NAME(ctx: ExecutionContext)
that Lightflus calls), and a tsconfig.json (kept if one exists). Refuses to overwrite NAME.ts.
NAME must be a valid function name, e.g. wordCount.`,
  config: `Usage: lightflus config set-credential [TOKEN]
       lightflus config set-server URL
       lightflus config delete-credential
       lightflus config view

Stores settings in $HOME/.lightflus/config (JSON, mode 0600). set-credential reads the token
from standard input when TOKEN is not given (so it stays out of the shell's history):
  lightflus config set-credential < token.txt`,
  version: `Usage: lightflus version

Prints the version of the lightflus CLI and API package.`,
  help: `Usage: lightflus help [COMMAND]`,
};
COMMAND_HELP["create-task"] = COMMAND_HELP.create!.replace("lightflus create NAME", "lightflus create-task NAME");
