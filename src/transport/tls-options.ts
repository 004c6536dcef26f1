import { readFileSync } from 'node:fs';
import net from 'node:net';
import tls from 'node:tls';
import type { Logger } from '../util/log.js';

/** How a peer's certificate is checked (seed: ssl.CERT_NONE / CERT_OPTIONAL / CERT_REQUIRED). */
export type VerifyMode = 'none' | 'optional' | 'required';

/** A certificate, key or CA: a file path, or the PEM contents (a string starting with `-----BEGIN`, or a Buffer). */
export type PemSource = string | Buffer;

/**
 * The seed's `sslopt` dict, camelCased, for servers and clients alike (keys a side does not
 * use are ignored). Defaults verify the peer: a client checks the server's certificate and
 * name; a server with `caCert` requires client certificates (mutual authentication).
 */
export interface TlsOptions {
  /** This side's certificate (required on a server; on a client only for mutual authentication). */
  cert?: PemSource;
  /** This side's private key, with `cert`. */
  key?: PemSource;
  /** The CA(s) that sign the peer's certificate. On a server this turns on mutual authentication. */
  caCert?: PemSource | readonly PemSource[];
  /** Passphrase of an encrypted `key`. */
  passwd?: string;
  /** Client: the name the server's certificate must carry (default: the host of the URL). */
  hostname?: string;
  /** Client default 'required' ('optional' is the same on a client). Server default: 'required' with `caCert`, else 'none'. */
  verifyMode?: VerifyMode;
  /** Also trust the system's CAs. Default: true on a client without `caCert`, false otherwise. */
  loadDefaultCerts?: boolean;
  /** Server: picks a context per requested server name; nothing (or null) keeps the default one. */
  sniCallback?: (
    servername: string,
  ) => tls.SecureContext | null | undefined | Promise<tls.SecureContext | null | undefined>;
  /** Log failed handshakes at warn level (default: debug level only). */
  handshakeErrorLog?: boolean;
}

/** Server-side settings resolved once per listen. */
export interface ServerTls {
  /** For tls.createServer (sockets are plain TLS: no half-open, no noDelay here). */
  options: tls.TlsOptions;
  verify: VerifyMode;
  handshakeErrorLog: boolean;
}

/** Client-side settings resolved once per connect, reused by the client's streams. */
export interface ClientTls {
  /** For tls.connect, without host and port. */
  options: tls.ConnectionOptions;
  handshakeErrorLog: boolean;
}

const VERIFY_MODES: readonly string[] = ['none', 'optional', 'required'];

function readPem(value: unknown, name: string): Buffer | string {
  if (Buffer.isBuffer(value)) return value;
  if (typeof value !== 'string' || value === '') {
    throw new TypeError(`${name} must be a file path, PEM text or a Buffer`);
  }
  if (value.trimStart().startsWith('-----BEGIN')) return value;
  try {
    return readFileSync(value);
  } catch (error) {
    throw new TypeError(`${name}: cannot read ${value}: ${(error as Error).message}`, { cause: error });
  }
}

function readCas(value: unknown, name: string): Array<Buffer | string> | undefined {
  if (value === undefined || value === null) return undefined;
  const list = Array.isArray(value) ? value : [value];
  return list.map((v, i) => readPem(v, Array.isArray(value) ? `${name}[${i}]` : name));
}

function checkObject(opts: unknown, name: string): TlsOptions {
  if (opts === null || typeof opts !== 'object') throw new TypeError(`${name} must be an object`);
  const o = opts as TlsOptions;
  if (o.verifyMode !== undefined && !VERIFY_MODES.includes(o.verifyMode)) {
    throw new TypeError(`${name}.verifyMode must be 'none', 'optional' or 'required'`);
  }
  if (o.passwd !== undefined && typeof o.passwd !== 'string') {
    throw new TypeError(`${name}.passwd must be a string`);
  }
  if (o.hostname !== undefined && (typeof o.hostname !== 'string' || o.hostname === '')) {
    throw new TypeError(`${name}.hostname must be a non-empty string`);
  }
  if (o.sniCallback !== undefined && typeof o.sniCallback !== 'function') {
    throw new TypeError(`${name}.sniCallback must be a function`);
  }
  return o;
}

