import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { Client, ConnectCode } from '../../src/index.js';

/** Starts test/hostile/target.ts as a small board would run it, and talks to it as a control client. */

const root = fileURLToPath(new URL('../..', import.meta.url));
/** Inside node_modules so that anything left external still resolves. */
const bundleDir = `${root}node_modules/.cache/vsoa-hostile`;

export interface TargetStats {
  rss: number;
  heapUsed: number;
  arrayBuffers: number;
  external: number;
  clients: number;
  datagrams: number;
  streamsOpen: number;
}

export const HEAP_LIMIT_MB = 256;
/** A 32-bit board's address space. */
export const ADDRESS_SPACE = 2 * 1024 * 1024 * 1024;

let bundled: Promise<string> | undefined;

/** One plain-JS file: tsx needs WebAssembly, which cannot reserve its memory under a 2 GiB limit. */
function bundle(): Promise<string> {
  bundled ??= (async () => {
    mkdirSync(bundleDir, { recursive: true });
    const out = `${bundleDir}/target.mjs`;
    await build({
      entryPoints: [fileURLToPath(new URL('./target.ts', import.meta.url))],
      outfile: out,
      bundle: true,
      platform: 'node',
      format: 'esm',
      target: 'node20',
      external: ['pino', 'pino-pretty'],
      logLevel: 'warning',
      banner: {
        js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);",
      },
    });
    return out;
  })();
  return bundled;
}

export class Target {
  readonly control = new Client();
  exited: number | null | undefined;

  private constructor(
    readonly child: ChildProcess,
    readonly port: number,
    readonly stderr: string[],
  ) {
    child.once('exit', (code, signal) => {
      this.exited = code ?? (signal ? -1 : null);
    });
  }

  static async start(env: Record<string, string> = {}): Promise<Target> {
    const file = await bundle();
    const child = spawn(
      'prlimit',
      [
        `--as=${ADDRESS_SPACE}`,
        '--',
        process.execPath,
        `--max-old-space-size=${HEAP_LIMIT_MB}`,
        '--expose-gc',
        file,
      ],
      { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } },
    );
    const stderr: string[] = [];
    child.stderr?.on('data', (d: Buffer) => stderr.push(d.toString()));
    const port = await new Promise<number>((resolve, reject) => {
      const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream });
      lines.once('line', (line) => resolve((JSON.parse(line) as { port: number }).port));
      child.once('exit', (code) => reject(new Error(`target exited (${code}): ${stderr.join('')}`)));
    });
    const target = new Target(child, port, stderr);
    const code = await target.control.connect(`vsoa://127.0.0.1:${port}`, {
      timeout: 5000,
      passwd: env.TARGET_PASSWD ?? '',
    });
    if (code !== ConnectCode.OK) throw new Error(`control client could not connect (${code})`);
    return target;
  }

  /** The control client is answered, within `ms`. */
  async answers(ms = 3000): Promise<boolean> {
    if (this.exited !== undefined) return false;
    const { payload } = await this.control.fetch('/echo', { payload: { param: 'ping' }, timeout: ms });
    return payload.param === 'ping';
  }

  async stats(): Promise<TargetStats> {
    const { payload } = await this.control.fetch('/stats', { timeout: 10_000 });
    return payload.param as TargetStats;
  }

  async streamTunid(): Promise<number> {
    const { header } = await this.control.fetch('/stream-echo', { timeout: 5000 });
    return header.tunid;
  }

  async stop(): Promise<void> {
    this.control.close();
    if (this.exited !== undefined) return;
    const gone = new Promise((r) => this.child.once('exit', r));
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 3000);
    await gone;
    clearTimeout(timer);
  }
}
