import os from 'node:os';
import { packageInfo, targetArch } from '../version.js';
import type { LatencySummary } from './histogram.js';
import type { SearchStep } from './quick.js';
import type { RpcPassResult } from './rpc.js';
import type { BenchSettings } from './settings.js';

/** The machine a report was made on: what tells one board from another. */
export interface MachineInfo {
  hostname: string;
  cpuModel: string;
  cores: number;
  node: string;
  arch: string;
  platform: string;
  kernel: string;
  memoryMiB: number;
}

export interface RpcResult {
  size: number;
  /** One call outstanding: latency. */
  sequential: RpcPassResult;
  /** `inflight` calls outstanding: throughput. */
  pipelined: RpcPassResult & { inflight: number };
}

export interface QuickResult {
  size: number;
  rate: number;
  /** Whether `rate` came from the search (no --rate given). */
  rateSearched: boolean;
  search: SearchStep[];
  sent: number;
  echoed: number;
  /** Counted by the server's /bench/stats; null when the server has none. */
  serverReceived: number | null;
  /** Round-trip loss (either direction). */
  lossPct: number;
  /** Client-to-server loss; null without /bench/stats. */
  lossToServerPct: number | null;
  seconds: number;
  sendRate: number;
  /** Round trip; one-way latency needs synchronised clocks and is not measured. */
  rtt: LatencySummary | null;
}

export interface BenchReport {
  tool: string;
  version: string;
  startedAt: string;
  machine: MachineInfo;
  target: { url: string; selfHosted: boolean; benchStats: boolean };
  settings: BenchSettings;
  rpc: RpcResult[];
  quick: QuickResult[];
  notes: string[];
}

export function machineInfo(): MachineInfo {
  const cpus = os.cpus();
  return {
    hostname: os.hostname(),
    cpuModel: cpuModel(cpus),
    cores: os.availableParallelism?.() ?? cpus.length,
    node: process.version,
    arch: targetArch(),
    platform: process.platform,
    kernel: os.release(),
    memoryMiB: Math.round(os.totalmem() / 1024 / 1024),
  };
}

/** ARM kernels often leave the model empty in /proc/cpuinfo; say "unknown" rather than "". */
function cpuModel(cpus: os.CpuInfo[]): string {
  const model = cpus[0]?.model.trim();
  return model && model !== 'unknown' ? model : `unknown ${process.arch} CPU`;
}

export function toolVersion(): { tool: string; version: string } {
  const { name, version } = packageInfo();
  return { tool: `${name} bench`, version };
}

export function sizeText(bytes: number): string {
  return bytes >= 1024 && bytes % 1024 === 0 ? `${bytes / 1024} KiB` : `${bytes} B`;
}

function n(value: number | null | undefined, digits = 1): string {
  if (value === null || value === undefined) return '-';
  return value.toFixed(digits);
}

function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]): string => cells.map((c, i) => c.padStart(widths[i] as number)).join('  ');
  return [line(header), ...rows.map(line)].join('\n');
}

/** The report for people: what was measured, on what, then one table per scenario. */
export function formatReport(report: BenchReport): string {
  const m = report.machine;
  const out: string[] = [];
  out.push(
    `${report.tool} ${report.version} on ${m.hostname}: ${m.cpuModel}, ${m.cores} cores, ` +
      `Node.js ${m.node} ${m.platform}-${m.arch}`,
  );
  out.push(`target ${report.target.url}${report.target.selfHosted ? ' (self-hosted in this process)' : ''}`);
  for (const note of report.notes) out.push(`note: ${note}`);
  if (report.rpc.length > 0) {
    out.push('', 'RPC /echo, one call outstanding (latency in µs)');
    out.push(
      table(
        ['size', 'calls', 'calls/s', 'p50', 'p90', 'p99', 'p99.9', 'max', 'errors'],
        report.rpc.map(({ size, sequential: s }) => [
          sizeText(size),
          String(s.calls),
          n(s.callsPerSec, 0),
          n(s.latency?.p50Us),
          n(s.latency?.p90Us),
          n(s.latency?.p99Us),
          n(s.latency?.p999Us),
          n(s.latency?.maxUs),
          String(s.errors),
        ]),
      ),
    );
    out.push('', 'RPC /echo, pipelined (latency in µs)');
    out.push(
      table(
        ['size', 'in flight', 'calls', 'calls/s', 'MB/s', 'p50', 'p99', 'errors'],
        report.rpc.map(({ size, pipelined: p }) => [
          sizeText(size),
          String(p.inflight),
          String(p.calls),
          n(p.callsPerSec, 0),
          n(p.mbPerSec, 2),
          n(p.latency?.p50Us),
          n(p.latency?.p99Us),
          String(p.errors),
        ]),
      ),
    );
  }
  if (report.quick.length > 0) {
    const searched = report.quick.some((q) => q.rateSearched);
    out.push(
      '',
      `Quick datagrams to /bench/quick${searched ? ' (rate: highest found with < 1% loss)' : ''}, round trip in µs`,
    );
    out.push(
      table(
        ['size', 'rate/s', 'sent', 'echoed', 'at server', 'loss %', 'p50', 'p90', 'p99', 'p99.9', 'max'],
        report.quick.map((q) => [
          sizeText(q.size),
          String(q.rate),
          String(q.sent),
          String(q.echoed),
          q.serverReceived === null ? '-' : String(q.serverReceived),
          n(q.lossPct, 2),
          n(q.rtt?.p50Us),
          n(q.rtt?.p90Us),
          n(q.rtt?.p99Us),
          n(q.rtt?.p999Us),
          n(q.rtt?.maxUs),
        ]),
      ),
    );
  }
  return `${out.join('\n')}\n`;
}
