import net from 'node:net';
import { WebSocket } from 'ws';
import {
  type ConnectionCallback,
  type ConnectOptions,
  connect,
  type JugglerClient,
  type JugglerServer,
  type ListenOptions,
  listen,
  type NotifyCallback,
  type RequestCallback,
} from '../../src/juggler/index.js';
import { onCleanup } from '../helpers/net.js';

export async function startJuggler(
  options: ListenOptions = {},
  requestCb?: RequestCallback,
  connectionCb?: ConnectionCallback,
): Promise<{ server: JugglerServer; port: number; url: string }> {
  const server = await listen('127.0.0.1', 0, connectionCb, requestCb, options);
  onCleanup(() => server.close());
  const { port } = server.address();
  return { server, port, url: `ws://127.0.0.1:${port}${options.wsPath ?? '/ws'}` };
}

export async function connectJuggler(
  url: string,
  options: ConnectOptions = {},
  notifyCb?: NotifyCallback,
): Promise<JugglerClient> {
  const client = await connect(url, notifyCb, options);
  onCleanup(() => client.close());
  return client;
}

/** A bare `ws` socket for sending hand-made frames; resolves once open. */
export async function rawSocket(
  url: string,
): Promise<{ ws: WebSocket; frames: string[]; closed: Promise<number> }> {
  const ws = new WebSocket(url);
  onCleanup(() => ws.terminate());
  const frames: string[] = [];
  ws.on('message', (data) => frames.push(data.toString()));
  const closed = new Promise<number>((resolve) => ws.on('close', (code) => resolve(code)));
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  return { ws, frames, closed };
}

/** A WebSocket handshake on a raw TCP socket that then never reads: a browser tab that froze. */
export async function frozenPeer(port: number, path = '/ws'): Promise<net.Socket> {
  const socket = net.connect(port, '127.0.0.1');
  onCleanup(() => socket.destroy());
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', () => resolve());
    socket.once('error', reject);
  });
  socket.write(
    `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
      'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n',
  );
  await new Promise<void>((resolve) => {
    let text = '';
    const onData = (chunk: Buffer): void => {
      text += chunk.toString('latin1');
      if (text.includes('\r\n\r\n')) {
        socket.off('data', onData);
        socket.pause();
        resolve();
      }
    };
    socket.on('data', onData);
  });
  return socket;
}

export async function httpStatus(url: string, headers: Record<string, string> = {}): Promise<number> {
  const res = await fetch(url, { headers, redirect: 'manual' });
  await res.arrayBuffer();
  return res.status;
}
