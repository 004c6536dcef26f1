import { type LevelWithSilent, type Logger, pino } from 'pino';
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

/**
 * The CLI's logger, on stderr (stdout carries command output). Under systemd stderr goes to
 * journald, which wants one JSON object a line and adds host and time itself; on a terminal
 * pino-pretty prints readable lines. Both write synchronously so the last lines before a
 * crash or `process.exit` are not lost, and neither needs a worker thread (transports do not
 * survive bundling into the single executable).
 */
export function createCliLogger(options: CliLoggerOptions): Logger {
  const usePretty = options.pretty ?? process.stderr.isTTY === true;
  const base = { level: options.level, base: { pid: process.pid } };
  if (usePretty) {
    return pino(
      base,
      pretty({
        destination: 2,
        sync: true,
        colorize: true,
        singleLine: true, // one event a line on a terminal too
        translateTime: 'SYS:HH:MM:ss.l',
        ignore: 'pid',
      }),
    );
  }
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
