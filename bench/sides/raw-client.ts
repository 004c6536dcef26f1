/**
 * Client child for the raw floor: the length-prefixed echo over `net` (replies in order), and
 * the raw pub/sub of raw-wire.ts for the publish and quick-in floors. A connection's first
 * use picks its mode: echo(), or subscribe()/control()/datagram().
 */
import dgram from 'node:dgram';
import net from 'node:net';
import type { ClientAdapter, EchoFraming, Json } from '../lib/adapter.js';
import { runClient } from '../lib/client-main.js';
import { FrameCounter, prefixFor } from '../lib/length-prefix.js';
import { QUICK_RCVBUF_BYTES } from '../lib/quick-rcvbuf.js';
import {
  frameHead,
  HEAD_BYTES,
  KIND_REQUEST,
  MESSAGE_ECHO_MODE,
  PUBSUB_MODE,
  RawReader,
} from '../lib/raw-wire.js';

function rawClient(): ClientAdapter {
  let socket: net.Socket | undefined;
  let port = 0;
  let mode: 'echo' | 'pubsub' | undefined;
  let framing: EchoFraming = 'pipe';
  const waiting: Array<(ok: boolean) => void> = [];
  let head = 0;
  const counter = new FrameCounter();
  let onPublish: (bytes: number, quick: boolean) => void = () => {};
  const replies = new Map<number, (body: Json) => void>();
  let nextId = 1;
  let udp: dgram.Socket | undefined;
  const quickHead = Buffer.alloc(HEAD_BYTES);
  const reader = new RawReader(
    (data) => onPublish(data.length, false),
    (body) => {
      const msg = JSON.parse(body.toString('utf8')) as Json;
      const id = msg.id as number;
      replies.get(id)?.(msg);
      replies.delete(id);
    },
  );
  const failAll = (): void => {
    const left = waiting.splice(head);
    waiting.length = 0;
    head = 0;
    for (const done of left) done(false);
  };
  const replied = (): void => {
    const done = waiting[head++];
    if (head > 1024 && head * 2 > waiting.length) {
      waiting.splice(0, head);
      head = 0;
    }
    done?.(true);
  };
  const onEcho = (chunk: Buffer): void => {
    for (let n = counter.push(chunk); n > 0; n--) replied();
  };
  // The message echo's replies, each delivered whole (joined when it spans chunks, as a VSOA client does).
  const messageReader = new RawReader(replied, replied);
  const use = (wanted: 'echo' | 'pubsub'): net.Socket => {
    const s = socket;
    if (!s || s.destroyed) throw new Error('not connected');
    if (mode === undefined) {
      mode = wanted;
      if (wanted === 'pubsub') {
        s.write(Buffer.from([PUBSUB_MODE]));
        s.on('data', (chunk: Buffer) => reader.push(chunk));
      } else if (framing === 'message') {
        s.write(Buffer.from([MESSAGE_ECHO_MODE]));
        s.on('data', (chunk: Buffer) => messageReader.push(chunk));
      } else {
        s.on('data', onEcho);
      }
    } else if (mode !== wanted) {
      throw new Error(`raw connection is in ${mode} mode`);
    }
    return s;
  };
  const request = (op: Json, timeoutMs: number): Promise<Json> => {
    const s = use('pubsub');
    const id = nextId++;
    return new Promise<Json>((resolve, reject) => {
      const timer = setTimeout(() => {
        replies.delete(id);
        reject(new Error(`no reply to ${String(op.op)} in ${timeoutMs} ms`));
      }, timeoutMs);
      replies.set(id, (msg) => {
        clearTimeout(timer);
        if (msg.error) reject(new Error(String(msg.error)));
        else resolve((msg.param as Json | undefined) ?? {});
      });
      s.write(`${JSON.stringify({ ...op, id })}\n`);
    });
  };
  const quickSocket = async (): Promise<dgram.Socket> => {
    if (udp) return udp;
    const s = dgram.createSocket({ type: 'udp4', recvBufferSize: QUICK_RCVBUF_BYTES });
    s.on('message', (msg) => onPublish(msg.length - HEAD_BYTES, true));
    s.on('error', () => {});
    await new Promise<void>((resolve) => s.bind(0, '127.0.0.1', resolve));
    udp = s;
    return s;
  };
  return {
    connect(p) {
      port = p;
      return new Promise<void>((resolve, reject) => {
        const s = net.connect({ host: '127.0.0.1', port: p, noDelay: true }, () => resolve());
        s.once('error', reject);
        s.on('close', failAll);
        socket = s;
      });
    },
    echo(_url, data, done) {
      let s: net.Socket;
      try {
        s = use('echo');
      } catch {
        return done(false);
      }
      waiting.push(done);
      const message = framing === 'message';
      if (!data) {
        s.write(message ? frameHead(KIND_REQUEST, 0) : prefixFor(0));
        return;
      }
      s.cork();
      s.write(message ? frameHead(KIND_REQUEST, data.length) : prefixFor(data.length));
      s.write(data);
      s.uncork();
    },
    echoFraming(wanted) {
      if (mode !== undefined && framing !== wanted)
        throw new Error('echo framing is chosen before the first echo');
      framing = wanted;
    },
    control(url, param, timeoutMs) {
      // The echo floor's server CPU is not measured (its server does no protocol work).
      if (url === '/ctl/cpu' && mode !== 'pubsub')
        return Promise.reject(new Error('no /ctl/cpu on the echo floor'));
      return request({ op: 'ctl', url, param }, timeoutMs);
    },
    datagram(_url, param) {
      use('pubsub').write(`${JSON.stringify({ op: 'ack', ...param })}\n`);
    },
    quickSend(_url, data) {
      const s = udp;
      if (!s) throw new Error('call prepareQuick() first');
      s.send([quickHead, data], port, '127.0.0.1');
      return true;
    },
    async prepareQuick() {
      await quickSocket();
    },
    async subscribe() {
      const s = await quickSocket();
      await request({ op: 'sub', udp: s.address().port }, 10_000);
    },
    onMessage(handler) {
      onPublish = handler;
    },
    close() {
      socket?.destroy();
      udp?.close();
    },
  };
}

runClient(rawClient);
