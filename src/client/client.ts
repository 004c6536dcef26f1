import type { GetFileOptions, TransferOptions, TransferResult } from '../files/client.js';
import type { DirEntry } from '../files/types.js';
import type { FrameHead, Header, Payload, ReceivedPayload } from '../protocol/index.js';
import { assertUrl, checkPayload, receivedPayload, Status, Type, type VsoaError } from '../protocol/index.js';
import { duration, integer, optionalFunction, requiredFunction } from '../util/check.js';
import { safely } from '../util/safely.js';
import { ClientCore } from './client-core.js';
import {
  type CallOptions,
  DEFAULT_REQUEST_TIMEOUT,
  type RobotOptions,
  robotSettings,
  turboSettings,
} from './options.js';
import {
  checkDatagram,
  fetchResult,
  headerOf,
  notSentError,
  type RpcRequest,
  requestError,
  rpcRequest,
} from './request.js';
import { Robot, type RobotHost, type RobotStats } from './robot.js';
import {
  CLIENT_STREAM_TIMEOUT,
  ClientStream,
  type ClientStreamDataCallback,
  type ClientStreamLinkCallback,
} from './stream.js';

export type { CallOptions, ClientOptions, ConnectOptions } from './options.js';

export interface FetchResult {
  header: Header;
  payload: ReceivedPayload;
}

export type CallCallback = (client: Client, header: Header | null, payload: ReceivedPayload | null) => void;
export type ResultCallback = (client: Client, success: boolean) => void;
export type MessageCallback = (client: Client, url: string, payload: ReceivedPayload, quick: boolean) => void;
/**
 * `onconnect(client, true, info)` with the server's info; `onconnect(client, false, reason)`
 * when a reported connection ends, `reason.code` saying why. A seed-style 2-argument handler works.
 */
export type ConnectCallback = (client: Client, connected: boolean, info: unknown) => void;

/**
 * A VSOA client (seed: vsoa.Client): the seed's API over ClientCore (the current connection's
 * Session), with the subscriptions it holds, its streams and, in robot mode, its Robot.
 */
export class Client extends ClientCore {
  /** Streams this client created and that are still open: close() closes them. */
  private readonly streams = new Set<ClientStream>();
  /** robotPingTurbo() before robot(): applied when the robot starts. */
  private turbo = { turboMs: 0, maxCnt: 50 };

  /**
   * Opens the stream a server created (seed: create_stream): connects to (server address,
   * tunid), over TLS when this client's connection is TLS. No connection within `timeout`
   * (or no server ever connected to): `onlink(stream, false)`. close() closes it.
   */
  createStream(
    tunid: number,
    onlink: ClientStreamLinkCallback,
    ondata?: ClientStreamDataCallback,
    timeout = CLIENT_STREAM_TIMEOUT,
  ): ClientStream {
    integer(tunid, 'tunid', 0, 1, 65535);
    requiredFunction(onlink, 'onlink');
    optionalFunction(ondata, 'ondata');
    const ms = duration(timeout, 'timeout', CLIENT_STREAM_TIMEOUT);
    if (this.closedForGood) throw new Error('client is closed');
    const stream = new ClientStream(
      tunid,
      this.streamTarget,
      onlink,
      ondata ?? undefined,
      ms,
      this.log.child({ tunid }),
    );
    this.streams.add(stream);
    stream.once('close', () => this.streams.delete(stream));
    return stream;
  }

  /**
   * Sends an RPC; the callback gets (client, header, payload), or nulls when no reply came.
   * Ownership: payload buffers over 4 KiB (param over 2 KiB) are sent by reference, as with socket.write: do not modify them after the call (README, Payload ownership).
   */
  call(url: string, options: CallOptions = {}, callback?: CallCallback): boolean {
    assertUrl(url);
    optionalFunction(callback, 'callback');
    const request = rpcRequest(url, options);
    if (!callback) return this.session?.sendOneWay(request.head, request.param, request.data) ?? false;
    return this.send(request, (packet) => {
      if (packet)
        callback(this, headerOf(packet), receivedPayload(packet.param, packet.data, this.settings.raw));
      else callback(this, null, null);
    });
  }

  /** Promise form of call: resolves every reply, whatever its status; rejects when none can come. */
  fetch(url: string, options: CallOptions = {}): Promise<FetchResult> {
    assertUrl(url);
    const request = rpcRequest(url, options);
    let resolve!: (result: FetchResult) => void;
    let reject!: (error: VsoaError) => void;
    const promise = new Promise<FetchResult>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    // Sent outside the executor so an oversize packet throws RangeError at once, as call() does.
    const sent = this.send(request, (packet, reason) => {
      if (packet) resolve(fetchResult(packet, this.settings.raw));
      else reject(requestError(url, request.timeout, reason));
    });
    if (!sent) reject(notSentError(url, this.connected, this.pendings));
    return promise;
  }

  /** PINGECHO with a callback; without one, a NOOP that wants no answer. */
  ping(callback?: ResultCallback, timeout = DEFAULT_REQUEST_TIMEOUT): boolean {
    optionalFunction(callback, 'callback');
    const ms = duration(timeout, 'timeout', DEFAULT_REQUEST_TIMEOUT);
    if (!callback) return this.session?.sendOneWay({ type: Type.NOOP }, undefined, undefined) ?? false;
    return this.send(pingRequest(ms), (packet) =>
      callback(this, packet !== undefined && packet.status === Status.SUCCESS),
    );
  }

