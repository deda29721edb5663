// Errors the CLI turns into exit code 2 with a one-line reason (docs/CONTRACT.md).

/** The user asked for something that does not parse or does not exist. */
export class UsageError extends Error {
  override name = 'UsageError';
}

/** The machine lacks something the command needs and could not install it; the message says how to fix it. */
export class EnvironmentError extends Error {
  override name = 'EnvironmentError';
}
