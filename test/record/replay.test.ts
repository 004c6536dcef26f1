import { copyFileSync, readFileSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import { McapWriter } from '@mcap/core';
import { describe, expect, it } from 'vitest';
import type { Client } from '../../src/index.js';
import { createRecorder, createReplayer, openRecording, recordingInfo } from '../../src/record/index.js';
import { connectClient, onCleanup, startServer, until } from '../helpers/net.js';
import { tempDir } from './helpers.js';

/** A recording made by the recorder from our server: `count` publishes on /r with {i}. */
async function recorded(dir: string, count: number, chunkSize = 2048): Promise<string> {
  const { server, url } = await startServer();
  const out = join(dir, 'src.mcap');
  const recorder = createRecorder({
    server: url,
    subscribe: ['/'],
    output: out,
    chunkSize,
    compression: 'zstd',
  });
  onCleanup(() => recorder.stop());
  const connected = new Promise<void>((resolve) => recorder.once('connect', () => resolve()));
  await recorder.start();
  await connected;
  for (let i = 0; i < count; i++) {
    server.publish(
      '/r',
      i % 2 ? { param: { i, pad: 'p'.repeat(100) }, data: Buffer.from([i & 255]) } : { param: { i } },
    );
  }
  await until(() => recorder.stats().messages === count, 10_000, 'recorded');
  await recorder.stop();
  return out;
}

/** An MCAP file written directly (a foreign file): a JSON topic /timing, one message every `stepMs`. */
async function timed(path: string, count: number, stepMs: number): Promise<void> {
  const fh = await open(path, 'w');
  let pos = 0n;
  const writer = new McapWriter({
    writable: {
      write: async (b: Uint8Array) => {
        await fh.write(b);
        pos += BigInt(b.byteLength);
      },
      position: () => pos,
    },
  });
  await writer.start({ profile: '', library: 'test' });
  const channelId = await writer.registerChannel({
    topic: '/timing',
    messageEncoding: 'json',
    schemaId: 0,
    metadata: new Map(),
  });
  const t0 = 1_700_000_000_000_000_000n;
  for (let i = 0; i < count; i++) {
    const t = t0 + BigInt(i * stepMs) * 1_000_000n;
    await writer.addMessage({
      channelId,
      sequence: i,
      logTime: t,
      publishTime: t,
      data: Buffer.from(JSON.stringify({ i })),
    });
  }
  await writer.end();
  await fh.close();
}

async function subscribed(
  port: number,
  topic: string,
): Promise<{ client: Client; got: Array<{ param: unknown; data?: Buffer; at: number }> }> {
  const client = await connectClient(`vsoa://127.0.0.1:${port}`);
  const got: Array<{ param: unknown; data?: Buffer; at: number }> = [];
  client.onmessage = (_c, _url, payload) => {
    const item: { param: unknown; data?: Buffer; at: number } = {
      param: payload.param,
      at: performance.now(),
    };
    if (payload.data) item.data = payload.data;
    got.push(item);
  };
  await new Promise<void>((resolve, reject) =>
    client.subscribe(topic, (_c, ok) => (ok ? resolve() : reject(new Error('subscribe failed')))),
  );
  return { client, got };
}

describe('vsoa-edge/record: replay', () => {
  it('re-publishes every recorded publish with identical param and data', async () => {
    const file = await recorded(tempDir(), 200);
    const replayer = createReplayer({ file, port: 0, host: '127.0.0.1', rate: 50 });
    onCleanup(() => replayer.stop());
    const port = await replayer.listen();
    const { got } = await subscribed(port, '/r');
    const summary = await replayer.run();
    expect(summary).toMatchObject({ reason: 'end', published: 200, loops: 1 });
    await until(() => got.length === 200, 5000, 'all replayed');
    for (const [i, m] of got.entries()) {
      expect(m.param).toEqual(i % 2 ? { i, pad: 'p'.repeat(100) } : { i });
      if (i % 2) expect(m.data).toEqual(Buffer.from([i & 255]));
      else expect(m.data).toBeUndefined();
    }
  });

  it('reports a truncated file and replays it up to the damage', async () => {
    const dir = tempDir();
    const file = await recorded(dir, 400, 1024);
    const cut = join(dir, 'cut.mcap');
    copyFileSync(file, cut);
    truncateSync(cut, Math.floor(statSync(file).size * 0.6));
    const recording = await openRecording(cut);
    const info = await recordingInfo(recording);
    await recording.close();
    expect(info.readBy).toBe('scan');
    expect(info.damage?.reason).toMatch(/truncated/);
    const readable = info.channels.find((c) => c.topic === '/r')?.messages ?? 0;
    expect(readable).toBeGreaterThan(50);
    expect(readable).toBeLessThan(400);

    const replayer = createReplayer({ file: cut, port: 0, host: '127.0.0.1', rate: 100 });
    onCleanup(() => replayer.stop());
    const port = await replayer.listen();
    const { got } = await subscribed(port, '/r');
    const summary = await replayer.run();
    expect(summary.reason).toBe('damaged');
    expect(summary.damage).toMatch(/truncated/);
    expect(summary.published).toBe(readable);
    await until(() => got.length === readable, 5000, 'replayed up to the damage');
    expect(got.map((m) => (m.param as { i: number }).i)).toEqual(
      Array.from({ length: readable }, (_, i) => i),
    );
  });

  it('reads a file damaged in the middle up to the damage', async () => {
    const dir = tempDir();
    const file = await recorded(dir, 300, 1024);
    const bytes = readFileSync(file);
    const middle = Math.floor(bytes.length / 2);
    bytes.fill(0x5a, middle, middle + 64);
    const bad = join(dir, 'bad.mcap');
    writeFileSync(bad, bytes);
    const recording = await openRecording(bad);
    const seen: number[] = [];
    for await (const p of recording.publishes()) seen.push(JSON.parse(String(p.param)).i);
    await recording.close();
    expect(recording.damage).toBeDefined();
    expect(seen.length).toBeLessThan(300);
    expect(seen).toEqual(Array.from({ length: seen.length }, (_, i) => i));
  });

  it('refuses a file that is not MCAP with a RecordingError', async () => {
    const path = join(tempDir(), 'x.txt');
    writeFileSync(path, 'hello, not a recording\n');
    await expect(openRecording(path)).rejects.toMatchObject({ name: 'RecordingError', code: 'not-mcap' });
    await expect(openRecording(join(tempDir(), 'missing.mcap'))).rejects.toMatchObject({
      code: 'unreadable',
    });
  });

  // Tolerance (the machine is shared and loaded, load 10+ on 2 cores): 90% of messages within
  // 100 ms of their schedule, none later than 500 ms, the whole span within -30/+500 ms of
  // span/rate (lateness does not add up: one schedule for the run).
  for (const rate of [1, 10]) {
    it(`keeps the recorded timing at rate ${rate}`, async () => {
      const file = join(tempDir(), 'timed.mcap');
      const step = 20;
      const count = rate === 1 ? 60 : 150;
      await timed(file, count, step);
      const replayer = createReplayer({ file, port: 0, host: '127.0.0.1', rate });
      onCleanup(() => replayer.stop());
      const port = await replayer.listen();
      const { got } = await subscribed(port, '/timing');
      await replayer.run();
      await until(() => got.length === count, 5000, 'all replayed');
      // Lateness against the schedule, taking the earliest message as on time.
      const offsets = got.map((m, i) => m.at - (i * step) / rate);
      const base = Math.min(...offsets);
      const late = offsets.map((o) => o - base).sort((a, b) => a - b);
      expect(late[Math.floor(late.length * 0.9)]).toBeLessThan(100);
      expect(late[late.length - 1]).toBeLessThan(500);
      // Scaled: the whole run lasts the recording's span divided by the rate.
      const span = (got[count - 1]?.at ?? 0) - (got[0]?.at ?? 0);
      const expected = ((count - 1) * step) / rate;
      expect(span).toBeGreaterThan(expected - 30);
      expect(span).toBeLessThan(expected + 500);
      expect(got.map((m) => (m.param as { i: number }).i)).toEqual(
        Array.from({ length: count }, (_, i) => i),
      );
    });
  }

  it('starts at an offset, selects topics, and loops', async () => {
    const file = join(tempDir(), 'timed.mcap');
    await timed(file, 50, 10); // 0..490 ms
    const replayer = createReplayer({
      file,
      port: 0,
      host: '127.0.0.1',
      rate: 20,
      start: 300,
      loop: true,
      topics: ['/timing'],
    });
    onCleanup(() => replayer.stop());
    const port = await replayer.listen();
    const { got } = await subscribed(port, '/timing');
    const running = replayer.run();
    await until(() => got.length >= 45, 10_000, 'two loops and more');
    await replayer.stop();
    expect((await running).reason).toBe('stopped');
    const is = got.map((m) => (m.param as { i: number }).i);
    expect(Math.min(...is)).toBe(30);
    expect(is.slice(0, 40)).toEqual([
      ...Array.from({ length: 20 }, (_, i) => 30 + i),
      ...Array.from({ length: 20 }, (_, i) => 30 + i),
    ]);

    const none = createReplayer({ file, port: 0, host: '127.0.0.1', topics: ['/other/'] });
    onCleanup(() => none.stop());
    await none.listen();
    expect(await none.run()).toMatchObject({ reason: 'end', published: 0 });
  });
});
