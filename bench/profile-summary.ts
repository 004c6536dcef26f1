/**
 * Summarises V8 CPU profiles (`--cpu-prof`, e.g. from `npm run bench -- --profile`): the
 * functions with the most self time, module loading and idle left out, as Markdown.
 *
 *   node --import tsx bench/profile-summary.ts [--top 20] <file.cpuprofile>...
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

/** Start-up work of the loader (tsx) and Node's module system, not what is being measured. */
const LOADING =
  /esm\/|cjs\/|bootstrap|lexer|source_map|register-|compile|makeSyncRequest|waitForWorker|dist\//;

function summarise(file: string, top: number): string {
  const p = JSON.parse(readFileSync(file, 'utf8')) as Profile;
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const self = new Map<string, number>();
  let total = 0;
  let idle = 0;
  p.samples.forEach((id, i) => {
    const dt = p.timeDeltas[i] ?? 0;
    total += dt;
    const frame = byId.get(id)?.callFrame;
    if (!frame) return;
    const name = `${frame.functionName || '(anonymous)'} ${frame.url.split('/').slice(-2).join('/')}`;
    if (frame.functionName === '(idle)') idle += dt;
    else if (!LOADING.test(name)) self.set(name, (self.get(name) ?? 0) + dt);
  });
  const rows = [...self].sort((a, b) => b[1] - a[1]).slice(0, top);
  const lines = [
    `#### ${path.basename(file)}`,
    '',
    `${(total / 1000).toFixed(0)} ms sampled, ${((100 * idle) / Math.max(1, total)).toFixed(0)}% idle`,
    '',
    '| self ms | % | function |',
    '| ---: | ---: | --- |',
    ...rows.map(
      ([name, t]) => `| ${(t / 1000).toFixed(1)} | ${((100 * t) / total).toFixed(1)} | \`${name.trim()}\` |`,
    ),
  ];
  return lines.join('\n');
}

const args = process.argv.slice(2);
const at = args.indexOf('--top');
const top = at >= 0 ? Number(args.splice(at, 2)[1]) : 20;
console.log(args.map((f) => summarise(f, top)).join('\n\n'));
