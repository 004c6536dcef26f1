import { once } from 'node:events';
import { describe, expect, it } from 'vitest';
import { LatencyHistogram, type LatencySummary } from '../../src/cli/bench/histogram.js';
import type { BenchReport } from '../../src/cli/bench/report.js';
import { decodeStamp, encodeStamp, MAX_QUICK_SIZE, MAX_RPC_SIZE } from '../../src/cli/bench/wire.js';
import { firstLine, spawnVsoa, vsoa } from '../helpers/cli.js';
import { startServer, until } from '../helpers/net.js';
import { startOfficialServer } from '../interop/official.js';

async function benchJson(...args: string[]): Promise<BenchReport> {
  const r = await vsoa('bench', ...args, '--json', '--log-level', 'error');
  expect(r.code, r.stderr).toBe(0);
  // No progress bar when stderr is not a terminal.
  expect(r.stderr).not.toContain('\x1b[');
  return JSON.parse(r.stdout) as BenchReport;
}

function expectOrdered(latency: LatencySummary | null, count: number): void {
  expect(latency).not.toBeNull();
  const l = latency as LatencySummary;
  expect(l.count).toBe(count);
  const series = [l.minUs, l.p50Us, l.p90Us, l.p99Us, l.p999Us, l.maxUs];
  expect(series.every((v) => v > 0)).toBe(true);
  expect([...series].sort((a, b) => a - b)).toEqual(series);
  expect(l.meanUs).toBeGreaterThanOrEqual(l.minUs);
  expect(l.meanUs).toBeLessThanOrEqual(l.maxUs);
}

function expectRpc(report: BenchReport, sizes: number[], count: number): void {
  expect(report.rpc.map((r) => r.size)).toEqual(sizes);
  for (const { sequential, pipelined } of report.rpc) {
    for (const pass of [sequential, pipelined]) {
      expect(pass).toMatchObject({ calls: count, errors: 0 });
      expect(pass.callsPerSec).toBeGreaterThan(0);
      expectOrdered(pass.latency, count);
    }
  }
}

/** Quick datagrams are UDP: some may be lost even on loopback, so only consistency is asserted. */
function expectQuick(report: BenchReport, sizes: number[], count: number, stats: boolean): void {
  expect(report.quick.map((q) => q.size)).toEqual(sizes);
  for (const q of report.quick) {
    expect(q.sent).toBe(count);
    expect(q.echoed).toBeGreaterThan(0);
    expect(q.echoed).toBeLessThanOrEqual(q.sent);
    expect(q.lossPct).toBeCloseTo(((q.sent - q.echoed) / q.sent) * 100, 2);
    expectOrdered(q.rtt, q.echoed);
    if (stats) {
      expect(q.serverReceived).toBeGreaterThanOrEqual(q.echoed);
      expect(q.serverReceived).toBeLessThanOrEqual(q.sent);
      expect(q.lossToServerPct).not.toBeNull();
    } else {
      expect(q).toMatchObject({ serverReceived: null, lossToServerPct: null });
    }
  }
}

describe('bench building blocks', () => {
  it('round-trips the quick stamp as bytes and as parsed JSON', () => {
    for (const seq of [0, 7, 123_456_789]) {
      const stamp = encodeStamp(seq);
      expect(decodeStamp(stamp)).toBe(seq);
      expect(decodeStamp(JSON.parse(stamp.toString()))).toBe(seq);
    }
    expect(decodeStamp(Buffer.from('{}'))).toBe(-1);
    expect(decodeStamp(undefined)).toBe(-1);
    expect(MAX_RPC_SIZE).toBe(262_119);
    expect(MAX_QUICK_SIZE).toBe(65_457);
  });

  it('summarises latencies in µs with ordered percentiles', () => {
    const h = new LatencyHistogram();
    expect(h.summary()).toBeNull();
    for (let i = 1; i <= 1000; i++) h.record(i * 1000);
    const s = h.summary();
    expect(s).toMatchObject({ count: 1000, minUs: 1, maxUs: 1000 });
    expect(s?.p50Us).toBeCloseTo(500, -1);
    expect(s?.p99Us).toBeCloseTo(990, -1);
    expectOrdered(s, 1000);
  });
});

