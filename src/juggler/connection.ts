import { EventEmitter } from 'node:events';
import type { WebSocket } from 'ws';
import type { Logger } from '../index.js';
import { errorData, JugglerClosedError } from './errors.js';
import type { JsonValue } from './json.js';
import type { JugglerState } from './state.js';
import { Transport } from './transport.js';
import { encodedFrames, type WireGeneration } from './wire.js';

export type RequestCallback = (
  connection: JugglerConnection,
  name: string,
  data: JsonValue,
) => JsonValue | undefined | Promise<JsonValue | undefined>;

export interface ConnectionSettings {
  generation: WireGeneration;
  autoflushDelay: number | null;
  parallelRequests: boolean;
  maxPendingRequests: number;
  maxMessageSize: number;
  sendBufferLimit: number;
  maxSegmentSize: number;
  pingDelay: number | null;
  pingTimeout: number;
  requestCb: RequestCallback | undefined;
  log: Logger;
}

/**
 * One juggler connection on the server: keeps the peer's copy of `state` in sync with diffs,
 * answers its requests, sends notifications. Emits 'close' (reason) once.
 */
export class JugglerConnection extends EventEmitter {
  private readonly transport: Transport;
  private syncedVersion = -1;
  private flushTimer: NodeJS.Timeout | null = null;
  private readonly stopWatching: () => void;
  private pending = 0;
  private chain: Promise<void> = Promise.resolve();
  private closeReason: string | null = null;

  constructor(
    ws: WebSocket,
    readonly remote: string,
    readonly state: JugglerState,
    private readonly settings: ConnectionSettings,
  ) {
    super();
    this.transport = new Transport(ws, {
      generation: settings.generation,
      maxMessageSize: settings.maxMessageSize,
      sendBufferLimit: settings.sendBufferLimit,
      maxSegmentSize: settings.maxSegmentSize,
      pingDelay: settings.pingDelay,
      pingTimeout: settings.pingTimeout,
      log: settings.log,
      onMessage: (message) => this.receive(message),
      onClose: (reason) => this.finish(reason),
    });
    this.stopWatching = state.onChange(() => this.changed());
    // The first frame is always a state message (an empty diff for a null state), so that a
    // client learns the wire generation without having to wait.
    this.sync(true);
  }

  get wire(): WireGeneration {
    return this.settings.generation;
  }

  get isClosed(): boolean {
    return this.closeReason !== null;
  }

  /** Bytes queued towards this peer. */
  get buffered(): number {
    return this.transport.buffered;
  }

  /** Sends the state changes not yet sent; resolves once queued for the peer. */
  flush(): Promise<void> {
    if (this.isClosed) return Promise.reject(new JugglerClosedError('juggler connection closed'));
    this.sync(false);
    if (this.isClosed) return Promise.reject(new JugglerClosedError('juggler connection closed'));
    return Promise.resolve();
  }

  /** Sends a notification; false when the connection is closed. */
  notify(name: string, data: JsonValue): boolean {
    if (typeof name !== 'string') throw new TypeError('name must be a string');
    return this.sendEncoded(encodeNotify(name, data));
  }

  /** Sends one message given as its JSON text; false when the connection is closed. */
  sendEncoded(text: string): boolean {
    return this.transport.send(text);
  }

  /** @internal Sends a message encoded once for many connections (see SharedMessage). */
  sendShared(message: SharedMessage): boolean {
    const { frames, size } = message.framesFor(this.settings.generation, this.transport.segmentSize);
    return this.transport.sendFrames(frames, size);
  }

  close(code = 1000, reason = ''): void {
    this.transport.close(code, reason);
  }

  /** Closes without a close handshake. */
  terminate(reason = 'terminated'): void {
    this.transport.terminate(reason);
  }

  private changed(): void {
    const delay = this.settings.autoflushDelay;
    if (delay === null || this.isClosed) return;
    if (delay === 0) this.sync(false);
    else if (!this.flushTimer) {
      this.flushTimer = setTimeout(() => {
        this.flushTimer = null;
        this.sync(false);
      }, delay);
    }
  }

