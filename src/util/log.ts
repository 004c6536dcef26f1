import { createRequire } from 'node:module';

type LogFn = {
  (obj: object, msg?: string): void;
  (msg: string): void;
};

/** What the library logs through: the part of pino's Logger it uses (a pino logger fits). */
export interface Logger {
  debug: LogFn;
  info: LogFn;
  warn: LogFn;
  error: LogFn;
  child(bindings: Record<string, unknown>): Logger;
}

const noop = (): void => {};

/** Drops everything. Loading pino costs about 8 MiB of RSS, so a silent library never loads it. */
const SILENT: Logger = { debug: noop, info: noop, warn: noop, error: noop, child: () => SILENT };

/**
 * The library logs through one logger, silent by default: a library must not write to a host
 * application's stdout. `VSOA_LOG_LEVEL` turns pino on; `setLogger` installs any pino-compatible
 * logger (the CLI's: JSON lines for journald, pretty on a terminal).
 *
 * The logger lives on globalThis under a registered symbol, not in a module variable: a bundle
 * that carries its own copy of this module (the CommonJS subpath builds, an application's
 * bundler) still shares one logger, so `setLogger()` reaches the gateway, bridge and recorder too.
 */
const ROOT = Symbol.for('vsoa-edge.logger');
const shared = globalThis as { [ROOT]?: Logger };

function fromEnvironment(): Logger {
  const level = process.env.VSOA_LOG_LEVEL;
  if (level === undefined || level === '' || level === 'silent') return SILENT;
  try {
    const { pino } = createRequire(import.meta.url)('pino') as typeof import('pino');
    return pino({ level });
  } catch {
    return SILENT; // no pino to load (a bundle without it): stay quiet rather than fail
  }
}

export function getLogger(): Logger {
  shared[ROOT] ??= fromEnvironment();
  return shared[ROOT];
}

export function setLogger(logger: Logger): void {
  shared[ROOT] = logger;
}

/** A child logger for one module, bound at call time (call it when an object is created). */
export function moduleLogger(mod: string): Logger {
  return getLogger().child({ mod });
}
