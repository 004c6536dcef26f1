import { describe, expect, it } from 'vitest';
import { collector, connectClient, startServer, until } from '../helpers/net.js';

/**
 * The ownership rule (README "Payload ownership"): payload bytes up to 4 KiB are copied during
 * publish()/reply()/datagram()/call(), so the buffer may be reused at once; larger payloads are
 * sent by reference (no copy, one encode shared by every subscriber), as Node's socket.write
 * does: do not modify such a buffer after the call; use a fresh one per message.
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
});
