/** What the numbers were measured on: CPU, cores, Node, versions, pinning. */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export interface Machine {
  host: string;
  cpu: string;
  cores: number;
  memoryGiB: number;
  os: string;
  node: string;
  vsoaOfficial: string;
  commit: string;
  pinning: string;
  /** The malloc settings of the children (malloc-env.ts), where the run sets them. */
  malloc?: string;
  /** Which build of our library the ours-sides load (lib/ours.ts). */
  ours?: string;
  /** 1-minute load average when the run started (other work on the machine skews results). */
  loadAtStart: number;
}

function quiet(run: () => string): string {
  try {
    return run().trim();
  } catch {
    return 'unknown';
  }
}

export function describeMachine(repoDir: string, pinned: boolean): Machine {
  const cpus = os.cpus();
  return {
    host: os.hostname(),
    cpu: cpus[0]?.model.trim() ?? 'unknown',
    cores: cpus.length,
    memoryGiB: Math.round(os.totalmem() / 2 ** 30),
    os: `${os.type()} ${os.release()} ${os.arch()}`,
    node: process.version,
    vsoaOfficial: quiet(
      () =>
        (
          JSON.parse(readFileSync(path.join(repoDir, 'node_modules/vsoa/package.json'), 'utf8')) as {
            version: string;
          }
        ).version,
    ),
    commit: quiet(() =>
      execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: repoDir, encoding: 'utf8' }),
    ),
    pinning: pinned ? 'taskset: servers on CPU 0, clients on CPU 1' : 'none (taskset unavailable or one CPU)',
    loadAtStart: os.loadavg()[0] ?? 0,
  };
}
