import { isIP, isIPv6 } from 'node:net';

/**
 * Where the position servers are: the `VSOA_POS_SERVER` variable and the `/etc/vsoa.pos`
 * file. Pure parsers: bad entries are skipped and reported through `onSkip` (the lookup logs
 * them at debug level), never thrown, so one typo does not hide the good lines.
 */

/** One position server. `addr` is an IP literal without brackets. */
export interface PosServer {
  addr: string;
  port: number;
}

export const DEFAULT_POS_FILE = '/etc/vsoa.pos';
export const POS_ENV = 'VSOA_POS_SERVER';

export type SkipReport = (entry: string, reason: string) => void;

/** A decimal port 1-65535, or undefined. */
export function parsePort(text: string): number | undefined {
  if (!/^[0-9]{1,5}$/.test(text)) return undefined;
  const port = Number(text);
  return port >= 1 && port <= 65535 ? port : undefined;
}

/** An IP literal, IPv6 optionally in brackets, without them; or undefined. */
export function parseAddr(text: string): string | undefined {
  if (text.startsWith('[') && text.endsWith(']')) {
    const inner = text.slice(1, -1);
    return isIPv6(inner) ? inner : undefined;
  }
  return isIP(text) !== 0 ? text : undefined;
}

/**
 * `VSOA_POS_SERVER`: comma-separated `addr:port` entries, IPv6 in brackets (`[::1]:3000`).
 * An unbracketed IPv6 entry is split at its last colon, as the node client does
 * (`::1:3000` is `::1` port 3000), so variables written for it keep working.
 */
export function parsePosEnv(value: string | undefined, onSkip?: SkipReport): PosServer[] {
  const servers: PosServer[] = [];
  if (value === undefined) return servers;
  for (const raw of value.split(',')) {
    const entry = raw.trim();
    if (entry.length === 0) continue;
    const server = parseEnvEntry(entry);
    if (typeof server === 'string') onSkip?.(entry, server);
    else servers.push(server);
  }
  return servers;
}

function parseEnvEntry(entry: string): PosServer | string {
  let addrText: string;
  let portText: string;
  if (entry.startsWith('[')) {
    const close = entry.indexOf(']');
    if (close < 0 || entry[close + 1] !== ':') return 'expected [ipv6]:port';
    addrText = entry.slice(0, close + 1);
    portText = entry.slice(close + 2);
  } else {
    const colon = entry.lastIndexOf(':');
    if (colon < 0) return 'port is missing';
    addrText = entry.slice(0, colon);
    portText = entry.slice(colon + 1);
  }
  const addr = parseAddr(addrText);
  if (addr === undefined) return `not an IP address: ${addrText}`;
  const port = parsePort(portText);
  if (port === undefined) return `not a port 1-65535: ${portText}`;
  return { addr, port };
}

/**
 * `/etc/vsoa.pos`: one server a line, `addr port` separated by blanks, IPv6 optionally in
 * brackets. `#` starts a comment (a whole line or the end of one); blank lines are skipped.
 */
export function parsePosFile(text: string, onSkip?: SkipReport): PosServer[] {
  const servers: PosServer[] = [];
  for (const raw of text.split(/\r?\n/)) {
    const hash = raw.indexOf('#');
    const line = (hash < 0 ? raw : raw.slice(0, hash)).trim();
    if (line.length === 0) continue;
    const fields = line.split(/\s+/);
    if (fields.length !== 2) {
      onSkip?.(line, 'expected "addr port"');
      continue;
    }
    const addr = parseAddr(fields[0]!);
    const port = parsePort(fields[1]!);
    if (addr === undefined) onSkip?.(line, `not an IP address: ${fields[0]}`);
    else if (port === undefined) onSkip?.(line, `not a port 1-65535: ${fields[1]}`);
    else servers.push({ addr, port });
  }
  return servers;
}
