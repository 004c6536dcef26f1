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

/** The library's one error type for conditions a caller must handle; `code` is the seed's ConnectCode. */
export class VsoaError extends Error {
  override readonly name = 'VsoaError';
  constructor(
    readonly code: ConnectCode,
    message: string,
  ) {
    super(message);
  }
}
