import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { recordSize } from '../../src/mqtt/message.js';
import { spawnVsoa } from '../helpers/cli.js';
import { memoryLogger, onCleanup, startServer, until } from '../helpers/net.js';
import { type Broker, startBroker } from './broker.js';
import { mqttPeer, type Received, startBridge } from './peers.js';

/*
 * Outages of a real Mosquitto (SIGKILL, restart on the same port). The cloud-side subscriber
 * keeps a persistent session (saved by the broker just before it is killed), so what the
 * bridge delivers after the restart is queued for it even before it is back.
 */

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'vsoa-bridge-store-'));
  onCleanup(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

function cloud(broker: Broker, filter = 'vehicles/car-17/sensors/#'): ReturnType<typeof mqttPeer> {
  return mqttPeer(broker, [filter], {
    clean: false,
    clientId: `cloud-${process.pid}-${Math.random().toString(36).slice(2)}`,
    properties: { sessionExpiryInterval: 3600 },
  });
}

/** The `i` of each message, first occurrences only (QoS 1 may repeat one). */
function sequence(messages: Received[]): number[] {
  const seen = new Set<number>();
  const out: number[] = [];
  for (const m of messages) {
    const param = m.packet.properties?.userProperties?.['vsoa-param'] ?? m.payload.toString();
    const i = (JSON.parse(String(param)) as { i: number }).i;
    if (!seen.has(i)) {
      seen.add(i);
      out.push(i);
    }
  }
  return out;
}

function storeBytes(dir: string): number {
  return readdirSync(dir)
    .filter((n) => n.startsWith('seg-'))
    .reduce((sum, n) => sum + statSync(join(dir, n)).size, 0);
}

describe('MQTT bridge store-and-forward', () => {
  it('a 10 s broker outage with 1,000 publishes in between: all delivered, in order', async () => {
    const broker = await startBroker({ persistence: true });
    const { server, url } = await startServer();
    const sub = await cloud(broker);
    const bridge = await startBridge(broker, url, { store: tempDir() });
    await until(() => server.isSubscribed('/sensors/n'));
    server.publish('/sensors/n', { param: { i: -1 } });
    await until(() => sub.messages.length === 1);

    await broker.save();
    await broker.kill();
    await until(() => !bridge.brokerConnected, 10_000, 'bridge sees the outage');
    const started = Date.now();
    let i = 0;
    await new Promise<void>((resolve) => {
      const timer = setInterval(() => {
        for (let k = 0; k < 10 && i < 1000; k++) server.publish('/sensors/n', { param: { i: i++ } });
        if (i >= 1000) {
          clearInterval(timer);
          resolve();
        }
      }, 100);
    });
    await until(() => bridge.queued === 1000, 5000, 'all queued');
    await until(() => Date.now() - started >= 10_000, 2000);
    await broker.restart();

    await until(() => sequence(sub.messages).length === 1001, 30_000, 'all 1000 delivered');
    expect(sequence(sub.messages)).toEqual([-1, ...Array(1000).keys()]);
    await until(() => bridge.queued === 0);
    expect(bridge.stats()).toMatchObject({ dropped: 0, queued: 0, broker: { connects: 2, disconnects: 1 } });
  }, 60_000);

  it('a connection lost mid-stream (messages in flight): all delivered, first occurrences in order', async () => {
    const broker = await startBroker();
    const { server, url } = await startServer();
    const sub = await mqttPeer(broker, ['vehicles/car-17/sensors/#']);
    const bridge = await startBridge(broker, url, { store: tempDir() });
    await until(() => server.isSubscribed('/sensors/n'));
    const n = 3000;
    // When the cloud sees message 1000 (and 2000), the rest of that batch is in flight: cut the
    // bridge's TCP connection to the broker then.
    const inFlightAtCut: number[] = [];
    sub.client.on('message', (_topic, payload) => {
      const { i } = JSON.parse(payload.toString()) as { i: number };
      if ((i === 1000 || i === 2000) && inFlightAtCut.length < (i === 1000 ? 1 : 2)) {
        inFlightAtCut.push(bridge.stats().up.inFlight);
        (bridge as unknown as { mqtt: { stream: { destroy(): void } } }).mqtt.stream.destroy();
      }
    });
    let i = 0;
    await new Promise<void>((resolve) => {
      const timer = setInterval(() => {
        for (let k = 0; k < 200 && i < n; k++) server.publish('/sensors/n', { param: { i: i++ } });
        if (i >= n) {
          clearInterval(timer);
          resolve();
        }
      }, 20);
    });
    await until(() => sequence(sub.messages).length === n, 30_000, 'all delivered');
    expect(sequence(sub.messages)).toEqual([...Array(n).keys()]);
    expect(inFlightAtCut).toHaveLength(2);
    expect(Math.min(...inFlightAtCut)).toBeGreaterThan(0);
    expect(bridge.stats().broker.disconnects).toBe(2);
    await until(() => bridge.queued === 0);
  }, 60_000);

  it('kill -9 of the bridge (the CLI) during an outage: nothing queued is lost after a restart', async () => {
    const broker = await startBroker({ persistence: true });
    const { server, url } = await startServer();
    const sub = await cloud(broker);
    const dir = tempDir();
    const args = ['bridge', url, '--broker', broker.url, '--prefix', 'vehicles/car-17', '--sub', '/sensors/'];
    args.push('--store', dir, '--stats-interval', '0', '--log-level', 'warn', '--down-rpc', '/cmd/');
    server.command('/cmd/ping', (cli, request) => cli.reply(request.seqno, { param: 'pong' }));
    const first = spawnVsoa(...args);
    await until(() => server.isSubscribed('/sensors/n'), 15_000, 'bridge subscribed');
    server.publish('/sensors/n', { param: { i: -1 } });
    await until(() => sub.messages.length === 1, 10_000, 'the link works');

    await broker.save();
    await broker.kill();
    const n = 300;
    let expected = storeBytes(dir);
    for (let i = 0; i < n; i++) {
      const param = Buffer.from(JSON.stringify({ i }));
      server.publish('/sensors/n', { param });
      expected += recordSize({ url: '/sensors/n', param, quick: false, time: 0 });
    }
    await until(() => storeBytes(dir) >= expected, 10_000, 'all on disk');
    first.kill('SIGKILL');
    await new Promise((resolve) => first.once('exit', resolve));

    const second = spawnVsoa(...args);
    let stderr = '';
    second.stderr?.on('data', (c: Buffer) => {
      stderr += c.toString();
    });
    await until(() => server.isSubscribed('/sensors/n') && server.count() === 1, 15_000, 'second bridge up');
    await broker.restart();
    await until(() => sequence(sub.messages).filter((i) => i >= 0).length === n, 30_000, 'all delivered');
    expect(sequence(sub.messages).filter((i) => i >= 0)).toEqual([...Array(n).keys()]);
    expect(stderr).not.toMatch(/"level":50/); // warnings (broker unreachable) only

    // Started during the outage, the bridge still took its down topics once the broker was back.
    const caller = await mqttPeer(broker, ['replies/#']);
    await caller.client.publishAsync('vehicles/car-17/$rpc/cmd/ping', '', {
      qos: 1,
      properties: { responseTopic: 'replies/x', correlationData: Buffer.from('1') },
    });
    await until(() => caller.messages.length === 1, 10_000, 'RPC reply');
    expect(caller.messages[0]?.payload.toString()).toBe('"pong"');
  }, 60_000);

  it('store full: the oldest are dropped, counted exactly, with one log line', async () => {
    const broker = await startBroker({ persistence: true });
    const { server, url } = await startServer();
    const sub = await cloud(broker);
    const { logger, lines } = memoryLogger();
    const bridge = await startBridge(broker, url, { store: tempDir(), storeMax: 1024 * 1024, logger });
    await until(() => server.isSubscribed('/sensors/n'));
    await broker.save();
    await broker.kill();
    await until(() => !bridge.brokerConnected);
    const n = 400;
    for (let i = 0; i < n; i++) server.publish('/sensors/n', { param: { i }, data: Buffer.alloc(8000, i) });
    await until(() => bridge.stats().up.received === n);
    const { dropped, queued } = bridge.stats();
    expect(dropped).toBeGreaterThan(0);
    expect(queued + dropped).toBe(n);
    await broker.restart();
    await until(() => sequence(sub.messages).length === queued, 30_000, 'the kept ones delivered');
    // The newest survive, in order, and nothing else arrives.
    expect(sequence(sub.messages)).toEqual(Array.from({ length: queued }, (_, k) => dropped + k));
    expect(lines().filter((l) => l.msg === 'store full: dropping the oldest messages')).toHaveLength(1);
    expect(bridge.stats().dropped).toBe(dropped);
  }, 60_000);

  it('quick publishes while offline: dropped by default, queued with offlineQuick queue', async () => {
    const broker = await startBroker({ persistence: true });
    const { server, url } = await startServer();
    const sub = await cloud(broker);
    const dropping = await startBridge(broker, url, { prefix: 'vehicles/car-17', subscribe: ['/sensors/a'] });
    const queueing = await startBridge(broker, url, {
      prefix: 'vehicles/car-17',
      subscribe: ['/sensors/b'],
      offlineQuick: 'queue',
      broker: { url: broker.url, reconnectPeriod: 100, clientId: 'second-bridge' },
    });
    await until(() => server.isSubscribed('/sensors/a') && server.isSubscribed('/sensors/b'));
    await broker.save();
    await broker.kill();
    await until(() => !dropping.brokerConnected && !queueing.brokerConnected);
    for (let i = 0; i < 20; i++) {
      server.publish('/sensors/a', { param: { i } }, true);
      server.publish('/sensors/b', { param: { i } }, true);
    }
    await until(
      () => dropping.stats().up.received === 20 && queueing.stats().up.received === 20,
      10_000,
      'quick arrived',
    );
    expect(dropping.stats().up.quickDropped).toBe(20);
    expect(queueing.queued).toBe(20);
    await broker.restart();
    await until(() => sub.messages.length >= 20, 30_000);
    expect(sub.messages.every((m) => m.topic === 'vehicles/car-17/sensors/b')).toBe(true);
    expect(sequence(sub.messages)).toEqual([...Array(20).keys()]);
  }, 60_000);
});
