import { describe, expect, it } from 'vitest';
import { Client, ConnectCode, type ReceivedPayload } from '../../src/index.js';
import { DEFAULT_QUICK_RECV_BATCH } from '../../src/server/options.js';
import { connectClient, deferred, onCleanup, startServer, until } from '../helpers/net.js';

/*
 * quickRecvBatch end to end: quick datagrams from our client to a server reading them in
 * batches, and quick publishes to a client reading them in batches, arrive whole and in order.
 */

function pattern(seed: number, n: number): Buffer {
  const data = Buffer.alloc(n);
  for (let i = 0; i < n; i++) data[i] = (i * 13 + seed) & 0xff;
  return data;
}

// 65,474 B: the largest quick payload with the 6-byte urls below.
const SIZES = [0, 7, 4097, 40_000, 65_474];

describe('quickRecvBatch', () => {
  it('a server reads quick datagrams in batches by default; each reaches ondata whole, in order', async () => {
    const { server, url } = await startServer();
    expect(DEFAULT_QUICK_RECV_BATCH).toBe(32);
    expect(server.quickRecvBatch).toBe(DEFAULT_QUICK_RECV_BATCH);
    const got: Array<[string, ReceivedPayload]> = [];
    server.ondata = (_cli, u, payload, quick) => {
      if (quick) got.push([u, payload]);
    };
    const client = await connectClient(url);
    const sent: Buffer[] = [];
    // Rounds sent back to back queue in the kernel and are read several per call; each stays
    // within the kernel's default receive buffer (~208 KiB), so none is dropped.
    for (let round = 0; round < 8; round++) {
      let bytes = 0;
      while (bytes < 128 * 1024) {
        const i = sent.length;
        const data = pattern(i, SIZES[i % SIZES.length] as number);
        sent.push(data);
        expect(client.datagram(`/up/${i}`, { data }, true)).toBe(true);
        bytes += data.length + 1024;
      }
      await until(() => got.length === sent.length, 5000, `round ${round}`);
    }
    got.forEach(([u, payload], i) => {
      expect(u).toBe(`/up/${i}`);
      expect(Buffer.from(payload.data ?? []).equals(sent[i] ?? Buffer.alloc(1))).toBe(true);
    });
  });

  it('0 leaves the server reading one datagram at a time; quick datagrams still arrive', async () => {
    const { server, url } = await startServer({ quickRecvBatch: 0 });
    expect(server.quickRecvBatch).toBe(0);
    const got = deferred<string>();
    server.ondata = (_cli, u, _payload, quick) => quick && got.resolve(u);
    const client = await connectClient(url);
    expect(client.datagram('/one', { data: pattern(1, 100) }, true)).toBe(true);
    expect(await got.promise).toBe('/one');
  });

  it('a client opts in: quick publishes reach it through its batch receiver', async () => {
    const { server, url } = await startServer();
    const client = new Client({ quickRecvBatch: 8 });
    onCleanup(() => client.close());
    expect(await client.connect(url)).toBe(ConnectCode.OK);
    const got: Buffer[] = [];
    let first = false;
    client.onmessage = (_c, u, payload, quick) => {
      if (!quick) return;
      // The first publish may arrive more than once (resent below): only the burst is collected.
      if (u === '/q/first') first = true;
      else got.push(Buffer.from(payload.data ?? []));
    };
    const subscribed = deferred<boolean>();
    client.subscribe('/q/', (_c, ok) => subscribed.resolve(ok));
    expect(await subscribed.promise).toBe(true);
    const sent = SIZES.map((n, i) => pattern(i, n));
    // A quick datagram may in principle be lost: resend the first until it arrives, then the
    // rest in one go.
    await until(
      () => {
        if (!first) server.publish('/q/first', { data: Buffer.from('x') }, true);
        return first;
      },
      5000,
      'the first quick publish',
    );
    expect(client.quickRecvBatch).toBe(8);
    for (const data of sent) expect(server.publish('/q/n', { data }, true)).toBe(true);
    await until(() => got.length === sent.length, 5000, 'the quick publishes');
    expect(got.map((b, i) => b.equals(sent[i] ?? Buffer.alloc(1)))).toEqual(sent.map(() => true));
    expect(new Client().quickRecvBatch).toBeUndefined();
  });

  it('refuses a batch outside 0..64, naming the option', () => {
    expect(() => new Client({ quickRecvBatch: 65 })).toThrow(/options\.quickRecvBatch/);
    expect(() => new Client({ quickRecvBatch: -1 })).toThrow(RangeError);
  });
});
