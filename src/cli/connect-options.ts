import { readFileSync } from 'node:fs';
import { type Command, InvalidArgumentError, Option } from 'commander';
import { DEFAULT_CONNECT_TIMEOUT } from '../client/options.js';
import type { TlsOptions } from '../transport/tls-options.js';
import { UsageError } from './errors.js';

/*
 * The options every verb that connects (or listens) takes, in one place: the password (flag,
 * VSOA_PASSWD, --passwd-file), TLS (--tls, --ca, --cert, --key, --insecure, --servername) and
 * --timeout. A verb calls addConnectOptions(command) when it builds its command and
 * connectOptionsFrom(opts) in its action; config files (robot, gateway, bridge) map their `tls`
 * and `passwdFile` keys with tlsFromConfig / passwdFromFile. Mistakes are UsageErrors (exit 2).
 */

/** The environment variable that carries a password (keeps it out of `ps` and shell history). */
export const PASSWD_ENV = 'VSOA_PASSWD';

/** Default connect timeout (ms) of the client verbs: the library's. */
export { DEFAULT_CONNECT_TIMEOUT };

/** What commander hands the action for these options (camelCased flags). */
export interface ConnectCliOptions {
  passwd?: string;
  passwdFile?: string;
  tls?: boolean;
  ca?: string;
  cert?: string;
  key?: string;
  insecure?: boolean;
  servername?: string;
  timeout?: number;
}

/** What a Client's connect()/robot() takes. */
export interface ResolvedConnectOptions {
  passwd: string;
  timeout: number;
  tls?: TlsOptions;
}

export interface AddConnectOptions {
  /** 'client' (default): connects; 'server': listens (cert and key required for TLS, --ca asks for client certificates). */
  side?: 'client' | 'server';
  /** Default of --timeout (ms); false: the verb has no --timeout of its own from here. */
  timeout?: number | false;
  /** Help text of --timeout. */
  timeoutHelp?: string;
}

function timeoutArg(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 3_600_000) {
    throw new InvalidArgumentError('--timeout must be a whole number of milliseconds from 1 to 3600000');
  }
  return n;
}

/** Adds the password, TLS and (unless `timeout: false`) --timeout options to `command`. */
export function addConnectOptions(command: Command, options: AddConnectOptions = {}): Command {
  const server = options.side === 'server';
  command
    .addOption(
      new Option('--passwd <password>', server ? 'password clients must give' : 'server password').env(
        PASSWD_ENV,
      ),
    )
    .addOption(
      new Option('--passwd-file <file>', 'read the password from the first line of a file').conflicts(
        'passwd',
      ),
    );
  if (server) {
    command
      .option('--tls', 'serve over TLS (needs --cert and --key)')
      .option('--cert <file>', 'server certificate (PEM); turns TLS on')
      .option('--key <file>', 'server private key (PEM)')
      .option('--ca <file>', 'CA (PEM) that signs client certificates: require them (mutual TLS)');
  } else {
    command
      .option('--tls', 'connect over TLS, checking the server against the system CAs')
      .option('--ca <file>', "CA (PEM) that signs the server's certificate; turns TLS on")
      .option('--cert <file>', 'client certificate (PEM) for mutual TLS; turns TLS on')
      .option('--key <file>', 'client private key (PEM), with --cert')
      .option('--insecure', "TLS without checking the server's certificate (testing only)")
      .option(
        '--servername <name>',
        "the name the server's certificate must carry (default: the url's host)",
      );
  }
  if (options.timeout !== false) {
    command.option(
      '--timeout <ms>',
      options.timeoutHelp ?? 'connect timeout',
      timeoutArg,
      options.timeout ?? DEFAULT_CONNECT_TIMEOUT,
    );
  }
  return command;
}

/** The first line of a password file (a trailing newline is not part of the password). */
export function passwdFromFile(path: string, what = '--passwd-file'): string {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new UsageError(`${what}: cannot read ${path}: ${(error as NodeJS.ErrnoException).code ?? error}`);
  }
  return text.split(/\r?\n/, 1)[0] ?? '';
}

function pemFile(path: string, what: string): Buffer {
  try {
    return readFileSync(path);
  } catch (error) {
    throw new UsageError(`${what}: cannot read ${path}: ${(error as NodeJS.ErrnoException).code ?? error}`);
  }
}

