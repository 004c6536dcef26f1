import type { UpMessage } from './message.js';

/*
 * The fixed mapping between VSOA and MQTT topics and payloads (cloud code depends on it; see
 * the README's Fleet section). Pure functions, no I/O.
 */

export const CONTENT_JSON = 'application/json';
export const CONTENT_BYTES = 'application/octet-stream';
export const PROP_PARAM = 'vsoa-param';
export const PROP_METHOD = 'vsoa-method';
export const PROP_STATUS = 'vsoa-status';
export const PROP_ERROR = 'vsoa-error';
/** A human-readable reason next to vsoa-error, for errors the bridge itself found. */
export const PROP_REASON = 'vsoa-reason';

/** The payload of a publish that carried neither param nor data: JSON null (never empty: an
 * empty retained message would delete the retained value). */
const JSON_NULL = Buffer.from('null');

export interface MqttPublish {
  topic: string;
  payload: Buffer;
  contentType: string;
  userProperties?: Record<string, string>;
}

/** The topics of one bridge, all under its prefix. */
export interface Topics {
  prefix: string;
  rpc: string;
  dgram: string;
  status: string;
  stats: string;
}

export function topicsFor(prefix: string): Topics {
  return {
    prefix,
    rpc: `${prefix}/$rpc`,
    dgram: `${prefix}/$dgram`,
    status: `${prefix}/$status`,
    stats: `${prefix}/$stats`,
  };
}

/** Whether a string may be part of a topic name (no wildcards, no NUL). */
export function topicSafe(s: string): boolean {
  return !s.includes('+') && !s.includes('#') && !s.includes('\0');
}

/** A prefix is a topic name without wildcards, not ending with '/' and not starting with '$'. */
export function checkPrefix(prefix: unknown): string {
  if (typeof prefix !== 'string' || prefix.length === 0)
    throw new TypeError('prefix must be a non-empty string');
  if (!topicSafe(prefix) || prefix.endsWith('/') || prefix.startsWith('$')) {
    throw new RangeError(
      `prefix ${JSON.stringify(prefix)} must be a topic without + # NUL, a leading $ or a trailing /`,
    );
  }
  return prefix;
}

/** Up: a VSOA publish on `url` → the MQTT publish; undefined when the url cannot be a topic. */
export function upPublish(prefix: string, m: UpMessage): MqttPublish | undefined {
  if (!topicSafe(m.url)) return undefined;
  const topic = prefix + m.url;
  if (m.data) {
    const out: MqttPublish = { topic, payload: m.data, contentType: CONTENT_BYTES };
    if (m.param) out.userProperties = { [PROP_PARAM]: m.param.toString('utf8') };
    return out;
  }
  return { topic, payload: m.param ?? JSON_NULL, contentType: CONTENT_JSON };
}

/** Down: the VSOA url in a topic under `base` (`<prefix>/$rpc/a/b` → `/a/b`), or undefined. */
export function downUrl(topic: string, base: string): string | undefined {
  if (!topic.startsWith(base)) return undefined;
  const url = topic.slice(base.length);
  return url.startsWith('/') ? url : undefined;
}

/** Whether `url` is under one of the allowed prefixes (`/motor/` allows `/motor/speed`). */
export function isAllowed(url: string, prefixes: readonly string[]): boolean {
  return prefixes.some((p) => url.startsWith(p));
}

/** The VSOA payload a down message carries: JSON → param; octet-stream → data (+ vsoa-param). */
export type DownPayload = { ok: true; param?: Buffer; data?: Buffer } | { ok: false; reason: string };

export function downPayload(
  payload: Buffer,
  contentType: string | undefined,
  userProperties: Record<string, string | string[]> | undefined,
): DownPayload {
  const paramProp = userProperties?.[PROP_PARAM];
  const paramText = Array.isArray(paramProp) ? paramProp[0] : paramProp;
  if (contentType === CONTENT_BYTES) {
    const out: DownPayload = { ok: true, data: payload };
    if (paramText !== undefined) {
      if (!isJson(paramText)) return { ok: false, reason: `${PROP_PARAM} is not valid JSON` };
      out.param = Buffer.from(paramText);
    }
    return out;
  }
  if (payload.length === 0) return { ok: true };
  if (!isJson(payload.toString('utf8'))) return { ok: false, reason: 'payload is not valid JSON' };
  return { ok: true, param: payload };
}

function isJson(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}

/** The first value of a user property. */
export function userProperty(
  properties: Record<string, string | string[]> | undefined,
  name: string,
): string | undefined {
  const v = properties?.[name];
  return Array.isArray(v) ? v[0] : v;
}
