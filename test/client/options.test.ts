import { describe, expect, it } from 'vitest';
import {
  DEFAULT_CONNECT_TIMEOUT,
  DEFAULT_MAX_SEND_QUEUE,
  DEFAULT_REQUEST_TIMEOUT,
  DEFAULT_SEND_TIMEOUT,
  ROBOT_DEFAULTS,
} from '../../src/client/options.js';
import { Client, ConnectCode, ErrorCode, VsoaError } from '../../src/index.js';
import { connectClient, onCleanup, startServer } from '../helpers/net.js';

const TOO_LONG = 3e9; // above 2^31-1 ms: Node would fire such a timer after 1 ms

function closedClient(): Client {
  const client = new Client();
  onCleanup(() => client.close());
  return client;
}

describe('client durations are checked in one place', () => {
  it('refuses a timeout above 2^31-1 ms with a RangeError naming the argument, everywhere', async () => {
    const { url } = await startServer();
    const client = await connectClient(url);
    expect(() => client.fetch('/x', { timeout: TOO_LONG })).toThrow(/options\.timeout/);
    expect(() => client.fetch('/x', { timeout: TOO_LONG })).toThrow(RangeError);
    expect(() => client.call('/x', { timeout: TOO_LONG }, () => {})).toThrow(RangeError);
    expect(() => client.ping(() => {}, TOO_LONG)).toThrow(/timeout/);
    expect(() => client.subscribe('/x', () => {}, TOO_LONG)).toThrow(RangeError);
    expect(() => client.unsubscribe('/x', () => {}, TOO_LONG)).toThrow(RangeError);
    expect(() => client.sendTimeout(TOO_LONG)).toThrow(/ms/);
    expect(() => client.createStream(1000, () => {}, undefined, TOO_LONG)).toThrow(/timeout/);
    expect(() => client.robotPingTurbo(TOO_LONG)).toThrow(/turboMs/);
    await expect(client.connect(url, { timeout: TOO_LONG })).rejects.toThrow(RangeError);
    expect(client.pendings).toBe(0);
    expect(client.connected).toBe(true);
  });

  it('refuses robot timings above 2^31-1 ms, and NaN as a TypeError', () => {
    for (const key of ['keepalive', 'connTimeout', 'reconnDelay', 'maxReconnDelay'] as const) {
      expect(() => closedClient().robot('vsoa://127.0.0.1:1', { [key]: TOO_LONG })).toThrow(
        new RegExp(`options\\.${key}`),
      );
    }
    expect(() => closedClient().robot('vsoa://127.0.0.1:1', { keepalive: Number.NaN })).toThrow(TypeError);
    expect(() => closedClient().fetch('/x', { timeout: -1 })).toThrow(RangeError);
  });

  it('exports its defaults (the CLI imports them)', () => {
    expect(DEFAULT_CONNECT_TIMEOUT).toBe(10_000);
    expect(DEFAULT_REQUEST_TIMEOUT).toBe(60_000);
    expect(DEFAULT_SEND_TIMEOUT).toBe(500);
    expect(DEFAULT_MAX_SEND_QUEUE).toBe(8 * 1024 * 1024);
    expect(ROBOT_DEFAULTS).toMatchObject({
      keepalive: 3000,
      connTimeout: 10_000,
      reconnDelay: 1000,
      pingLost: 3,
    });
  });

  it('checks the options bag itself', () => {
    expect(() => new Client(null as never)).toThrow(TypeError);
    expect(() => new Client({ resolve: 'x' as never })).toThrow(/options\.resolve/);
    expect(() => new Client({ quickRecvBufferSize: -1 })).toThrow(/options\.quickRecvBufferSize/);
  });
});

describe('name resolution is a seam', () => {
  it('uses options.resolve for every connect; its connect code is what connect() resolves', async () => {
    const { port } = await startServer();
    const asked: string[] = [];
    const client = new Client({
      resolve: async (url) => {
        asked.push(url);
        if (url.includes('unknown')) {
          throw new VsoaError(ErrorCode.CONNECT, 'not here', { connectCode: ConnectCode.SERVER_NOT_FOUND });
        }
        return { host: '127.0.0.1', port, path: '/', security: false };
      },
    });
    onCleanup(() => client.close());
    expect(await client.connect('vsoa://anything/')).toBe(ConnectCode.OK);
    expect(await client.connect('vsoa://unknown/')).toBe(ConnectCode.SERVER_NOT_FOUND);
    expect(asked).toEqual(['vsoa://anything/', 'vsoa://unknown/']);
  });
});

describe('quickRecvBufferSize', () => {
  it('is asked of the kernel for the quick socket, and what it granted is visible', async () => {
    const { url } = await startServer();
    const client = new Client({ quickRecvBufferSize: 65_536 });
    onCleanup(() => client.close());
    expect(await client.connect(url)).toBe(ConnectCode.OK);
    // Linux reports twice what was set (its bookkeeping); other kernels report it as set.
    expect(client.quickRecvBufferSize).toBeGreaterThanOrEqual(65_536);
    expect(client.quickRecvBufferSize).toBe(client.sockets.udp?.getRecvBufferSize());
  });
});
