import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { type Command, InvalidArgumentError, Option } from 'commander';
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

/** `@file` (or `@-`, standard input) read whole. */
function readAt(value: string): Buffer {
  const path = value.slice(1);
  try {
    return readFileSync(path === '-' ? 0 : path);
  } catch (error) {
    const what = path === '-' ? 'standard input' : path;
    throw new InvalidArgumentError(`cannot read ${what}: ${(error as NodeJS.ErrnoException).code ?? error}`);
  }
}

/** commander parser: JSON text, or `@file` / `@-` holding it. */
export function jsonArg(value: string): unknown {
  const text = value.startsWith('@') ? readAt(value).toString('utf8') : value;
  try {
    return JSON.parse(text);
  } catch {
    throw new InvalidArgumentError(
      value.startsWith('@')
        ? `${value.slice(1) === '-' ? 'standard input' : value.slice(1)} is not valid JSON`
        : `not valid JSON (quote strings: '"text"')`,
    );
  }
}

/** commander parser for -m/--message: the text as data bytes (UTF-8). */
export function textArg(value: string): Buffer {
  return Buffer.from(value, 'utf8');
}

/** commander parser for --data: `@file` reads a file, `@-` standard input, anything else is hex bytes. */
export function dataArg(value: string): Buffer {
  if (value.startsWith('@')) return readAt(value);
  const hex = value.replace(/^0x/i, '').replace(/[\s:]/g, '');
  if (hex.length % 2 !== 0 || !/^[0-9a-f]*$/i.test(hex)) {
    throw new InvalidArgumentError('must be @file, @- (standard input) or hex bytes such as 0a0b0c');
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

/** The payload options of `call` and `pub`: --param, --data, -m/--message. */
export interface PayloadCliOptions {
  param?: unknown;
  data?: Buffer;
  message?: Buffer;
}

export function addPayloadOptions(command: Command): Command {
  return command
    .option(
      '--param <json|@file>',
      'param as JSON; @file reads it from a file, @- from standard input',
      jsonArg,
    )
    .addOption(
      new Option(
        '--data <@file|hex>',
        'data bytes: @file reads a file, @- standard input, else hex',
      ).argParser(dataArg),
    )
    .addOption(
      new Option('-m, --message <text>', 'text as the data bytes (UTF-8)')
        .argParser(textArg)
        .conflicts('data'),
    );
}

/** The data bytes from --data or -m. */
export function payloadData(opts: PayloadCliOptions): Buffer | undefined {
  return opts.data ?? opts.message;
}

/** A host to bind: an IP address, or `localhost` (127.0.0.1). */
export function bindHostArg(value: string): string {
  if (value.toLowerCase() === 'localhost') return '127.0.0.1';
  if (isIP(value) === 0) throw new InvalidArgumentError(`must be an IP address or localhost, got '${value}'`);
  return value;
}
