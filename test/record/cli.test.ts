import type { ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createRecorder } from '../../src/record/index.js';
import { repoRoot, spawnVsoa, vsoa } from '../helpers/cli.js';
import { connectClient, onCleanup, startServer, until } from '../helpers/net.js';
import { readMcap, tempDir } from './helpers.js';

/** Collects a child's stdout and stderr as text. */
function output(child: ChildProcess): { out: () => string; err: () => string; exit: Promise<number | null> } {
  let out = '';
  let err = '';
  child.stdout?.on('data', (d: Buffer) => {
    out += d.toString();
  });
  child.stderr?.on('data', (d: Buffer) => {
    err += d.toString();
  });
  const exit = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { out: () => out, err: () => err, exit };
}

/** Publishes {i} on /t every 2 ms until stopped; returns how many were sent. */
function publisher(server: { publish(url: string, payload: { param: unknown }): boolean }): {
  stop: () => number;
} {
  let i = 0;
  const timer = setInterval(() => {
    for (let k = 0; k < 5; k++) server.publish('/t', { param: { i: i++, pad: 'x'.repeat(200) } });
  }, 2);
  return {
    stop: () => {
      clearInterval(timer);
      return i;
    },
  };
}

describe('vsoa record / replay / stat (CLI)', () => {
  it('SIGTERM mid-record finishes a valid file with its summary and index', async () => {
    const { server, url } = await startServer();
    const out = join(tempDir(), 'drive.mcap');
    const child = spawnVsoa('record', url, '--sub', '/', '-o', out, '--chunk-size', '4k');
    const io = output(child);
    await until(() => io.err().includes('connected: recording'), 20_000, 'recorder connected');
    const pub = publisher(server);
    await until(() => server.isSubscribed('/t'), 5000, 'subscribed');
    await until(() => existsSync(out) && statSync(out).size > 20_000, 20_000, 'chunks on disk');
    child.kill('SIGTERM');
    const code = await io.exit;
    pub.stop();
    expect(code).toBe(0);
    const summary = JSON.parse(io.out().trim().split('\n').at(-1) ?? '{}') as {
      publishes: number;
      reason: string;
    };
    expect(summary.reason).toBe('stopped');
    const { messages } = await readMcap(out); // the indexed reader needs the summary and footer
    const is = messages.filter((m) => m.topic === '/t').map((m) => JSON.parse(m.data.toString()).i as number);
    expect(is.length).toBe(summary.publishes);
    expect(is.length).toBeGreaterThan(0);
    expect(is).toEqual(Array.from({ length: is.length }, (_, k) => (is[0] ?? 0) + k));
  });

  it('after SIGKILL the file is readable up to its last chunk (replay --info reports the damage)', async () => {
    const { server, url } = await startServer();
    const out = join(tempDir(), 'crash.mcap');
    const child = spawnVsoa(
      'record',
      url,
      '--sub',
      '/t',
      '-o',
      out,
      '--chunk-size',
      '2k',
      '--compression',
      'lz4',
    );
    const io = output(child);
    await until(() => io.err().includes('connected: recording'), 20_000, 'recorder connected');
    const pub = publisher(server);
    await until(() => existsSync(out) && statSync(out).size > 20_000, 20_000, 'chunks on disk');
    child.kill('SIGKILL');
    await io.exit;
    pub.stop();
    const info = await vsoa('replay', '--info', out, '--json', '--log-level', 'error');
    expect(info.code).toBe(0);
    const parsed = JSON.parse(info.stdout) as {
      damage: { reason: string };
      channels: Array<{ topic: string; messages: number }>;
    };
    expect(parsed.damage.reason).toMatch(/truncated/);
    expect(parsed.channels.find((c) => c.topic === '/t')?.messages).toBeGreaterThan(0);
    const text = await vsoa('replay', '--info', out, '--log-level', 'error');
    expect(text.stdout).toMatch(/^DAMAGED: .*truncated/m);
  });

  it('a file that is not MCAP, or is damaged throughout, gives one clear error line', async () => {
    const dir = tempDir();
    const text = join(dir, 'notes.txt');
    writeFileSync(text, 'not a recording\n');
    for (const args of [
      ['replay', '--info', text],
      ['replay', text, '--port', '0'],
    ]) {
      const r = await vsoa(...args, '--log-level', 'error');
      expect(r.code).toBe(2);
      expect(r.stderr.trim().split('\n')).toEqual([
        `vsoa replay: ${text} is not an MCAP file (it does not start with the MCAP magic)`,
      ]);
    }
    const corrupt = join(dir, 'corrupt.mcap');
    writeFileSync(
      corrupt,
      Buffer.concat([Buffer.from([137, 77, 67, 65, 80, 48, 13, 10]), Buffer.alloc(4000, 0xee)]),
    );
    const r = await vsoa('replay', corrupt, '--port', '0', '--log-level', 'error');
    expect(r.code).toBe(1);
    const lines = r.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^vsoa replay: .*corrupt\.mcap is damaged, nothing could be replayed/);
  });

  it('replays a recording as a server (--json progress) until SIGTERM', async () => {
    const { server: s2, url: url2 } = await startServer();
    const out2 = join(tempDir(), 'r2.mcap');
    const recorder = createRecorder({ server: url2, subscribe: ['/'], output: out2 });
    onCleanup(() => recorder.stop());
    const connected = new Promise<void>((resolve) => recorder.once('connect', () => resolve()));
    await recorder.start();
    await connected;
    for (let i = 0; i < 50; i++) s2.publish('/x', { param: { i } });
    await until(() => recorder.stats().messages === 50, 10_000, 'recorded');
    await recorder.stop();

    const replay = spawnVsoa(
      'replay',
      out2,
      '--port',
      '0',
      '--host',
      '127.0.0.1',
      '--loop',
      '--rate',
      '5',
      '--json',
    );
    const rio = output(replay);
    await until(() => rio.out().includes('\n'), 20_000, 'listening line');
    const first = JSON.parse(rio.out().split('\n')[0] ?? '{}') as { listening: number };
    expect(first.listening).toBeGreaterThan(0);
    const client = await connectClient(`vsoa://127.0.0.1:${first.listening}`);
    const got: number[] = [];
    client.onmessage = (_c, _u, payload) => got.push((payload.param as { i: number }).i);
    client.subscribe('/x');
    await until(() => got.length >= 60, 15_000, 'replayed publishes (looping)');
    await until(() => rio.out().includes('"progress"'), 5000, 'a progress line');
    replay.kill('SIGTERM');
    expect(await rio.exit).toBe(0);
    expect(rio.out().trim().split('\n').at(-1)).toMatch(/"done".*"reason":"stopped"/);
    const start = got.indexOf(0, 1);
    expect(start).toBeGreaterThan(0);
    expect(got.slice(start, start + 50)).toEqual(Array.from({ length: 50 }, (_, i) => i));
  });

  it('stat --once prints one snapshot (table and --json)', async () => {
    const { server, url } = await startServer();
    const timer = setInterval(
      () => server.publish('/s/a', { param: { v: 1.5 }, data: Buffer.alloc(10) }),
      10,
    );
    try {
      const json = await vsoa(
        'stat',
        url,
        '--sub',
        '/s/',
        '--once',
        '1.5s',
        '--json',
        '--log-level',
        'error',
      );
      expect(json.code).toBe(0);
      const lines = json.stdout.trim().split('\n');
      expect(lines).toHaveLength(1);
      const snap = JSON.parse(lines[0] ?? '{}') as { topics: Array<Record<string, unknown>> };
      expect(snap.topics).toHaveLength(1);
      const row = snap.topics[0] as {
        url: string;
        count: number;
        hz: number;
        min: number;
        max: number;
        last: string;
      };
      expect(row.url).toBe('/s/a');
      expect(row.count).toBeGreaterThan(5);
      expect(row.hz).toBeGreaterThan(5);
      expect(row.min).toBe(19); // {"v":1.5} is 9 bytes, data 10
      expect(row.max).toBe(19);
      expect(row.last).toContain('{"v":1.5}');
      const table = await vsoa('stat', `${url}/s/`, '--once', '1s', '--log-level', 'error');
      expect(table.code).toBe(0);
      expect(table.stdout).toMatch(/^URL\s+MSG\/s\s+BYTES\/s\s+MIN\s+AVG\s+MAX\s+COUNT\s+AGE\s+LAST/);
      expect(table.stdout).toMatch(/^\/s\/a\s+\d/m);
    } finally {
      clearInterval(timer);
    }
  });

  it('records from the sample service config (deploy/etc/vsoa/record-example.json), flags overriding it', async () => {
    const { server, url } = await startServer();
    const out = join(tempDir(), 'svc-{n}.mcap');
    const timer = setInterval(() => server.publish('/status', { param: { ok: true } }), 20);
    try {
      const config = join(repoRoot, 'deploy/etc/vsoa/record-example.json');
      const r = await vsoa(
        'record',
        url,
        '--config',
        config,
        '-o',
        out,
        '--duration',
        '1500ms',
        '--min-free',
        '0',
        '--log-level',
        'error',
      );
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      const summary = JSON.parse(r.stdout) as { files: string[]; publishes: number };
      expect(summary.files).toEqual([out.replace('{n}', '0000')]);
      const file = await readMcap(summary.files[0] as string);
      expect(file.messages.some((m) => m.topic === '/status')).toBe(true);
    } finally {
      clearInterval(timer);
    }
    const bad = await vsoa(
      'record',
      url,
      '--sub',
      '/',
      '-o',
      'x.mcap',
      '--split-size',
      'lots',
      '--log-level',
      'error',
    );
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--split-size/);
    const existing = join(tempDir(), 'kept.mcap');
    writeFileSync(existing, 'keep me');
    const refused = await vsoa(
      'record',
      url,
      '--sub',
      '/',
      '-o',
      existing,
      '--min-free',
      '0',
      '--log-level',
      'error',
    );
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/kept\.mcap exists: .*--overwrite/);
    expect(readFileSync(existing, 'utf8')).toBe('keep me');
  });
});
