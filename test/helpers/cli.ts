import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { onCleanup } from './net.js';

/** The repository root: the CLI runs from its sources there, through tsx. */
export const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
const cliArgs = ['--import', 'tsx', 'src/cli/main.ts'];

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `vsoa ...args` to completion (bounded) and reports its exit code and output. */
export function vsoa(...args: string[]): Promise<CliResult> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [...cliArgs, ...args],
      { cwd: repoRoot, timeout: 25_000 },
      (error, stdout, stderr) => {
        const code = error ? ((error as { code?: number }).code ?? 1) : 0;
        resolve({ code: typeof code === 'number' ? code : 1, stdout, stderr });
      },
    );
  });
}

/** Starts `vsoa ...args` in the background; killed after the test if still running. */
export function spawnVsoa(...args: string[]): ChildProcess {
  const child = spawn(process.execPath, [...cliArgs, ...args], {
    cwd: repoRoot,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  onCleanup(() => {
    if (child.exitCode === null) child.kill('SIGKILL');
  });
  return child;
}

/** The first line a child writes on stdout. */
export async function firstLine(child: ChildProcess): Promise<string> {
  let buffered = '';
  for await (const chunk of child.stdout as AsyncIterable<Buffer>) {
    buffered += chunk.toString();
    const at = buffered.indexOf('\n');
    if (at >= 0) return buffered.slice(0, at);
  }
  throw new Error('no output');
}