describe('vsoa bench', () => {
  it('benchmarks a self-hosted server: JSON with the machine and every result, rate searched', async () => {
    const report = await benchJson('--count', '300', '--sizes', '0,1024');
    expect(report.tool).toMatch(/bench$/);
    expect(report.machine).toMatchObject({ node: process.version, platform: process.platform });
    expect(report.machine.cores).toBeGreaterThan(0);
    expect(typeof report.machine.hostname).toBe('string');
    expect(typeof report.machine.cpuModel).toBe('string');
    expect(typeof report.machine.arch).toBe('string');
    expect(report.target).toMatchObject({ selfHosted: true, benchStats: true });
    expect(report.target.url).toMatch(/^vsoa:\/\/127\.0\.0\.1:\d+$/);
    expect(report.settings).toMatchObject({
      scenario: 'all',
      count: 300,
      durationS: null,
      inflight: 64,
      rate: null,
    });
    expect(report.notes.join('\n')).toMatch(/self-hosted/);
    expectRpc(report, [0, 1024], 300);
    expectQuick(report, [0, 1024], 300, true);
    for (const q of report.quick) {
      expect(q.rateSearched).toBe(true);
      expect(q.search.length).toBeGreaterThan(0);
      expect(q.rate).toBeGreaterThan(0);
    }
  });

  it("benchmarks a 'vsoa bench serve' child with a password; human output has no progress bar off a terminal", async () => {
    const serve = ['bench', 'serve', '--host', '127.0.0.1', '--port', '0', '--passwd', 'pw', '--json'];
    const child = spawnVsoa(...serve, '--log-level', 'error');
    const { listening } = JSON.parse(await firstLine(child)) as { listening: { port: number } };
    const url = `vsoa://127.0.0.1:${listening.port}`;

    const report = await benchJson(
      url,
      '--passwd',
      'pw',
      '--count',
      '100',
      '--sizes',
      '0,262119',
      '--rate',
      '2000',
    );
    expect(report.target).toMatchObject({ url, selfHosted: false, benchStats: true });
    expectRpc(report, [0, 262_119], 100);
    // 64 × 256 KiB would pass the client's 8 MiB send queue: fewer in flight for large payloads.
    expect(report.rpc.map((r) => r.pipelined.inflight)).toEqual([64, 16]);
    expectQuick(report, [0], 100, true);
    expect(report.quick[0]).toMatchObject({ rate: 2000, rateSearched: false, search: [] });
    expect(report.notes.join('\n')).toMatch(/262119 B left out/);

    const human = await vsoa(
      'bench',
      url,
      '--passwd',
      'pw',
      '--duration',
      '0.3',
      '--size',
      '100',
      '--scenario',
      'rpc',
    );
    expect(human.code).toBe(0);
    expect(human.stderr).not.toContain('\x1b[');
    expect(human.stdout).toMatch(/RPC \/echo, one call outstanding/);
    expect(human.stdout).toMatch(/^\s*100 B\s+\d+\s+\d+/m);
    expect(human.stdout).not.toMatch(/Quick datagrams/);

    const refused = await vsoa('bench', url, '--count', '1');
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/wrong password/);

    const stats = await vsoa('call', `${url}/bench/stats`, '--passwd', 'pw', '--json');
    const { param } = JSON.parse(stats.stdout) as {
      param: { rpc: { calls: number }; quick: { received: number } };
    };
    // Probe, warm-up and both passes of each size, then the human run.
    expect(param.rpc.calls).toBeGreaterThan(2 * (200 + 2 * 100));
    expect(param.quick.received).toBeGreaterThanOrEqual(report.quick[0]?.serverReceived ?? 1);
    child.kill('SIGTERM');
    const [code] = await once(child, 'exit');
    expect(code).toBe(0);
  });

  it('benchmarks our Server with an /echo and a quick echo but no /bench/stats', async () => {
    const { server, url } = await startServer();
    server.command('/echo', (cli, request, payload) => cli.reply(request.seqno, payload));
    server.ondata = (cli, topic, payload, quick) => cli.datagram(topic, payload, quick);
    const report = await benchJson(url, '--count', '100', '--sizes', '0,1024', '--rate', '2000');
    expect(report.target).toMatchObject({ selfHosted: false, benchStats: false });
    expectRpc(report, [0, 1024], 100);
    expectQuick(report, [0, 1024], 100, false);
    expect(report.notes.join('\n')).toMatch(/no \/bench\/stats/);
  });

  it('says so and exits 1 when the server has no /echo, or does not echo quick datagrams', async () => {
    const { url } = await startServer();
    const r = await vsoa(
      'bench',
      url,
      '--scenario',
      'quick',
      '--count',
      '10',
      '--rate',
      '100',
      '--log-level',
      'warn',
    );
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/no datagram sent to \/bench\/quick came back/);
    const rpc = await vsoa('bench', url, '--scenario', 'rpc', '--count', '5', '--log-level', 'error');
    expect(rpc.code).toBe(1);
    expect(rpc.stderr).toMatch(/\/echo did not echo \(status 3\): run 'vsoa bench serve' there/);
  });

  it("benchmarks the official package's server", async () => {
    const { server, url } = await startOfficialServer();
    server.on('/echo', (cli, request, payload) => cli.reply(0, request.seqno, payload));
    server.ondata = (cli, topic, payload) => {
      if (payload) cli.datagram(topic, payload, true);
    };
    const report = await benchJson(
      url,
      '--count',
      '100',
      '--sizes',
      '0,1024',
      '--rate',
      '2000',
      '--inflight',
      '8',
    );
    expect(report.target).toMatchObject({ benchStats: false });
    expectRpc(report, [0, 1024], 100);
    expect(report.rpc.map((r) => r.pipelined.inflight)).toEqual([8, 8]);
    expectQuick(report, [0, 1024], 100, false);
  });

  it("'vsoa bench serve --contend 2' runs two busy loops while it serves, and ends them with itself", async () => {
    const child = spawnVsoa(
      'bench',
      'serve',
      '--host',
      '127.0.0.1',
      '--port',
      '0',
      '--contend',
      '2',
      '--json',
    );
    const line = JSON.parse(await firstLine(child)) as {
      listening: { port: number };
      contend: number;
      contendPids: number[];
    };
    expect(line.contend).toBe(2);
    const alive = (pid: number): boolean => {
      try {
        process.kill(pid, 0);
        return true;
      } catch {
        return false;
      }
    };
    expect(line.contendPids.every(alive)).toBe(true);
    const report = await benchJson(
      `vsoa://127.0.0.1:${line.listening.port}`,
      '--scenario',
      'rpc',
      '--count',
      '50',
      '--sizes',
      '0',
    );
    expect(report.rpc[0]?.sequential.calls).toBe(50);
    child.kill('SIGTERM');
    await once(child, 'exit');
    await until(() => !line.contendPids.some(alive), 10_000, 'the busy loops to end');
  });

  it('rejects bad arguments with one line and exit 2, and explains a missing server with exit 1', async () => {
    const cases = [
      ['--size', '262120'],
      ['--sizes', '0,,1'],
      ['--sizes', '0,-1'],
      ['--scenario', 'quick', '--size', String(MAX_QUICK_SIZE + 1)],
      ['--scenario', 'udp'],
      ['--duration', '0'],
      ['--duration', 'soon'],
      ['--count', '0'],
      ['--count', '1', '--duration', '1'],
      ['--size', '1', '--sizes', '1,2'],
      ['--inflight', '0'],
      ['--rate', '0'],
      ['vsoa://127.0.0.1/'],
      ['serve', '--port', '70000'],
      ['serve', '--count', '3'],
    ];
    // In parallel: each is a process start and little else. Logs off: only the error line counts.
    const results = await Promise.all(cases.map((args) => vsoa('bench', ...args, '--log-level', 'error')));
    results.forEach((r, i) => {
      const what = cases[i]?.join(' ');
      expect(r.code, what).toBe(2);
      expect(r.stderr.trim().split('\n'), what).toHaveLength(1);
      expect(r.stdout, what).toBe('');
    });
    const refused = await vsoa('bench', 'vsoa://127.0.0.1:1', '--count', '1');
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/refused or failed: is a VSOA server listening there\?/);
    expect(refused.stderr).not.toMatch(/\n\s+at /);
  });
});
