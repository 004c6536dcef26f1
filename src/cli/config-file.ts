import { readFileSync } from 'node:fs';
import { UsageError } from './errors.js';

/*
 * The config files of the service verbs (robot, gateway, bridge, record): one JSON object whose
 * keys are all known. Every mistake is a UsageError (exit 2, which the units do not restart)
 * naming the verb, the file and the key.
 */

/** The keys every service config shares: where the VSOA server is and how to reach it. */
export interface ServerConfig {
  server?: string | string[];
  passwd?: string;
  passwdFile?: string;
  tls?: unknown;
}

/** The keys of ServerConfig and of RobotServerConfig, for readConfigObject's known keys. */
export const SERVER_CONFIG_KEYS = ['server', 'passwd', 'passwdFile', 'tls'] as const;
export const ROBOT_SERVER_CONFIG_KEYS = [
  ...SERVER_CONFIG_KEYS,
  'keepalive',
  'connTimeout',
  'reconnDelay',
  'maxReconnDelay',
] as const;

/** ServerConfig plus the robot's timings (ms), for the verbs that keep a robot connection. */
export interface RobotServerConfig extends ServerConfig {
  keepalive?: number;
  connTimeout?: number;
  reconnDelay?: number;
  maxReconnDelay?: number;
}

/** Reads `path` as a JSON object; refuses unreadable files, other JSON values and unknown keys. */
export function readConfigObject(
  path: string,
  verb: string,
  known: Iterable<string>,
): Record<string, unknown> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(path, 'utf8'));
  } catch (error) {
    throw new UsageError(`cannot read ${verb} config ${path}: ${(error as Error).message}`);
  }
  if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new UsageError(`${verb} config ${path} must be a JSON object`);
  }
  const keys = new Set(known);
  for (const key of Object.keys(parsed)) {
    if (!keys.has(key)) throw new UsageError(`${verb} config ${path}: unknown key "${key}"`);
  }
  return parsed as Record<string, unknown>;
}

export function isStringList(value: unknown): value is string[] {
  return Array.isArray(value) && value.every((s) => typeof s === 'string');
}

/** `"server"`: a url or a list of urls (failover), when present. */
export function checkServerKey(config: Record<string, unknown>, verb: string, path: string): void {
  const server = config.server;
  if (server !== undefined && typeof server !== 'string' && !isStringList(server)) {
    throw new UsageError(`${verb} config ${path}: "server" must be a url or a list of urls`);
  }
}

/** Sets the optional settings that were given; the others stay absent (the library's defaults apply). */
export function assignDefined<T extends object>(target: T, values: Partial<T>): void {
  for (const [key, value] of Object.entries(values)) {
    if (value !== undefined) Object.assign(target, { [key]: value });
  }
}
