import { fstatSync, writeSync } from 'node:fs';
import { type DestinationStream, type LevelWithSilent, type Logger, pino } from 'pino';
import pretty from 'pino-pretty';
import { setLogger } from '../util/log.js';

export const LOG_LEVELS: readonly LevelWithSilent[] = [
  'fatal',
  'error',
  'warn',
  'info',
  'debug',
  'trace',
  'silent',
];

export interface CliLoggerOptions {
  level: LevelWithSilent;
  /** Human-readable lines instead of JSON; defaults to whether stderr is a terminal. */
  pretty?: boolean;
}

/** pino's numeric levels → syslog priorities (sd-daemon.h: 2 crit, 3 err, 4 warning, 6 info, 7 debug). */
export function syslogPriority(level: number): number {
  if (level >= 60) return 2;
  if (level >= 50) return 3;
  if (level >= 40) return 4;
  if (level >= 30) return 6;
  return 7;
}

/**
 * Whether stderr is systemd's journal stream: JOURNAL_STREAM holds its `device:inode`, and it
 * must match fd 2 itself (a unit may redirect stderr to a file; the variable is inherited).
 */
export function stderrIsJournal(env: NodeJS.ProcessEnv = process.env): boolean {
  const stream = env.JOURNAL_STREAM;
  if (!stream) return false;
  try {
    const st = fstatSync(2);
    return stream === `${st.dev}:${st.ino}`;
  } catch {
    return false;
  }
}

/**
 * Where the CLI's one-line error messages go (usage errors, failures): stderr, each line
 * prefixed `<3>` (err) when stderr is the journal, so that the line saying why a service exits
 * is found by `journalctl -p err`; a terminal or a pipe gets the plain line.
 */
export function writeErrorLine(text: string): void {
  process.stderr.write(stderrIsJournal() ? text.replace(/^(?=.)/gm, '<3>') : text);
}

/**
 * A synchronous stderr sink that prefixes each line with `<N>`, the priority journald reads
 * (units keep the default SyslogLevelPrefix=yes), so warn and error show with `-p warning`.
 * pino tells the sink each line's level through `lastLevel` (its metadata protocol).
 */
function journalDestination(): DestinationStream & { lastLevel: number } {
  return {
    [Symbol.for('pino.metadata')]: true,
    lastLevel: 30,
    write(line: string) {
      writeSync(2, `<${syslogPriority(this.lastLevel)}>${line}`);
    },
  } as DestinationStream & { lastLevel: number };
}

/** Errors in logs: message and code; the stack only at debug and trace (a warning is not a crash). */
function errSerializer(withStack: boolean): (err: unknown) => unknown {
  return (err) => {
    if (withStack) return pino.stdSerializers.err(err as Error);
    if (!(err instanceof Error)) return err;
    const out: Record<string, unknown> = { type: err.name, message: err.message };
    const code = (err as { code?: unknown }).code;
    if (code !== undefined) out.code = code;
    return out;
  };
}

/**
 * The CLI's logger, on stderr (stdout carries command output). Under systemd stderr goes to
 * journald, which wants one JSON object a line and adds host and time itself; on a terminal
 * pino-pretty prints readable lines. Both write synchronously so the last lines before a
 * crash or `process.exit` are not lost, and neither needs a worker thread (transports do not
 * survive bundling into the single executable).
 */
export function createCliLogger(options: CliLoggerOptions): Logger {
  const usePretty = options.pretty ?? process.stderr.isTTY === true;
  const withStack = options.level === 'debug' || options.level === 'trace';
  const base = {
    level: options.level,
    base: { pid: process.pid },
    serializers: { err: errSerializer(withStack) },
  };
  if (usePretty) {
    return pino(
      base,
      pretty({
        destination: 2,
        sync: true,
        colorize: !process.env.NO_COLOR, // https://no-color.org: set and not empty
        singleLine: true, // one event a line on a terminal too
        translateTime: 'SYS:HH:MM:ss.l',
        ignore: 'pid',
      }),
    );
  }
  if (stderrIsJournal()) return pino(base, journalDestination());
  return pino(base, pino.destination({ fd: 2, sync: true }));
}

/** Builds the CLI logger and makes the library log through it. */
let installed: Logger | undefined;

/** Installs the CLI's pino logger, for the CLI and as the library's logger. */
export function installCliLogger(options: CliLoggerOptions): Logger {
  const logger = createCliLogger(options);
  installed = logger;
  setLogger(logger);
  return logger;
}

/** The CLI's pino logger (with levels), once installed; before that, a silent one. */
export function cliLogger(): Logger {
  installed ??= createCliLogger({ level: 'silent' });
  return installed;
}

export function parseLogLevel(value: string): LevelWithSilent {
  const level = value.toLowerCase() as LevelWithSilent;
  if (!LOG_LEVELS.includes(level)) {
    throw new RangeError(`log level must be one of ${LOG_LEVELS.join(', ')}, got '${value}'`);
  }
  return level;
}
