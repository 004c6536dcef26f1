import type dgram from 'node:dgram';
import { EventEmitter } from 'node:events';
import net from 'node:net';
import { type ResolvedUrl, resolveServerUrl } from '../position/resolve.js';
import type { FrameHead, Header, Packet, Payload, ReceivedPayload } from '../protocol/index.js';
import {
  assertUrl,
  ConnectCode,
  checkPayload,
  ErrorCode,
  encodeFrame,
  Flag,
  Method,
  receivedPayload,
  Status,
  Type,
  VsoaError,
} from '../protocol/index.js';
import { anyAddressFor, normalizeAddress } from '../transport/address.js';
import { FrameConnection } from '../transport/frame-connection.js';
import { type PeerCertificate, peerCertificate } from '../transport/peer-cert.js';
import { QuickSocket } from '../transport/quick-socket.js';
import { setLinger, setPriority } from '../transport/sockopt.js';
import { resolveClientTls, type TlsOptions } from '../transport/tls-options.js';
import type { Logger } from '../util/log.js';
import { moduleLogger } from '../util/log.js';
import { MAX_PENDING, PendingTable, type SettleReason } from './pending.js';
import { Robot, type RobotOptions, type RobotStats } from './robot.js';
import { ConnectAttempt } from './secure-connect.js';
import {
  CLIENT_STREAM_TIMEOUT,
  ClientStream,
  type ClientStreamDataCallback,
  type ClientStreamLinkCallback,
  type StreamTarget,
} from './stream.js';

export interface ClientOptions {
  /** Hand params over as bytes, without JSON parsing. */
  raw?: boolean;
  logger?: Logger;
}

export interface ConnectOptions {
  passwd?: string;
  /** Bounds TCP connect, the TLS handshake and the SERVINFO reply together (ms, default 10000). */
  timeout?: number;
  /** Connect over TLS (the quick channel is off then). */
  tls?: TlsOptions;
}

export interface CallOptions {
  method?: number | 'GET' | 'SET';
  payload?: Payload | null;
  /** ms, default 60000. */
  timeout?: number;
}

export interface FetchResult {
  header: Header;
  payload: ReceivedPayload;
}

export type CallCallback = (client: Client, header: Header | null, payload: ReceivedPayload | null) => void;
export type ResultCallback = (client: Client, success: boolean) => void;
export type MessageCallback = (client: Client, url: string, payload: ReceivedPayload, quick: boolean) => void;

const DEFAULT_CONNECT_TIMEOUT = 10_000;
const DEFAULT_REQUEST_TIMEOUT = 60_000;
const DEFAULT_SEND_TIMEOUT = 500;
/** Bytes that may queue towards the server before the connection counts as stuck. */
const MAX_SEND_QUEUE = 8 * 1024 * 1024;

interface Link {
  conn: FrameConnection;
  quick: QuickSocket | undefined;
  serverAddr: string;
  quickPort: number;
  cid: number | undefined;
  connected: boolean;
  /** onconnect(true) was reported for this link, so its loss is reported too. */
  reported: boolean;
}

function checkTimeout(value: unknown, name: string, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
    throw new RangeError(`${name} must be a non-negative number of milliseconds`);
  }
  return value;
}

function checkMethod(method: unknown): number {
  if (method === undefined || method === Method.GET || method === 'GET') return Method.GET;
  if (method === Method.SET || method === 'SET') return Method.SET;
  throw new TypeError(`method must be Method.GET, Method.SET, 'GET' or 'SET', got ${String(method)}`);
}

function checkCallback(cb: unknown, name = 'callback'): void {
  if (cb !== undefined && cb !== null && typeof cb !== 'function')
    throw new TypeError(`${name} must be a function`);
}

function headerOf(packet: Packet): Header {
  return {
    type: packet.type,
    flags: packet.flags,
    status: packet.status,
    seqno: packet.seqno,
    tunid: packet.tunid,
  };
}

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

/** A VSOA client (seed: vsoa.Client). */
export class Client extends EventEmitter {
  onconnect: ((client: Client, connected: boolean, info: unknown) => void) | undefined;
  onmessage: MessageCallback | undefined;
  ondata: MessageCallback | undefined;

