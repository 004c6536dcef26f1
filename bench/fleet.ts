/**
 * Fleet benchmark: N simulated vehicles (N VSOA servers in this process, their N bridges in
 * one child process) feeding one real Mosquitto, and a subscriber in a third process as "the
 * cloud". Measured in the same run, on the same broker: a direct MQTT publisher (a child with
 * N MQTT clients) as the floor. Phases: a fixed offered rate (latency VSOA publish → MQTT
 * subscriber, p50/p99) and a closed loop (a bounded number in flight: the highest msgs/s),
 * each for the bridges and for the direct publisher; CPU per message of the publishing child.
 *
 *   node --import tsx bench/fleet.ts [--quick] [--vehicles N] [--rate MSGS_PER_S_PER_VEHICLE]
 *
 * Results: bench/results/<date>-<host>-fleet[-quick].json and a Markdown table on stdout.
 */
import { type ChildProcess, fork, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Server } from '../src/index.js';
import { describeMachine } from './lib/machine.js';

const BENCH_DIR = path.dirname(fileURLToPath(import.meta.url));
const REPO = path.dirname(BENCH_DIR);
const argv = process.argv.slice(2);
const quick = argv.includes('--quick');
function numberArg(name: string, fallback: number): number {
  const at = argv.indexOf(name);
  return at >= 0 ? Number(argv[at + 1]) : fallback;
}
const settings = {
  vehicles: numberArg('--vehicles', 50),
  ratePerVehicle: numberArg('--rate', quick ? 20 : 50),
  seconds: quick ? 3 : 10,
  window: 2000,
  tickMs: 10,
  qos: 1,
  payload: '{"t":<ms>,"seq":<n>,"v":21.5} (≈45 B JSON, application/json)',
  mosquitto: '/usr/sbin/mosquitto',
};

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

async function startMosquitto(): Promise<{ url: string; stop: () => void }> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'vsoa-fleet-'));
  for (let attempt = 0; ; attempt++) {
    const port = await freePort();
    const conf = path.join(dir, 'mosquitto.conf');
    const lines = [`user ${os.userInfo().username}`, `listener ${port} 127.0.0.1`, 'allow_anonymous true'];
    lines.push('persistence false', 'max_queued_messages 0', 'log_dest stderr', 'log_type information');
    writeFileSync(conf, `${lines.join('\n')}\n`);
    const child = spawn(settings.mosquitto, ['-c', conf], { stdio: ['ignore', 'ignore', 'pipe'] });
    const ok = await new Promise<boolean>((resolve) => {
      let text = '';
      child.stderr.on('data', (c: Buffer) => {
        text += c.toString();
        if (text.includes(`listen socket on port ${port}`)) resolve(true);
      });
      child.once('exit', () => resolve(false));
    });
    if (ok) {
      return {
        url: `mqtt://127.0.0.1:${port}`,
        stop: () => {
          child.kill('SIGKILL');
          rmSync(dir, { recursive: true, force: true });
        },
      };
    }
    if (attempt > 5) throw new Error('mosquitto did not start');
  }
}

interface ChildHandle {
  child: ChildProcess;
  request(message: object, key: string): Promise<Record<string, number | boolean>>;
}

