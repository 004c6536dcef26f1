/**
 * The long soak: 1,000 clients with mixed traffic through the fault proxy for 10 minutes
 * (`--minutes N`, `--clients N`), the server process's RSS and open fds sampled every second
 * and plotted into bench/results/soak-<date>-<N>m.{json,svg}.
 *   node --import tsx bench/soak.ts [--minutes 10] [--clients 1000]
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { soak } from '../test/fault/soak.js';
import { plotSvg } from './lib/plot.js';

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
}

const minutes = arg('minutes', 10);
const clients = arg('clients', 1000);
const result = await soak({
  clients,
  durationMs: minutes * 60_000,
  churnPerSecond: 5,
  faults: { latencyMs: 2, jitterMs: 3, udpLoss: 0.01 },
  log: (line) => console.log(line),
});
const dir = new URL('./results/', import.meta.url).pathname;
mkdirSync(dir, { recursive: true });
const name = `soak-${new Date().toISOString().slice(0, 10)}-${minutes}m`;
const machine = {
  cpus: os.cpus().length,
  model: os.cpus()[0]?.model,
  loadavg: os.loadavg(),
  node: process.version,
};
writeFileSync(`${dir}${name}.json`, `${JSON.stringify({ machine, ...result }, null, 2)}\n`);
const svg = plotSvg(`soak: ${clients} clients, ${minutes} min, through the fault proxy`, [
  { label: 'server RSS (MiB)', points: result.samples.map((s) => [s.t / 1000, s.rssBytes / 1048576]) },
  { label: 'server open fds', points: result.samples.map((s) => [s.t / 1000, s.fds]) },
]);
writeFileSync(`${dir}${name}.svg`, svg);
const mib = (b: number): string => (b / 1048576).toFixed(1);
console.log(
  `soak: RSS baseline ${mib(result.baseline.rssBytes)} MiB, loaded ${mib(result.loaded.rssBytes)} MiB, after ${mib(result.after.rssBytes)} MiB; ` +
    `fds ${result.baseline.fds} → ${result.loaded.fds} → ${result.after.fds}; ` +
    `${result.counters.rpcs} RPCs (${result.counters.rpcErrors} failed), ${result.counters.messages} messages, ${result.counters.reconnects} reconnects`,
);
console.log(`soak: wrote bench/results/${name}.json and .svg`);
