/**
 * CPU contention for the limits benchmarks: N busy-loop processes at normal priority, pinned
 * round-robin to the benchmark's CPUs (the server's and the client's), as a board's own
 * applications would be. Started before a contended phase and killed after it, so quiet and
 * contended phases interleave within one run.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { canPin } from './child.js';

export class Contention {
  private procs: ChildProcess[] = [];

  constructor(
    readonly count: number,
    private readonly cpus: readonly number[],
  ) {}

  get active(): boolean {
    return this.procs.length > 0;
  }

  start(): void {
    if (this.active || this.count <= 0) return;
    for (let i = 0; i < this.count; i++) {
      const cpu = this.cpus[i % this.cpus.length] ?? 0;
      const pin = canPin() ? ['taskset', '-c', String(cpu)] : [];
      const loop = ['sh', '-c', 'while :; do :; done'];
      const [cmd, ...args] = [...pin, ...loop] as [string, ...string[]];
      const proc = spawn(cmd, args, { detached: true, stdio: 'ignore' });
      proc.on('error', () => {});
      this.procs.push(proc);
    }
  }

  stop(): void {
    for (const proc of this.procs) {
      try {
        if (proc.pid !== undefined) process.kill(-proc.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    this.procs = [];
  }
}

/** Every contention still running, killed when the orchestrator exits. */
export const contentions = new Set<Contention>();

export function stopAllContention(): void {
  for (const c of contentions) c.stop();
}
