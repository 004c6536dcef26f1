import { readFileSync } from 'node:fs';
import { InvalidArgumentError } from 'commander';
import { parseVsoaUrl } from '../position/resolve.js';

/** commander parser: a whole number within bounds. */
export function intArg(name: string, min: number, max: number): (value: string) => number {
  return (value: string) => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < min || n > max) {
      throw new InvalidArgumentError(`${name} must be a whole number from ${min} to ${max}`);
    }
    return n;
  };
}

/** commander parser: JSON text. */
export function jsonArg(value: string): unknown {
  try {
    return JSON.parse(value);
  } catch {
    throw new InvalidArgumentError(`not valid JSON (quote strings: '"text"')`);
  }
}

/** commander parser for --data: `@file` reads a file, anything else is hex bytes. */
export function dataArg(value: string): Buffer {
  if (value.startsWith('@')) {
    try {
      return readFileSync(value.slice(1));
    } catch (error) {
      throw new InvalidArgumentError(`cannot read ${value.slice(1)}: ${(error as Error).message}`);
    }
  }
  const hex = value.replace(/^0x/i, '').replace(/[\s:]/g, '');
  if (hex.length % 2 !== 0 || !/^[0-9a-f]*$/i.test(hex)) {
    throw new InvalidArgumentError('must be @file or hex bytes such as 0a0b0c');
  }
  return Buffer.from(hex, 'hex');
}

/** A server named on the command line: the url as given (a name is looked up on connect) and its path. */
export interface Target {
  url: string;
  path: string;
}

/** commander parser: a `vsoa://host:port/path` or `vsoa://name/path` url. */
export function serverUrlArg(value: string): Target {
  try {
    const parsed = parseVsoaUrl(value);
    if (parsed.literal && parsed.port === undefined)
      throw new TypeError('an IP address needs a port (vsoa://1.2.3.4:3005/)');
    return { url: value, path: parsed.path };
  } catch (error) {
    throw new InvalidArgumentError((error as Error).message);
  }
}
