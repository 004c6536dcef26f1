/*
 * Where verbs print. A closed stdout (`vsoa sub ... | head -1`) ends the process quietly with
 * status 0, as `yes | head` does, instead of an EPIPE stack trace; `-q` drops the lines that
 * only narrate (listening, published, per-ping lines) and keeps results and errors.
 */

let quiet = false;
let guarded = false;

export function setQuiet(on: boolean): void {
  quiet = on;
}

export function isQuiet(): boolean {
  return quiet;
}

/** A result line on stdout (always printed). */
export function say(line: string): void {
  process.stdout.write(`${line}\n`);
}

/** A narrating line on stdout, dropped with -q. */
export function narrate(line: string): void {
  if (!quiet) process.stdout.write(`${line}\n`);
}

function isClosedPipe(error: NodeJS.ErrnoException): boolean {
  return error.code === 'EPIPE' || error.code === 'ERR_STREAM_DESTROYED';
}

/** Installs the handlers once: a reader that went away is the normal end of a pipeline. */
export function exitQuietlyWhenStdoutCloses(): void {
  if (guarded) return;
  guarded = true;
  process.stdout.on('error', (error: NodeJS.ErrnoException) => {
    if (isClosedPipe(error)) process.exit(0);
    throw error;
  });
  // Nowhere left to report to: drop stderr's own pipe errors.
  process.stderr.on('error', () => {});
}