function startChild(): Promise<ChildHandle> {
  const child = fork(path.join(BENCH_DIR, 'fleet-child.ts'), [], {
    execArgv: ['--import', 'tsx'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const handle: ChildHandle = {
    child,
    request: (message, key) =>
      new Promise((resolve) => {
        const on = (reply: Record<string, number | boolean>): void => {
          if (key in reply) {
            child.off('message', on);
            resolve(reply);
          }
        };
        child.on('message', on);
        child.send(message);
      }),
  };
  return new Promise((resolve) => child.once('message', () => resolve(handle)));
}

function round(n: number): number {
  return Math.round(n * 100) / 100;
}

function wait(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

async function main(): Promise<void> {
  const broker = await startMosquitto();
  const servers: Server[] = [];
  for (let i = 0; i < settings.vehicles; i++) {
    const s = new Server({ info: `vehicle ${i}` });
    await s.listen(0, '127.0.0.1');
    servers.push(s);
  }
  const cloud = await startChild();
  await cloud.request({ cmd: 'cloud', broker: broker.url }, 'ready');
  let received = 0;
  const poll = async (): Promise<number> => {
    received = (await cloud.request({ cmd: 'count' }, 'received')).received as number;
    return received;
  };
  const drained = async (sent: number): Promise<void> => {
    const deadline = Date.now() + 30_000;
    while ((await poll()) < sent && Date.now() < deadline) await wait(20);
  };
  const summary = async (sent: number, cpuUs: number): Promise<Record<string, number>> => {
    const r = await cloud.request({ cmd: 'summary' }, 'p50');
    const got = r.received as number;
    return {
      sent,
      received: got,
      msgsPerS: Math.round(got / (r.seconds as number)),
      p50Ms: round(r.p50 as number),
      p99Ms: round(r.p99 as number),
      maxMs: round(r.max as number),
      publisherCpuUsPerMsg: round(cpuUs / Math.max(1, got)),
    };
  };

  const bridges = await startChild();
  await bridges.request(
    {
      cmd: 'bridges',
      broker: broker.url,
      servers: servers.map((s) => `vsoa://127.0.0.1:${s.address().port}`),
    },
    'ready',
  );
  const direct = await startChild();
  await direct.request({ cmd: 'direct', broker: broker.url, count: settings.vehicles }, 'ready');
  await wait(500);

  let seq = 0;
  let nextServer = 0;
  const publishVsoa = (): void => {
    const s = servers[nextServer++ % servers.length] as Server;
    s.publish('/t/x', { param: { t: performance.timeOrigin + performance.now(), seq: seq++, v: 21.5 } });
  };
  const total = settings.vehicles * settings.ratePerVehicle;
  const ticks = (settings.seconds * 1000) / settings.tickMs;
  const perTick = Math.max(1, Math.round((total * settings.tickMs) / 1000));
  const results: Record<string, Record<string, number>> = {};

  // 1. Bridges at a fixed offered rate.
  const cpu0 = (await bridges.request({ cmd: 'cpu' }, 'cpuUs')).cpuUs as number;
  await cloud.request({ cmd: 'phase', prefix: 'fleet/v' }, 'phase');
  let sent = 0;
  for (let t = 0; t < ticks; t++) {
    const due = performance.now() + settings.tickMs;
    for (let k = 0; k < perTick; k++, sent++) publishVsoa();
    await wait(Math.max(0, due - performance.now()));
  }
  await drained(sent);
  const cpu1 = (await bridges.request({ cmd: 'cpu' }, 'cpuUs')).cpuUs as number;
  results['bridge, fixed rate'] = await summary(sent, cpu1 - cpu0);

  // 2. The direct publisher at the same rate.
  const d0 = (await direct.request({ cmd: 'cpu' }, 'cpuUs')).cpuUs as number;
  await cloud.request({ cmd: 'phase', prefix: 'fleet/d' }, 'phase');
  await direct.request({ cmd: 'rate', perTick, ticks, tickMs: settings.tickMs }, 'done');
  await drained(perTick * ticks);
  const d1 = (await direct.request({ cmd: 'cpu' }, 'cpuUs')).cpuUs as number;
  results['direct MQTT, fixed rate'] = await summary(perTick * ticks, d1 - d0);

  // 3. Bridges, closed loop: at most `window` in flight end to end.
  const c0 = (await bridges.request({ cmd: 'cpu' }, 'cpuUs')).cpuUs as number;
  await cloud.request({ cmd: 'phase', prefix: 'fleet/v' }, 'phase');
  sent = 0;
  received = 0;
  const loopEnd = Date.now() + settings.seconds * 1000;
  while (Date.now() < loopEnd) {
    // Top up to `window` in flight (at most 200 per turn, so the sockets get to run), then ask.
    for (let k = 0; k < 200 && sent - received < settings.window; k++, sent++) publishVsoa();
    await poll();
  }
  await drained(sent);
  const c1 = (await bridges.request({ cmd: 'cpu' }, 'cpuUs')).cpuUs as number;
  results['bridge, closed loop'] = await summary(sent, c1 - c0);

  // 4. Direct, closed loop: credit from the subscriber's receipts.
  const e0 = (await direct.request({ cmd: 'cpu' }, 'cpuUs')).cpuUs as number;
  await cloud.request({ cmd: 'phase', prefix: 'fleet/d' }, 'phase');
  received = 0;
  let credited = 0;
  const creditEnd = Date.now() + settings.seconds * 1000;
  while (Date.now() < creditEnd) {
    const owed = Math.min(200, received + settings.window - credited);
    if (owed > 0) {
      direct.child.send({ cmd: 'credit', count: owed });
      credited += owed;
    }
    await poll();
  }
  await drained(credited);
  const e1 = (await direct.request({ cmd: 'cpu' }, 'cpuUs')).cpuUs as number;
  results['direct MQTT, closed loop'] = await summary(credited, e1 - e0);

  const bridgeState = await bridges.request({ cmd: 'cpu' }, 'cpuUs');
  const report = {
    benchmark: 'fleet',
    date: new Date().toISOString(),
    settings,
    machine: describeMachine(REPO, false),
    results,
    bridgesProcess: { rssMiB: round(bridgeState.rssMiB as number), dropped: bridgeState.dropped },
  };
  bridges.child.send({ cmd: 'exit' });
  direct.child.send({ cmd: 'exit' });
  cloud.child.send({ cmd: 'exit' });
  await Promise.all(servers.map((s) => s.close()));
  broker.stop();

  const dir = path.join(BENCH_DIR, 'results');
  mkdirSync(dir, { recursive: true });
  const host = os.hostname().replace(/[^A-Za-z0-9._-]/g, '_');
  const file = path.join(dir, `${report.date.slice(0, 10)}-${host}-fleet${quick ? '-quick' : ''}.json`);
  writeFileSync(file, `${JSON.stringify(report, null, 2)}\n`);

  console.log(
    `\nFleet: ${settings.vehicles} vehicles → Mosquitto → 1 subscriber, QoS 1 (${report.machine.cpu}, ${report.machine.cores} cores)\n`,
  );
  console.log('| phase | sent | received | msgs/s | p50 ms | p99 ms | max ms | publisher CPU µs/msg |');
  console.log('| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
  for (const [name, r] of Object.entries(results)) {
    console.log(
      `| ${name} | ${r.sent} | ${r.received} | ${r.msgsPerS} | ${r.p50Ms} | ${r.p99Ms} | ${r.maxMs} | ${r.publisherCpuUsPerMsg} |`,
    );
  }
  console.log(
    `\nbridges process RSS ${report.bridgesProcess.rssMiB} MiB; results: ${path.relative(REPO, file)}`,
  );
}

main().then(
  () => process.exit(0),
  (error) => {
    console.error(error);
    process.exit(1);
  },
);
