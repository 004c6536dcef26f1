/**
 * End-to-end benchmarks: our library against the official npm `vsoa`, with a raw Node.js
 * TCP echo as the floor. Every side runs its own server and client child processes over
 * 127.0.0.1 (pinned to different CPUs with taskset when available), rounds interleaved.
 *
 *   npm run bench                        # full run, at most ~15 minutes
 *   npm run bench -- --quick             # 1–2 minutes (CI smoke test, no thresholds)
 *   npm run bench -- --only rpc-echo,fanout
 *   npm run bench -- --limits            # only the limits rows (largest packets, ratios to the raw floor)
 *   npm run bench -- --limits --contend 2  # ... each repetition also under 2 busy loops on the CPUs
 *   npm run bench -- --reps 7            # repetitions (default 5; 2 with --quick)
 *   npm run bench -- --profile           # --cpu-prof on our server children ($TMPDIR/vsoa-bench-prof)
 *   BENCH_VERBOSE=1 npm run bench ...    # forward every child's stderr
 *
 * Results: bench/results/<date>-<host>[-quick].json and a Markdown table on stdout.
 */
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { canPin, killAll } from './lib/child.js';
import { stopAllContention } from './lib/contend.js';
import { describeMachine } from './lib/machine.js';
import { describeMalloc } from './lib/malloc-env.js';
import { buildOurs } from './lib/ours-build.js';
import { renderHeader, renderTable } from './lib/table.js';
import { allocation } from './scenarios/alloc.js';
import { Collector, clientProfile, type Scenario, settingsFor } from './scenarios/context.js';
import { limits, limitsSummary } from './scenarios/limits.js';
import { memory } from './scenarios/memory.js';
import { fanout, publishTcp } from './scenarios/publish.js';
import { quickPublish } from './scenarios/quick.js';
import { rpcEcho, rpcPipelined } from './scenarios/rpc.js';
import { startup } from './scenarios/startup.js';

const BENCH_DIR = path.dirname(fileURLToPath(import.meta.url));
const REPO_DIR = path.resolve(BENCH_DIR, '..');
const SCENARIOS: readonly Scenario[] = [
  limits,
  rpcEcho,
  rpcPipelined,
  publishTcp,
  quickPublish,
  fanout,
  allocation,
  memory,
];
/** `--limits`: the rows of the performance issue, with memory and start-up beside them. */
const LIMITS: readonly Scenario[] = [limits, memory, startup];

function option(name: string): string | undefined {
  const args = process.argv.slice(2);
  const at = args.findIndex((a) => a === name || a.startsWith(`${name}=`));
  if (at < 0) return undefined;
  const arg = args[at] as string;
  return arg.includes('=') ? arg.slice(arg.indexOf('=') + 1) : args[at + 1];
}

async function main(): Promise<void> {
  const quick = process.argv.includes('--quick');
  const settings = settingsFor(quick);
  const resultsDir = path.join(BENCH_DIR, 'results');
  if (process.argv.includes('--profile')) {
    const dir = path.join(os.tmpdir(), 'vsoa-bench-prof');
    mkdirSync(dir, { recursive: true });
    settings.oursServerFlags = ['--cpu-prof', `--cpu-prof-dir=${dir}`];
    clientProfile.dir = dir;
    console.error(`CPU profiles of our server and client children go to ${dir}`);
  }
  const contend = Number(option('--contend') ?? 0);
  const reps = Number(option('--reps') ?? settings.rounds);
  if (!Number.isInteger(contend) || contend < 0 || contend > 64 || !Number.isInteger(reps) || reps < 1) {
    console.error('--contend must be an integer 0..64 and --reps an integer >= 1');
    process.exit(2);
  }
  settings.contend = contend;
  settings.rounds = reps;
  const all = [...SCENARIOS, startup];
  const only = option('--only')?.split(',');
  const chosen = only
    ? all.filter((s) => only.includes(s.id))
    : process.argv.includes('--limits')
      ? LIMITS
      : SCENARIOS;
  if (chosen.length === 0) {
    console.error(`--only: no such scenario; choose from ${all.map((s) => s.id).join(', ')}`);
    process.exit(2);
  }
  if (contend > 0 && !chosen.includes(limits))
    console.error('note: --contend applies to the limits rows only');

  const ours = buildOurs(REPO_DIR);
  const machine = { ...describeMachine(REPO_DIR, canPin()), malloc: describeMalloc(), ours };
  const mode = `${quick ? 'quick' : 'full'}${chosen === LIMITS ? ' limits' : ''}${contend > 0 ? ` contend ${contend}` : ''}`;
  console.error(`vsoa-edge bench (${mode}) on ${machine.cpu}, ${machine.cores} cores, Node ${machine.node}`);
  console.error(`pinning: ${machine.pinning}`);

  const results = new Collector();
  const t0 = performance.now();
  for (const scenario of chosen) {
    const s0 = performance.now();
    console.error(`- ${scenario.id}: ${scenario.title}`);
    await scenario.run({ settings, results });
    console.error(`  done in ${((performance.now() - s0) / 1000).toFixed(1)} s`);
  }
  const seconds = (performance.now() - t0) / 1000;

  const date = new Date().toISOString().slice(0, 10);
  const rows = results.all();
  const markdown = [
    renderHeader(machine, mode, date, seconds),
    ...chosen.flatMap((s) =>
      (s.tables ?? [s]).map((t) =>
        renderTable(
          t.title,
          t.columns,
          s.sides,
          rows.filter((r) => r.scenario === t.id),
          t.note,
        ),
      ),
    ),
  ].join('\n\n');

  mkdirSync(resultsDir, { recursive: true });
  const host = os.hostname().replace(/[^A-Za-z0-9._-]/g, '_');
  // A run narrowed to some rows or sides gets its own name: it must not overwrite a full run's.
  const narrowed = process.env.BENCH_LIMITS_ROWS || process.env.BENCH_SIDES ? '-partial' : '';
  const tag = `${quick ? '-quick' : ''}${chosen === LIMITS ? '-limits' : ''}${contend > 0 ? `-contend${contend}` : ''}${narrowed}`;
  const file = path.join(resultsDir, `${date}-${host}${tag}.json`);
  const load = { loadAtEnd: os.loadavg()[0] ?? 0, contend, contendedCpus: contend > 0 ? [0, 1] : [] };
  const summary = chosen.includes(limits) ? limitsSummary(rows) : undefined;
  const report = {
    date: new Date().toISOString(),
    mode,
    seconds,
    machine,
    load,
    settings,
    summary,
    rows,
    markdown,
  };
  writeFileSync(`${file}.tmp`, `${JSON.stringify(report, null, 2)}\n`);
  renameSync(`${file}.tmp`, file);

  console.log(markdown);
  console.error(`\nresults: ${path.relative(REPO_DIR, file)}`);
}

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    killAll();
    stopAllContention();
    process.exit(130);
  });
}

main().catch((error: unknown) => {
  killAll();
  stopAllContention();
  console.error(error);
  process.exit(1);
});
