import net from 'node:net';
import type { Logger } from '../util/log.js';
import { normalizeAddress } from './address.js';
import { untilBound } from './bound.js';

/** Spare listeners kept bound: enough for a burst of streams created in one tick. */
const DEFAULT_SPARES = 4;

/**
 * Listening sockets on ephemeral ports of one address, ready to hand out synchronously.
 *
 * A stream's tunid must be known as soon as createStream returns, but Node binds a listener
 * with an explicit address only on a later tick. So a few are bound ahead of time and one is
 * taken per stream (and replaced in the background). Should a burst empty the pool, `take`
 * binds the wildcard address synchronously (Node's one synchronous path) and `accepts`
 * tells which connections arrived on the server's own address.
 */
export class ListenerPool {
  private readonly spares: net.Server[] = [];
  private binding = 0;
  private closed = false;

  constructor(
    private readonly host: string,
    private readonly log: Logger,
    private readonly size = DEFAULT_SPARES,
  ) {}

  /** Binds spares until the pool is full; resolves when they are listening. */
  async fill(): Promise<void> {
    const jobs: Array<Promise<void>> = [];
    while (!this.closed && this.spares.length + this.binding < this.size) jobs.push(this.bindOne());
    await Promise.all(jobs);
  }

  /** A listening server with a known port, taken out of the pool (the caller closes it). */
  take(): net.Server {
    if (this.closed) throw new Error('listener pool is closed');
    const spare = this.spares.shift();
    void this.fill();
    if (spare) {
      spare.removeAllListeners('connection');
      return spare;
    }
    this.log.debug({ host: this.host }, 'no spare stream listener: binding the wildcard address');
    const fallback = net.createServer({ allowHalfOpen: true });
    fallback.on('error', (error) => this.log.debug({ err: error }, 'stream listener error'));
    fallback.listen({ port: 0, ipv6Only: false });
    return fallback;
  }

  /** Whether a connection that arrived with this local address belongs to the pool's host. */
  accepts(localAddress: string | undefined): boolean {
    const local = normalizeAddress(localAddress ?? '');
    if (this.host === '::') return true;
    if (this.host === '0.0.0.0') return net.isIPv4(local);
    return local === normalizeAddress(this.host);
  }

  close(): void {
    this.closed = true;
    for (const spare of this.spares.splice(0)) spare.close();
  }

  private async bindOne(): Promise<void> {
    this.binding++;
    const server = net.createServer({ allowHalfOpen: true });
    // Nobody was told this port yet: whoever connects is not a stream's peer.
    server.on('connection', (socket) => socket.destroy());
    try {
      await untilBound(server, (done) => server.listen({ port: 0, host: this.host, exclusive: true }, done));
      server.on('error', (error) => this.log.debug({ err: error }, 'stream listener error'));
      if (this.closed) server.close();
      else this.spares.push(server);
    } catch (error) {
      this.log.warn({ err: error, host: this.host }, 'cannot bind a stream listener');
    } finally {
      this.binding--;
    }
  }
}
