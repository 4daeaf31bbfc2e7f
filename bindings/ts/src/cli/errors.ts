/**
 * The errors of the `lightflus` CLI. `main` prints their message on stderr and exits with their
 * exit code: 2 for a malformed command line, 1 for everything else.
 */

/** Something the user should fix; the message says what and how. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message);
    this.name = "CliError";
  }
}

/** A malformed command line (unknown command or flag, missing argument). Exit code 2. */
export class UsageError extends CliError {
  constructor(message: string) {
    super(message, 2);
    this.name = "UsageError";
  }
}

/** The server answered with an error status; `detail` is its explanation. */
export class ServerError extends CliError {
  constructor(
    message: string,
    readonly status: number,
    readonly detail: string,
  ) {
    super(message);
    this.name = "ServerError";
  }
}
