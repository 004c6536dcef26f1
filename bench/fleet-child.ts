/**
 * A child of bench/fleet.ts: the fleet's bridges (one Bridge per simulated vehicle, all in this
 * process), the direct MQTT publisher (the floor), or the cloud subscriber that measures
 * latency. Driven over IPC; reports its CPU.
 */
import { connect, type MqttClient } from 'mqtt';
import { Bridge } from '../src/mqtt/index.js';

type Command =
  | { cmd: 'bridges'; broker: string; servers: string[] }
  | { cmd: 'direct'; broker: string; count: number }
  | { cmd: 'rate'; perTick: number; ticks: number; tickMs: number }
  | { cmd: 'credit'; count: number }
  | { cmd: 'cloud'; broker: string }
  | { cmd: 'phase'; prefix: string }
  | { cmd: 'count' }
  | { cmd: 'summary' }
  | { cmd: 'cpu' }
  | { cmd: 'exit' };

const bridges: Bridge[] = [];
const clients: MqttClient[] = [];
let next = 0;
let seq = 0;
/** The cloud subscriber's current phase: messages under `prefix`, their latencies (ms). */
const phase = { prefix: '', latencies: [] as number[], first: 0, last: 0 };

function send(message: object): void {
  process.send?.(message);
}

function until(predicate: () => boolean): Promise<void> {
  return new Promise((resolve) => {
    const check = (): void => {
      if (predicate()) resolve();
      else setTimeout(check, 10);
    };
    check();
  });
}

/** One direct publish: the same payload shape as the VSOA side's (a timestamp and a seq). */
function publishDirect(): void {
  const i = next++ % clients.length;
  const payload = JSON.stringify({ t: performance.timeOrigin + performance.now(), seq: seq++, v: 21.5 });
  (clients[i] as MqttClient).publish(`fleet/d${i}/t/x`, payload, {
    qos: 1,
    properties: { contentType: 'application/json' },
  });
}

process.on('message', async (message: Command) => {
  switch (message.cmd) {
    case 'bridges': {
      message.servers.forEach((url, i) => {
        const bridge = new Bridge({
          vsoa: url,
          broker: { url: message.broker, clientId: `fleet-v${i}` },
          prefix: `fleet/v${i}`,
          subscribe: ['/t/'],
          statsInterval: 0,
        });
        bridge.start();
        bridges.push(bridge);
      });
      await until(() => bridges.every((b) => b.brokerConnected && b.vsoaConnected));
      send({ ready: true });
      break;
    }
    case 'direct': {
      for (let i = 0; i < message.count; i++) {
        clients.push(connect(message.broker, { protocolVersion: 5, clientId: `fleet-d${i}` }));
      }
      await until(() => clients.every((c) => c.connected));
      send({ ready: true });
      break;
    }
    case 'rate': {
      let ticks = 0;
      const timer = setInterval(() => {
        for (let k = 0; k < message.perTick; k++) publishDirect();
        if (++ticks >= message.ticks) {
          clearInterval(timer);
          send({ done: true });
        }
      }, message.tickMs);
      break;
    }
    case 'cloud': {
      const cloud = connect(message.broker, { protocolVersion: 5, clientId: 'fleet-cloud' });
      cloud.on('message', (topic, payload) => {
        if (!phase.prefix || !topic.startsWith(phase.prefix) || !topic.endsWith('/t/x')) return;
        const now = performance.timeOrigin + performance.now();
        if (phase.latencies.length === 0) phase.first = now;
        phase.last = now;
        phase.latencies.push(now - (JSON.parse(payload.toString()) as { t: number }).t);
      });
      clients.push(cloud);
      await cloud.subscribeAsync('fleet/#', { qos: 1 });
      send({ ready: true });
      break;
    }
    case 'phase':
      phase.prefix = message.prefix;
      phase.latencies = [];
      send({ phase: true });
      break;
    case 'count':
      send({ received: phase.latencies.length });
      break;
    case 'summary': {
      const sorted = Float64Array.from(phase.latencies).sort();
      const at = (q: number): number =>
        sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))] ?? Number.NaN;
      send({
        received: sorted.length,
        seconds: (phase.last - phase.first) / 1000,
        p50: at(0.5),
        p99: at(0.99),
        max: at(1),
      });
      phase.prefix = '';
      break;
    }
    case 'credit':
      for (let k = 0; k < message.count; k++) publishDirect();
      break;
    case 'cpu': {
      const cpu = process.cpuUsage();
      const published = bridges.reduce((s, b) => s + b.stats().up.published, 0);
      const dropped = bridges.reduce((s, b) => s + b.stats().dropped + b.stats().up.quickDropped, 0);
      send({ cpuUs: cpu.user + cpu.system, published, dropped, rssMiB: process.memoryUsage().rss / 2 ** 20 });
      break;
    }
    case 'exit':
      await Promise.all(bridges.map((b) => b.close()));
      await Promise.all(clients.map((c) => c.endAsync()));
      process.exit(0);
  }
});
send({ started: true });
