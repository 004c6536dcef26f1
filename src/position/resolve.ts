import { isIPv4, isIPv6 } from 'node:net';
import { ConnectCode } from '../protocol/constants.js';
import { connectError } from '../protocol/errors.js';
import { DEFAULT_POS_FILE, POS_ENV } from './config.js';
import type { QueryDomain } from './entry.js';
import { type LookupOptions, lookupOutcome } from './lookup.js';

export interface ResolvedUrl {
  /** An IP address (IPv6 without brackets). */
  host: string;
  port: number;
  /** The raw path after the authority, `/` when there is none. */
  path: string;
  /** true when the position server says the service speaks TLS. */
  security: boolean;
  /** The looked-up name, when the url named a service instead of an address. */
  name?: string;
}

export interface ResolveOptions extends LookupOptions {
  /** The family to look a name up in; default -1 (any). */
  domain?: QueryDomain;
}

interface ParsedUrl {
  host: string;
  /** true: host is an IP (or localhost); false: a name to look up. */
  literal: boolean;
  port: number | undefined;
  path: string;
}

const SCHEME = 'vsoa://';

/**
 * Splits `vsoa://host[:port][/path]`. Done by hand rather than with URL: a non-special
 * scheme's URL keeps the host opaque and percent-encodes the path, and VSOA paths are raw.
 */
export function parseVsoaUrl(url: string): ParsedUrl {
  if (typeof url !== 'string' || url.slice(0, SCHEME.length).toLowerCase() !== SCHEME) {
    throw new TypeError(`url must start with ${SCHEME}, got ${JSON.stringify(url)}`);
  }
  const rest = url.slice(SCHEME.length);
  const slash = rest.indexOf('/');
  const authority = slash < 0 ? rest : rest.slice(0, slash);
  const path = slash < 0 ? '/' : rest.slice(slash);

  let hostText: string;
  let portText: string | undefined;
  if (authority.startsWith('[')) {
    const close = authority.indexOf(']');
    if (close < 0) throw new TypeError(`url ${url}: unclosed [ in host`);
    hostText = authority.slice(1, close);
    const after = authority.slice(close + 1);
    if (after !== '' && !after.startsWith(':')) throw new TypeError(`url ${url}: unexpected text after ]`);
    if (!isIPv6(hostText)) throw new TypeError(`url ${url}: ${hostText} is not an IPv6 address`);
    portText = after === '' ? undefined : after.slice(1);
  } else {
    const colon = authority.indexOf(':');
    hostText = colon < 0 ? authority : authority.slice(0, colon);
    portText = colon < 0 ? undefined : authority.slice(colon + 1);
  }
  if (hostText.length === 0) throw new TypeError(`url ${url}: host is missing`);
  if (/[\s@?#]/.test(hostText)) throw new TypeError(`url ${url}: invalid host ${JSON.stringify(hostText)}`);

  let port: number | undefined;
  if (portText !== undefined) {
    if (!/^[0-9]{1,5}$/.test(portText))
      throw new TypeError(`url ${url}: invalid port ${JSON.stringify(portText)}`);
    port = Number(portText);
    if (port < 1 || port > 65535) throw new RangeError(`url ${url}: port must be 1-65535, got ${port}`);
  }

  if (hostText.toLowerCase() === 'localhost') return { host: '127.0.0.1', literal: true, port, path };
  const literal = isIPv4(hostText) || isIPv6(hostText);
  return { host: hostText, literal, port, path };
}

/**
 * Where a client url points. An IP host (or localhost) is used as it is and needs a port
 * (VSOA has no default port); any other host is a service name asked of the position
 * servers, whose answer gives the address, the port (unless the url has one) and security.
 * Throws TypeError/RangeError for a bad url; rejects with VsoaError SERVER_NOT_FOUND when the
 * name is unknown or no position server answers.
 */
export async function resolveServerUrl(url: string, opts: ResolveOptions = {}): Promise<ResolvedUrl> {
  const parsed = parseVsoaUrl(url);
  if (parsed.literal) {
    if (parsed.port === undefined) {
      throw new TypeError(`url ${url}: port is missing (VSOA has no default port)`);
    }
    return { host: parsed.host, port: parsed.port, path: parsed.path, security: false };
  }
  const name = parsed.host;
  const { kind, result } = await lookupOutcome(name, opts.domain ?? -1, opts);
  if (result === null) {
    throw connectError(
      ConnectCode.SERVER_NOT_FOUND,
      kind === 'not-found'
        ? `server ${name} not found by the position server`
        : kind === 'no-server'
          ? `server ${name}: no position server configured (pos(), ${POS_ENV} or ${DEFAULT_POS_FILE})`
          : `server ${name}: no position server answered`,
    );
  }
  return {
    host: result.addr,
    port: parsed.port ?? result.port,
    path: parsed.path,
    security: result.security,
    name,
  };
}
