import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import type { IClientPublishOptions } from 'mqtt';
import { describe, expect, it } from 'vitest';
import { Status } from '../../src/index.js';
import { memoryLogger, startServer, until } from '../helpers/net.js';
import { type Broker, startBroker } from './broker.js';
import { mqttPeer, type Received, startBridge } from './peers.js';

const RPC = 'vehicles/car-17/$rpc';

/** Sends a down RPC from an MQTT.js peer and waits for its reply (matched by correlation data). */
async function rpc(
  peer: Awaited<ReturnType<typeof mqttPeer>>,
  url: string,
  payload: string | Buffer,
  properties: IClientPublishOptions['properties'] = {},
): Promise<Received> {
  const correlationData = randomBytes(8);
  const before = peer.messages.length;
  await peer.client.publishAsync(`${RPC}${url}`, payload, {
    qos: 1,
    properties: { responseTopic: 'replies/test', correlationData, ...properties },
  });
  let reply: Received | undefined;
  await until(
    () => {
      reply = peer.messages
        .slice(before)
        .find((m) => m.packet.properties?.correlationData?.equals(correlationData));
      return reply !== undefined;
    },
    10_000,
    `reply to ${url}`,
  );
  return reply as Received;
}

function props(m: Received): Record<string, string | string[]> {
  return m.packet.properties?.userProperties ?? {};
}

function mosquittoRr(broker: Broker, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(
      'mosquitto_rr',
      ['-V', 'mqttv5', '-h', '127.0.0.1', '-p', String(broker.port), '-W', '10', ...args],
      { timeout: 15_000 },
      (error, stdout, stderr) => (error ? reject(new Error(`${error.message} ${stderr}`)) : resolve(stdout)),
    );
  });
}

