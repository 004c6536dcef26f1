import type dgram from 'node:dgram';
import net from 'node:net';
import type { FrameHead, Packet, WireParam } from '../protocol/index.js';
import {
  ConnectCode,
  connectError,
  ErrorCode,
  encodeFrame,
  Flag,
  receivedPayload,
  Status,
  Type,
  VsoaError,
} from '../protocol/index.js';
import { anyAddressFor, normalizeAddress } from '../transport/address.js';
import { FrameConnection } from '../transport/frame-connection.js';
import { QuickSocket } from '../transport/quick-socket.js';
import { setLinger, setPriority } from '../transport/sockopt.js';
import type { ClientTls } from '../transport/tls-options.js';
import type { Logger } from '../util/log.js';
import { PendingTable, type Settle } from './pending.js';
import { ConnectAttempt } from './secure-connect.js';

/** What a session tells its owner (the Client). */
export interface SessionHandlers {
  /** A PUBLISH or DATAGRAM from the server, once the handshake is done. */
  message(packet: Packet, quick: boolean): void;
  /** The server set this client's priority (QOSSETUP). */
  priority(priority: number): void;
  /** The connection ended (called once, handshake failures included). */
  closed(session: Session, reason: VsoaError): void;
  /** The number of RPCs waiting for replies changed. */
  rpcActivity(inFlight: number): void;
}

export interface SessionSettings {
  host: string;
  port: number;
  secure: ClientTls | undefined;
  sendTimeout: number;
  maxSendQueue: number;
  /** SO_LINGER to apply once connected; undefined leaves the system default. */
  linger: number | undefined;
  quickRecvBufferSize: number;
  quickRecvBatch: number;
  log: Logger;
}

export interface HandshakeResult {
  code: ConnectCode;
  /** The server's info (SERVINFO param), when the code is OK. */
  info?: unknown;
}

type State = 'handshake' | 'open' | 'closed';

function errnoToCode(error: NodeJS.ErrnoException): ConnectCode {
  switch (error.code) {
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
    case 'EADDRNOTAVAIL':
      return ConnectCode.UNREACHABLE;
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return ConnectCode.SERVER_NOT_FOUND;
    case 'ETIMEDOUT':
      return ConnectCode.SERVER_NO_RESPONDING;
    default:
      return ConnectCode.ERROR;
  }
}

/**
 * One connection to a server: its TCP/TLS socket and framing, the quick (UDP) socket, the
 * handshake, the requests waiting for replies, and the reason it ended. A session is used
 * once: a reconnect is a new session. The Client is a facade over the current one.
 */
export class Session {
  readonly conn: FrameConnection;
  readonly quick: QuickSocket | undefined;
  private readonly attempt: ConnectAttempt;
  private readonly pending: PendingTable;
  private readonly serverAddr: string;
  private quickPort: number;
  private state: State = 'handshake';
  private clientId: number | undefined;
  private rpcsInFlight = 0;
  /** Ends the handshake (once); set while it runs. */
  private finishHandshake: ((code: ConnectCode, info?: unknown) => void) | undefined;

  constructor(
    private readonly settings: SessionSettings,
    private readonly handlers: SessionHandlers,
  ) {
    const { host, port, secure, log } = settings;
    this.pending = new PendingTable({
      settled: (type) => {
        if (type === Type.RPC) this.rpcActivity(-1);
      },
      log,
    });
    this.attempt = new ConnectAttempt(host, port, secure);
    this.serverAddr = normalizeAddress(host);
    this.quickPort = port;
    this.conn = new FrameConnection(
      this.attempt.socket,
      (packet) => this.onPacket(packet),
      (reason) => this.onClosed(reason),
      { sendTimeout: settings.sendTimeout, maxQueuedBytes: settings.maxSendQueue, whenFull: 'refuse', log },
    );
    // No quick channel under TLS: nothing may travel in the clear.
    if (!secure) {
      const udp = QuickSocket.create(net.isIPv6(host) ? 'udp6' : 'udp4', {
        recvBufferSize: settings.quickRecvBufferSize,
        reportCap: 'received',
      });
      this.quick = new QuickSocket(
        udp,
        (packet, from) => this.onQuick(packet, from),
        log,
        settings.quickRecvBatch,
      );
    }
  }

