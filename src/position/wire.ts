import { type CheckedRecord, checkRecord, isDomain, type QueryDomain } from './entry.js';

/**
 * The position datagrams: JSON text, not VSOA framed. Query `{"name":"x"}` or
 * `{"name":"x","domain":2}`; answer a record or `{}` for a miss.
 */

/** Queries longer than this are dropped unread: a name is short and JSON.parse is not free. */
export const MAX_QUERY_BYTES = 1024;

/** The query datagram, as the node client writes it: the domain is left out when it is -1 (any). */
export function encodeQuery(name: string, domain: QueryDomain): Buffer {
  return Buffer.from(JSON.stringify(domain === -1 ? { name } : { name, domain }), 'utf8');
}

export interface ParsedQuery {
  name: string;
  /** -1 when absent, null or -1 on the wire; a domain we do not serve is kept so it can miss. */
  domain: number;
}

/** A received query, or the reason it is dropped. */
export function parseQuery(buf: Buffer): ParsedQuery | string {
  if (buf.length > MAX_QUERY_BYTES) return `query too large (${buf.length} bytes)`;
  let v: unknown;
  try {
    v = JSON.parse(buf.toString('utf8'));
  } catch {
    return 'query is not JSON';
  }
  if (v === null || typeof v !== 'object' || Array.isArray(v)) return 'query is not a JSON object';
  const { name, domain } = v as Record<string, unknown>;
  if (typeof name !== 'string' || name.length === 0) return 'query name is missing or not a string';
  if (domain === undefined || domain === null) return { name, domain: -1 };
  if (typeof domain !== 'number' || !Number.isInteger(domain)) return 'query domain is not an integer';
  return { name, domain };
}

export type ParsedAnswer =
  | { kind: 'hit'; record: CheckedRecord }
  | { kind: 'miss' }
  | { kind: 'invalid'; reason: string };

/**
 * An answer received by the lookup client. Empty, `{}`, or an object with neither addr nor
 * port is a miss (the node client treats an empty datagram the same way). A hit must be a
 * valid record of the family asked for.
 */
export function parseAnswer(buf: Buffer, asked: QueryDomain): ParsedAnswer {
  if (buf.length === 0) return { kind: 'miss' };
  let v: unknown;
  try {
    v = JSON.parse(buf.toString('utf8'));
  } catch {
    return { kind: 'invalid', reason: 'answer is not JSON' };
  }
  if (v === null || typeof v !== 'object' || Array.isArray(v)) {
    return { kind: 'invalid', reason: 'answer is not a JSON object' };
  }
  const o = v as Record<string, unknown>;
  if (o.addr === undefined && o.port === undefined) return { kind: 'miss' };
  const checked = checkRecord(o, false);
  if (!checked.ok) return { kind: 'invalid', reason: checked.reason };
  if (isDomain(asked) && checked.record.domain !== asked) {
    return { kind: 'invalid', reason: `answer domain ${checked.record.domain}, asked ${asked}` };
  }
  return { kind: 'hit', record: checked.record };
}
