import { spawn, spawnSync } from 'node:child_process';
import dgram from 'node:dgram';
import { once } from 'node:events';
import net from 'node:net';
import { dirname, join } from 'node:path';
import tls from 'node:tls';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type NativeAddon, resetNativeForTests } from '../../src/native/addon.js';
import {
  getLinger,
  getSockOptInt,
  IP_TOS,
  IPPROTO_IP,
  IPPROTO_IPV6,
  IPPROTO_TCP,
  IPV6_TCLASS,
  nativeStatus,
  SO_KEEPALIVE,
  SO_PRIORITY,
  SOL_SOCKET,
  setKeepAlive,
  setLinger,
  setPriority,
  socketFd,
  TCP_KEEPCNT,
  TCP_KEEPIDLE,
  TCP_KEEPINTVL,
} from '../../src/transport/sockopt.js';
import { getLogger, setLogger } from '../../src/util/log.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const addonPath = join(root, 'build', 'Release', 'vsoa_native.node');

const closers: Array<() => void> = [];
afterEach(() => {
  for (const close of closers.splice(0).reverse()) close();
});

/** A connected TCP pair over loopback: [client side, server side]. */
async function tcpPair(host = '127.0.0.1'): Promise<[net.Socket, net.Socket]> {
  const server = net.createServer();
  closers.push(() => server.close());
  server.listen(0, host);
  await once(server, 'listening');
  const accepted = once(server, 'connection') as Promise<[net.Socket]>;
  const client = net.connect((server.address() as net.AddressInfo).port, host);
  closers.push(() => client.destroy());
  await once(client, 'connect');
  const [peer] = await accepted;
  closers.push(() => peer.destroy());
  return [client, peer];
}

const psk = Buffer.from('0123456789abcdef0123456789abcdef');
const pskOptions = { ciphers: 'PSK-AES128-GCM-SHA256', maxVersion: 'TLSv1.2' as const };

/** A TLS (PSK, no certificates needed) pair over loopback: [client side, server side]. */
async function tlsPair(): Promise<[tls.TLSSocket, tls.TLSSocket]> {
  const server = tls.createServer({ ...pskOptions, pskCallback: () => psk });
  closers.push(() => server.close());
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const accepted = once(server, 'secureConnection') as Promise<[tls.TLSSocket]>;
  const client = tls.connect({
    ...pskOptions,
    port: (server.address() as net.AddressInfo).port,
    host: '127.0.0.1',
    pskCallback: () => ({ psk, identity: 'vsoa' }),
    checkServerIdentity: () => undefined,
  });
  closers.push(() => client.destroy());
  await once(client, 'secureConnect');
  const [peer] = await accepted;
  closers.push(() => peer.destroy());
  return [client, peer];
}

async function udpSocket(type: 'udp4' | 'udp6', host: string): Promise<dgram.Socket> {
  const sock = dgram.createSocket(type);
  closers.push(() => sock.close());
  sock.bind(0, host);
  await once(sock, 'listening');
  return sock;
}

describe('native addon', () => {
  it('is built and loaded from build/Release', () => {
    const status = nativeStatus();
    expect(status).toMatchObject({ addon: true, source: 'package', path: addonPath });
    expect(status.features).toEqual({
      priority: 'native',
      keepalive: 'native',
      linger: 'native',
      notify: 'native',
      allocator: 'native',
      quickBatch: 'native',
    });
  });
});

describe('socketFd', () => {
  it('finds the descriptor of net, TLS (both sides) and dgram sockets', async () => {
    const [client, peer] = await tcpPair();
    const [tclient, tpeer] = await tlsPair();
    const udp = await udpSocket('udp4', '127.0.0.1');
    const fds = [client, peer, tclient, tpeer, udp].map((s) => socketFd(s));
    for (const fd of fds) expect(fd).toBeGreaterThan(2);
    expect(new Set(fds).size).toBe(5);
  });

  it('is undefined before connect and after close, and setters then report false', async () => {
    const sock = new net.Socket();
    expect(socketFd(sock)).toBeUndefined();
    expect(setPriority(sock, 3)).toBe(false);
    expect(setLinger(sock, 0)).toBe(false);
    const [client] = await tcpPair();
    client.destroy();
    expect(socketFd(client)).toBeUndefined();
    expect(() => getSockOptInt(client, SOL_SOCKET, SO_PRIORITY)).toThrow(/descriptor/);
  });
});

