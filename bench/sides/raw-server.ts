/**
 * The floor: plain Node.js, no VSOA. A connection starting with a 4-byte length is the
 * length-prefixed echo (each chunk written straight back: an echo is the identity); one
 * starting with 'M' is the message echo (the RPC floor: requests read whole, then answered);
 * one starting with 'P' is the raw pub/sub of raw-wire.ts, driven by the same Streamer as the
 * VSOA sides (window-paced TCP publishes, rate-paced UDP). A UDP socket on the same port
 * counts the datagrams clients send (the quick-in floor) and carries quick publishes.
 */
import dgram from 'node:dgram';
import net from 'node:net';
import type { Json } from '../lib/adapter.js';
import { GcMeter } from '../lib/gc-meter.js';
import { FrameCounter } from '../lib/length-prefix.js';
import { num, onCommands, report } from '../lib/messages.js';
import { QUICK_RCVBUF_BYTES } from '../lib/quick-rcvbuf.js';
import {
  frameHead,
  HEAD_BYTES,
  KIND_PUBLISH,
  KIND_REPLY,
  MESSAGE_ECHO_MODE,
  PUBSUB_MODE,
  RawReader,
} from '../lib/raw-wire.js';
import { Streamer } from '../lib/streamer.js';

const meter = new GcMeter();
let frames = 0;
const subscribers = new Set<net.Socket>();
const quickPeers = new Map<net.Socket, number>();
let udp: dgram.Socket | undefined;
let quickIn = 0;
const quickHead = Buffer.alloc(HEAD_BYTES);

const streamer = new Streamer({
  publish(_url, data, quick) {
    if (quick) {
      for (const port of quickPeers.values()) udp?.send([quickHead, data], port, '127.0.0.1');
      return;
    }
    const head = frameHead(KIND_PUBLISH, data.length);
    for (const socket of subscribers) {
      socket.cork();
      socket.write(head);
      socket.write(data);
      socket.uncork();
    }
  },
  listen: () => Promise.resolve(0),
  echo: () => {},
  command: () => {},
  ondata: () => {},
  count: () => subscribers.size,
  close: () => Promise.resolve(),
});

function replyTo(socket: net.Socket, id: number, body: Json): void {
  const json = Buffer.from(JSON.stringify({ id, ...body }));
  socket.write(Buffer.concat([frameHead(KIND_REPLY, json.length), json]));
}

function onLine(socket: net.Socket, line: string): void {
  const msg = JSON.parse(line) as Json;
  const id = num(msg, 'id', 0);
  switch (msg.op) {
    case 'sub':
      subscribers.add(socket);
      if (typeof msg.udp === 'number') quickPeers.set(socket, msg.udp);
      replyTo(socket, id, {});
      break;
    case 'ack':
      streamer.ack(num(msg, 'n', 0));
      break;
    case 'ctl':
      if (msg.url === '/ctl/stream') {
        streamer.run(msg.param as Json).then(
          (result) => replyTo(socket, id, { param: result }),
          (error: unknown) => replyTo(socket, id, { error: String(error) }),
        );
      } else if (msg.url === '/ctl/quick-in') {
        replyTo(socket, id, { param: { received: quickIn } });
        if ((msg.param as Json | undefined)?.reset === true) quickIn = 0;
      } else if (msg.url === '/ctl/cpu') {
        replyTo(socket, id, { param: { ...process.cpuUsage() } });
      } else {
        replyTo(socket, id, { error: `unknown ${String(msg.url)}` });
      }
      break;
  }
}

function pubsub(socket: net.Socket, first: Buffer): void {
  let text = '';
  const onData = (chunk: Buffer): void => {
    text += chunk.toString('utf8');
    for (let nl = text.indexOf('\n'); nl >= 0; nl = text.indexOf('\n')) {
      const line = text.slice(0, nl);
      text = text.slice(nl + 1);
      if (line) onLine(socket, line);
    }
  };
  socket.on('data', onData);
  socket.on('close', () => {
    subscribers.delete(socket);
    quickPeers.delete(socket);
  });
  onData(first.subarray(1));
}

/** The RPC floor: each request whole, then its reply (head + the same bytes, no copy). */
function messageEcho(socket: net.Socket, first: Buffer): void {
  const reader = new RawReader(
    (body) => {
      frames++;
      socket.cork();
      socket.write(frameHead(KIND_REPLY, body.length));
      if (body.length > 0) socket.write(body);
      socket.uncork();
    },
    () => {},
  );
  socket.on('data', (chunk: Buffer) => reader.push(chunk));
  reader.push(first.subarray(1));
}

const server = net.createServer({ noDelay: true }, (socket) => {
  socket.on('error', () => socket.destroy());
  socket.once('data', (first: Buffer) => {
    if (first[0] === PUBSUB_MODE) return pubsub(socket, first);
    if (first[0] === MESSAGE_ECHO_MODE) return messageEcho(socket, first);
    const counter = new FrameCounter();
    const echo = (chunk: Buffer): void => {
      frames += counter.push(chunk);
      socket.write(chunk);
    };
    socket.on('data', echo);
    echo(first);
  });
});

function bindUdp(port: number, recvBufferSize: number): Promise<dgram.Socket> {
  return new Promise((resolve, reject) => {
    const socket = dgram.createSocket({ type: 'udp4', recvBufferSize });
    socket.once('error', reject);
    socket.on('message', () => {
      quickIn++;
    });
    socket.bind(port, '127.0.0.1', () => {
      socket.off('error', reject);
      resolve(socket);
    });
  });
}

/** TCP and UDP on one port, as VSOA does: the floor's quick socket gets the same receive buffer as ours. */
async function listen(): Promise<number> {
  for (let attempt = 0; ; attempt++) {
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as net.AddressInfo).port;
    try {
      udp = await bindUdp(port, QUICK_RCVBUF_BYTES);
      return port;
    } catch (error) {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      if (attempt >= 20) throw error;
    }
  }
}

const port = await listen();
onCommands(async (command) => {
  if (command.cmd === 'mark') {
    await meter.mark();
    report('marked');
  } else if (command.cmd === 'stats') {
    const clients = await new Promise<number>((resolve) => server.getConnections((_e, n) => resolve(n)));
    report('stats', {
      ...(await meter.report()),
      clients,
      frames,
      quickRecvBuffer: udp?.getRecvBufferSize(),
    });
  } else if (command.cmd === 'exit') {
    process.exit(0);
  }
});
report('ready', { port, pid: process.pid });