  private readonly raw: boolean;
  private readonly log: Logger;
  private readonly pending = new PendingTable();
  /** Subscriptions the application holds, in the order it made them. */
  private readonly held = new Set<string>();
  /** subscribe/unsubscribe callbacks made while a robot was reconnecting. */
  private readonly deferredSubscriptions: Array<{ callback: ResultCallback; subscribe: boolean }> = [];
  private robotRunner: Robot | undefined;
  private rpcsInFlight = 0;
  private link: Link | undefined;
  private sendTimeoutMs = DEFAULT_SEND_TIMEOUT;
  private lingerSeconds: number | undefined;
  private serverPriority = 0;
  private closedForGood = false;
  private endWaiters: Array<() => void> = [];
  /** Where streams connect: the server (and TLS settings) of the last connect. */
  private streamTarget: StreamTarget | undefined;

  constructor(options: ClientOptions = {}) {
    super();
    if (options === null || typeof options !== 'object') throw new TypeError('options must be an object');
    this.raw = options.raw === true;
    this.log = options.logger ?? moduleLogger('client');
  }

  get connected(): boolean {
    return this.link?.connected === true;
  }

  /** Requests waiting for a reply (RPC, ping, subscribe, unsubscribe). */
  get pendings(): number {
    return this.pending.size;
  }

  /** The priority the server last set with QOSSETUP. */
  get priority(): number {
    return this.serverPriority;
  }

  /** The id the server gave this client, once connected. */
  get id(): number | undefined {
    return this.link?.cid;
  }

  /** @internal The current link's sockets, for socket-option diagnostics and tests. */
  get sockets(): { tcp: net.Socket | undefined; udp: dgram.Socket | undefined } {
    return { tcp: this.link?.conn.socket, udp: this.link?.quick?.socket };
  }

  /** Connects and shakes hands; resolves a ConnectCode (never rejects for network failures). */
  async connect(url: string, options: ConnectOptions = {}): Promise<ConnectCode> {
    if (this.closedForGood) throw new Error('client is closed');
    // Names are looked up through the position service on every connect, so a moved server is followed.
    let target: ResolvedUrl;
    try {
      target = await resolveServerUrl(url);
    } catch (error) {
      if (error instanceof VsoaError && error.connectCode !== undefined) return error.connectCode;
      throw error;
    }
    if (target.security && !options.tls) {
      throw new TypeError(
        `server ${target.name ?? url} requires TLS (the position service says security: true): pass options.tls`,
      );
    }
    const { host, port } = target;
    const passwd = options.passwd ?? '';
    if (typeof passwd !== 'string') throw new TypeError('options.passwd must be a string');
    const timeout = checkTimeout(options.timeout, 'options.timeout', DEFAULT_CONNECT_TIMEOUT);
    const secure = options.tls ? resolveClientTls(options.tls, host, 'options.tls') : undefined;
    if (this.link) this.disconnect();
    this.streamTarget = { host, secure };
    return this.open(host, port, passwd, timeout, secure);
  }

