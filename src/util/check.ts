/**
 * Argument checks shared by every public API: one rule per kind of value, and every error
 * names the argument. Application mistakes throw TypeError (wrong type) or RangeError (wrong
 * value); they never reach the wire.
 */

/** Node clamps a timer delay above this to 1 ms (TimeoutOverflowWarning): refuse it instead. */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/** A duration in ms: finite, 0..MAX_TIMER_MS (or `min`..). `undefined` gives the fallback. */
export function duration(value: unknown, name: string, fallback: number, min = 0): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || Number.isNaN(value)) {
    throw new TypeError(`${name} must be a number of milliseconds, got ${describe(value)}`);
  }
  if (!Number.isFinite(value) || value < min || value > MAX_TIMER_MS) {
    throw new RangeError(`${name} must be ${min}..${MAX_TIMER_MS} ms, got ${value}`);
  }
  return value;
}

/** An integer within min..max. `undefined` gives the fallback. */
export function integer(
  value: unknown,
  name: string,
  fallback: number,
  min = 0,
  max = Number.MAX_SAFE_INTEGER,
): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || Number.isNaN(value)) {
    throw new TypeError(`${name} must be an integer, got ${describe(value)}`);
  }
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new RangeError(`${name} must be an integer within ${min}..${max}, got ${value}`);
  }
  return value;
}

/** An optional callback: undefined/null or a function. */
export function optionalFunction(value: unknown, name: string): void {
  if (value !== undefined && value !== null && typeof value !== 'function') {
    throw new TypeError(`${name} must be a function, got ${describe(value)}`);
  }
}

/** A required callback. */
export function requiredFunction(value: unknown, name: string): void {
  if (typeof value !== 'function') throw new TypeError(`${name} must be a function, got ${describe(value)}`);
}

/** An options bag: undefined gives {}; anything but a plain object is a TypeError. */
export function optionsObject<T extends object>(value: T | undefined, name = 'options'): T {
  if (value === undefined) return {} as T;
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new TypeError(`${name} must be an object, got ${describe(value)}`);
  }
  return value;
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (typeof value === 'string') return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value);
  if (typeof value === 'object') return Array.isArray(value) ? 'an array' : 'an object';
  return String(value);
}
