import { existsSync, rmSync, writeFileSync } from 'node:fs';
import { statfs } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createRecorder, type Recorder } from '../../src/record/index.js';
import { onCleanup, startServer, until } from '../helpers/net.js';
import { INTEROP_PARAMS, startOfficialServer } from '../interop/official.js';
import { readMcap, tempDir } from './helpers.js';

function started(recorder: Recorder): Promise<void> {
  onCleanup(() => recorder.stop());
  const connected = new Promise<void>((resolve) => recorder.once('connect', () => resolve()));
  return recorder.start().then(() => connected);
}

/** Params of every kind: objects, arrays, strings, numbers, unicode. */
const PARAMS: readonly unknown[] = [...INTEROP_PARAMS, { speed: 12.5, gear: 3, ok: true }, 42, null];

describe('vsoa-edge/record: recording', () => {
  for (const compression of ['zstd', 'lz4', 'none'] as const) {
    it(`records every publish of our server in order, identical (${compression})`, async () => {
      const { server, url } = await startServer({ info: { name: 'car' } });
      const out = join(tempDir(), 'drive.mcap');
      const recorder = createRecorder({
        server: url,
        subscribe: ['/'],
        output: out,
        compression,
        chunkSize: 4096,
      });
      await started(recorder);
      const sent: Array<{ url: string; param?: unknown; data?: Buffer; quick: boolean }> = [];
      for (let i = 0; i < 300; i++) {
        const param = PARAMS[i % PARAMS.length];
        const data = i % 3 === 0 ? Buffer.from([i & 0xff, 0, 255, 7]) : undefined;
        const p =
          i % 5 === 4
            ? { url: '/raw', param: Buffer.from([0xff, 0xfe, i & 0xff]), quick: false }
            : { url: `/car/${i % 4}`, param, quick: false };
        server.publish(p.url, data ? { param: p.param, data } : { param: p.param });
        sent.push(data ? { ...p, data } : p);
      }
      server.publish('/empty');
      sent.push({ url: '/empty', quick: false });
      await until(() => recorder.stats().messages === sent.length, 10_000, 'all publishes recorded');
      const summary = await recorder.stop();
      expect(summary).toMatchObject({ reason: 'stopped', messages: sent.length, dropped: 0, files: [out] });

      const file = await readMcap(out);
      expect(file.compression).toEqual([compression === 'none' ? '' : compression]);
      expect(file.library).toMatch(/^vsoa-edge /);
      const recording = file.metadata.find((m) => m.name === 'vsoa.recording');
      expect(JSON.parse(recording?.values.get('subscriptions') ?? '')).toEqual(['/']);
      expect(recording?.values.get('host')).toBeTruthy();
      const serverMeta = file.metadata.find((m) => m.name === 'vsoa.server');
      expect(JSON.parse(serverMeta?.values.get('info') ?? '')).toEqual({ name: 'car' });

      // Rebuild publishes from parts (same log time), and compare with what was sent.
      const parts = file.messages.filter((m) => m.topic !== 'vsoa-recorder/events');
      const times = parts.map((m) => m.logTime);
      for (let i = 1; i < times.length; i++) expect(times[i]! >= times[i - 1]!).toBe(true);
      const publishes: Array<{ url: string; param?: unknown; data?: Buffer; quick: boolean }> = [];
      let last: bigint | undefined;
      for (const m of parts) {
        const url = m.metadata.get('vsoa.url') as string;
        const part = m.metadata.get('vsoa.part');
        if (m.logTime !== last) publishes.push({ url, quick: m.metadata.get('vsoa.quick') === 'true' });
        last = m.logTime;
        const p = publishes[publishes.length - 1]!;
        expect(p.url).toBe(url);
        if (part === 'param') {
          expect(m.messageEncoding).toBe('json');
          expect(m.schemaEncoding).toBe('jsonschema');
          expect(m.topic).toBe(url);
          p.param = JSON.parse(m.data.toString());
        } else if (part === 'param-raw') {
          expect(m.topic).toBe(`${url}#param`);
          p.param = m.data;
        } else {
          expect(part).toBe('data');
          expect(m.topic).toBe(`${url}#data`);
          if (m.data.length > 0) p.data = m.data;
        }
      }
      expect(publishes).toEqual(sent);
      const speedSchema = parts.find((m) => m.topic === '/car/3' && m.schema)?.schema;
      expect(speedSchema).toBeDefined();
      const events = file.messages
        .filter((m) => m.topic === 'vsoa-recorder/events')
        .map((m) => JSON.parse(m.data.toString()).event);
      expect(events).toEqual(['connected', 'stopped']);
    });
  }

  it('records quick publishes on channels marked quick', async () => {
    const { server, url } = await startServer();
    const out = join(tempDir(), 'quick.mcap');
    const recorder = createRecorder({ server: url, subscribe: ['/q'], output: out, compression: 'none' });
    await started(recorder);
    // Quick is UDP: keep sending until enough arrived (loopback rarely drops, but may).
    let n = 0;
    await until(
      () => {
        server.publish('/q', { param: { n: n++ } }, true);
        return recorder.stats().messages >= 20;
      },
      10_000,
      'quick publishes recorded',
    );
    await recorder.stop();
    const { messages } = await readMcap(out);
    const quick = messages.filter((m) => m.topic === '/q');
    expect(quick.length).toBeGreaterThanOrEqual(20);
    for (const m of quick) expect(m.metadata.get('vsoa.quick')).toBe('true');
    const ns = quick.map((m) => JSON.parse(m.data.toString()).n as number);
    expect(new Set(ns).size).toBe(ns.length);
  });

  it('records from the official npm vsoa server', async () => {
    const { server, url } = await startOfficialServer({ info: { name: 'official' } });
    const out = join(tempDir(), 'official.mcap');
    const recorder = createRecorder({ server: url, subscribe: ['/a/'], output: out });
    await started(recorder);
    await until(() => server.isSubscribed('/a/x'), 5000, 'official server sees the subscription');
    const sent = Array.from({ length: 100 }, (_, i) => ({ i, s: 'hé中🚗', list: [i, i * 0.5] }));
    for (const [i, param] of sent.entries()) {
      server.publish('/a/x', i % 2 ? { param, data: Buffer.from([i]) } : { param });
    }
    await until(() => recorder.stats().messages === sent.length, 10_000, 'all publishes recorded');
    await recorder.stop();
    const { messages } = await readMcap(out);
    const params = messages.filter((m) => m.topic === '/a/x').map((m) => JSON.parse(m.data.toString()));
    expect(params).toEqual(sent);
    const data = messages.filter((m) => m.topic === '/a/x#data').map((m) => m.data[0]);
    expect(data).toEqual(sent.map((_, i) => i).filter((i) => i % 2));
  });

  it('splits by size into files that are each complete', async () => {
    const { server, url } = await startServer();
    const dir = tempDir();
    const recorder = createRecorder({
      server: url,
      subscribe: ['/'],
      output: join(dir, 'drive.mcap'),
      splitSize: 20_000,
      chunkSize: 4096,
      compression: 'none',
    });
    await started(recorder);
    const blob = 'x'.repeat(500);
    for (let i = 0; i < 200; i++) server.publish('/big', { param: { i, blob } });
    await until(() => recorder.stats().messages === 200, 10_000, 'all recorded');
    const { files } = await recorder.stop();
    expect(files.length).toBeGreaterThan(2);
    expect(files[0]).toBe(join(dir, 'drive_0000.mcap'));
    const seen: number[] = [];
    for (const f of files) {
      expect(existsSync(f)).toBe(true);
      const { messages, metadata } = await readMcap(f);
      expect(metadata.some((m) => m.name === 'vsoa.recording')).toBe(true);
      for (const m of messages) if (m.topic === '/big') seen.push(JSON.parse(m.data.toString()).i);
    }
    expect(seen).toEqual(Array.from({ length: 200 }, (_, i) => i));
  });

  it('records a reconnect gap as events and keeps recording after it', async () => {
    const first = await startServer();
    const out = join(tempDir(), 'gap.mcap');
    const recorder = createRecorder({
      server: first.url,
      subscribe: ['/t'],
      output: out,
      robot: { reconnDelay: 50, keepalive: 200, connTimeout: 1000 },
    });
    await started(recorder);
    first.server.publish('/t', { param: 1 });
    await until(() => recorder.stats().messages === 1, 5000, 'first publish');
    const disconnected = new Promise<void>((resolve) => recorder.once('disconnect', () => resolve()));
    await first.server.close();
    await disconnected;
    const { Server } = await import('../../src/index.js');
    const again = new Server();
    const reconnected = new Promise<void>((resolve) => recorder.once('connect', () => resolve()));
    await again.listen(first.port, '127.0.0.1');
    onCleanup(() => again.close());
    await reconnected;
    again.publish('/t', { param: 2 });
    await until(() => recorder.stats().messages === 2, 5000, 'second publish');
    await recorder.stop();
    const { messages } = await readMcap(out);
    const sequence = messages.map((m) =>
      m.topic === '/t' ? `p${m.data.toString()}` : JSON.parse(m.data.toString()).event,
    );
    expect(sequence).toEqual(['connected', 'p1', 'disconnected', 'connected', 'p2', 'stopped']);
  });

  it('uses the param field `timestamp` as publish time, receive time as log time', async () => {
    const { server, url } = await startServer();
    const out = join(tempDir(), 't.mcap');
    const recorder = createRecorder({ server: url, subscribe: ['/'], output: out });
    await started(recorder);
    server.publish('/t', { param: { timestamp: 1_700_000_000_123, v: 1 } });
    server.publish('/t', { param: { v: 2 } });
    await until(() => recorder.stats().messages === 2, 5000, 'recorded');
    await recorder.stop();
    const [a, b] = (await readMcap(out)).messages.filter((m) => m.topic === '/t');
    expect(a?.publishTime).toBe(1_700_000_000_123_000_000n);
    expect(b?.publishTime).toBe(b?.logTime);
    expect(Number(a?.logTime) / 1e6).toBeGreaterThan(Date.now() - 60_000);
  });

  it('refuses bad options with errors naming them, and an existing file', async () => {
    expect(() => createRecorder({ server: 'http://x', subscribe: ['/'], output: 'x.mcap' })).toThrow(
      /options.server/,
    );
    expect(() => createRecorder({ server: 'vsoa://1.2.3.4:1', subscribe: [], output: 'x.mcap' })).toThrow(
      /options.subscribe/,
    );
    expect(() =>
      createRecorder({
        server: 'vsoa://1.2.3.4:1',
        subscribe: ['/'],
        output: 'x.mcap',
        compression: 'gzip' as 'zstd',
      }),
    ).toThrow(RangeError);
    const { url } = await startServer();
    const out = join(tempDir(), 'once.mcap');
    const r1 = createRecorder({ server: url, subscribe: ['/'], output: out });
    await started(r1);
    await r1.stop();
    const r2 = createRecorder({ server: url, subscribe: ['/'], output: out });
    await expect(r2.start()).rejects.toThrow(/EEXIST/);
  });

  it('stops cleanly, with a complete file, when free disk space falls below the minimum', async () => {
    const { server, url } = await startServer();
    const dir = tempDir();
    const out = join(dir, 'disk.mcap');
    const s = await statfs(dir);
    const free = s.bavail * s.bsize;
    const recorder = createRecorder({
      server: url,
      subscribe: ['/'],
      output: out,
      minFreeBytes: free - 16 * 1024 * 1024,
      diskCheckInterval: 20,
    });
    await started(recorder);
    server.publish('/t', { param: 1 });
    await until(() => recorder.stats().messages === 1, 5000, 'recorded');
    const stopped = new Promise<{ reason: string; detail?: string }>((resolve) =>
      recorder.once('stop', resolve),
    );
    const ballast = join(dir, 'ballast');
    writeFileSync(ballast, Buffer.alloc(64 * 1024 * 1024));
    try {
      const summary = await stopped;
      expect(summary.reason).toBe('disk-full');
      expect(summary.detail).toMatch(/free disk space .* below the minimum/);
    } finally {
      rmSync(ballast, { force: true });
    }
    const { messages } = await readMcap(out);
    expect(messages.map((m) => m.topic)).toEqual(['vsoa-recorder/events', '/t', 'vsoa-recorder/events']);
    await expect(
      createRecorder({
        server: url,
        subscribe: ['/'],
        output: join(dir, 'no.mcap'),
        minFreeBytes: 2 ** 50,
      }).start(),
    ).rejects.toThrow(/below the minimum/);
  });

  it('drops publishes beyond the queue bound, counts them and records the drop', async () => {
    const { server, url } = await startServer();
    const out = join(tempDir(), 'drop.mcap');
    const recorder = createRecorder({ server: url, subscribe: ['/'], output: out, maxQueueBytes: 4096 });
    await started(recorder);
    const big = 'b'.repeat(3000);
    for (let i = 0; i < 50; i++) server.publish('/big', { param: { i, big } });
    await until(
      () => recorder.stats().messages + recorder.stats().dropped === 50,
      10_000,
      'all accounted for',
    );
    server.publish('/small', { param: 1 });
    await until(() => recorder.stats().messages + recorder.stats().dropped === 51, 5000, 'the last one');
    const { dropped, messages } = await recorder.stop();
    expect(dropped).toBeGreaterThan(0);
    expect(messages + dropped).toBe(51);
    const file = await readMcap(out);
    const drops = file.messages
      .filter((m) => m.topic === 'vsoa-recorder/events')
      .map((m) => JSON.parse(m.data.toString()))
      .filter((e) => e.event === 'dropped');
    expect(drops.reduce((n, e) => n + e.dropped, 0)).toBe(dropped);
  });
});