  /** The id the server gave this client (from the SERVINFO reply). */
  get cid(): number | undefined {
    return this.clientId;
  }

  /** The handshake is done and the connection is up. */
  get connected(): boolean {
    return this.state === 'open';
  }

  get isClosed(): boolean {
    return this.state === 'closed';
  }

  /** Why the connection ended, once it has. */
  get closeReason(): VsoaError | undefined {
    return this.conn.closeReason;
  }

  /** Requests waiting for a reply. */
  get pendings(): number {
    return this.pending.size;
  }

  /**
   * Connects and shakes hands within `timeout` ms; `done` gets a ConnectCode (and the server's
   * info), synchronously with the SERVINFO reply, so that nothing the server sent after it is
   * handled before. A failed handshake closes the session.
   */
  handshake(passwd: string, timeout: number, done: (result: HandshakeResult) => void): void {
    const { socket } = this.attempt;
    const onError = (error: NodeJS.ErrnoException): void =>
      finish(this.attempt.tlsFailureCode(error) ?? errnoToCode(error));
    const timer = setTimeout(() => finish(ConnectCode.SERVER_NO_RESPONDING), timeout);
    const finish = (code: ConnectCode, info?: unknown): void => {
      if (!this.finishHandshake) return;
      this.finishHandshake = undefined;
      clearTimeout(timer);
      socket.off('error', onError);
      if (code === ConnectCode.OK) {
        this.state = 'open';
        done({ code, info });
        return;
      }
      this.settings.log.debug({ host: this.settings.host, port: this.settings.port, code }, 'connect failed');
      this.close(
        connectError(code, `connect to ${this.settings.host}:${this.settings.port} failed (code ${code})`),
      );
      done({ code });
    };
    this.finishHandshake = finish;
    socket.once('error', onError);
    socket.once(this.attempt.readyEvent, () => {
      if (this.settings.linger !== undefined) setLinger(socket, this.settings.linger);
      if (this.quick) this.quick.socket.bind(0, anyAddressFor(this.settings.host), () => this.hello(passwd));
      else this.hello(passwd);
    });
  }

  private hello(passwd: string): void {
    if (!this.finishHandshake) return;
    this.pending.add(0, Type.SERVINFO, 0, (reply) => {
      const finish = this.finishHandshake;
      if (!finish) return;
      if (!reply) return finish(this.attempt.tlsFailureCode(undefined) ?? ConnectCode.INVALID_RESPONDING);
      if (reply.status === Status.PASSWORD) return finish(ConnectCode.INVALID_PASSWD);
      if (reply.status !== Status.SUCCESS || !reply.data || reply.data.length < 4) {
        return finish(ConnectCode.INVALID_RESPONDING);
      }
      this.clientId = reply.data.readUInt32BE(0);
      // The official Node.js server appends its quick port when it differs from the TCP port.
      if (reply.data.length >= 6) this.quickPort = reply.data.readUInt16BE(4);
      finish(ConnectCode.OK, receivedPayload(reply.param, undefined, false).param);
    });
    const param = passwd ? JSON.stringify({ passwd }) : undefined;
    const quick = this.quick ? { flags: Flag.TUNNEL, tunid: this.quick.port } : {};
    this.conn.send(encodeFrame({ type: Type.SERVINFO, seqno: 0, ...quick }, param));
  }

  /** Sends a request; `settle` is called exactly once (reply, timeout or close). False: not sent. */
  request(
    head: FrameHead,
    param: WireParam,
    data: Uint8Array | undefined,
    timeout: number,
    settle: Settle,
  ): boolean {
    if (this.state !== 'open') return false;
    const seqno = this.pending.allocate();
    if (seqno === undefined) return false;
    head.seqno = seqno; // callers build a fresh head per request: no copy needed
    const frame = encodeFrame(head, param, data);
    const isRpc = head.type === Type.RPC;
    this.pending.add(seqno, head.type, timeout, settle);
    if (isRpc) this.rpcActivity(1);
    if (!this.conn.send(frame)) {
      this.pending.cancel(seqno);
      if (isRpc) this.rpcActivity(-1);
      return false;
    }
    return true;
  }

