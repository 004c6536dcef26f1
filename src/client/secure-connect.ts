import net from 'node:net';
import tls from 'node:tls';
import { ConnectCode } from '../protocol/index.js';
import type { ClientTls } from '../transport/tls-options.js';
import { isTlsFailure } from '../transport/tls-options.js';

/**
 * The client's TCP or TLS connection attempt, and the connect code of its failures. Under TLS
 * these are SSL_HS_FAILED: anything that goes wrong after TCP connected and before the
 * handshake is done; any TLS alert; and the server closing before it sent a single byte. With
 * TLS 1.3 a server judges the client's certificate only after the client has finished its
 * side, then sends an alert (no certificate) or just closes (Node: a certificate that does
 * not verify).
 */
export class ConnectAttempt {
  readonly socket: net.Socket;
  /** 'connect' for TCP, 'secureConnect' once the TLS handshake is done. */
  readonly readyEvent: 'connect' | 'secureConnect';
  private tcpUp = false;
  private secured = false;
  private heard = false;

  constructor(
    host: string,
    port: number,
    private readonly secure: ClientTls | undefined,
  ) {
    this.socket = secure
      ? tls.connect({ ...secure.options, host, port })
      : net.connect({ host, port, noDelay: true });
    this.readyEvent = secure ? 'secureConnect' : 'connect';
    this.socket.once('connect', () => {
      this.tcpUp = true;
    });
    if (secure) {
      this.socket.once('secureConnect', () => {
        this.secured = true;
      });
      this.socket.once('data', () => {
        this.heard = true;
      });
    }
  }

  /** The code for an error (or, without one, a close) while connecting; undefined: not a TLS matter. */
  tlsFailureCode(error: Error | undefined): ConnectCode | undefined {
    if (!this.secure || !this.tcpUp) return undefined;
    if (!this.secured || isTlsFailure(error)) return ConnectCode.SSL_HS_FAILED;
    const code = (error as NodeJS.ErrnoException | undefined)?.code;
    if (!this.heard && (error === undefined || code === 'ECONNRESET' || code === 'EPIPE')) {
      return ConnectCode.SSL_HS_FAILED;
    }
    return undefined;
  }
}
