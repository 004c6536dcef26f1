import { isUtf8 } from 'node:buffer';
import type { WireParam } from './encode.js';

/** What an application sends or receives: a JSON param (or raw bytes) and opaque data. */
export interface Payload {
  param?: unknown;
  data?: Uint8Array;
}

/** A received payload: data is a Buffer; absent fields were empty on the wire. */
export interface ReceivedPayload {
  param?: unknown;
  data?: Buffer;
}

/**
 * Turns an application param into wire form: bytes go as they are, everything else is
 * JSON text. `undefined` and `null` mean "no param", as the seed's None does.
 */
export function toWireParam(param: unknown, name = 'payload.param'): WireParam {
  if (param === undefined || param === null) return undefined;
  if (param instanceof Uint8Array) return param.byteLength === 0 ? undefined : param;
  // Any other binary form is bytes too, never JSON of its indices.
  if (param instanceof ArrayBuffer) return param.byteLength === 0 ? undefined : new Uint8Array(param);
  if (ArrayBuffer.isView(param)) {
    return param.byteLength === 0
      ? undefined
      : new Uint8Array(param.buffer, param.byteOffset, param.byteLength);
  }
  let json: string | undefined;
  try {
    json = JSON.stringify(param);
  } catch (err) {
    // BigInt and cycles throw from JSON.stringify without saying which argument was bad.
    throw new TypeError(`${name} cannot be sent as JSON: ${(err as Error).message}`);
  }
  if (json === undefined) throw new TypeError(`${name} of type ${typeof param} cannot be sent as JSON`);
  return json;
}

/** Checks a payload argument from an application; returns its param and data in wire form. */
export function checkPayload(
  payload: unknown,
  name = 'payload',
): { param: WireParam; data: Uint8Array | undefined } {
  if (payload === undefined || payload === null) return { param: undefined, data: undefined };
  if (typeof payload !== 'object') throw new TypeError(`${name} must be an object { param?, data? }`);
  const { param, data } = payload as Payload;
  if (data !== undefined && data !== null && !(data instanceof Uint8Array)) {
    throw new TypeError(`${name}.data must be a Buffer or Uint8Array`);
  }
  const bytes = data === null || data === undefined || data.byteLength === 0 ? undefined : data;
  return { param: toWireParam(param, `${name}.param`), data: bytes };
}

/**
 * Reads a received param: parsed JSON unless `raw`; text that is not valid JSON (or not
 * UTF-8, which JSON text must be) is handed over as bytes.
 */
export function fromWireParam(bytes: Buffer | undefined, raw: boolean): unknown {
  if (bytes === undefined || raw || !isUtf8(bytes)) return bytes;
  try {
    return JSON.parse(bytes.toString('utf8'));
  } catch {
    return bytes;
  }
}

/** Builds the received payload object, leaving empty fields absent. */
export function receivedPayload(
  param: Buffer | undefined,
  data: Buffer | undefined,
  raw: boolean,
): ReceivedPayload {
  const payload: ReceivedPayload = {};
  if (param !== undefined) payload.param = fromWireParam(param, raw);
  if (data !== undefined) payload.data = data;
  return payload;
}
