import { readFileSync } from 'node:fs';
import type { PositionEntry } from '../position/entry.js';
import { PositionTable } from '../position/table.js';

/*
 * The position daemon's table file: a JSON array of { name, domain?, addr, port, security? }
 * (deploy/etc/vsoa/position.json). Read synchronously: it is small, and a reload must not
 * interleave with another one.
 */

/** The file's text; throws an Error whose message is one line naming the file. */
export function readTableText(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    throw new Error(`cannot read ${file}: ${e.code ?? e.message}`);
  }
}

/** The entries of a table file's text, checked; throws an Error with a one-line message. */
export function parseTableText(text: string, file: string): PositionEntry[] {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new Error(`${file}: not valid JSON (${oneLine((err as Error).message)})`);
  }
  if (!Array.isArray(value)) {
    throw new Error(`${file}: must be a JSON array of { name, domain, addr, port, security? }`);
  }
  try {
    new PositionTable(value as PositionEntry[], 'entry');
  } catch (err) {
    throw new Error(`${file}: ${(err as Error).message}`);
  }
  return value as PositionEntry[];
}

function oneLine(text: string): string {
  return text.replace(/\s+/g, ' ').trim();
}
