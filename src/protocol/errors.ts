import type { ConnectCode } from './constants.js';

/** Why a byte stream or datagram is not valid VSOA. The peer is broken; close its connection. */
export type ProtocolErrorCode = 'BAD_MAGIC' | 'TOO_LARGE' | 'BAD_PAD' | 'TRUNCATED';

export class ProtocolError extends Error {
  override readonly name = 'ProtocolError';
  constructor(
    readonly code: ProtocolErrorCode,
    message: string,
  ) {
    super(message);
  }
}

/**
 * Stable string codes of every VsoaError (Node's convention: `err.code` is a string that
 * applications may switch on; messages may change, codes do not).
 */
export const ErrorCode = {
  /** A connect failed; `connectCode` says how (the seed's ConnectCode). */
  CONNECT: 'ERR_VSOA_CONNECT',
  /** No reply within the request's own timeout. */
  TIMEOUT: 'ERR_VSOA_TIMEOUT',
  /** The request could not be sent or answered: there is no (longer a) connection. */
  NOT_CONNECTED: 'ERR_VSOA_NOT_CONNECTED',
  /** Too many requests wait for replies on this connection. */
  TOO_MANY_PENDING: 'ERR_VSOA_TOO_MANY_PENDING',
  /** No queued write completed within the send timeout: the peer stopped reading. */
  SEND_TIMEOUT: 'ERR_VSOA_SEND_TIMEOUT',
  /** The send queue towards the peer is full. */
  SEND_QUEUE_FULL: 'ERR_VSOA_SEND_QUEUE_FULL',
  /** The peer sent bytes that are not VSOA (bad magic, bad length, ...). */
  PROTOCOL: 'ERR_VSOA_PROTOCOL',
  /** A frame stalled part-way for longer than the frame timeout. */
  FRAME_TIMEOUT: 'ERR_VSOA_FRAME_TIMEOUT',
  /** The peer closed the connection (FIN or RST). */
  PEER_CLOSED: 'ERR_VSOA_PEER_CLOSED',
  /** This side closed it (close(), disconnect(), server shutdown). */
  LOCAL_CLOSE: 'ERR_VSOA_LOCAL_CLOSE',
  /** A socket error ended the connection; `cause` is the system error. */
  SOCKET: 'ERR_VSOA_SOCKET',
  /** No handshake within the handshake timeout. */
  HANDSHAKE_TIMEOUT: 'ERR_VSOA_HANDSHAKE_TIMEOUT',
  /** Wrong or missing password. */
  AUTH: 'ERR_VSOA_AUTH',
  /** The robot saw too many lost pings and reset the link. */
  PING_LOST: 'ERR_VSOA_PING_LOST',
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

export interface VsoaErrorOptions {
  cause?: unknown;
  /** For ERR_VSOA_CONNECT: the seed's connect code. */
  connectCode?: ConnectCode;
}

/**
 * The library's one error type for conditions a caller must handle. `code` is a stable string
 * (ErrorCode); connect failures also carry the seed's numeric `connectCode`. Close reasons
 * (onclient/onconnect/'disconnect') are VsoaErrors too.
 */
export class VsoaError extends Error {
  override readonly name = 'VsoaError';
  readonly code: ErrorCode;
  readonly connectCode: ConnectCode | undefined;
  constructor(code: ErrorCode, message: string, options: VsoaErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.connectCode = options.connectCode;
  }
}

/** A connect failure with its seed ConnectCode. */
export function connectError(connectCode: ConnectCode, message: string, cause?: unknown): VsoaError {
  return new VsoaError(ErrorCode.CONNECT, message, { connectCode, cause });
}
