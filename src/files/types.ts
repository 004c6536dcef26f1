import type { Duplex } from 'node:stream';

/**
 * What file transfer needs of a server and a client: structural, so this room depends on the
 * public surface only (and Server/Client can offer it as methods without an import cycle).
 */

export interface FileRequest {
  url: string;
  seqno: number;
  method: number;
}

export interface FileReplier {
  reply(
    seqno: number,
    payload?: { param?: unknown; data?: Uint8Array } | null,
    status?: number,
    tunid?: number,
  ): boolean;
  address(): { addr: string; port: number };
}

export interface FileStream extends Duplex {
  readonly tunid: number;
  sendTimeout(ms: number): void;
}

export interface FileHost {
  command(
    url: string,
    handler: (cli: FileReplier, request: FileRequest, payload: { param?: unknown }) => unknown,
  ): unknown;
  removeCommand(url: string): boolean;
  createStream(
    onlink: (stream: FileStream, connected: boolean) => void,
    ondata?: undefined,
    timeout?: number,
  ): FileStream;
}

export interface FileClient {
  readonly connected: boolean;
  fetch(
    url: string,
    options?: { method?: 'GET' | 'SET'; payload?: { param?: unknown } | null; timeout?: number },
  ): Promise<{ header: { status: number; tunid: number }; payload: { param?: unknown } }>;
  createStream(
    tunid: number,
    onlink: (stream: FileStream, connected: boolean) => void,
    ondata?: undefined,
    timeout?: number,
  ): FileStream;
  robotStats(): unknown;
  once(event: 'connect', listener: () => void): unknown;
  off(event: 'connect', listener: () => void): unknown;
}

/** Where log lines go: the server's own logger (pino-shaped). */
export interface FilesLogger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  debug(obj: object, msg: string): void;
}

/**
 * What GET answers for a file. `sha256` is absent only when the client asked `{ trailer: true }`
 * and the server had not hashed this version yet: then `trailer` is true and the sha256 follows
 * the last byte on the stream as one line `{"sha256":"<hex>"}\n`.
 */
export interface FileInfo {
  size: number;
  sha256?: string;
  trailer?: boolean;
  /** ms since the epoch. */
  mtime: number;
  mode: number;
  /** Where the stream starts (the GET's `offset`). */
  offset: number;
}

export interface DirEntry {
  name: string;
  type: 'file' | 'dir';
  size: number;
  mtime: number;
}

/**
 * Reply statuses. 2, 3, 5 are the protocol's own (ARGUMENTS, INVALID_URL, NO_PERMISSIONS);
 * 128 and up are this service's (the protocol leaves 128–255 to applications). Every refusal
 * also carries `{ error: "<what>" }` as its param.
 */
export const FileStatus = {
  OK: 0,
  /** `..`, an absolute or empty path, a name over 255 bytes, a bad param. */
  BAD_PATH: 2,
  NOT_FOUND: 3,
  /** Outside the root (a symlink), a special file, a write to a read-only service. */
  NOT_ALLOWED: 5,
  BUSY: 128,
  TOO_LARGE: 129,
  IO_ERROR: 130,
} as const;
export type FileStatus = (typeof FileStatus)[keyof typeof FileStatus];

export function fileStatusName(status: number): string {
  for (const [name, value] of Object.entries(FileStatus)) if (value === status) return name;
  return `status ${status}`;
}

/** A transfer that failed: `status` is the server's FileStatus (or IO_ERROR for a local failure). */
export class FileTransferError extends Error {
  override readonly name = 'FileTransferError';
  constructor(
    readonly status: number,
    message: string,
    /** Bytes already in the local partial file (a retry resumes from there). */
    readonly received = 0,
  ) {
    super(message);
  }
}

export interface Progress {
  bytes: number;
  total: number;
}
