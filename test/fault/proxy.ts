import dgram from 'node:dgram';
import net from 'node:net';
import { Pipe, type PipeFaults } from './pipe.js';
import { rewriteServInfoTunid, seededRandom } from './wire.js';

/**
 * A user-space fault proxy in front of a VSOA server (this kernel has no netem). TCP: added
 * latency and jitter (order kept, as TCP keeps it), bandwidth limits, stalls, half-open links
 * (bytes vanish, nothing closes), RST part-way through a frame, partitions. UDP (the quick
 * channel): loss, duplication, latency, partitions.
 *
 * The quick channel is relayed too: the proxy rewrites the tunid of the client's SERVINFO to a
 * UDP port of its own per connection, so the server sees (and accepts) quick traffic from the
 * proxy, and the client sees quick traffic from the address and port it connected to.
 */

export interface FaultSettings extends PipeFaults {
  /** UDP: share of datagrams dropped (0..1). */
  udpLoss: number;
  /** UDP: share of datagrams sent twice (0..1). */
  udpDuplicate: number;
  /** Everything is held (TCP) or dropped (UDP), as when a cable is pulled; new connections hang. */
  partitioned: boolean;
}

const NO_FAULTS: FaultSettings = {
  latencyMs: 0,
  jitterMs: 0,
  bytesPerSecond: 0,
  stalled: false,
  blackhole: false,
  udpLoss: 0,
  udpDuplicate: 0,
  partitioned: false,
};

interface Link {
  client: net.Socket;
  server: net.Socket;
  up: Pipe;
  down: Pipe;
  /** The client's own quick port (from its SERVINFO), and the relay socket towards the server. */
  clientQuickPort: number;
  relay: dgram.Socket;
}

export interface ProxyStats {
  connections: number;
  udpForwarded: number;
  udpDropped: number;
  udpDuplicated: number;
}

export class FaultProxy {
  readonly stats: ProxyStats = { connections: 0, udpForwarded: 0, udpDropped: 0, udpDuplicated: 0 };
  private settings: FaultSettings = { ...NO_FAULTS };
  private readonly links = new Set<Link>();
  private readonly random: () => number;
  private closed = false;

  private constructor(
    private readonly listener: net.Server,
    private readonly udp: dgram.Socket,
    readonly port: number,
    private readonly target: { host: string; port: number },
    seed: number,
  ) {
    this.random = seededRandom(seed);
    listener.on('connection', (socket) => this.accept(socket));
    udp.on('message', (msg, from) => this.fromClientQuick(msg, from));
  }

  /** Listens on 127.0.0.1, TCP and UDP on one port, forwarding to `target`. */
  static async start(target: { host?: string; port: number }, seed = 1): Promise<FaultProxy> {
    for (let attempt = 0; ; attempt++) {
      const listener = net.createServer({ noDelay: true });
      await new Promise<void>((resolve, reject) => {
        listener.once('error', reject);
        listener.listen(0, '127.0.0.1', () => resolve());
      });
      const { port } = listener.address() as net.AddressInfo;
      const udp = dgram.createSocket('udp4');
      const bound = await new Promise<boolean>((resolve) => {
        udp.once('error', () => resolve(false));
        udp.bind(port, '127.0.0.1', () => resolve(true));
      });
      if (bound)
        return new FaultProxy(listener, udp, port, { host: target.host ?? '127.0.0.1', ...target }, seed);
      udp.close();
      await new Promise<void>((resolve) => listener.close(() => resolve()));
      if (attempt > 20) throw new Error('no port free for both TCP and UDP');
    }
  }

  get url(): string {
    return `vsoa://127.0.0.1:${this.port}`;
  }

  /** Live TCP links through the proxy. */
  get linkCount(): number {
    return this.links.size;
  }

  /** Changes faults now, for every link, present and future. */
  set(faults: Partial<FaultSettings>): void {
    this.settings = { ...this.settings, ...faults };
    for (const link of this.links) this.applyTo(link);
  }

  /** Back to a clean network: held bytes flow again. */
  heal(): void {
    this.set({ ...NO_FAULTS });
  }

  /** Resets every link (RST to both sides) once `afterBytes` more bytes went server → client. */
  resetAfter(afterBytes: number): void {
    for (const link of this.links) {
      link.down.onForwarded(afterBytes, () => {
        link.client.resetAndDestroy();
        link.server.resetAndDestroy();
      });
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const link of this.links) this.drop(link);
    this.udp.close();
    await new Promise<void>((resolve) => this.listener.close(() => resolve()));
  }

  private applyTo(link: Link): void {
    const { partitioned } = this.settings;
    const faults: PipeFaults = { ...this.settings, stalled: this.settings.stalled || partitioned };
    link.up.setFaults(faults);
    link.down.setFaults(faults);
  }

  private accept(client: net.Socket): void {
    this.stats.connections++;
    client.setNoDelay(true);
    const server = net.connect({ host: this.target.host, port: this.target.port, noDelay: true });
    const relay = dgram.createSocket('udp4');
    const link: Link = {
      client,
      server,
      clientQuickPort: 0,
      relay,
      up: new Pipe(client, server, this.random),
      down: new Pipe(server, client, this.random),
    };
    relay.bind(0, '127.0.0.1', () => {
      if (!this.links.has(link)) return;
      // The first bytes from the client are its SERVINFO: its quick port becomes the relay's.
      link.up.transformFirst(20, (head) => {
        const rewritten = rewriteServInfoTunid(head, relay.address().port);
        if (rewritten) link.clientQuickPort = rewritten.clientPort;
        return head;
      });
      link.up.start();
      link.down.start();
    });
    relay.on('message', (msg) =>
      this.quick(msg, (m) => {
        if (this.links.has(link)) this.udp.send(m, link.clientQuickPort, '127.0.0.1');
      }),
    );
    relay.on('error', () => {});
    this.links.add(link);
    this.applyTo(link);
    const end = (): void => this.drop(link);
    client.on('close', end);
    server.on('close', end);
    client.on('error', () => {});
    server.on('error', () => {});
  }

  private drop(link: Link): void {
    if (!this.links.delete(link)) return;
    link.up.stop();
    link.down.stop();
    if (link.client.destroyed === false) link.client.destroy();
    if (link.server.destroyed === false) link.server.destroy();
    link.relay.close();
  }

  private fromClientQuick(msg: Buffer, from: dgram.RemoteInfo): void {
    for (const link of this.links) {
      if (link.clientQuickPort === from.port) {
        this.quick(msg, (m) => {
          if (this.links.has(link)) link.relay.send(m, this.target.port, this.target.host);
        });
        return;
      }
    }
    this.stats.udpDropped++;
  }

  /** One datagram through the UDP faults: dropped, delayed, or sent (perhaps twice). */
  private quick(msg: Buffer, send: (msg: Buffer) => void): void {
    const { udpLoss, udpDuplicate, partitioned, latencyMs, jitterMs } = this.settings;
    if (partitioned || this.random() < udpLoss) {
      this.stats.udpDropped++;
      return;
    }
    const copies = this.random() < udpDuplicate ? 2 : 1;
    if (copies === 2) this.stats.udpDuplicated++;
    const copy = Buffer.from(msg); // the socket reuses nothing, but a delayed send must own its bytes
    const deliver = (): void => {
      if (this.closed) return;
      for (let i = 0; i < copies; i++) {
        this.stats.udpForwarded++;
        send(copy);
      }
    };
    const delay = latencyMs + jitterMs * this.random();
    if (delay > 0) setTimeout(deliver, delay);
    else deliver();
  }
}
