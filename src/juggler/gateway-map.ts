import { isUtf8 } from 'node:buffer';
import { type Client, ErrorCode, type FetchResult, Method, Status, VsoaError } from '../index.js';
import { JugglerError } from './errors.js';
import type { JsonValue } from './json.js';

/*
 * The fixed mapping between juggler requests and VSOA (README "In the browser"): "/url" and
 * "GET /url" → RPC GET, "SET /url" → RPC SET, "DATAGRAM /url" → datagram. Success data is
 * { param, data? } (data: base64 of the reply's bytes); failures are { status, error, param }
 * for a status ≠ 0, { error: "NOT_CONNECTED" | "TIMEOUT" } when no reply can come.
 */

const STATUS_NAMES = new Map<number, string>(Object.entries(Status).map(([name, code]) => [code, name]));

export function statusName(status: number): string {
  return STATUS_NAMES.get(status) ?? `STATUS_${status}`;
}

/** A received VSOA param as JSON: parsed JSON as is; other bytes as UTF-8 text, else base64. */
export function paramJson(param: unknown): JsonValue {
  if (param === undefined) return null;
  if (Buffer.isBuffer(param)) return isUtf8(param) ? param.toString('utf8') : param.toString('base64');
  return param as JsonValue;
}

/** { param, data? } of a received payload. */
export function payloadJson(payload: { param?: unknown; data?: Buffer } | null | undefined): {
  param: JsonValue;
  data?: string;
} {
  const out: { param: JsonValue; data?: string } = { param: paramJson(payload?.param) };
  if (payload?.data && payload.data.length > 0) out.data = payload.data.toString('base64');
  return out;
}

type Parsed = { kind: 'rpc'; method: Method; url: string } | { kind: 'datagram'; url: string };

export function parseRequestName(name: string): Parsed | null {
  const match = /^(?:(GET|SET|DATAGRAM) )?(\/\S*)$/.exec(name);
  if (!match) return null;
  const verb = match[1] ?? 'GET';
  const url = match[2] as string;
  if (verb === 'DATAGRAM') return { kind: 'datagram', url };
  return { kind: 'rpc', method: verb === 'SET' ? Method.SET : Method.GET, url };
}

function fail(data: JsonValue): never {
  throw new JugglerError(data);
}

/** Answers one juggler request through the VSOA client; throws JugglerError for a failure. */
export async function vsoaRequest(
  client: Client,
  name: string,
  data: JsonValue,
  timeout: number,
): Promise<JsonValue> {
  const parsed = parseRequestName(name);
  if (!parsed)
    fail({
      error: 'INVALID_REQUEST',
      message: 'name must be "/url", "GET /url", "SET /url" or "DATAGRAM /url"',
    });
  if (!client.connected) fail({ error: 'NOT_CONNECTED' });
  const payload = data === null ? undefined : { param: data };
  if (parsed.kind === 'datagram') {
    let sent: boolean;
    try {
      sent = client.datagram(parsed.url, payload);
    } catch (error) {
      fail({ error: 'INVALID_REQUEST', message: (error as Error).message });
    }
    if (!sent) fail({ error: 'NOT_CONNECTED' });
    return {};
  }
  let result: FetchResult;
  try {
    result = await client.fetch(parsed.url, { method: parsed.method, payload, timeout });
  } catch (error) {
    if (error instanceof VsoaError) {
      if (error.code === ErrorCode.TIMEOUT) fail({ error: 'TIMEOUT' });
      if (error.code === ErrorCode.TOO_MANY_PENDING || error.code === ErrorCode.SEND_QUEUE_FULL)
        fail({ error: 'BUSY' });
      fail({ error: 'NOT_CONNECTED' });
    }
    fail({ error: 'INVALID_REQUEST', message: (error as Error).message });
  }
  const reply = payloadJson(result.payload);
  const status = result.header.status;
  if (status === Status.SUCCESS) return reply;
  fail({ status, error: statusName(status), param: reply.param });
}
