import { describe, expect, it } from 'vitest';
import { startServer, until } from '../helpers/net.js';
import { mosquittoSub, startBroker } from './broker.js';
import { mqttPeer, startBridge } from './peers.js';

describe('MQTT bridge, up: VSOA publish → MQTT', () => {
  it('maps params to JSON and data to bytes with vsoa-param, QoS 1, seen by mosquitto_sub', async () => {
    const broker = await startBroker();
    const { server, url } = await startServer();
    const sub = mosquittoSub(broker, 'vehicles/car-17/#');
    await sub.ready;
    const peer = await mqttPeer(broker, ['vehicles/car-17/sensors/#']);
    await startBridge(broker, url, { subscribe: ['/sensors/'] });
    await until(() => server.isSubscribed('/sensors/temp'));

    server.publish('/sensors/temp', { param: { c: 21.5 } });
    server.publish('/sensors/raw', { param: { n: 1 }, data: Buffer.from([0, 1, 2, 255]) });
    server.publish('/sensors/empty');
    server.publish('/elsewhere', { param: 1 }); // not bridged
    await until(
      () =>
        peer.messages.length >= 3 && sub.messages.filter((m) => m.topic.includes('/sensors/')).length >= 3,
    );

    const json = sub.messages.find((m) => m.topic === 'vehicles/car-17/sensors/temp');
    expect(json).toMatchObject({ payload: '{"c":21.5}', qos: 1, retain: 0 });
    expect(json?.properties?.['content-type']).toBe('application/json');
    const raw = sub.messages.find((m) => m.topic === 'vehicles/car-17/sensors/raw');
    expect(raw?.properties).toEqual({
      'content-type': 'application/octet-stream',
      'user-properties': { 'vsoa-param': '{"n":1}' },
    });
    const bytes = peer.messages.find((m) => m.topic === 'vehicles/car-17/sensors/raw');
    expect([...(bytes?.payload ?? [])]).toEqual([0, 1, 2, 255]);
    expect(peer.messages.find((m) => m.topic === 'vehicles/car-17/sensors/empty')?.payload.toString()).toBe(
      'null',
    );
    const status = sub.messages.find((m) => m.topic === 'vehicles/car-17/$status');
    expect(status?.payload).toBe('online');
    expect(sub.messages.some((m) => m.topic.includes('elsewhere'))).toBe(false);
  });

  it('retains the last value with retain, and says offline as the last will', async () => {
    const broker = await startBroker();
    const { server, url } = await startServer();
    const bridge = await startBridge(broker, url, { retain: true, statsInterval: 100 });
    await until(() => server.isSubscribed('/sensors/speed'));
    server.publish('/sensors/speed', { param: 10 });
    server.publish('/sensors/speed', { param: 12 });
    await until(() => bridge.stats().up.published === 2);

    const late = await mqttPeer(broker, [
      'vehicles/car-17/sensors/speed',
      'vehicles/car-17/$status',
      'vehicles/car-17/$stats',
    ]);
    await until(() => late.messages.some((m) => m.topic.endsWith('$stats')) && late.messages.length >= 3);
    const retained = late.messages.filter((m) => m.packet.retain && m.topic.endsWith('/speed'));
    expect(retained.map((m) => m.payload.toString())).toEqual(['12']);
    const stats = JSON.parse(
      late.messages.find((m) => m.topic.endsWith('$stats'))?.payload.toString() ?? '{}',
    );
    expect(stats).toMatchObject({
      vsoa: { connected: true, state: 'connected' },
      broker: { connected: true },
      queued: 0,
      dropped: 0,
    });
    expect(stats.up.published).toBeGreaterThanOrEqual(2);

    // A lost uplink (the bridge vanishes without DISCONNECT): the broker publishes the will.
    const watcher = await mqttPeer(broker, ['vehicles/car-17/$status']);
    await until(() => watcher.messages.some((m) => m.payload.toString() === 'online'));
    (bridge as unknown as { mqtt: { stream: { destroy(): void } } }).mqtt.stream.destroy();
    await until(() => watcher.messages.some((m) => m.payload.toString() === 'offline'), 10_000, 'last will');
  });

  it('speaks MQTT 3.1.1 when asked: the same topics and payloads, without properties', async () => {
    const broker = await startBroker();
    const { server, url } = await startServer();
    const peer = await mqttPeer(broker, ['vehicles/car-17/#'], { protocolVersion: 4 });
    const bridge = await startBridge(broker, url, {
      broker: { url: broker.url, protocolVersion: 4, reconnectPeriod: 100 },
      downDgram: ['/ctl/'],
    });
    await until(() => server.isSubscribed('/sensors/v'));
    server.publish('/sensors/v', { param: { v: 3 } });
    server.publish('/sensors/b', { param: { n: 1 }, data: Buffer.from([5, 6]) });
    await until(() => peer.messages.filter((m) => m.topic.includes('/sensors/')).length === 2);
    expect(peer.messages.find((m) => m.topic.endsWith('/sensors/v'))?.payload.toString()).toBe('{"v":3}');
    expect([...(peer.messages.find((m) => m.topic.endsWith('/sensors/b'))?.payload ?? [])]).toEqual([5, 6]);
    const datagrams: unknown[] = [];
    server.ondata = (_cli, dgUrl, payload) => datagrams.push({ url: dgUrl, param: payload.param });
    await peer.client.publishAsync('vehicles/car-17/$dgram/ctl/x', '{"on":1}', { qos: 1 });
    await until(() => datagrams.length === 1);
    expect(datagrams[0]).toEqual({ url: '/ctl/x', param: { on: 1 } });
    expect(bridge.stats().up.published).toBe(2);
  });
});