/** Trusted CAs: the given ones, plus the system's when asked; undefined = Node's defaults. */
function trustAnchors(
  o: TlsOptions,
  name: string,
  systemByDefault: boolean,
): Array<Buffer | string> | undefined {
  const cas = readCas(o.caCert, `${name}.caCert`);
  const system = o.loadDefaultCerts ?? (systemByDefault && cas === undefined);
  if (cas === undefined) return system ? undefined : [];
  return system ? [...tls.rootCertificates, ...cas] : cas;
}

function sniAdapter(fn: NonNullable<TlsOptions['sniCallback']>): tls.TlsOptions['SNICallback'] {
  return (servername, callback) => {
    let result: ReturnType<typeof fn>;
    try {
      result = fn(servername);
    } catch (error) {
      callback(error as Error, undefined);
      return;
    }
    Promise.resolve(result).then(
      (ctx) => callback(null, ctx ?? undefined),
      (error: unknown) => callback(error instanceof Error ? error : new Error(String(error)), undefined),
    );
  };
}

/**
 * Maps `tls` onto Node's server options. Client certificates are requested only when there is
 * something to check them against (`caCert` or `loadDefaultCerts`): the seed's one-way example
 * sets verify_mode REQUIRED without a CA and means "no client certificate".
 */
export function resolveServerTls(opts: TlsOptions, name = 'tls'): ServerTls {
  const o = checkObject(opts, name);
  if (o.cert === undefined || o.key === undefined)
    throw new TypeError(`${name}.cert and ${name}.key are required`);
  const options: tls.TlsOptions = {
    cert: readPem(o.cert, `${name}.cert`),
    key: readPem(o.key, `${name}.key`),
  };
  if (o.passwd) options.passphrase = o.passwd;
  const anchors =
    o.caCert !== undefined || o.loadDefaultCerts === true ? trustAnchors(o, name, false) : undefined;
  let verify: VerifyMode = 'none';
  if (anchors !== undefined) {
    options.ca = anchors;
    verify = o.verifyMode ?? 'required';
  }
  options.requestCert = verify !== 'none';
  options.rejectUnauthorized = verify === 'required';
  if (o.sniCallback) options.SNICallback = sniAdapter(o.sniCallback);
  return { options, verify, handshakeErrorLog: o.handshakeErrorLog === true };
}

/** Maps `tls` onto Node's client options for a server at `host` (an IP address). */
export function resolveClientTls(opts: TlsOptions, host: string, name = 'tls'): ClientTls {
  const o = checkObject(opts, name);
  if ((o.cert === undefined) !== (o.key === undefined)) {
    throw new TypeError(`${name}.cert and ${name}.key go together`);
  }
  const options: tls.ConnectionOptions = {};
  if (o.cert !== undefined && o.key !== undefined) {
    options.cert = readPem(o.cert, `${name}.cert`);
    options.key = readPem(o.key, `${name}.key`);
  }
  if (o.passwd) options.passphrase = o.passwd;
  const ca = trustAnchors(o, name, true);
  if (ca !== undefined) options.ca = ca;
  const verify = o.verifyMode ?? 'required';
  options.rejectUnauthorized = verify !== 'none';
  const expected = o.hostname ?? host;
  // SNI carries names only (Node refuses IP addresses there); the identity check takes both.
  if (net.isIP(expected) === 0) options.servername = expected;
  options.checkServerIdentity = (_host, cert) => tls.checkServerIdentity(expected, cert);
  return { options, handshakeErrorLog: o.handshakeErrorLog === true };
}

/**
 * Whether an error from a TLS socket is a handshake or certificate failure (OpenSSL errors and
 * alerts, Node's TLS errors, X.509 verification codes) rather than a network error.
 */
export function isTlsFailure(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code !== 'string') return false;
  return (
    code.startsWith('ERR_SSL_') ||
    code.startsWith('ERR_TLS_') ||
    /^(CERT_|UNABLE_TO_|DEPTH_ZERO_|SELF_SIGNED_|HOSTNAME_|INVALID_CA|PATH_LENGTH_|INVALID_PURPOSE)/.test(
      code,
    )
  );
}

/** Logs a failed handshake: at warn level when the application asked (handshakeErrorLog). */
export function logHandshakeFailure(
  settings: { handshakeErrorLog: boolean },
  log: Logger,
  error: Error,
  peer: string | undefined,
): void {
  const entry = { peer, code: (error as NodeJS.ErrnoException).code, err: error.message };
  if (settings.handshakeErrorLog) log.warn(entry, 'TLS handshake failed');
  else log.debug(entry, 'TLS handshake failed');
}
