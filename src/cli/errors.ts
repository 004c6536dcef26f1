/**
 * A mistake in how the command was invoked (bad argument, missing config file, ...). The CLI
 * prints its message on one line, without a stack, and exits 2; anything else thrown from a
 * verb is a runtime failure (exit 1). The message should say what to do.
 */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

/** Process exit codes of `vsoa`. */
export const ExitCode = {
  ok: 0,
  failure: 1,
  usage: 2,
} as const;
