import { type Logger, pino } from 'pino';

export type { Logger };

/**
 * The library logs through one pino logger, silent by default: a library must not write to
 * a host application's stdout. `VSOA_LOG_LEVEL` or `setLogger` turns it on; the CLI installs
 * its own (JSON lines for journald, pretty on a terminal).
 */
let root: Logger = pino({ level: process.env.VSOA_LOG_LEVEL ?? 'silent' });

export function getLogger(): Logger {
  return root;
}

export function setLogger(logger: Logger): void {
  root = logger;
}

/** A child logger for one module, bound at call time (call it when an object is created). */
export function moduleLogger(mod: string): Logger {
  return root.child({ mod });
}