  private open(
    host: string,
    port: number,
    passwd: string,
    timeout: number,
    secure: StreamTarget['secure'],
  ): Promise<ConnectCode> {
    return new Promise<ConnectCode>((resolve) => {
      let settled = false;
      const attempt = new ConnectAttempt(host, port, secure);
      const socket = attempt.socket;
      // No quick channel under TLS: nothing may travel in the clear.
      const udp = secure ? undefined : QuickSocket.create(net.isIPv6(host) ? 'udp6' : 'udp4');
      const link: Link = {
        conn: new FrameConnection(
          socket,
          (packet) => this.onPacket(link, packet),
          () => this.onLinkClosed(link),
          {
            sendTimeout: this.sendTimeoutMs,
            maxQueuedBytes: MAX_SEND_QUEUE,
            whenFull: 'refuse',
            log: this.log,
          },
        ),
        quick: udp && new QuickSocket(udp, (packet, from) => this.onQuick(link, packet, from), this.log),
        serverAddr: normalizeAddress(host),
        quickPort: port,
        cid: undefined,
        connected: false,
        reported: false,
      };
      this.link = link;

      const finish = (code: ConnectCode, info?: unknown): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        socket.off('error', onError);
        if (code !== ConnectCode.OK) {
          this.log.debug({ host, port, code }, 'connect failed');
          this.teardown(link);
          resolve(code);
          return;
        }
        link.reported = true;
        this.safely('onconnect', () => this.onconnect?.(this, true, info));
        this.emit('connect', info);
        resolve(ConnectCode.OK);
      };
      // A robot replays the subscriptions the application holds before reporting the connection,
      // so publishes resume without application code.
      const handshaken = (info: unknown): void => {
        link.connected = true;
        if (!this.robotRunner || this.held.size === 0) {
          finish(ConnectCode.OK, info);
          this.settleDeferredSubscriptions(true);
          return;
        }
        const urls = [...this.held];
        this.request({ type: Type.SUBSCRIBE }, JSON.stringify(urls), undefined, timeout, (reply, reason) => {
          if (reason === 'closed') return;
          const ok = reply?.status === Status.SUCCESS;
          if (!ok) this.log.warn({ urls, status: reply?.status, reason }, 're-subscribe failed');
          finish(ConnectCode.OK, info);
          this.settleDeferredSubscriptions(ok);
        });
      };
      const timer = setTimeout(() => finish(ConnectCode.SERVER_NO_RESPONDING), timeout);
      const onError = (error: NodeJS.ErrnoException): void =>
        finish(attempt.tlsFailureCode(error) ?? errnoToCode(error));
      socket.once('error', onError);
      socket.once('close', () => finish(attempt.tlsFailureCode(undefined) ?? ConnectCode.INVALID_RESPONDING));

      socket.once(attempt.readyEvent, () => {
        if (this.lingerSeconds !== undefined) setLinger(socket, this.lingerSeconds);
        const hello = (): void => {
          if (settled) return;
          this.pending.add(0, Type.SERVINFO, 0, (reply) => {
            if (!reply) return finish(attempt.tlsFailureCode(undefined) ?? ConnectCode.INVALID_RESPONDING);
            if (reply.status === Status.PASSWORD) return finish(ConnectCode.INVALID_PASSWD);
            if (reply.status !== Status.SUCCESS || !reply.data || reply.data.length < 4) {
              return finish(ConnectCode.INVALID_RESPONDING);
            }
            link.cid = reply.data.readUInt32BE(0);
            // The official Node.js server appends its quick port when it differs from the TCP port.
            if (reply.data.length >= 6) link.quickPort = reply.data.readUInt16BE(4);
            handshaken(receivedPayload(reply.param, undefined, false).param);
          });
          const param = passwd ? JSON.stringify({ passwd }) : undefined;
          const quick = udp ? { flags: Flag.TUNNEL, tunid: udp.address().port } : {};
          link.conn.send(encodeFrame({ type: Type.SERVINFO, seqno: 0, ...quick }, param));
        };
        if (udp) udp.bind(0, anyAddressFor(host), hello);
        else hello();
      });
    });
  }

  /** The server's TLS certificate (DER bytes with `binary`), or null without TLS. */
  getPeerCert(binary: true): Buffer | null;
  getPeerCert(binary?: false): PeerCertificate | null;
  getPeerCert(binary: boolean): PeerCertificate | Buffer | null;
  getPeerCert(binary = false): PeerCertificate | Buffer | null {
    return peerCertificate(this.link?.conn.socket, binary);
  }

  /**
   * Opens the stream a server created (seed: create_stream): connects to (server address,
   * tunid), over TLS when this client's connection is TLS. No connection within `timeout`
   * (or no server ever connected to): `onlink(stream, false)`.
   */
  createStream(
    tunid: number,
    onlink: ClientStreamLinkCallback,
    ondata?: ClientStreamDataCallback,
    timeout = CLIENT_STREAM_TIMEOUT,
  ): ClientStream {
    if (typeof tunid !== 'number' || !Number.isInteger(tunid))
      throw new TypeError('tunid must be an integer');
    if (tunid < 1 || tunid > 65535) throw new RangeError(`tunid must be within 1..65535, got ${tunid}`);
    if (typeof onlink !== 'function') throw new TypeError('onlink must be a function');
    checkCallback(ondata, 'ondata');
    const ms = checkTimeout(timeout, 'timeout', CLIENT_STREAM_TIMEOUT);
    const log = this.log.child({ tunid });
    return new ClientStream(tunid, this.streamTarget, onlink, ondata ?? undefined, ms, log);
  }

  /** Sends an RPC; the callback gets (client, header, payload), or nulls when no reply came. */
  call(url: string, options: CallOptions = {}, callback?: CallCallback): boolean {
    assertUrl(url);
    checkCallback(callback);
    const method = checkMethod(options.method);
    const timeout = checkTimeout(options.timeout, 'options.timeout', DEFAULT_REQUEST_TIMEOUT);
    const { param, data } = checkPayload(options.payload, 'options.payload');
    const flags = method === Method.SET ? Flag.SET : 0;
    if (!callback) {
      return this.sendOneWay({ type: Type.RPC, flags, url }, param, data);
    }
    return this.request({ type: Type.RPC, flags, url }, param, data, timeout, (packet) => {
      if (packet) callback(this, headerOf(packet), receivedPayload(packet.param, packet.data, this.raw));
      else callback(this, null, null);
    });
  }

  /** Promise form of call: resolves every reply, whatever its status; rejects when none can come. */
  fetch(url: string, options: CallOptions = {}): Promise<FetchResult> {
    assertUrl(url);
    const method = checkMethod(options.method);
    const timeout = checkTimeout(options.timeout, 'options.timeout', DEFAULT_REQUEST_TIMEOUT);
    const { param, data } = checkPayload(options.payload, 'options.payload');
    let resolve!: (result: FetchResult) => void;
    let reject!: (error: VsoaError) => void;
    const promise = new Promise<FetchResult>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    // Sent outside the executor so an oversize packet throws RangeError at once, as call() does.
    const sent = this.request(
      { type: Type.RPC, flags: method === Method.SET ? Flag.SET : 0, url },
      param,
      data,
      timeout,
      (packet, reason) => {
        if (packet)
          resolve({
            header: headerOf(packet),
            payload: receivedPayload(packet.param, packet.data, this.raw),
          });
        else if (reason === 'timeout')
          reject(new VsoaError(ErrorCode.TIMEOUT, `no reply to ${url} within ${timeout} ms`));
        else reject(new VsoaError(ErrorCode.NOT_CONNECTED, `connection lost before the reply to ${url}`));
      },
    );
    if (!sent) {
      const why = !this.connected
        ? 'not connected'
        : this.pendings >= MAX_PENDING
          ? 'too many pending requests'
          : 'the send queue is full (requests outpace the link; retry as replies arrive)';
      const code = !this.connected
        ? ErrorCode.NOT_CONNECTED
        : this.pendings >= MAX_PENDING
          ? ErrorCode.TOO_MANY_PENDING
          : ErrorCode.SEND_QUEUE_FULL;
      reject(new VsoaError(code, `cannot call ${url}: ${why}`));
    }
    return promise;
  }

  /** PINGECHO with a callback; without one, a NOOP that wants no answer. */
  ping(callback?: ResultCallback, timeout = DEFAULT_REQUEST_TIMEOUT): boolean {
    checkCallback(callback);
    const ms = checkTimeout(timeout, 'timeout', DEFAULT_REQUEST_TIMEOUT);
    if (!callback) return this.sendOneWay({ type: Type.NOOP }, undefined, undefined);
    return this.request({ type: Type.PINGECHO }, undefined, undefined, ms, (packet) =>
      callback(this, packet !== undefined && packet.status === Status.SUCCESS),
    );
  }

  subscribe(
    url: string | readonly string[],
    callback?: ResultCallback,
    timeout = DEFAULT_REQUEST_TIMEOUT,
  ): boolean {
    return this.subscription(Type.SUBSCRIBE, url, callback, timeout);
  }

  unsubscribe(
    url: string | readonly string[],
    callback?: ResultCallback,
    timeout = DEFAULT_REQUEST_TIMEOUT,
  ): boolean {
    return this.subscription(Type.UNSUBSCRIBE, url, callback, timeout);
  }

  private subscription(
    type: number,
    url: string | readonly string[],
    callback: ResultCallback | undefined,
    timeout: number,
  ): boolean {
    checkCallback(callback);
    const ms = checkTimeout(timeout, 'timeout', DEFAULT_REQUEST_TIMEOUT);
    let head: FrameHead;
    let param: string | undefined;
    if (Array.isArray(url)) {
      if (url.length === 0) throw new TypeError('url list must not be empty');
      for (const [i, u] of url.entries()) assertUrl(u, `url[${i}]`);
      head = { type };
      param = JSON.stringify(url);
    } else {
      assertUrl(url);
      head = { type, url: url as string };
    }
    const urls: readonly string[] = Array.isArray(url) ? url : [url as string];
    const subscribe = type === Type.SUBSCRIBE;
    for (const u of urls) {
      if (subscribe) this.held.add(u);
      else this.held.delete(u);
    }
    // While a robot reconnects, the held set is the truth: it is replayed at the next connect.
    if (this.robotRunner && !this.link?.connected) {
      if (callback) this.deferredSubscriptions.push({ callback, subscribe });
      return true;
    }
    if (!callback) return this.sendOneWay(head, param, undefined);
    return this.request(head, param, undefined, ms, (packet) =>
      callback(this, packet !== undefined && packet.status === Status.SUCCESS),
    );
  }

  /** Subscriptions this client holds (replayed by the robot after every reconnect). */
  get subscriptions(): string[] {
    return [...this.held];
  }

  private settleDeferredSubscriptions(ok: boolean): void {
    for (const { callback, subscribe } of this.deferredSubscriptions.splice(0)) {
      this.safely('subscribe callback', () => callback(this, subscribe ? ok : true));
    }
  }

  /** Sends a DATAGRAM; quick goes by UDP and needs the client id (false before connect). */
  datagram(url: string, payload?: Payload | null, quick = false): boolean {
    assertUrl(url);
    const { param, data } = checkPayload(payload);
    const link = this.link;
    if (!link?.connected) return false;
    if (!quick) return link.conn.send(encodeFrame({ type: Type.DATAGRAM, url }, param, data));
    if (!link.quick || link.cid === undefined) return false;
    return link.quick.send(
      { type: Type.DATAGRAM, url, seqno: link.cid },
      param,
      data,
      link.quickPort,
      link.serverAddr,
    );
  }

  /** Closes the connection; the client may connect again. */
  disconnect(): void {
    const link = this.link;
    if (!link) return;
    if (this.lingerSeconds === 0) link.conn.socket.resetAndDestroy();
    link.conn.destroy();
    this.teardown(link);
  }

  /** Closes the connection for good (and stops a robot): the client can no longer be used. */
  close(): void {
    this.closedForGood = true;
    this.robotRunner?.stop();
    this.disconnect();
    this.settleDeferredSubscriptions(false);
  }

  /**
   * Robot mode (seed: client.robot): connects in the background and keeps connected; returns
   * at once. `url` may be a list of servers for failover. See RobotOptions for the timing.
   */
  robot(url: string | readonly string[], options: RobotOptions = {}): void {
    if (this.closedForGood) throw new Error('client is closed');
    if (this.robotRunner) throw new Error('robot is already running; close() the client to stop it');
    this.robotRunner = new Robot(this, url, options, this.log);
    this.robotRunner.start();
  }

  /** While RPCs are pending, send a NOOP every turboMs (at most maxCnt per pending period); 0 disables. */
  robotPingTurbo(turboMs: number, maxCnt = 50): boolean {
    if (!this.robotRunner) return false;
    this.robotRunner.setTurbo(turboMs, maxCnt);
    return true;
  }

  /** Counters and state of the robot, or undefined when not in robot mode. */
  robotStats(): RobotStats | undefined {
    return this.robotRunner?.stats();
  }

  /** Whether the robot is making progress (for watchdogs): true, or why not. */
  robotHealth(): true | string {
    return this.robotRunner ? this.robotRunner.health() : 'robot is not running';
  }

  /** @internal Resets the connection (RST, as linger 0): the robot's answer to a dead link. */
  resetConnection(): void {
    const link = this.link;
    if (!link) return;
    link.conn.socket.resetAndDestroy();
    this.teardown(link);
  }

  private rpcActivity(delta: number): void {
    this.rpcsInFlight += delta;
    this.robotRunner?.rpcActivity(this.rpcsInFlight);
  }

  sendTimeout(ms = DEFAULT_SEND_TIMEOUT): void {
    this.sendTimeoutMs = checkTimeout(ms, 'ms', DEFAULT_SEND_TIMEOUT);
    this.link?.conn.setSendTimeout(this.sendTimeoutMs);
  }

  /**
   * SO_LINGER for the connection, now and on every later connect; 0 resets the connection on
   * close, dropping unsent data. False when it could not be applied (no native addon: only a
   * reset on close is still possible).
   */
  linger(seconds = 0): boolean {
    if (!Number.isInteger(seconds) || seconds < 0 || seconds > 0x7fff) {
      throw new RangeError('seconds must be a whole number from 0 to 32767');
    }
    this.lingerSeconds = seconds;
    const applied = this.link ? setLinger(this.link.conn.socket, seconds) : true;
    return applied || seconds === 0;
  }

  /** Resolves when the current connection ends (at once when not connected). */
  run(): Promise<void> {
    if (!this.link) return Promise.resolve();
    return new Promise<void>((resolve) => this.endWaiters.push(resolve));
  }

  private request(
    head: FrameHead,
    param: string | Uint8Array | undefined,
    data: Uint8Array | undefined,
    timeout: number,
    settle: (packet: Packet | undefined, reason: SettleReason) => void,
  ): boolean {
    const link = this.link;
    if (!link?.connected) return false;
    const seqno = this.pending.allocate();
    if (seqno === undefined) return false;
    head.seqno = seqno; // callers build a fresh head per request: no copy needed
    const frame = encodeFrame(head, param, data);
    const isRpc = head.type === Type.RPC;
    this.pending.add(seqno, head.type, timeout, (packet, reason) => {
      if (isRpc) this.rpcActivity(-1);
      try {
        settle(packet, reason);
      } catch (error) {
        this.log.error({ err: error }, 'reply callback threw');
      }
    });
    if (isRpc) this.rpcActivity(1);
    if (!link.conn.send(frame)) {
      this.pending.cancel(seqno);
      return false;
    }
    return true;
  }

  private sendOneWay(
    head: FrameHead,
    param: string | Uint8Array | undefined,
    data: Uint8Array | undefined,
  ): boolean {
    const link = this.link;
    if (!link?.connected) return false;
    head.seqno = this.pending.oneWay();
    return link.conn.send(encodeFrame(head, param, data));
  }

  private onPacket(link: Link, packet: Packet): void {
    if (link !== this.link) return;
    if (packet.flags & Flag.REPLY) {
      if (packet.type === Type.QOSSETUP) {
        // The server sets our priority: both our sockets carry it from now on.
        const priority = packet.status & 7;
        this.serverPriority = priority;
        setPriority(link.conn.socket, priority);
        if (link.quick) setPriority(link.quick.socket, priority);
        this.emit('priority', priority);
        return;
      }
      if (!this.pending.resolve(packet))
        this.log.debug({ seqno: packet.seqno, type: packet.type }, 'unmatched reply');
      return;
    }
    if (!link.connected) return;
    if (packet.type === Type.PUBLISH) this.deliver('onmessage', packet, false);
    else if (packet.type === Type.DATAGRAM) this.deliver('ondata', packet, false);
    else this.log.debug({ type: packet.type }, 'ignoring unexpected packet');
  }

  private onQuick(link: Link, packet: Packet, from: dgram.RemoteInfo): void {
    if (link !== this.link || !link.connected) return;
    if (normalizeAddress(from.address) !== link.serverAddr || from.port !== link.quickPort) {
      this.log.debug({ from: from.address, port: from.port }, 'dropping quick packet from a stranger');
      return;
    }
    if (packet.type === Type.PUBLISH) this.deliver('onmessage', packet, true);
    else if (packet.type === Type.DATAGRAM) this.deliver('ondata', packet, true);
  }

  private deliver(which: 'onmessage' | 'ondata', packet: Packet, quick: boolean): void {
    const handler = this[which];
    if (!handler) return;
    const payload = receivedPayload(packet.param, packet.data, this.raw);
    this.safely(which, () => handler(this, packet.url, payload, quick));
  }

  private onLinkClosed(link: Link): void {
    if (link === this.link) this.teardown(link);
  }

  /** Releases a link once: fails pending requests, closes the quick socket, reports the loss. */
  private teardown(link: Link): void {
    if (this.link !== link) return;
    this.link = undefined;
    const wasReported = link.reported;
    link.connected = false;
    link.reported = false;
    link.quick?.close();
    if (!link.conn.isClosed) link.conn.destroy();
    this.pending.failAll();
    if (wasReported) {
      this.safely('onconnect', () => this.onconnect?.(this, false, null));
      this.emit('disconnect');
    }
    for (const resolve of this.endWaiters.splice(0)) resolve();
  }

  private safely(name: string, fn: () => void): void {
    try {
      fn();
    } catch (error) {
      this.log.error({ err: error }, `${name} callback threw`);
    }
  }
}
