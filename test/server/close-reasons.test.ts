/**
 * Why a connection ended reaches the application: onclient(cli, false, reason) with a VsoaError
 * whose code names the cause, for every cause the server can tell apart. Connections that never
 * completed a handshake were never reported connected, so their reason is in the log line
 * 'connection closed' (field `code`).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { ErrorCode, MAX_PACKET_LENGTH, Type, VsoaError } from '../../src/protocol/index.js';
import type { RemoteClient } from '../../src/server/remote-client.js';
import type { Server, ServerOptions } from '../../src/server/server.js';
import type { MemoryLog } from './hostile-helpers.js';
import { frame, goodClient, RawPeer, runCleanups, startServer } from './hostile-helpers.js';

afterEach(runCleanups);

const PASSWD = 'secret';
const BIG = Buffer.alloc(MAX_PACKET_LENGTH - 64, 1);

interface Watched {
  server: Server;
  log: MemoryLog;
  port: number;
  /** The first client to connect. */
  connected: Promise<RemoteClient>;
  /** The reason of the first disconnect. */
  reason: Promise<VsoaError>;
}

async function watchedServer(options: ServerOptions = {}): Promise<Watched> {
  const started = await startServer(options);
  let onConnected: (cli: RemoteClient) => void = () => {};
  let onReason: (reason: VsoaError) => void = () => {};
  const connected = new Promise<RemoteClient>((resolve) => {
    onConnected = resolve;
  });
  const reason = new Promise<VsoaError>((resolve) => {
    onReason = resolve;
  });
  started.server.onclient = (cli, up, why) => {
    if (up) onConnected(cli);
    else if (why) onReason(why);
  };
  return { ...started, connected, reason };
}

/** A raw subscriber of /big that handshakes and then stops reading. */
async function stalledSubscriber(port: number): Promise<RawPeer> {
  const raw = await RawPeer.connect(port);
  await raw.handshake();
  await raw.write(frame({ type: Type.SUBSCRIBE, url: '/big', seqno: 1 }));
  await raw.packet(2);
  raw.socket.pause();
  return raw;
}

/** Publishes 256 KiB frames, one per turn of the event loop, until `done` holds. */
async function publishUntil(server: Server, done: () => boolean): Promise<void> {
  for (let i = 0; i < 2000 && !done(); i++) {
    server.publish('/big', { data: BIG });
    await new Promise((r) => setImmediate(r));
  }
}

function expectReason(reason: VsoaError, code: string): void {
  expect(reason).toBeInstanceOf(VsoaError);
  expect(reason.code).toBe(code);
}

describe('onclient(cli, false, reason)', () => {
  it('the peer closed: PEER_CLOSED', async () => {
    const { port, connected, reason } = await watchedServer();
    const client = await goodClient(port);
    await connected;
    client.close();
    expectReason(await reason, ErrorCode.PEER_CLOSED);
  });

  it('the server closed (server.close(), cli.close()): LOCAL_CLOSE', async () => {
    const a = await watchedServer();
    await goodClient(a.port);
    await a.connected;
    await a.server.close();
    expectReason(await a.reason, ErrorCode.LOCAL_CLOSE);
    const b = await watchedServer();
    await goodClient(b.port);
    (await b.connected).close();
    expectReason(await b.reason, ErrorCode.LOCAL_CLOSE);
  });

  it('a subscriber that stops reading: SEND_TIMEOUT', async () => {
    const { server, port, reason } = await watchedServer({ sendTimeout: 100 });
    const raw = await stalledSubscriber(port);
    let ended = false;
    void reason.then(() => {
      ended = true;
    });
    // Stop once frames wait in user space: then no write completes and the send timer runs out.
    await publishUntil(server, () => ended || (server.clients()[0]?.conn.queuedBytes ?? 0) > 0);
    expectReason(await reason, ErrorCode.SEND_TIMEOUT);
    raw.socket.resume(); // a paused socket never reads the server's close
    await raw.closed;
  });

  it('a subscriber whose queue passes maxSendQueue: SEND_QUEUE_FULL', async () => {
    const { server, port, reason } = await watchedServer({ sendTimeout: 0, maxSendQueue: 1024 * 1024 });
    const raw = await stalledSubscriber(port);
    let ended = false;
    void reason.then(() => {
      ended = true;
    });
    await publishUntil(server, () => ended);
    expectReason(await reason, ErrorCode.SEND_QUEUE_FULL);
    raw.socket.resume(); // a paused socket never reads the server's close
    await raw.closed;
  });

  it('bytes that are not VSOA: PROTOCOL', async () => {
    const { port, reason } = await watchedServer();
    const raw = await RawPeer.connect(port);
    await raw.handshake();
    raw.socket.write(Buffer.from('GET / HTTP/1.1\r\nHost: example\r\n\r\n')); // a whole header's worth
    const why = await reason;
    expectReason(why, ErrorCode.PROTOCOL);
    expect(why.message).toMatch(/BAD_MAGIC/);
  });

  it('a wrong password in a later SERVINFO of a connected client: AUTH', async () => {
    const { server, port, connected, reason } = await watchedServer({ passwd: PASSWD });
    const raw = await RawPeer.connect(port);
    await raw.handshake(JSON.stringify({ passwd: PASSWD }));
    await connected;
    server.passwd('changed');
    await raw.write(frame({ type: Type.SERVINFO, seqno: 2 }, JSON.stringify({ passwd: PASSWD })));
    expectReason(await reason, ErrorCode.AUTH);
  });

  it('a two-argument onclient (the seed form) still works', async () => {
    const { server, port } = await startServer();
    const seen: boolean[] = [];
    server.onclient = (_cli, up) => seen.push(up);
    const client = await goodClient(port);
    client.close();
    await new Promise<void>((resolve) => {
      const check = (): void => (seen.length === 2 ? resolve() : void setTimeout(check, 2));
      check();
    });
    expect(seen).toEqual([true, false]);
  });
});

describe('connections never reported connected: the reason is logged', () => {
  const closedWith = (log: MemoryLog, cid: number) =>
    log.waitFor((l) => l.cid === cid && l.msg === 'connection closed', `release of cid ${cid}`);

  it('no handshake in time: HANDSHAKE_TIMEOUT', async () => {
    const { server, log, port } = await startServer({ handshakeTimeout: 100 });
    const reported: unknown[] = [];
    server.onclient = (...args) => reported.push(args);
    const raw = await RawPeer.connect(port);
    const line = await closedWith(log, await log.cidOf(raw.localPort));
    expect(line.code).toBe(ErrorCode.HANDSHAKE_TIMEOUT);
    expect(reported).toEqual([]);
  });

  it('a wrong password: AUTH, logged with the peer address', async () => {
    const { log, port } = await startServer({ passwd: PASSWD });
    const raw = await RawPeer.connect(port);
    const localPort = raw.localPort;
    const cid = await log.cidOf(localPort);
    await raw.write(frame({ type: Type.SERVINFO }, JSON.stringify({ passwd: 'nope' })));
    const line = await closedWith(log, cid);
    expect(line.code).toBe(ErrorCode.AUTH);
    const refusal = log.find((l) => l.cid === cid && l.msg === 'authentication failed, closing');
    expect(refusal?.peer).toBe('127.0.0.1');
    expect(refusal?.port).toBe(localPort);
  });
});
