import tls from 'node:tls';
import type { Logger } from '../util/log.js';
import type { ServerTls } from './tls-options.js';
import { logHandshakeFailure } from './tls-options.js';

export interface TlsServerOptions {
  /** A connection whose TLS handshake is not done within this many ms is closed. */
  handshakeTimeout: number;
  /** Keep the socket writable after the peer's FIN (streams end each direction on its own). */
  allowHalfOpen?: boolean;
  log: Logger;
}

/**
 * A tls.Server (listening or fed by `emit('connection', socket)`) that hands over only
 * sockets that passed the handshake and the verify mode. Failed handshakes are logged and
 * closed; they never reach `onSecure` and never throw.
 */
export function createTlsServer(
  settings: ServerTls,
  options: TlsServerOptions,
  onSecure: (socket: tls.TLSSocket) => void,
): tls.Server {
  const { log } = options;
  const server = tls.createServer({
    ...settings.options,
    handshakeTimeout: options.handshakeTimeout,
    allowHalfOpen: options.allowHalfOpen === true,
  });
  server.on('secureConnection', (socket: tls.TLSSocket) => {
    // 'optional': no certificate is fine, a certificate that does not verify is not.
    if (settings.verify === 'optional' && !socket.authorized && socket.getPeerCertificate()?.raw) {
      logHandshakeFailure(
        settings,
        log,
        new Error(String(socket.authorizationError ?? 'client certificate rejected')),
        socket.remoteAddress,
      );
      socket.destroy();
      return;
    }
    onSecure(socket);
  });
  server.on('tlsClientError', (error: Error, socket: tls.TLSSocket) => {
    logHandshakeFailure(settings, log, error, socket.remoteAddress);
    socket.destroy();
  });
  return server;
}