describe('setPriority', () => {
  it('sets IP_TOS 0xA8 and SO_PRIORITY 5 on a connected TCP socket, and 0 resets them', async () => {
    const [client, peer] = await tcpPair();
    expect(getSockOptInt(client, IPPROTO_IP, IP_TOS)).toBe(0);
    expect(setPriority(client, 5)).toBe(true);
    expect(getSockOptInt(client, IPPROTO_IP, IP_TOS)).toBe(0xa8);
    expect(getSockOptInt(client, SOL_SOCKET, SO_PRIORITY)).toBe(5);
    expect(getSockOptInt(peer, IPPROTO_IP, IP_TOS)).toBe(0); // the other end is untouched
    expect(setPriority(client, 0)).toBe(true);
    expect(getSockOptInt(client, IPPROTO_IP, IP_TOS)).toBe(0);
    expect(getSockOptInt(client, SOL_SOCKET, SO_PRIORITY)).toBe(0);
  });

  it('maps every priority to TOS (p << 5) | 0x08', async () => {
    const [client] = await tcpPair();
    for (let p = 1; p <= 7; p++) {
      expect(setPriority(client, p)).toBe(true);
      expect(getSockOptInt(client, IPPROTO_IP, IP_TOS)).toBe((p << 5) | 0x08);
      expect(getSockOptInt(client, SOL_SOCKET, SO_PRIORITY)).toBe(p);
    }
  });

  it('works on both sides of a TLS connection', async () => {
    const [client, peer] = await tlsPair();
    expect(setPriority(client, 5)).toBe(true);
    expect(setPriority(peer, 3)).toBe(true);
    expect(getSockOptInt(client, IPPROTO_IP, IP_TOS)).toBe(0xa8);
    expect(getSockOptInt(peer, IPPROTO_IP, IP_TOS)).toBe(0x68);
    expect(getSockOptInt(peer, SOL_SOCKET, SO_PRIORITY)).toBe(3);
  });

  it('works on a bound dgram socket', async () => {
    const udp = await udpSocket('udp4', '127.0.0.1');
    expect(setPriority(udp, 5)).toBe(true);
    expect(getSockOptInt(udp, IPPROTO_IP, IP_TOS)).toBe(0xa8);
    expect(getSockOptInt(udp, SOL_SOCKET, SO_PRIORITY)).toBe(5);
    expect(setPriority(udp, 0)).toBe(true);
    expect(getSockOptInt(udp, IPPROTO_IP, IP_TOS)).toBe(0);
  });

  it('uses IPV6_TCLASS on IPv6 sockets', async () => {
    const [client] = await tcpPair('::1');
    const udp = await udpSocket('udp6', '::1');
    for (const sock of [client, udp]) {
      expect(setPriority(sock, 5)).toBe(true);
      expect(getSockOptInt(sock, IPPROTO_IPV6, IPV6_TCLASS)).toBe(0xa8);
      expect(getSockOptInt(sock, SOL_SOCKET, SO_PRIORITY)).toBe(5);
    }
  });

  it('rejects priorities outside 0..7', async () => {
    const [client] = await tcpPair();
    for (const p of [-1, 8, 1.5, Number.NaN]) expect(() => setPriority(client, p)).toThrow(RangeError);
  });
});

