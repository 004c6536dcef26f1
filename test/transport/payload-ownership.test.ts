import { describe, expect, it } from 'vitest';
import { collector, connectClient, startServer, until } from '../helpers/net.js';

/**
 * The ownership rule (README "Payload ownership"): payload bytes up to 4 KiB are copied during
 * publish()/reply()/datagram()/call(), so the buffer may be reused at once; larger payloads are
 * sent by reference (no copy, one encode shared by every subscriber), as Node's socket.write
 * does: do not modify such a buffer after the call; use a fresh one per message. Quick (UDP)
 * datagrams follow the same rule: a large payload leaves as a second iovec of the datagram.
 */
async function subscribed() {
  const { server, url } = await startServer();
  const client = await connectClient(url);
  await new Promise<void>((resolve) => client.subscribe('/t', () => resolve()));
  await until(() => server.isSubscribed('/t'));
  return { server, client };
}

async function publishTen(size: number, reuse: boolean): Promise<number[]> {
  const { server, client } = await subscribed();
  const got = collector<number>(10);
  client.onmessage = (_c, _url, payload) => got.push(payload.data?.[size - 1] ?? -1);
  const shared = Buffer.alloc(size);
  for (let i = 0; i < 10; i++) {
    const data = reuse ? shared.fill(i) : Buffer.alloc(size, i);
    expect(server.publish('/t', { data })).toBe(true);
  }
  return got.done;
}

describe('payload ownership (issue 16.5)', () => {
  it('a payload of up to 4 KiB is copied: reusing the buffer right after publish() is safe', async () => {
    expect(await publishTen(4096, true)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  });

  it('a larger payload in a fresh buffer per message arrives intact', async () => {
    expect(await publishTen(64 * 1024, false)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  });

  it('a larger payload is sent by reference: changing it after publish() changes what is sent', async () => {
    // This is why the rule exists: frames of one tick leave together, carrying the buffer itself.
    const got = await publishTen(64 * 1024, true);
    expect(got).toHaveLength(10);
    expect(got).not.toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(got.at(-1)).toBe(9);
  });

  it('call(): a payload of up to 4 KiB may be reused at once; the reply echoes what was sent', async () => {
    const { server, url } = await startServer();
    server.command('/echo', (cli, req, payload) => cli.reply(req.seqno, payload));
    const client = await connectClient(url);
    const shared = Buffer.alloc(1024);
    const replies = collector<number>(5);
    for (let i = 0; i < 5; i++) {
      shared.fill(i);
      client.call('/echo', { payload: { data: shared } }, (_c, _h, payload) =>
        replies.push(payload?.data?.[0] ?? -1),
      );
    }
    expect(await replies.done).toEqual([0, 1, 2, 3, 4]);
  });

  it('quick publish: up to 4 KiB reused at once is safe; larger payloads arrive whole, head and data joined', async () => {
    const { server, client } = await subscribed();
    // Sizes about the copy threshold and the quick limit (65,507 B less header and url '/t').
    const sizes = [4096, 4097, 30_001, 65_477];
    const got = collector<string>(sizes.length + 5);
    client.onmessage = (_c, _url, payload, quick) => {
      const d = payload.data ?? Buffer.alloc(0);
      got.push(`${quick} ${d.length} ${d[0]} ${d[d.length - 1]}`);
    };
    const shared = Buffer.alloc(1024);
    for (let i = 0; i < 5; i++) expect(server.publish('/t', { data: shared.fill(i) }, true)).toBe(true);
    for (const [i, n] of sizes.entries()) {
      const data = Buffer.alloc(n, 10 + i);
      data[n - 1] = 99;
      expect(server.publish('/t', { data }, true)).toBe(true);
    }
    const small = [0, 1, 2, 3, 4].map((i) => `true 1024 ${i} ${i}`);
    const large = sizes.map((n, i) => `true ${n} ${10 + i} 99`);
    expect((await got.done).sort()).toEqual([...small, ...large].sort());
  });

  it('quick datagram with a large byte param and data: the server gets both whole', async () => {
    const { server, url } = await startServer();
    const client = await connectClient(url);
    const got = collector<string>(1);
    server.ondata = (_cli, _url, payload, quick) => {
      const p = Buffer.isBuffer(payload.param) ? payload.param : Buffer.alloc(0);
      got.push(`${quick} ${p.length} ${p[2999]} ${payload.data?.length} ${payload.data?.[0]}`);
    };
    const param = Buffer.alloc(3000, 5);
    // One byte past the quick limit on the by-reference path: refused by name, nothing sent.
    expect(() =>
      client.datagram('/d', { param, data: Buffer.alloc(65_507 - 20 - 2 - 3000 + 1) }, true),
    ).toThrow(/MAX_QPACKET_LENGTH.*65507/);
    expect(client.datagram('/d', { param, data: Buffer.alloc(60_000, 6) }, true)).toBe(true);
    expect(await got.done).toEqual(['true 3000 5 60000 6']);
  });
});
