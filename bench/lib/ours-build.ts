/**
 * Builds dist/ (tsc, tsconfig.build.json) before a run measures it, so the ours-sides never
 * load a stale build (lib/ours.ts says why they load dist/ and not src/). Orchestrator side.
 */
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { OURS_FROM } from './ours.js';

export function buildOurs(repoDir: string): string {
  if (OURS_FROM === 'src') return 'src/ through tsx (BENCH_OURS=src)';
  const tsc = path.join(repoDir, 'node_modules', 'typescript', 'bin', 'tsc');
  execFileSync(process.execPath, [tsc, '-p', path.join(repoDir, 'tsconfig.build.json')], {
    cwd: repoDir,
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  return 'dist/ compiled by tsc just before the run, as published (BENCH_OURS=src for src/ through tsx)';
}