/** The client's TLS options from the flags, or undefined when none asks for TLS. */
export function clientTlsFrom(opts: ConnectCliOptions): TlsOptions | undefined {
  const wanted =
    opts.tls === true ||
    opts.ca !== undefined ||
    opts.cert !== undefined ||
    opts.key !== undefined ||
    opts.insecure === true ||
    opts.servername !== undefined;
  if (!wanted) return undefined;
  if ((opts.cert === undefined) !== (opts.key === undefined)) {
    throw new UsageError('--cert and --key go together');
  }
  const tls: TlsOptions = {};
  if (opts.ca !== undefined) tls.caCert = pemFile(opts.ca, '--ca');
  if (opts.cert !== undefined) tls.cert = pemFile(opts.cert, '--cert');
  if (opts.key !== undefined) tls.key = pemFile(opts.key, '--key');
  if (opts.insecure === true) tls.verifyMode = 'none';
  if (opts.servername !== undefined) {
    if (opts.servername === '') throw new UsageError('--servername must not be empty');
    tls.hostname = opts.servername;
  }
  tls.handshakeErrorLog = true;
  return tls;
}

/** The server's TLS options from the flags, or undefined for plain TCP. */
export function serverTlsFrom(opts: ConnectCliOptions): TlsOptions | undefined {
  if (opts.tls !== true && opts.cert === undefined && opts.key === undefined && opts.ca === undefined) {
    return undefined;
  }
  if (opts.cert === undefined || opts.key === undefined) {
    throw new UsageError('TLS needs --cert FILE and --key FILE');
  }
  const tls: TlsOptions = {
    cert: pemFile(opts.cert, '--cert'),
    key: pemFile(opts.key, '--key'),
    handshakeErrorLog: true,
  };
  if (opts.ca !== undefined) tls.caCert = pemFile(opts.ca, '--ca');
  return tls;
}

/** The password from --passwd / VSOA_PASSWD / --passwd-file ('' when none). */
export function passwdFrom(opts: ConnectCliOptions): string {
  if (opts.passwdFile !== undefined) return passwdFromFile(opts.passwdFile);
  return opts.passwd ?? '';
}

/** The options to connect with, from what addConnectOptions added. */
export function connectOptionsFrom(opts: ConnectCliOptions): ResolvedConnectOptions {
  const resolved: ResolvedConnectOptions = {
    passwd: passwdFrom(opts),
    timeout: opts.timeout ?? DEFAULT_CONNECT_TIMEOUT,
  };
  const tls = clientTlsFrom(opts);
  if (tls) resolved.tls = tls;
  return resolved;
}

/** The options to listen with (`serve`): the password clients must give and TLS. */
export function listenOptionsFrom(opts: ConnectCliOptions): { passwd: string; tls?: TlsOptions } {
  const tls = serverTlsFrom(opts);
  return tls ? { passwd: passwdFrom(opts), tls } : { passwd: passwdFrom(opts) };
}

const CONFIG_TLS_KEYS = new Set(['ca', 'cert', 'key', 'insecure', 'servername']);

/**
 * A config file's `tls` key (robot, gateway, bridge): `true` (system CAs) or
 * `{ ca?, cert?, key?, insecure?, servername? }` with file paths, as the flags. `where` names
 * the file in messages.
 */
export function tlsFromConfig(value: unknown, where: string): TlsOptions | undefined {
  if (value === undefined || value === false) return undefined;
  if (value === true) return clientTlsFrom({ tls: true });
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new UsageError(`${where}: "tls" must be true or { ca, cert, key, insecure, servername }`);
  }
  const o = value as Record<string, unknown>;
  for (const key of Object.keys(o)) {
    if (!CONFIG_TLS_KEYS.has(key)) throw new UsageError(`${where}: unknown key "tls.${key}"`);
  }
  for (const key of ['ca', 'cert', 'key', 'servername']) {
    if (o[key] !== undefined && typeof o[key] !== 'string') {
      throw new UsageError(`${where}: "tls.${key}" must be a string`);
    }
  }
  if (o.insecure !== undefined && typeof o.insecure !== 'boolean') {
    throw new UsageError(`${where}: "tls.insecure" must be true or false`);
  }
  try {
    return clientTlsFrom({ tls: true, ...(o as ConnectCliOptions) });
  } catch (error) {
    throw new UsageError(`${where}: tls: ${(error as Error).message.replace(/--/g, '')}`);
  }
}