  /**
   * Subscribes. While not connected (robot mode reconnecting, or before robot() or connect()),
   * the url is held, true is returned, and the request goes out at the next connect, where the
   * callback gets the server's answer.
   */
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
    optionalFunction(callback, 'callback');
    const ms = duration(timeout, 'timeout', DEFAULT_REQUEST_TIMEOUT);
    const list = Array.isArray(url);
    if (list && url.length === 0) throw new TypeError('url list must not be empty');
    const urls: readonly string[] = list ? url : [url as string];
    for (const [i, u] of urls.entries()) assertUrl(u, list ? `url[${i}]` : 'url');
    const head: FrameHead = list ? { type } : { type, url: url as string };
    const param = list ? JSON.stringify(url) : undefined;
    const subscribe = type === Type.SUBSCRIBE;
    this.held.update(urls, subscribe);
    const session = this.session;
    // Not connected: the held set is the truth, replayed at the next connect.
    if (!session?.connected) {
      if (this.closedForGood) return false;
      return this.held.defer(callback ? (ok) => callback(this, ok) : undefined, subscribe);
    }
    if (!callback) return session.sendOneWay(head, param, undefined);
    return session.request(head, param, undefined, ms, (packet) =>
      safely(this.log, 'subscribe callback', () =>
        callback(this, packet !== undefined && packet.status === Status.SUCCESS),
      ),
    );
  }

  /** Subscriptions this client holds (replayed by the robot after every reconnect). */
  get subscriptions(): string[] {
    return this.held.list();
  }

  /**
   * Sends a DATAGRAM; quick goes by UDP and needs the client id. Not connected: false, or
   * with a robot outbox (RobotOptions.outbox), queued for the next connect and true.
   * Ownership: payload buffers over 4 KiB (param over 2 KiB) are sent by reference, as with socket.write: do not modify them after the call (README, Payload ownership).
   */
  datagram(url: string, payload?: Payload | null, quick = false): boolean {
    assertUrl(url);
    const { param, data } = checkPayload(payload);
    const session = this.session;
    if (session?.connected) return session.datagram(url, param, data, quick);
    const outbox = this.robotRunner?.outbox;
    if (!outbox) return false;
    checkDatagram(url, param, data, quick);
    outbox.push({ url, param, data, quick });
    return true;
  }

  /** Closes the connection, its streams and a robot for good: the client can no longer be used. */
  close(): void {
    if (this.closedForGood) return;
    this.closedForGood = true;
    this.robotRunner?.stop();
    this.disconnect();
    this.held.settle(false);
    for (const stream of [...this.streams]) {
      if (stream.connected) stream.close();
      else stream.destroy();
    }
  }

  /**
   * Robot mode (seed: client.robot): connects in the background and keeps connected; returns
   * at once. `url` may be a list of servers for failover. See RobotOptions for the timing.
   */
  robot(url: string | readonly string[], options: RobotOptions = {}): void {
    if (this.closedForGood) throw new Error('client is closed');
    if (this.robotRunner) throw new Error('robot is already running; close() the client to stop it');
    const settings = robotSettings(url, options);
    const turbo = turboSettings(this.turbo.turboMs, this.turbo.maxCnt, settings.keepalive);
    this.robotRunner = new Robot(this.robotHost(), settings, turbo, this.log);
    this.robotRunner.start();
  }

  /** What the robot may do with this client (RobotHost), and nothing else. */
  private robotHost(): RobotHost {
    const isConnected = (): boolean => this.connected;
    return {
      get connected() {
        return isConnected();
      },
      connect: (url, options) => this.connect(url, options),
      disconnect: () => this.disconnect(),
      reset: (reason) => this.resetConnection(reason),
      ping: (done, ms) =>
        this.send(pingRequest(ms), (packet, reason) =>
          done(
            packet
              ? packet.status === Status.SUCCESS
                ? 'ok'
                : 'lost'
              : reason === 'closed'
                ? 'closed'
                : 'lost',
          ),
        ),
      noop: () => this.ping(),
      emit: (event, ...args) => {
        this.emit(event, ...(args as never));
      },
    };
  }

  /**
   * While RPCs are pending, send a NOOP every turboMs (at most maxCnt per pending period); 0
   * disables. Before robot() the setting is kept and applied when the robot starts.
   */
  robotPingTurbo(turboMs: number, maxCnt = 50): boolean {
    this.turbo = turboSettings(turboMs, maxCnt, this.robotRunner?.keepalive);
    this.robotRunner?.setTurbo(this.turbo.turboMs, this.turbo.maxCnt);
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

  /**
   * Downloads a file from a server's `serveFiles()` to `localPath`, verified by sha256; a broken
   * download resumes from what was received (once by itself in robot mode). Loads
   * vsoa-edge/files on first use; see the README's "Files".
   */
  async getFile(url: string, localPath: string, options: GetFileOptions = {}): Promise<TransferResult> {
    return (await import('../files/client.js')).getFile(this, url, localPath, options);
  }

  /** Uploads `localPath` to a writable `serveFiles()`; hashed while sent, renamed into place when verified. */
  async putFile(localPath: string, url: string, options: TransferOptions = {}): Promise<TransferResult> {
    return (await import('../files/client.js')).putFile(this, localPath, url, options);
  }

  /** The entries of a directory a server serves with `serveFiles()`. */
  async listFiles(url: string, options: { timeout?: number } = {}): Promise<DirEntry[]> {
    return (await import('../files/client.js')).listFiles(this, url, options);
  }
}

function pingRequest(timeout: number): RpcRequest {
  return { head: { type: Type.PINGECHO }, param: undefined, data: undefined, timeout, retry: false };
}
