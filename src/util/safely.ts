import type { Logger } from './log.js';

/**
 * Runs an application callback (or any code that must not take its caller down): a throw is
 * logged as `<name> threw` at error level and swallowed. Returns what `fn` returned, or
 * undefined when it threw.
 */
export function safely<T>(log: Logger, name: string, fn: () => T): T | undefined {
  try {
    return fn();
  } catch (error) {
    log.error({ err: error }, `${name} threw`);
    return undefined;
  }
}