describe('MQTT bridge, down: MQTT → VSOA', () => {
  it('answers RPCs with the reply, the status and the same correlation data (mosquitto_rr and MQTT.js)', async () => {
    const broker = await startBroker();
    const { server, url } = await startServer();
    const calls: Array<{ url: string; method: number; param: unknown }> = [];
    server.command('/motor/speed', (cli, request, payload) => {
      calls.push({ url: request.url, method: request.method, param: payload.param });
      cli.reply(request.seqno, { param: { speed: 42, got: payload.param ?? null } });
    });
    server.command('/motor/busy', (cli, request) =>
      cli.reply(request.seqno, { param: 'later' }, Status.NO_MEMORY),
    );
    server.command('/motor/blob', (cli, request, payload) =>
      cli.reply(request.seqno, { param: { n: payload.data?.length }, data: Buffer.from([9, 8, 7]) }),
    );
    await startBridge(broker, url, { downRpc: ['/motor/'] });

    // mosquitto_rr: an independent MQTT 5 requester (response topic + correlation data).
    const out = await mosquittoRr(broker, [
      '-t',
      `${RPC}/motor/speed`,
      '-e',
      'replies/rr',
      '-m',
      '{"set":3}',
      '-D',
      'publish',
      'user-property',
      'vsoa-method',
      'SET',
    ]);
    expect(JSON.parse(out)).toEqual({ speed: 42, got: { set: 3 } });
    expect(calls[0]).toEqual({ url: '/motor/speed', method: 1, param: { set: 3 } });

    const peer = await mqttPeer(broker, ['replies/#']);
    const get = await rpc(peer, '/motor/speed', '');
    expect(JSON.parse(get.payload.toString())).toEqual({ speed: 42, got: null });
    expect(props(get)).toEqual({ 'vsoa-status': '0' });
    expect(get.packet.properties?.contentType).toBe('application/json');
    expect(calls[1]?.method).toBe(0);

    const busy = await rpc(peer, '/motor/busy', '{}');
    expect(props(busy)).toEqual({ 'vsoa-status': String(Status.NO_MEMORY), 'vsoa-error': 'NO_MEMORY' });
    expect(JSON.parse(busy.payload.toString())).toBe('later');

    const blob = await rpc(peer, '/motor/blob', Buffer.from([1, 2, 3, 4]), {
      contentType: 'application/octet-stream',
      userProperties: { 'vsoa-param': '{"x":1}' },
    });
    expect([...blob.payload]).toEqual([9, 8, 7]);
    expect(blob.packet.properties?.contentType).toBe('application/octet-stream');
    expect(props(blob)['vsoa-param']).toBe('{"n":4}');
  });

  it('refuses, rejects or drops bad requests with an answer or a log line, and keeps going', async () => {
    const broker = await startBroker();
    const { server, url } = await startServer();
    let executed = 0;
    server.command('/admin/reboot', (cli, request) => {
      executed++;
      cli.reply(request.seqno);
    });
    server.command('/motor/hang', () => {}); // never replies
    server.command('/motor/ok', (cli, request) => cli.reply(request.seqno, { param: true }));
    const { logger, lines } = memoryLogger();
    const bridge = await startBridge(broker, url, {
      downRpc: ['/motor/'],
      downDgram: ['/motor/'],
      rpcTimeout: 300,
      logger,
    });
    const peer = await mqttPeer(broker, ['replies/#']);

    const refused = await rpc(peer, '/admin/reboot', '{}');
    expect(props(refused)).toMatchObject({
      'vsoa-status': String(Status.NO_PERMISSIONS),
      'vsoa-error': 'NO_PERMISSIONS',
    });
    const unknown = await rpc(peer, '/motor/nothing', '{}');
    expect(props(unknown)).toMatchObject({
      'vsoa-status': String(Status.INVALID_URL),
      'vsoa-error': 'INVALID_URL',
    });
    const badJson = await rpc(peer, '/motor/ok', '{not json');
    expect(props(badJson)).toMatchObject({
      'vsoa-status': String(Status.ARGUMENTS),
      'vsoa-error': 'ARGUMENTS',
    });
    expect(props(badJson)['vsoa-reason']).toMatch(/JSON/);
    const huge = await rpc(peer, '/motor/ok', JSON.stringify('x'.repeat(300_000)));
    expect(props(huge)).toMatchObject({ 'vsoa-status': String(Status.ARGUMENTS) });
    expect(props(huge)['vsoa-reason']).toMatch(/limit/);
    const badMethod = await rpc(peer, '/motor/ok', '', { userProperties: { 'vsoa-method': 'DELETE' } });
    expect(props(badMethod)).toMatchObject({ 'vsoa-status': String(Status.ARGUMENTS) });
    const timeout = await rpc(peer, '/motor/hang', '');
    expect(props(timeout)).toMatchObject({
      'vsoa-status': String(Status.NO_RESPONDING),
      'vsoa-error': 'TIMEOUT',
    });
    const bare = await rpc(peer, '', '');
    expect(props(bare)).toMatchObject({ 'vsoa-status': String(Status.INVALID_URL) });

    // No response topic: nobody to answer; logged and dropped.
    await peer.client.publishAsync(`${RPC}/motor/ok`, '{}', { qos: 1 });
    await until(() => lines().some((l) => l.msg === 'down RPC without a response topic: dropped'));

    // Datagrams: allowed ones arrive; refused and malformed ones are dropped with a log line.
    const datagrams: Array<{ url: string; param: unknown }> = [];
    server.ondata = (_cli, dgUrl, payload) => datagrams.push({ url: dgUrl, param: payload.param });
    await peer.client.publishAsync('vehicles/car-17/$dgram/admin/x', '1', { qos: 1 });
    await peer.client.publishAsync('vehicles/car-17/$dgram/motor/x', '{bad', { qos: 1 });
    await peer.client.publishAsync('vehicles/car-17/$dgram/motor/go', '{"v":1}', { qos: 1 });
    await until(() => datagrams.length === 1);
    expect(datagrams).toEqual([{ url: '/motor/go', param: { v: 1 } }]);
    expect(
      lines().some((l) => l.msg === 'down datagram refused: not under an allowed --down-dgram prefix'),
    ).toBe(true);
    expect(lines().some((l) => l.msg === 'down datagram dropped' && String(l.reason).includes('JSON'))).toBe(
      true,
    );

    // Still working, nothing refused was executed.
    const ok = await rpc(peer, '/motor/ok', '');
    expect(props(ok)).toEqual({ 'vsoa-status': '0' });
    expect(executed).toBe(0);
    expect(bridge.stats().down).toEqual({ rpc: 2, dgram: 1, refused: 2, errors: 7 });
  });

  it('refuses every down RPC when no prefix is allowed (the default)', async () => {
    const broker = await startBroker();
    const { server, url } = await startServer();
    let executed = 0;
    server.command('/', (cli, request) => {
      executed++;
      cli.reply(request.seqno);
    });
    await startBridge(broker, url);
    const peer = await mqttPeer(broker, ['replies/#']);
    const reply = await rpc(peer, '/anything', '');
    expect(props(reply)['vsoa-status']).toBe(String(Status.NO_PERMISSIONS));
    expect(executed).toBe(0);
  });
});
