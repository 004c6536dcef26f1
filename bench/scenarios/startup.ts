/**
 * Start-up and idle memory of what a board runs: the x64 single executable
 * (dist/bin/vsoa-linux-x64, from `npm run cross` or `bash cross/build.sh x64`), the same CLI
 * as a plain Node.js bundle (the library without the SEA), and a bare `net` server in Node.js
 * (the floor). Each is started with `serve --port 0 --json` and timed until its "listening"
 * line; its RSS is read from /proc after a short idle.
 */
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import type { Side } from '../lib/adapter.js';
import { MALLOC_ENV } from '../lib/malloc-env.js';
import type { Scenario } from './context.js';

const REPO_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const EXE = path.join(REPO_DIR, 'dist/bin/vsoa-linux-x64');
const FLOOR = "require('net').createServer().listen(0,'127.0.0.1',()=>console.log('listening'))";

function rssOf(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kib = /VmRSS:\s+(\d+)/.exec(status)?.[1];
  return kib ? Number(kib) * 1024 : Number.NaN;
}

/** Milliseconds until a line with "listening", and the RSS after `idleMs`. */
async function startOnce(
  cmd: string,
  args: string[],
  idleMs = 500,
): Promise<{ startMs: number; rss: number }> {
  const t0 = performance.now();
  const proc = spawn(cmd, args, {
    stdio: ['ignore', 'pipe', 'ignore'],
    env: { ...process.env, ...MALLOC_ENV, NODE_OPTIONS: '' },
  });
  try {
    const startMs = await new Promise<number>((resolve, reject) => {
      let text = '';
      const timer = setTimeout(
        () => reject(new Error(`${path.basename(cmd)}: no "listening" in 20 s`)),
        20_000,
      );
      proc.stdout?.on('data', (chunk: Buffer) => {
        text += chunk.toString('utf8');
        if (text.includes('listening')) {
          clearTimeout(timer);
          resolve(performance.now() - t0);
        }
      });
      proc.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`${path.basename(cmd)} exited (code ${code}) before listening`));
      });
    });
    await sleep(idleMs);
    return { startMs, rss: proc.pid ? rssOf(proc.pid) : Number.NaN };
  } finally {
    proc.kill('SIGKILL');
  }
}

export const startup: Scenario = {
  id: 'startup',
  title: 'Start-up to "listening" and idle RSS (`serve --port 0`)',
  sides: ['ours', 'raw'],
  columns: [
    { key: 'startMs', label: 'start-up ms', digits: 0 },
    { key: 'rss', label: 'idle RSS MiB', digits: 1, scale: 1024 * 1024 },
  ],
  note: 'x64 executable: dist/bin/vsoa-linux-x64 (SEA with code cache); node + bundle: the same CLI bundled by cross/bundle.mjs, run by this Node.js; raw floor: `node -e` with a bare net server. Each figure the median of the repetitions.',
  async run({ settings, results }) {
    const bundle = path.join(os.tmpdir(), `vsoa-bench-${process.pid}.cjs`);
    execFileSync(process.execPath, ['cross/bundle.mjs', bundle], { cwd: REPO_DIR, stdio: 'ignore' });
    const serve = ['serve', '--port', '0', '--host', '127.0.0.1', '--json'];
    const targets: Array<{ label: string; side: Side; cmd: string; args: string[] }> = [
      { label: 'x64 executable', side: 'ours', cmd: EXE, args: serve },
      { label: 'node + bundle', side: 'ours', cmd: process.execPath, args: [bundle, ...serve] },
      { label: 'bare node', side: 'raw', cmd: process.execPath, args: ['-e', FLOOR] },
    ];
    if (!existsSync(EXE)) {
      results.fail(
        this.id,
        ['x64 executable'],
        'ours',
        new Error(`${EXE} missing: run bash cross/build.sh x64`),
      );
    }
    for (let rep = 0; rep < Math.max(3, settings.rounds); rep++) {
      for (const t of targets) {
        if (t.cmd === EXE && !existsSync(EXE)) continue;
        try {
          results.add(this.id, t.label, t.side, await startOnce(t.cmd, t.args));
        } catch (error) {
          results.fail(this.id, [t.label], t.side, error);
        }
      }
    }
  },
};
