/** VSOA wire constants (see shared PROTOCOL.md). Pure data: no I/O, no dependencies. */

/** First header byte: magic 0x9 in the low nibble, version 2 in the high nibble. */
export const MAGIC_VERSION = 0x29;

export const HEADER_LENGTH = 20;
/** Largest packet on the normal (TCP/TLS) channel, header and pad included. */
export const MAX_PACKET_LENGTH = 262_144;
/** Largest packet on the quick (UDP) channel: one datagram. Padded packets top out at 65504. */
export const MAX_QPACKET_LENGTH = 65_507;
/** URL length is a 16-bit field. */
export const MAX_URL_LENGTH = 0xffff;

export const Type = {
  SERVINFO: 0x00,
  RPC: 0x01,
  SUBSCRIBE: 0x02,
  UNSUBSCRIBE: 0x03,
  PUBLISH: 0x04,
  DATAGRAM: 0x05,
  QOSSETUP: 0x06,
  NOOP: 0xfe,
  PINGECHO: 0xff,
} as const;
export type Type = (typeof Type)[keyof typeof Type];

export const Flag = {
  REPLY: 0x01,
  TUNNEL: 0x02,
  SET: 0x04,
} as const;
/** The low six bits carry flags; the top two carry the pad count. */
export const FLAGS_MASK = 0x3f;

export const Status = {
  SUCCESS: 0,
  PASSWORD: 1,
  ARGUMENTS: 2,
  INVALID_URL: 3,
  NO_RESPONDING: 4,
  NO_PERMISSIONS: 5,
  NO_MEMORY: 6,
} as const;
export type Status = (typeof Status)[keyof typeof Status];

export const Method = {
  GET: 0,
  SET: 1,
} as const;
export type Method = (typeof Method)[keyof typeof Method];

/** The seed's client connect codes. */
export const ConnectCode = {
  OK: 0,
  ERROR: 1,
  UNREACHABLE: 2,
  SERVER_NOT_FOUND: 3,
  SERVER_NO_RESPONDING: 4,
  INVALID_RESPONDING: 5,
  INVALID_PASSWD: 6,
  SSL_HS_FAILED: 7,
} as const;
export type ConnectCode = (typeof ConnectCode)[keyof typeof ConnectCode];

/** Pad bytes that make a packet a multiple of 4 long. */
export function padLength(unpadded: number): number {
  return (4 - (unpadded & 3)) & 3;
}
