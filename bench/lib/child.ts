/**
 * Orchestrator side of a child process: spawns `node --import tsx bench/<script>`, pinned
 * to a CPU with taskset when available, with the open-file limit raised to the hard limit;
 * collects its `@@bench` JSON lines; bounds every wait, and kills the child's whole process
 * group when it hangs, so one bad child costs one row, not the run.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { Json } from './adapter.js';
import { MALLOC_ENV } from './malloc-env.js';
import { LINE_PREFIX } from './messages.js';

const BENCH_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const REPO_DIR = path.resolve(BENCH_DIR, '..');

/** BENCH_VERBOSE=1 forwards every child's stderr. */
const VERBOSE = process.env.BENCH_VERBOSE === '1';

let tasksetWorks: boolean | undefined;

/** Whether `taskset -c 1` works here (present, and at least two CPUs). */
export function canPin(): boolean {
  if (tasksetWorks === undefined) {
    try {
      execFileSync('taskset', ['-c', '1', 'true'], { stdio: 'ignore' });
      tasksetWorks = true;
    } catch {
      tasksetWorks = false;
    }
  }
  return tasksetWorks;
}

export interface SpawnOptions {
  label: string;
  /** Path under bench/, e.g. 'sides/ours-server.ts'. */
  script: string;
  args?: string[];
  /** CPU to pin to (ignored without taskset). */
  cpu?: number;
  nodeFlags?: string[];
}

interface Waiter {
  type: string;
  resolve: (message: Json) => void;
  reject: (error: Error) => void;
  timer: NodeJS.Timeout;
}

const live = new Set<Child>();

/** Kills every child still running (orchestrator exit or interrupt). */
export function killAll(): void {
  for (const child of live) child.kill();
}

export class Child {
  readonly proc: ChildProcess;
  readonly exited: Promise<number | null>;
  private readonly inbox: Json[] = [];
  private readonly waiters = new Set<Waiter>();
  private stderrTail = '';
  private exitCode: number | null | undefined;

  constructor(readonly options: SpawnOptions) {
    const node = [
      process.execPath,
      '--import',
      'tsx',
      ...(options.nodeFlags ?? []),
      path.join(BENCH_DIR, options.script),
      ...(options.args ?? []),
    ];
    const pin = options.cpu !== undefined && canPin() ? ['taskset', '-c', String(options.cpu)] : [];
    this.proc = spawn(
      'sh',
      ['-c', 'ulimit -n "$(ulimit -Hn)" 2>/dev/null; exec "$@"', 'sh', ...pin, ...node],
      {
        cwd: REPO_DIR,
        detached: true,
        stdio: ['pipe', 'pipe', 'pipe'],
        env: { ...process.env, ...MALLOC_ENV },
      },
    );
    live.add(this);
    this.proc.stdin?.on('error', () => {}); // the child may be gone already
    const lines = createInterface({ input: this.proc.stdout as NodeJS.ReadableStream });
    lines.on('line', (line) => {
      if (!line.startsWith(LINE_PREFIX)) return;
      try {
        this.deliver(JSON.parse(line.slice(LINE_PREFIX.length)) as Json);
      } catch {
        // not ours
      }
    });
    this.proc.stderr?.on('data', (chunk: Buffer) => {
      if (VERBOSE) process.stderr.write(`[${options.label}] ${chunk.toString('utf8')}`);
      this.stderrTail = (this.stderrTail + chunk.toString('utf8')).slice(-2000);
    });
    this.exited = new Promise((resolve) => {
      this.proc.on('exit', (code) => {
        this.exitCode = code;
        live.delete(this);
        const why = new Error(`${options.label} exited (code ${code})${this.lastError()}`);
        for (const w of this.waiters) this.settle(w, why);
        resolve(code);
      });
    });
  }

  /** Next message of `type` (an `error` message or the child's exit rejects). */
  wait(type: string, timeoutMs: number): Promise<Json> {
    const at = this.inbox.findIndex((m) => m.type === type || m.type === 'error');
    if (at >= 0) {
      const [message] = this.inbox.splice(at, 1) as [Json];
      return message.type === 'error'
        ? Promise.reject(new Error(`${this.options.label}: ${String(message.message)}`))
        : Promise.resolve(message);
    }
    if (this.exitCode !== undefined) {
      return Promise.reject(
        new Error(`${this.options.label} exited (code ${this.exitCode})${this.lastError()}`),
      );
    }
    return new Promise<Json>((resolve, reject) => {
      const waiter: Waiter = {
        type,
        resolve,
        reject,
        timer: setTimeout(() => {
          this.settle(waiter, new Error(`${this.options.label}: no '${type}' within ${timeoutMs} ms`));
          this.kill();
        }, timeoutMs),
      };
      this.waiters.add(waiter);
    });
  }

  send(command: Json): void {
    if (this.exitCode === undefined) this.proc.stdin?.write(`${JSON.stringify(command)}\n`);
  }

  /** SIGKILL to the child's process group. */
  kill(): void {
    if (this.exitCode !== undefined || this.proc.pid === undefined) return;
    try {
      process.kill(-this.proc.pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }

  /** Asks the child to exit, and kills it if it has not within `boundMs`. */
  async stop(boundMs = 3000): Promise<void> {
    if (this.exitCode !== undefined) return;
    this.send({ cmd: 'exit' });
    this.proc.stdin?.end();
    const timer = setTimeout(() => this.kill(), boundMs);
    await this.exited;
    clearTimeout(timer);
  }

  private deliver(message: Json): void {
    for (const w of this.waiters) {
      if (message.type === w.type || message.type === 'error') {
        this.settle(
          w,
          message.type === 'error' ? new Error(`${this.options.label}: ${String(message.message)}`) : message,
        );
        return;
      }
    }
    this.inbox.push(message);
  }

  private settle(waiter: Waiter, outcome: Json | Error): void {
    clearTimeout(waiter.timer);
    this.waiters.delete(waiter);
    if (outcome instanceof Error) waiter.reject(outcome);
    else waiter.resolve(outcome);
  }

  private lastError(): string {
    const lines = this.stderrTail.trim().split('\n').filter(Boolean);
    const tail = lines.slice(-3).join(' | ');
    return tail ? `: ${tail.slice(0, 400)}` : '';
  }
}
