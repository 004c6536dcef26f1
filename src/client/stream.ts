import net from 'node:net';
import tls from 'node:tls';
import { VsoaStream } from '../transport/stream.js';
import type { ClientTls } from '../transport/tls-options.js';
import { isTlsFailure, logHandshakeFailure } from '../transport/tls-options.js';
import type { Logger } from '../util/log.js';

export type ClientStreamLinkCallback = (stream: ClientStream, connected: boolean) => void;
export type ClientStreamDataCallback = (stream: ClientStream, data: Buffer) => void;

/** Seed default: a client stream gives its connection 10 s. */
export const CLIENT_STREAM_TIMEOUT = 10_000;

/** Where a client stream connects: the server's address, and its TLS settings when it has them. */
export interface StreamTarget {
  host: string;
  secure: ClientTls | undefined;
}

/**
 * A client stream (seed: "Client Stream Object"): connects to (server address, tunid), over
 * TLS with the client's settings when the client's connection is TLS. Connect (and the TLS
 * handshake) must finish within the timeout, else `onlink(stream, false)`.
 */
export class ClientStream extends VsoaStream {
  private timer: NodeJS.Timeout | undefined;
  private pendingSocket: net.Socket | undefined;

  /** @internal created by Client.createStream */
  constructor(
    private readonly id: number,
    target: StreamTarget | undefined,
    onlink: ClientStreamLinkCallback,
    ondata: ClientStreamDataCallback | undefined,
    timeout: number,
    log: Logger,
  ) {
    super(log);
    this.onlink = onlink;
    if (ondata !== undefined) this.ondata = ondata;
    if (!target) {
      // Never connected: nowhere to go. Reported like any failed stream, asynchronously.
      process.nextTick(() => this.destroy());
      return;
    }
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.log.debug({ tunid: id }, 'stream connect timed out');
      this.emit('timeout');
      this.destroy();
    }, timeout);
    this.open(target);
  }

  get tunid(): number {
    return this.id;
  }

  private open({ host, secure }: StreamTarget): void {
    const base = { host, port: this.id, allowHalfOpen: true, noDelay: true };
    const socket = secure ? tls.connect({ ...secure.options, ...base }) : net.connect(base);
    this.pendingSocket = socket;
    const fail = (error?: Error): void => {
      if (this.socket) return;
      if (secure && error && isTlsFailure(error)) logHandshakeFailure(secure, this.log, error, host);
      else this.log.debug({ err: error, tunid: this.id }, 'stream connect failed');
      this.destroy();
    };
    socket.once('error', fail);
    socket.once('close', () => fail());
    socket.once(secure ? 'secureConnect' : 'connect', () => {
      socket.off('error', fail);
      this.pendingSocket = undefined;
      this.settle();
      this.attach(socket);
    });
  }

  private settle(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  protected release(): void {
    this.settle();
    this.pendingSocket?.destroy();
    this.pendingSocket = undefined;
  }
}
