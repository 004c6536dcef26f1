import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterEach, describe, expect, it } from 'vitest';
import { Client } from '../../src/index.js';

/**
 * Runs the single executables from `npm run cross` (dist/bin/vsoa-linux-<arch>), the ARM ones
 * under qemu-user as cross/smoke.sh does. A target whose executable (or qemu) is missing is
 * skipped with the reason in the test name; CI builds them before the tests.
 */

const root = new URL('../../', import.meta.url).pathname;
const targetsSh = readFileSync(join(root, 'cross/targets.sh'), 'utf8');
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { name: string; version: string };

/** `[x64]=24.21.0` or `[arm64]='qemu-aarch64-static -L ...'` from a `declare -A NAME=(...)` line. */
function targetTable(name: string): Record<string, string> {
  const line = targetsSh.split('\n').find((l) => l.startsWith(`declare -A ${name}=(`));
  if (!line) throw new Error(`cross/targets.sh has no ${name}`);
  const table: Record<string, string> = {};
  for (const m of line.matchAll(/\[(\w+)\]=('([^']*)'|[^\s)]*)/g)) table[m[1]!] = m[3] ?? m[2]!;
  return table;
}

const NODE_VERSION = targetTable('NODE_VERSION');
const RUNNER = targetTable('RUNNER');
/** ELF e_machine of each target: the extracted addon must be built for it. */
const ELF_MACHINE: Record<string, number> = { x64: 62, arm64: 183, armv7l: 40 };

function command(target: string, args: string[]): [string, string[]] {
  const exe = join(root, 'dist/bin', `vsoa-linux-${target}`);
  const runner = RUNNER[target] ? RUNNER[target].split(' ') : [];
  return runner.length > 0 ? [runner[0]!, [...runner.slice(1), exe, ...args]] : [exe, args];
}

function runExe(target: string, args: string[], env: NodeJS.ProcessEnv = {}) {
  const [file, argv] = command(target, args);
  return new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
    execFile(file, argv, { env: { ...process.env, ...env }, timeout: 20_000 }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : -1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

function skipReason(target: string): string | undefined {
  if (!existsSync(join(root, 'dist/bin', `vsoa-linux-${target}`))) {
    return `dist/bin/vsoa-linux-${target} not built (npm run cross:setup && npm run cross)`;
  }
  const qemu = RUNNER[target]?.split(' ')[0];
  if (qemu && !existsSync(`/usr/bin/${qemu}`)) return `${qemu} not installed (npm run cross:setup)`;
  return undefined;
}

const children: ChildProcess[] = [];
const dirs: string[] = [];
afterEach(() => {
  for (const child of children.splice(0)) if (child.exitCode === null) child.kill('SIGKILL');
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'vsoa-smoke-'));
  dirs.push(dir);
  return dir;
}

for (const target of Object.keys(NODE_VERSION)) {
  describe(`vsoa-linux-${target}`, () => {
    const reason = skipReason(target);
    if (reason) {
      it.skip(`skipped: ${reason}`, () => {});
      return;
    }

    it('--version names the package, the embedded Node.js and the architecture', async () => {
      // The same start-up extracts the embedded native addon into $RUNTIME_DIRECTORY.
      const runtime = tempDir();
      const r = await runExe(target, ['--version'], { RUNTIME_DIRECTORY: runtime });
      expect(r).toEqual({
        code: 0,
        // The second line says whether the embedded addon loaded: it must, from the executable.
        stdout: `${pkg.name} ${pkg.version} (node v${NODE_VERSION[target]}, linux-${target})\nnative addon: loaded\n`,
        stderr: '',
      });

      const files = readdirSync(runtime);
      expect(files).toHaveLength(1);
      expect(files[0]).toMatch(/^vsoa_native-[0-9a-f]{16}\.node$/);
      const elf = readFileSync(join(runtime, files[0]!));
      expect(elf.subarray(0, 4).toString('latin1')).toBe('\x7fELF');
      expect(elf.readUInt16LE(18)).toBe(ELF_MACHINE[target]); // built for this architecture
    });

    it('exits 2 with one line on a usage error', async () => {
      const r = await runExe(target, ['--no-such-option']);
      expect(r.code).toBe(2);
      expect(r.stderr).toBe("vsoa: unknown option '--no-such-option'; see 'vsoa --help'\n");
    });

    it('serves a call from the host with the addon loaded, and stops cleanly on SIGTERM', async () => {
      const [file, argv] = command(target, ['serve', '--host', '127.0.0.1', '--port', '0', '--json']);
      const child = spawn(file, [...argv, '--log-level', 'debug'], {
        env: { ...process.env, RUNTIME_DIRECTORY: tempDir() },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      children.push(child);
      let stderr = '';
      child.stderr!.on('data', (chunk: Buffer) => {
        stderr += chunk.toString();
      });
      const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));

      const port = await new Promise<number>((resolve, reject) => {
        createInterface({ input: child.stdout! }).on('line', (line) => {
          const msg = JSON.parse(line) as { listening?: { port: number } };
          if (msg.listening) resolve(msg.listening.port);
        });
        void exited.then((code) => reject(new Error(`serve exited ${code} before listening: ${stderr}`)));
      });

      const client = new Client();
      try {
        expect(await client.connect(`vsoa://127.0.0.1:${port}`, { timeout: 10_000 })).toBe(0);
        const { header, payload } = await client.fetch('/echo', { payload: { param: { target } } });
        expect(header.status).toBe(0);
        expect(payload.param).toEqual({ target });
      } finally {
        client.close();
      }

      child.kill('SIGTERM');
      expect(await exited).toBe(0);
      expect(stderr).not.toMatch(/native addon/); // the embedded addon was loaded: no degraded warning
    });
  });
}
