import { connect, type IClientOptions, type IPublishPacket, type MqttClient } from 'mqtt';
import { Bridge, type BridgeOptions } from '../../src/mqtt/index.js';
import { onCleanup, until } from '../helpers/net.js';
import type { Broker } from './broker.js';

/** A bridge for `vsoa` through `broker`, started and closed after the test. */
export async function startBridge(
  broker: Broker,
  vsoa: string,
  options: Partial<BridgeOptions> = {},
): Promise<Bridge> {
  const bridge = new Bridge({
    vsoa,
    robot: { reconnDelay: 50, keepalive: 500 },
    broker: { url: broker.url, reconnectPeriod: 100, ...options.broker },
    prefix: 'vehicles/car-17',
    subscribe: ['/sensors/'],
    statsInterval: 0,
    ...options,
  });
  onCleanup(() => bridge.close());
  bridge.start();
  await until(() => bridge.brokerConnected && bridge.vsoaConnected, 10_000, 'bridge connected');
  return bridge;
}

export interface Received {
  topic: string;
  payload: Buffer;
  packet: IPublishPacket;
}

/** An MQTT.js peer (MQTT 5) that records what it receives; closed after the test. */
export async function mqttPeer(
  broker: Broker,
  filters: string[],
  options: IClientOptions = {},
): Promise<{ client: MqttClient; messages: Received[] }> {
  const client = connect(broker.url, { protocolVersion: 5, reconnectPeriod: 50, ...options });
  onCleanup(() => new Promise<void>((resolve) => client.end(true, {}, () => resolve())));
  const messages: Received[] = [];
  client.on('message', (topic, payload, packet) => messages.push({ topic, payload, packet }));
  client.on('error', () => {});
  await new Promise<void>((resolve) => client.once('connect', () => resolve()));
  if (filters.length > 0) await client.subscribeAsync(filters, { qos: 1 });
  return { client, messages };
}
