import type { WireParam } from '../protocol/index.js';
import type { FrameConnection } from '../transport/frame-connection.js';

/**
 * What a RemoteClient (the application's handle) asks of its session. The session owns all
 * of a peer's state; RemoteClient only checks the application's arguments and delegates.
 */
export interface PeerSession {
  readonly id: number;
  readonly conn: FrameConnection;
  /** The peer's address (IPv4-mapped IPv6 normalised) and port. */
  readonly remoteAddr: string;
  readonly remotePort: number;
  /** Whether the client receives publishes (the seed's `cli.authed`, set by the application too). */
  authed: boolean;
  readonly priority: number;
  setPriority(priority: number): void;
  isSubscribed(url: string): boolean;
  reply(
    seqno: number,
    status: number,
    tunid: number,
    param: WireParam,
    data: Uint8Array | undefined,
  ): boolean;
  datagram(url: string, param: WireParam, data: Uint8Array | undefined, quick: boolean): boolean;
}