  private sync(always: boolean): void {
    if (this.flushTimer) {
      clearTimeout(this.flushTimer);
      this.flushTimer = null;
    }
    const text = this.state.patchTextSince(this.syncedVersion);
    this.syncedVersion = this.state.version;
    if (text === null && !always) return;
    if (text === null) this.transport.send('{"type":"state","diff":[]}');
    else this.sendShared(stateMessage(text));
  }

  private receive(message: unknown): void {
    if (typeof message !== 'object' || message === null || Array.isArray(message)) {
      this.transport.fail('message is not a JSON object');
      return;
    }
    const m = message as Record<string, unknown>;
    if (m.type !== 'request') {
      this.transport.fail(`unknown message type ${JSON.stringify(m.type)}`);
      return;
    }
    if (!('id' in m) || typeof m.name !== 'string') {
      this.transport.fail('request without id or name');
      return;
    }
    if (this.pending >= this.settings.maxPendingRequests) {
      this.transport.fail(`over ${this.settings.maxPendingRequests} requests waiting`, 1008);
      return;
    }
    const id = m.id as JsonValue;
    const data = (m.data ?? null) as JsonValue;
    this.pending++;
    const run = (): Promise<void> => this.answer(id, m.name as string, data).finally(() => this.pending--);
    if (this.settings.parallelRequests) void run();
    else this.chain = this.chain.then(run);
  }

  private async answer(id: JsonValue, name: string, data: JsonValue): Promise<void> {
    let success = true;
    let result: JsonValue | undefined;
    if (name === '')
      result = data; // hat.juggler: an empty name echoes the data
    else if (!this.settings.requestCb) {
      success = false;
      result = 'request handler not implemented';
    } else {
      try {
        result = await this.settings.requestCb(this, name, data);
      } catch (error) {
        success = false;
        result = errorData(error);
      }
    }
    if (this.isClosed) return;
    let text: string;
    try {
      text = `{"type":"response","id":${JSON.stringify(id)},"success":${success},"data":${JSON.stringify(result ?? null)}}`;
    } catch (error) {
      text = `{"type":"response","id":${JSON.stringify(id)},"success":false,"data":${JSON.stringify(`response not JSON: ${(error as Error).message}`)}}`;
    }
    this.transport.send(text);
  }

  private finish(reason: string): void {
    if (this.closeReason !== null) return;
    this.closeReason = reason;
    this.stopWatching();
    if (this.flushTimer) clearTimeout(this.flushTimer);
    this.flushTimer = null;
    this.emit('close', reason);
  }
}

export function encodeNotify(name: string, data: JsonValue): string {
  return `{"type":"notify","name":${JSON.stringify(name)},"data":${JSON.stringify(data ?? null)}}`;
}

/**
 * One message for many connections: its JSON text, framed and UTF-8 encoded once per wire
 * generation, so a fan-out to 50 browsers costs one encoding, not 50.
 */
export class SharedMessage {
  private readonly cache = new Map<string, { frames: Buffer[]; size: number }>();

  constructor(readonly text: string) {}

  framesFor(generation: WireGeneration, maxSegment: number): { frames: Buffer[]; size: number } {
    const key = `${generation}:${maxSegment}`;
    let entry = this.cache.get(key);
    if (!entry) {
      const frames = encodedFrames(this.text, generation, maxSegment);
      entry = { frames, size: frames.reduce((n, f) => n + f.length, 0) };
      this.cache.set(key, entry);
    }
    return entry;
  }
}

/** The state message of the last patch text: connections at the same version share one patch text. */
let lastPatch: string | null = null;
let lastStateMessage: SharedMessage | null = null;

function stateMessage(patch: string): SharedMessage {
  if (patch !== lastPatch || !lastStateMessage) {
    lastPatch = patch;
    lastStateMessage = new SharedMessage(`{"type":"state","diff":${patch}}`);
  }
  return lastStateMessage;
}
