import { describe, expect, it } from 'vitest';
import { until } from '../helpers/net.js';
import { startOfficialServer } from '../interop/official.js';
import { mosquittoPub, mosquittoSub, startBroker } from './broker.js';
import { startBridge } from './peers.js';

/* The official npm `vsoa` server as the VSOA side; Mosquitto's own clients as the MQTT side. */

describe('MQTT bridge with the official vsoa server', () => {
  it('forwards its publishes up and delivers down datagrams and RPCs', async () => {
    const broker = await startBroker();
    const { server, url } = await startOfficialServer();
    const datagrams: unknown[] = [];
    server.ondata = (_cli, dgUrl, payload) => datagrams.push({ url: dgUrl, param: payload?.param });
    server.on('/ctl/mode', (cli, request, payload) =>
      cli.reply(0, request.seqno, {
        param: { mode: (payload?.param as { mode?: string } | undefined)?.mode },
      }),
    );
    const sub = mosquittoSub(broker, 'vehicles/car-17/#');
    await sub.ready;
    const replies = mosquittoSub(broker, 'replies/official');
    await replies.ready;
    await startBridge(broker, url, { subscribe: ['/sensors/'], downRpc: ['/ctl/'], downDgram: ['/ctl/'] });
    await until(() => server.isSubscribed('/sensors/gps'));

    server.publish('/sensors/gps', { param: { lat: 31.2, lon: 121.5 } });
    server.publish('/sensors/frame', { param: { seq: 1 }, data: Buffer.from('JPEG') });
    await until(() => sub.messages.filter((m) => m.topic.includes('/sensors/')).length === 2);
    const gps = sub.messages.find((m) => m.topic === 'vehicles/car-17/sensors/gps');
    expect(JSON.parse(gps?.payload ?? '')).toEqual({ lat: 31.2, lon: 121.5 });
    const frame = sub.messages.find((m) => m.topic === 'vehicles/car-17/sensors/frame');
    expect(frame?.payload).toBe('JPEG');
    expect(frame?.properties?.['user-properties']).toEqual({ 'vsoa-param': '{"seq":1}' });

    mosquittoPub(broker, ['-t', 'vehicles/car-17/$dgram/ctl/led', '-m', '{"on":true}', '-q', '1']);
    await until(() => datagrams.length === 1);
    expect(datagrams[0]).toEqual({ url: '/ctl/led', param: { on: true } });

    mosquittoPub(broker, [
      '-t',
      'vehicles/car-17/$rpc/ctl/mode',
      '-m',
      '{"mode":"eco"}',
      '-q',
      '1',
      '-D',
      'publish',
      'response-topic',
      'replies/official',
      '-D',
      'publish',
      'correlation-data',
      'c-1',
      '-D',
      'publish',
      'user-property',
      'vsoa-method',
      'SET',
    ]);
    await until(() => replies.messages.length === 1);
    expect(JSON.parse(replies.messages[0]?.payload ?? '')).toEqual({ mode: 'eco' });
    expect(replies.messages[0]?.properties?.['user-properties']).toEqual({ 'vsoa-status': '0' });
  });
});
