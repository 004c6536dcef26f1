import { isIP, isIPv4, isIPv6 } from 'node:net';

/**
 * Position records and their validation, shared by the server (table entries, onquery
 * answers) and the lookup client (answers received). Domains are Linux address families.
 */

export const AF_INET = 2;
export const AF_INET6 = 10;
export type Domain = typeof AF_INET | typeof AF_INET6;
/** A query's domain: -1 (or absent on the wire) means any family. */
export type QueryDomain = -1 | Domain;

/** One row of a position server's table. */
export interface PositionEntry {
  name: string;
  /** 2 (IPv4) or 10 (IPv6); inferred from `addr` when left out. */
  domain?: Domain;
  addr: string;
  port: number;
  /** true: the server speaks TLS. */
  security?: boolean;
}

/** What an onquery hook replies: an entry whose name may be left out (the query's name is used). */
export type PositionAnswer = Omit<PositionEntry, 'name'> & { name?: string };

/** A checked record: every field present and consistent. */
export interface CheckedRecord {
  name?: string;
  domain: Domain;
  addr: string;
  port: number;
  security: boolean;
}

export type CheckResult = { ok: true; record: CheckedRecord } | { ok: false; reason: string };

export function isDomain(value: unknown): value is Domain {
  return value === AF_INET || value === AF_INET6;
}

export function isPort(value: unknown): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value >= 1 && value <= 65535;
}

/** The family of an IP literal (zone ids such as `fe80::1%eth0` allowed), or undefined. */
export function domainOf(addr: string): Domain | undefined {
  if (isIPv4(addr)) return AF_INET;
  if (isIPv6(addr)) return AF_INET6;
  return undefined;
}

/**
 * Checks one record. `requireName` for table entries; answers may leave the name out.
 * A missing domain is inferred from the address; a given one must agree with it.
 */
export function checkRecord(value: unknown, requireName: boolean): CheckResult {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    return { ok: false, reason: 'not an object' };
  }
  const v = value as Record<string, unknown>;
  if (v.name !== undefined || requireName) {
    if (typeof v.name !== 'string' || v.name.length === 0)
      return { ok: false, reason: 'name must be a non-empty string' };
  }
  if (typeof v.addr !== 'string' || isIP(v.addr) === 0)
    return { ok: false, reason: 'addr must be an IP address' };
  if (!isPort(v.port)) return { ok: false, reason: 'port must be an integer 1-65535' };
  const family = domainOf(v.addr)!;
  if (v.domain !== undefined && v.domain !== family) {
    return { ok: false, reason: `domain must be ${family} for addr ${v.addr}` };
  }
  if (v.security !== undefined && typeof v.security !== 'boolean') {
    return { ok: false, reason: 'security must be a boolean' };
  }
  const record: CheckedRecord = { domain: family, addr: v.addr, port: v.port, security: v.security === true };
  if (typeof v.name === 'string') record.name = v.name;
  return { ok: true, record };
}

/** The answer datagram, compact and in a fixed key order. */
export function encodeAnswer(name: string, r: CheckedRecord): Buffer {
  return Buffer.from(
    JSON.stringify({ name, domain: r.domain, addr: r.addr, port: r.port, security: r.security }),
    'utf8',
  );
}

/** The answer for an unknown name. */
export const MISS = Buffer.from('{}', 'utf8');
