import { Status } from '../protocol/constants.js';
import { statusName } from '../protocol/names.js';

/** What a non-zero reply status usually means, for the one-line messages. */
const STATUS_HINTS: Readonly<Record<number, string>> = {
  [Status.PASSWORD]: 'wrong password',
  [Status.ARGUMENTS]: 'the server refused the arguments',
  [Status.INVALID_URL]: 'no such command',
  [Status.NO_RESPONDING]: 'the server did not answer in time',
  [Status.NO_PERMISSIONS]: 'not allowed',
  [Status.NO_MEMORY]: 'the server is out of memory',
};

/** `status 3 INVALID_URL` */
export function statusLabel(status: number): string {
  return `status ${status} ${statusName(status)}`;
}

/** `status 3 INVALID_URL: no such command` */
export function explainStatus(status: number): string {
  const hint = STATUS_HINTS[status];
  return hint ? `${statusLabel(status)}: ${hint}` : statusLabel(status);
}
