/** Server options: checked in one place (server/options.ts), defaults exported for the CLI. */
import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import {
  DEFAULT_AUTH_BACKOFF_BASE,
  DEFAULT_AUTH_BACKOFF_MAX,
  DEFAULT_AUTH_FREE_FAILURES,
  DEFAULT_HANDSHAKE_TIMEOUT,
  DEFAULT_MAX_SEND_QUEUE,
  DEFAULT_MAX_SUBSCRIPTION_BYTES,
  DEFAULT_MAX_SUBSCRIPTIONS,
  DEFAULT_SEND_TIMEOUT,
  resolveServerOptions,
} from '../../src/server/options.js';
import { Server } from '../../src/server/server.js';
import { goodClient, runCleanups, startServer } from './hostile-helpers.js';

afterEach(runCleanups);

const TOO_LONG = 2 ** 31; // Node would turn this delay into 1 ms

describe('server options', () => {
  it('defaults, as documented', () => {
    const config = resolveServerOptions({});
    expect(config).toMatchObject({
      info: '""',
      passwd: '',
      raw: false,
      sendTimeout: DEFAULT_SEND_TIMEOUT,
      maxSendQueue: DEFAULT_MAX_SEND_QUEUE,
      handshakeTimeout: DEFAULT_HANDSHAKE_TIMEOUT,
      maxSubscriptions: DEFAULT_MAX_SUBSCRIPTIONS,
      maxSubscriptionBytes: DEFAULT_MAX_SUBSCRIPTION_BYTES,
      authFreeFailures: DEFAULT_AUTH_FREE_FAILURES,
      authBackoffBase: DEFAULT_AUTH_BACKOFF_BASE,
      authBackoffMax: DEFAULT_AUTH_BACKOFF_MAX,
    });
    expect([DEFAULT_SEND_TIMEOUT, DEFAULT_HANDSHAKE_TIMEOUT, DEFAULT_MAX_SUBSCRIPTIONS]).toEqual([
      100, 5000, 1024,
    ]);
    expect(config.quickRecvBufferSize).toBeGreaterThanOrEqual(0);
  });

  it.each([
    ['sendTimeout', TOO_LONG, RangeError],
    ['handshakeTimeout', TOO_LONG, RangeError],
    ['authBackoffBase', TOO_LONG, RangeError],
    ['authBackoffMax', -1, RangeError],
    ['sendTimeout', 'soon', TypeError],
    ['maxSendQueue', 1.5, RangeError],
    ['maxSubscriptions', Number.NaN, TypeError],
    ['quickRecvBufferSize', -1, RangeError],
    ['quickRecvBatch', 65, RangeError],
    ['quickRecvBatch', '32', TypeError],
  ])('options.%s = %j is refused with a %o naming it', (name, value, type) => {
    expect(() => new Server({ [name]: value })).toThrow(type);
    expect(() => new Server({ [name]: value })).toThrow(new RegExp(name));
  });

  it('quickRecvBufferSize reaches the quick socket; the kernel grant is reported', async () => {
    const asked = 256 * 1024; // below the default: only a passed option gives this size
    const { server } = await startServer({ quickRecvBufferSize: asked });
    const rmemMax = Number(readFileSync('/proc/sys/net/core/rmem_max', 'utf8'));
    // Linux reports twice what it reserves, and caps the request at net.core.rmem_max.
    expect(server.quickRecvBufferSize).toBe(2 * Math.min(asked, rmemMax));
    const kernel = await startServer({ quickRecvBufferSize: 0 });
    expect(kernel.server.quickRecvBufferSize).toBeGreaterThan(0);
    expect(new Server().quickRecvBufferSize).toBeUndefined();
  });

  it('a non-object options, a non-JSON info, a non-string passwd are TypeErrors', () => {
    expect(() => new Server(null as never)).toThrow(TypeError);
    expect(() => new Server({ info: () => 1 })).toThrow(/info/);
    expect(() => new Server({ passwd: 5 as never })).toThrow(/passwd/);
  });

  it('durations past 2^31-1 ms are refused by every server-side setter', async () => {
    const { server, port } = await startServer();
    expect(() => server.sendTimeout(TOO_LONG)).toThrow(RangeError);
    expect(() => server.createStream(() => {}, undefined, TOO_LONG)).toThrow(RangeError);
    await goodClient(port);
    const cli = server.clients()[0];
    expect(cli).toBeDefined();
    expect(() => cli?.sendTimeout(TOO_LONG)).toThrow(RangeError);
    expect(() => cli?.keepalive(TOO_LONG)).toThrow(RangeError);
    expect(() => cli?.sendTimeout(undefined as never)).toThrow(TypeError);
    expect(() => cli?.reply(1.5)).toThrow(/seqno/);
    cli?.sendTimeout(2 ** 31 - 1);
  });
});
