import { describe, expect, it } from 'vitest';
import { Client, ConnectCode, type ReceivedPayload, Server } from '../../src/index.js';
import { connectClient, deferred, onCleanup, until } from '../helpers/net.js';
import {
  connectOfficialClient,
  type OfficialPayload,
  officialDone,
  sendUntilArrived,
  startOfficialServer,
} from './official.js';

/**
 * Quick payloads over 4 KiB leave as a second iovec of the datagram, not copied into one buffer
 * (README "Payload ownership"): the official package must get the same bytes as from a copy.
 * 65,479 B is the largest quick payload with a 5-byte url.
 */
const SIZES = [4097, 65_479];

function pattern(n: number): Buffer {
  const data = Buffer.alloc(n);
  for (let i = 0; i < n; i++) data[i] = (i * 7 + 3) & 0xff;
  return data;
}

describe('quick payloads over 4 KiB against the official vsoa package', () => {
  for (const size of SIZES) {
    it(`our Server -> official Client: a quick publish of ${size} B arrives whole`, async () => {
      const server = new Server({ info: { name: 'ours' } });
      await server.listen(0, '127.0.0.1');
      onCleanup(() => server.close());
      const { client, err } = await connectOfficialClient(`vsoa://127.0.0.1:${server.address().port}`);
      expect(err).toBeUndefined();
      const first = deferred<[string, OfficialPayload | undefined, boolean]>();
      client.on('message', (u: string, payload: OfficialPayload | undefined, quick: boolean) =>
        first.resolve([u, payload, quick]),
      );
      expect(await officialDone((cb) => client.subscribe('/q/', cb))).toBeUndefined();
      const data = pattern(size);
      const [url, payload, quick] = await sendUntilArrived(
        () => expect(server.publish('/q/12', { data }, true)).toBe(true),
        first.promise,
      );
      expect([url, quick]).toEqual(['/q/12', true]);
      expect(Buffer.from(payload?.data ?? []).equals(data)).toBe(true);
    });

    it(`our Client -> official Server: a quick datagram of ${size} B arrives whole`, async () => {
      const { server, url } = await startOfficialServer();
      const client = await connectClient(url);
      const got = deferred<[string, OfficialPayload | undefined, boolean]>();
      server.ondata = (_cli, u, payload, quick) => got.resolve([u, payload, quick]);
      const data = pattern(size);
      const [u, payload, quick] = await sendUntilArrived(
        () => expect(client.datagram('/upq1', { data }, true)).toBe(true),
        got.promise,
      );
      expect([u, quick]).toEqual(['/upq1', true]);
      expect(Buffer.from(payload?.data ?? []).equals(data)).toBe(true);
    });
  }

  it('official Client -> our Server: a quick datagram of 65,479 B arrives whole', async () => {
    const server = new Server({ info: { name: 'ours' } });
    await server.listen(0, '127.0.0.1');
    onCleanup(() => server.close());
    const got = deferred<[string, ReceivedPayload, boolean]>();
    server.ondata = (_cli, u, payload, quick) => got.resolve([u, payload, quick]);
    const { client, err } = await connectOfficialClient(`vsoa://127.0.0.1:${server.address().port}`);
    expect(err).toBeUndefined();
    const data = pattern(65_479);
    const [u, payload, quick] = await sendUntilArrived(
      () => client.datagram('/upq1', { data }, true),
      got.promise,
    );
    expect([u, quick]).toEqual(['/upq1', true]);
    expect(payload.data?.equals(data)).toBe(true);
  });

  it('official Server -> our Client reading quick datagrams in batches: 65,479 B arrive whole, in order', async () => {
    const { server, url } = await startOfficialServer();
    const client = new Client({ quickRecvBatch: 8 });
    onCleanup(() => client.close());
    expect(await client.connect(url)).toBe(ConnectCode.OK);
    const got: Buffer[] = [];
    const first = deferred();
    client.onmessage = (_c, u, payload, quick) => {
      if (!quick) return;
      if (u === '/q/first') first.resolve();
      else got.push(Buffer.from(payload.data ?? []));
    };
    const subscribed = deferred<boolean>();
    client.subscribe('/q/', (_c, ok) => subscribed.resolve(ok));
    expect(await subscribed.promise).toBe(true);
    // A quick datagram may in principle be lost: resend the first until it arrives.
    await sendUntilArrived(() => server.publish('/q/first', { data: Buffer.from([1]) }, true), first.promise);
    expect(client.quickRecvBatch).toBe(8);
    // A burst the batch receiver reads several at a time (within the kernel's default buffer).
    const sent = [1, 2, 3].map((seed) => Buffer.from(pattern(65_479).map((b) => (b + seed) & 0xff)));
    for (const data of sent) server.publish('/q/n', { data }, true);
    await until(() => got.length === sent.length, 5000, 'the burst');
    expect(got.map((b, i) => b.equals(sent[i] as Buffer))).toEqual([true, true, true]);
  });
});
