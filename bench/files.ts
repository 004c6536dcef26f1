/**
 * File transfer over loopback: getFile/putFile (what `vsoa cp` runs, sha256 on both ends
 * included) against a raw TCP copy of the same bytes (the floor), both directions, each side
 * its own process, rounds interleaved, medians.
 *   node --import tsx bench/files.ts [--mib 256] [--reps 3] [--quick] [--dir DIR (default /dev/shm)]
 * Writes bench/results/files-<date>.json.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';

const quick = process.argv.includes('--quick');
const argNum = (name: string, fallback: number): number => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
};
const mib = argNum('mib', quick ? 32 : 256);
const reps = argNum('reps', quick ? 1 : 3);
const here = path.dirname(new URL(import.meta.url).pathname);

function child(...args: string[]): { proc: ChildProcess; lines: AsyncIterator<string> } {
  const proc = spawn(process.execPath, ['--import', 'tsx', path.join(here, 'files-child.ts'), ...args], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const lines = createInterface({ input: proc.stdout as NodeJS.ReadableStream })[Symbol.asyncIterator]();
  return { proc, lines };
}

async function line<T>(lines: AsyncIterator<string>): Promise<T> {
  const { value, done } = await lines.next();
  if (done) throw new Error('child ended without output');
  return JSON.parse(value) as T;
}

interface Round {
  mbPerSecond: number;
  clientCpuMs: number;
  serverCpuMs: number;
}

async function round(
  kind: 'raw' | 'vsoa',
  direction: 'get' | 'put',
  root: string,
  file: string,
): Promise<Round> {
  const server = child(`${kind}-server`, kind === 'raw' ? file : root);
  const { port } = await line<{ port: number }>(server.lines);
  const target = kind === 'raw' ? String(port) : `vsoa://127.0.0.1:${port}`;
  const local = direction === 'get' ? path.join(root, `got-${kind}.bin`) : file;
  const client = child(`${kind}-${direction}`, target, local);
  const { ms, cpuUs } = await line<{ ms: number; cpuUs: number }>(client.lines);
  server.proc.kill('SIGTERM');
  const serverCpu = await line<{ cpuUs: number }>(server.lines);
  return {
    mbPerSecond: (mib * 1024 * 1024) / 1e6 / (ms / 1000),
    clientCpuMs: cpuUs / 1000,
    serverCpuMs: serverCpu.cpuUs / 1000,
  };
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((x, y) => x - y);
  return s[Math.floor(s.length / 2)] as number;
};

// Files live in RAM (/dev/shm) when there is one: the disk's own noise would swamp the transfer.
const tmpBase = (() => {
  const i = process.argv.indexOf('--dir');
  if (i > 0) return process.argv[i + 1] as string;
  return existsSync('/dev/shm') ? '/dev/shm' : os.tmpdir();
})();
const root = mkdtempSync(path.join(tmpBase, 'vsoa-files-bench-'));
try {
  const file = path.join(root, 'payload.bin');
  writeFileSync(file, randomBytes(mib * 1024 * 1024));
  const results: Record<string, Round[]> = {};
  for (let r = 0; r < reps; r++) {
    for (const direction of ['get', 'put'] as const) {
      // Interleaved: the floor and ours alternate which goes first.
      const order: Array<'raw' | 'vsoa'> = r % 2 === 0 ? ['raw', 'vsoa'] : ['vsoa', 'raw'];
      for (const kind of order) {
        const key = `${kind}-${direction}`;
        results[key] ??= [];
        results[key].push(await round(kind, direction, root, file));
      }
    }
  }
  const summary: Record<string, unknown> = {};
  console.log(`| ${mib} MiB over loopback | MB/s | of floor | client CPU ms | server CPU ms |`);
  console.log('|---|---:|---:|---:|---:|');
  for (const direction of ['get', 'put'] as const) {
    const floor = median((results[`raw-${direction}`] ?? []).map((x) => x.mbPerSecond));
    for (const kind of ['raw', 'vsoa'] as const) {
      const rows = results[`${kind}-${direction}`] ?? [];
      const mbps = median(rows.map((x) => x.mbPerSecond));
      const row = {
        mbPerSecond: mbps,
        ofFloor: mbps / floor,
        clientCpuMs: median(rows.map((x) => x.clientCpuMs)),
        serverCpuMs: median(rows.map((x) => x.serverCpuMs)),
      };
      summary[`${kind}-${direction}`] = row;
      const name =
        kind === 'raw'
          ? `raw TCP copy (${direction === 'get' ? 'download' : 'upload'})`
          : `vsoa-edge ${direction === 'get' ? 'getFile' : 'putFile'}`;
      console.log(
        `| ${name} | ${mbps.toFixed(0)} | ${row.ofFloor.toFixed(2)} | ${row.clientCpuMs.toFixed(0)} | ${row.serverCpuMs.toFixed(0)} |`,
      );
    }
  }
  const dir = path.join(here, 'results');
  mkdirSync(dir, { recursive: true });
  const out = path.join(dir, `files-${new Date().toISOString().slice(0, 10)}${quick ? '-quick' : ''}.json`);
  const machine = {
    cpus: os.cpus().length,
    model: os.cpus()[0]?.model,
    loadavg: os.loadavg(),
    node: process.version,
  };
  writeFileSync(
    out,
    `${JSON.stringify({ machine, mib, reps, dir: tmpBase, summary, rounds: results }, null, 2)}\n`,
  );
  console.log(`files bench: wrote ${path.relative(process.cwd(), out)}`);
} finally {
  rmSync(root, { recursive: true, force: true });
}
