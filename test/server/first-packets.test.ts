/**
 * A session makes its subscription set and its table of unanswered calls only when a peer first
 * needs them (an idle client holds neither): what a peer sends first must work without them.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { Status, Type } from '../../src/protocol/index.js';
import { frame, RawPeer, runCleanups, startServer } from './hostile-helpers.js';

afterEach(runCleanups);

describe('a session before its first subscribe and its first call', () => {
  it('an UNSUBSCRIBE first is answered, a publish reaches nobody, and a later SUBSCRIBE still works', async () => {
    const { server, port } = await startServer();
    const raw = await RawPeer.connect(port);
    await raw.handshake();
    await raw.write(frame({ type: Type.UNSUBSCRIBE, url: '/a/', seqno: 1 }));
    const reply = await raw.packet(2);
    expect([reply.type, reply.status, reply.seqno]).toEqual([Type.UNSUBSCRIBE, Status.SUCCESS, 1]);
    expect(server.isSubscribed('/a/b')).toBe(false);
    server.publish('/a/b', { param: 'nobody' });

    await raw.write(frame({ type: Type.SUBSCRIBE, url: '/a/', seqno: 2 }));
    expect((await raw.packet(3)).status).toBe(Status.SUCCESS);
    expect(server.isSubscribed('/a/b')).toBe(true);
    server.publish('/a/b', { param: 'seen' });
    const published = await raw.packet(4);
    expect([published.type, published.url]).toEqual([Type.PUBLISH, '/a/b']);
    expect(published.param?.toString()).toBe('"seen"');
  });

  it('a first call whose handler throws gets NO_RESPONDING; one that throws after replying is not answered twice', async () => {
    const { server, port } = await startServer();
    server.command('/throw', () => {
      throw new Error('boom');
    });
    server.command('/late', async (cli, req) => {
      cli.reply(req.seqno, { param: 'ok' });
      throw new Error('after the reply');
    });
    const raw = await RawPeer.connect(port);
    await raw.handshake();
    await raw.write(frame({ type: Type.RPC, url: '/throw', seqno: 7 }));
    const failed = await raw.packet(2);
    expect([failed.seqno, failed.status]).toEqual([7, Status.NO_RESPONDING]);
    await raw.write(frame({ type: Type.RPC, url: '/late', seqno: 8 }));
    const ok = await raw.packet(3);
    expect([ok.seqno, ok.status, ok.param?.toString()]).toEqual([8, Status.SUCCESS, '"ok"']);
    // Another call's answer comes next: nothing for seqno 8 in between.
    await raw.write(frame({ type: Type.RPC, url: '/throw', seqno: 9 }));
    expect((await raw.packet(4)).seqno).toBe(9);
  });
});
