import type { ReceivedPayload } from '../protocol/payload.js';

/** A payload as JSON-friendly data: param as parsed JSON (or hex), data as hex. */
export function payloadJson(payload: ReceivedPayload | null): { param?: unknown; data?: string } {
  const out: { param?: unknown; data?: string } = {};
  if (!payload) return out;
  if (payload.param !== undefined) {
    out.param = Buffer.isBuffer(payload.param) ? { hex: payload.param.toString('hex') } : payload.param;
  }
  if (payload.data !== undefined) out.data = payload.data.toString('hex');
  return out;
}

/** One human line for a payload. */
export function payloadText(payload: ReceivedPayload | null): string {
  const parts: string[] = [];
  const json = payloadJson(payload);
  if (json.param !== undefined) parts.push(`param=${JSON.stringify(json.param)}`);
  if (payload?.data !== undefined) {
    const data = payload.data;
    parts.push(`data=${data.length} B${data.length <= 32 ? ` ${data.toString('hex')}` : ''}`);
  }
  return parts.length ? parts.join(' ') : '(empty)';
}

/** `addr:port`, an IPv6 address in brackets. */
export function hostPort(addr: string, port: number): string {
  return `${addr.includes(':') ? `[${addr}]` : addr}:${port}`;
}
