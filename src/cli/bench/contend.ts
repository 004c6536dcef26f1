import { type ChildProcess, spawn } from 'node:child_process';

/**
 * CPU contention on the board for `vsoa bench serve --contend N`: N busy loops (`sh`, normal
 * priority) running as long as the server does, as the board's own applications would. The
 * kernel spreads them over the CPUs; the server then gets what a loaded board leaves it.
 */
export class BusyLoops {
  private readonly procs: ChildProcess[] = [];

  constructor(count: number) {
    for (let i = 0; i < count; i++) {
      // The loop ends by itself once this process is gone, however it ended.
      const loop = 'while kill -0 "$1" 2>/dev/null; do :; done';
      const proc = spawn('sh', ['-c', loop, 'sh', String(process.pid)], { stdio: 'ignore' });
      proc.on('error', () => {}); // no sh: the server still runs, without contention
      this.procs.push(proc);
    }
  }

  /** The pids of the loops still running (for the listening line). */
  get pids(): number[] {
    return this.procs.flatMap((p) => (p.pid !== undefined && p.exitCode === null ? [p.pid] : []));
  }

  stop(): void {
    for (const proc of this.procs) proc.kill('SIGKILL');
  }
}