describe('setKeepAlive', () => {
  it('sets SO_KEEPALIVE, idle = interval in whole seconds and 3 probes; 0 turns it off', async () => {
    const [client] = await tcpPair();
    expect(getSockOptInt(client, SOL_SOCKET, SO_KEEPALIVE)).toBe(0);
    expect(setKeepAlive(client, 2000)).toBe(true);
    expect(getSockOptInt(client, SOL_SOCKET, SO_KEEPALIVE)).toBe(1);
    expect(getSockOptInt(client, IPPROTO_TCP, TCP_KEEPIDLE)).toBe(2);
    expect(getSockOptInt(client, IPPROTO_TCP, TCP_KEEPINTVL)).toBe(2);
    expect(getSockOptInt(client, IPPROTO_TCP, TCP_KEEPCNT)).toBe(3);
    expect(setKeepAlive(client, 200)).toBe(true); // at least one second
    expect(getSockOptInt(client, IPPROTO_TCP, TCP_KEEPIDLE)).toBe(1);
    expect(getSockOptInt(client, IPPROTO_TCP, TCP_KEEPINTVL)).toBe(1);
    expect(setKeepAlive(client, 0)).toBe(true);
    expect(getSockOptInt(client, SOL_SOCKET, SO_KEEPALIVE)).toBe(0);
    expect(() => setKeepAlive(client, -1)).toThrow(RangeError);
    expect(() => setKeepAlive(client, Number.POSITIVE_INFINITY)).toThrow(RangeError);
  });

  it('works on a server-side TLS socket', async () => {
    const [, peer] = await tlsPair();
    expect(setKeepAlive(peer, 5000)).toBe(true);
    expect(getSockOptInt(peer, IPPROTO_TCP, TCP_KEEPIDLE)).toBe(5);
    expect(getSockOptInt(peer, IPPROTO_TCP, TCP_KEEPCNT)).toBe(3);
  });
});