  /** Sends a packet that wants no reply (seqno n << 16, as the official clients do). */
  sendOneWay(head: FrameHead, param: WireParam, data: Uint8Array | undefined): boolean {
    if (this.state !== 'open') return false;
    head.seqno = this.pending.oneWay();
    return this.conn.send(encodeFrame(head, param, data));
  }

  /** A DATAGRAM over TCP, or by UDP when `quick` (which needs the client id). */
  datagram(url: string, param: WireParam, data: Uint8Array | undefined, quick: boolean): boolean {
    if (this.state !== 'open') return false;
    if (!quick) return this.conn.send(encodeFrame({ type: Type.DATAGRAM, url }, param, data));
    if (!this.quick || this.clientId === undefined) return false;
    return this.quick.send(
      { type: Type.DATAGRAM, url, seqno: this.clientId },
      param,
      data,
      this.quickPort,
      this.serverAddr,
    );
  }

  setSendTimeout(ms: number): void {
    this.conn.setSendTimeout(ms);
  }

  /** Closes the connection (RST when linger 0 is set); the reason defaults to a local close. */
  close(reason?: VsoaError): void {
    if (this.state === 'closed') return;
    if (this.settings.linger === 0) this.conn.socket.resetAndDestroy();
    this.conn.destroy(reason ?? new VsoaError(ErrorCode.LOCAL_CLOSE, 'connection closed locally'));
  }

  /** Resets the connection (RST, as linger 0): the answer to a dead link. */
  reset(reason: VsoaError): void {
    if (this.state === 'closed') return;
    this.conn.socket.resetAndDestroy();
    this.conn.destroy(reason);
  }

  private rpcActivity(delta: number): void {
    this.rpcsInFlight += delta;
    this.handlers.rpcActivity(this.rpcsInFlight);
  }

  private onPacket(packet: Packet): void {
    if (this.state === 'closed') return;
    if (packet.flags & Flag.REPLY) {
      if (packet.type === Type.QOSSETUP) {
        // The server sets our priority: both our sockets carry it from now on.
        const priority = packet.status & 7;
        setPriority(this.conn.socket, priority);
        if (this.quick) setPriority(this.quick.socket, priority);
        this.handlers.priority(priority);
        return;
      }
      // During the handshake the only reply that can come is SERVINFO's: another is a server
      // that does not speak VSOA as we do, and waiting out the timeout would not help.
      if (this.state === 'handshake' && packet.type !== Type.SERVINFO) {
        this.settings.log.debug({ type: packet.type }, 'reply of the wrong type during the handshake');
        this.finishHandshake?.(ConnectCode.INVALID_RESPONDING);
        return;
      }
      if (!this.pending.resolve(packet))
        this.settings.log.debug({ seqno: packet.seqno, type: packet.type }, 'unmatched reply');
      return;
    }
    if (this.state !== 'open') return;
    if (packet.type === Type.PUBLISH || packet.type === Type.DATAGRAM) this.handlers.message(packet, false);
    else this.settings.log.debug({ type: packet.type }, 'ignoring unexpected packet');
  }

  private onQuick(packet: Packet, from: dgram.RemoteInfo): void {
    if (this.state !== 'open') return;
    if (normalizeAddress(from.address) !== this.serverAddr || from.port !== this.quickPort) {
      this.settings.log.debug(
        { from: from.address, port: from.port },
        'dropping quick packet from a stranger',
      );
      return;
    }
    if (packet.type === Type.PUBLISH || packet.type === Type.DATAGRAM) this.handlers.message(packet, true);
  }

  /** The connection ended: fail what waits, close the quick socket, tell the owner (once). */
  private onClosed(reason: VsoaError): void {
    if (this.state === 'closed') return;
    this.state = 'closed';
    this.quick?.close();
    this.pending.failAll();
    this.finishHandshake?.(this.attempt.tlsFailureCode(undefined) ?? ConnectCode.INVALID_RESPONDING);
    this.handlers.closed(this, reason);
  }
}
