/** Names for the wire's numeric codes, for messages and logs (`status 3 INVALID_URL`). */
import { ConnectCode, Status } from './constants.js';

function invert(map: Readonly<Record<string, number>>): ReadonlyMap<number, string> {
  return new Map(Object.entries(map).map(([name, n]) => [n, name]));
}

const STATUS_NAMES = invert(Status);
const CONNECT_CODE_NAMES = invert(ConnectCode);

/** `statusName(3)` is `'INVALID_URL'`; a code the protocol does not define gives `'STATUS_<n>'`. */
export function statusName(status: number): string {
  return STATUS_NAMES.get(status) ?? `STATUS_${status}`;
}

/** `connectCodeName(6)` is `'INVALID_PASSWD'`; an unknown code gives `'CODE_<n>'`. */
export function connectCodeName(code: number): string {
  return CONNECT_CODE_NAMES.get(code) ?? `CODE_${code}`;
}