/** Runs the vanishing-peer fixture in a fresh network namespace; resolves with its report. */
async function vanish(env: NodeJS.ProcessEnv, idleMs: number, limitMs: number) {
  const fixture = join(root, 'test', 'transport', 'fixtures', 'keepalive-vanish.ts');
  const child = spawn(
    'unshare',
    ['-n', process.execPath, '--import', 'tsx', fixture, String(idleMs), String(limitMs)],
    { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  closers.push(() => child.kill('SIGKILL'));
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => {
    out += d.toString();
  });
  child.stderr.on('data', (d: Buffer) => {
    err += d.toString();
  });
  const [code] = (await once(child, 'exit')) as [number | null];
  expect(code, err).toBe(0);
  return JSON.parse(out.trim().split('\n').at(-1) ?? '') as {
    applied: boolean;
    code: string;
    elapsedMs: number;
    controlError: string | null;
    controlOpen: boolean;
  };
}

// Dropping packets needs a private network namespace (root, or user namespaces); the
// loopback inside it is taken down, so probes get no answer and the peer sends no FIN/RST.
const canUnshare = spawnSync('unshare', ['-n', 'ip', 'link', 'set', 'lo', 'up']).status === 0;

describe.skipIf(!canUnshare)('keepalive detects a vanished peer', () => {
  it('within idle + 3 probes x idle with the addon (idle 1 s: about 4 s)', async () => {
    const r = await vanish({ ...process.env, VSOA_NO_NATIVE: '' }, 1000, 20_000);
    expect(r.applied).toBe(true);
    expect(r.code).toBe('ETIMEDOUT');
    expect(r.elapsedMs).toBeGreaterThan(2500);
    expect(r.elapsedMs).toBeLessThan(6500);
    // The same outage did not touch the connection without keepalive: detection is keepalive's.
    expect(r.controlError).toBeNull();
    expect(r.controlOpen).toBe(true);
  });

  it('degraded: Node keepalive (1 s interval, 10 probes) still detects it, later', async () => {
    const r = await vanish({ ...process.env, VSOA_NO_NATIVE: '1' }, 1000, 25_000);
    expect(r.applied).toBe(false);
    expect(r.code).toBe('ETIMEDOUT');
    expect(r.elapsedMs).toBeGreaterThan(9000);
    expect(r.elapsedMs).toBeLessThan(14_000);
    expect(r.controlError).toBeNull();
  });
});

describe('setLinger', () => {
  it('reads back SO_LINGER', async () => {
    const [client] = await tcpPair();
    expect(getLinger(client)).toEqual({ on: false, seconds: 0 });
    expect(setLinger(client, 5)).toBe(true);
    expect(getLinger(client)).toEqual({ on: true, seconds: 5 });
    expect(setLinger(client, 0)).toBe(true);
    expect(getLinger(client)).toEqual({ on: true, seconds: 0 });
    expect(() => setLinger(client, -1)).toThrow(RangeError);
    expect(() => setLinger(client, 0.5)).toThrow(RangeError);
  });

  /** Destroys the client side and reports how the server side saw the connection end. */
  async function peerSeesOnDestroy(linger: number | undefined): Promise<string> {
    const [client, peer] = await tcpPair();
    if (linger !== undefined) expect(setLinger(client, linger)).toBe(true);
    const seen = new Promise<string>((resolve) => {
      peer.on('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? e.message));
      peer.on('end', () => resolve('end'));
    });
    peer.resume();
    client.destroy();
    return seen;
  }

  it('linger 0: the peer sees ECONNRESET, not a FIN', async () => {
    expect(await peerSeesOnDestroy(0)).toBe('ECONNRESET');
  });

  it('control: without linger the peer sees a clean end', async () => {
    expect(await peerSeesOnDestroy(undefined)).toBe('end');
  });
});

describe('degraded mode (VSOA_NO_NATIVE=1)', () => {
  let lines: string[] = [];
  const savedLogger = getLogger();
  const savedEnv = process.env.VSOA_NO_NATIVE;
  /** The addon opened directly, to check what the fallbacks did to the real sockets. */
  let direct: NativeAddon;

  beforeEach(() => {
    lines = [];
    setLogger(pino({ level: 'warn' }, { write: (s: string) => void lines.push(s) }));
    process.env.VSOA_NO_NATIVE = '1';
    resetNativeForTests();
    const mod = { exports: {} as NativeAddon };
    process.dlopen(mod, addonPath);
    direct = mod.exports;
  });

  afterEach(() => {
    if (savedEnv === undefined) delete process.env.VSOA_NO_NATIVE;
    else process.env.VSOA_NO_NATIVE = savedEnv;
    resetNativeForTests();
    setLogger(savedLogger);
  });

  it('reports every feature degraded', () => {
    const status = nativeStatus();
    expect(status).toMatchObject({ addon: false, source: 'disabled' });
    expect(status.features).toEqual({
      priority: 'degraded',
      keepalive: 'degraded',
      linger: 'degraded',
      notify: 'degraded',
      allocator: 'degraded',
      quickBatch: 'degraded',
    });
    expect(status.degraded.length).toBe(6);
  });

  it('falls back without throwing and warns exactly once', async () => {
    const [client, peer] = await tcpPair();
    const udp = await udpSocket('udp4', '127.0.0.1');
    const fd = socketFd(client)!;

    expect(setPriority(client, 5)).toBe(false);
    expect(setPriority(udp, 5)).toBe(false);
    expect(direct.getsockopt(fd, SOL_SOCKET, SO_PRIORITY)).toBe(0); // Node 20 has no setTypeOfService
    expect(() => setPriority(client, 9)).toThrow(RangeError);

    expect(setKeepAlive(client, 2000)).toBe(false);
    expect(direct.getsockopt(fd, SOL_SOCKET, SO_KEEPALIVE)).toBe(1);
    expect(direct.getsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE)).toBe(2);
    expect(direct.getsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL)).toBe(1); // Node's own values
    expect(direct.getsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT)).toBe(10);
    expect(setKeepAlive(client, 0)).toBe(false);
    expect(direct.getsockopt(fd, SOL_SOCKET, SO_KEEPALIVE)).toBe(0);

    expect(setLinger(client, 0)).toBe(false);
    expect(direct.getLinger(fd)).toEqual({ on: false, seconds: 0 });
    expect(() => getSockOptInt(client, SOL_SOCKET, SO_PRIORITY)).toThrow(/not available/);

    // The reset Node does offer still works.
    const seen = new Promise<string>((resolve) => {
      peer.on('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? e.message));
      peer.on('end', () => resolve('end'));
    });
    peer.resume();
    client.resetAndDestroy();
    expect(await seen).toBe('ECONNRESET');

    const warnings = lines.map((l) => JSON.parse(l) as { level: number; msg: string; degraded?: string[] });
    expect(warnings).toHaveLength(1);
    expect(warnings[0]!.level).toBe(40);
    expect(warnings[0]!.msg).toMatch(
      /degraded: priority, keepalive, linger, sd_notify, allocator, quick-batch/,
    );
    expect(warnings[0]!.degraded).toHaveLength(6);
  });
});
