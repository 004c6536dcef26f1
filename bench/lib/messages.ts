/**
 * Child side of the parent/child link: results go out on stdout as prefixed JSON lines (so
 * stray library output cannot be mistaken for them); commands come in on stdin, one JSON
 * object a line. A child exits when its stdin closes, so a dead orchestrator leaves no orphans.
 */
import { createInterface } from 'node:readline';
import type { Json } from './adapter.js';

export const LINE_PREFIX = '@@bench ';

export function report(type: string, body: Json = {}): void {
  process.stdout.write(`${LINE_PREFIX}${JSON.stringify({ ...body, type })}\n`);
}

export function fail(error: unknown): never {
  const message = error instanceof Error ? error.message : String(error);
  report('error', { message });
  process.exit(1);
}

/** Calls `handler` for each command line; exits the process when stdin ends. */
export function onCommands(handler: (command: Json) => void | Promise<void>): void {
  const lines = createInterface({ input: process.stdin });
  lines.on('line', (line) => {
    let command: Json;
    try {
      command = JSON.parse(line) as Json;
    } catch {
      return;
    }
    Promise.resolve()
      .then(() => handler(command))
      .catch((error: unknown) => report('error', { message: String(error) }));
  });
  lines.on('close', () => process.exit(0));
}

/** The JSON task a client child was started with (argv[2]). */
export function taskArgument(): Json {
  const text = process.argv[2];
  if (!text) fail('missing task argument');
  return JSON.parse(text) as Json;
}

export function num(json: Json, key: string, fallback?: number): number {
  const value = json[key];
  if (typeof value === 'number' && Number.isFinite(value)) return value;
  if (fallback !== undefined) return fallback;
  throw new TypeError(`${key} must be a number`);
}
