import type { RobotOptions } from '../index.js';
import { duration, integer, optionsObject } from '../util/check.js';
import type { Logger } from '../util/log.js';
import { checkPrefix } from './mapping.js';
import { DEFAULT_DISK_MAX, DEFAULT_MEMORY_MAX, MIN_QUEUE_MAX } from './queue.js';

/** The broker side: where, who, how. */
export interface BrokerOptions {
  /** `mqtt://host:port` or `mqtts://host:port`. */
  url: string;
  username?: string;
  password?: string;
  /** PEM (string or Buffer): the CA that signs the broker's certificate (mqtts). */
  ca?: string | Buffer;
  /** PEM client certificate and key, for brokers that ask for one. */
  cert?: string | Buffer;
  key?: string | Buffer;
  /** Name the broker's certificate must carry (default: the url's host). */
  servername?: string;
  /** 5 (default) or 4 (MQTT 3.1.1: no properties, so no down RPC, no vsoa-param). */
  protocolVersion?: 5 | 4;
  /** Default `vsoa-bridge-<prefix>` (unique per vehicle: a broker drops a duplicate id). */
  clientId?: string;
  /** MQTT keepalive in seconds (default 30). */
  keepalive?: number;
  /** Wait between reconnect attempts, ms (default 1000). */
  reconnectPeriod?: number;
  /** Bound on connecting (TCP, TLS, CONNACK), ms (default 10000). */
  connectTimeout?: number;
}

export interface BridgeOptions {
  /** The VSOA server (a robot client: failover list, reconnect, re-subscribe). */
  vsoa: string | readonly string[];
  /** The robot's own options (passwd, tls, keepalive, connTimeout, reconnDelay, ...). */
  robot?: RobotOptions;
  broker: BrokerOptions;
  /** Topic prefix of this vehicle, e.g. `vehicles/car-17`. */
  prefix: string;
  /** VSOA urls to subscribe to and forward up (a trailing '/' covers a subtree). */
  subscribe: readonly string[];
  /** URL prefixes down RPCs may call (none by default: refused with an error reply). */
  downRpc?: readonly string[];
  /** URL prefixes down datagrams may reach (none by default). */
  downDgram?: readonly string[];
  /** QoS of up messages (default 1: at-least-once). */
  qos?: 0 | 1;
  /** Publish up messages retained (the broker keeps the last value per topic). */
  retain?: boolean;
  /** Directory of the on-disk queue; memory only when absent. */
  store?: string;
  /** Byte bound of the queue (default 64 MiB on disk, 8 MiB in memory; at least 1 MiB). */
  storeMax?: number;
  /** Quick (UDP) publishes while the broker is unreachable: 'drop' (default) or 'queue'. */
  offlineQuick?: 'drop' | 'queue';
  /** Heartbeat on `<prefix>/$stats` every this many ms (default 30000; 0: none). */
  statsInterval?: number;
  /** Timeout of a down RPC towards the VSOA server, ms (default 10000). */
  rpcTimeout?: number;
  /** Down RPCs in progress at once; more are answered NO_MEMORY (default 256). */
  maxPendingRpc?: number;
  /** Where the bridge logs (default: the library's logger, silent unless VSOA_LOG_LEVEL). */
  logger?: Logger;
}

export interface ResolvedOptions {
  vsoa: string[];
  robot: RobotOptions;
  broker: BrokerOptions & { protocolVersion: 5 | 4; clientId: string };
  prefix: string;
  subscribe: string[];
  downRpc: string[];
  downDgram: string[];
  qos: 0 | 1;
  retain: boolean;
  store: string | undefined;
  storeMax: number;
  offlineQuick: 'drop' | 'queue';
  statsInterval: number;
  rpcTimeout: number;
  maxPendingRpc: number;
}

function urlList(value: unknown, name: string, allowEmpty: boolean): string[] {
  if (value === undefined && allowEmpty) return [];
  if (!Array.isArray(value)) throw new TypeError(`${name} must be a list of urls`);
  for (const u of value) {
    if (typeof u !== 'string' || !u.startsWith('/'))
      throw new TypeError(`${name}: ${String(u)} must start with '/'`);
  }
  if (!allowEmpty && value.length === 0) throw new RangeError(`${name} must not be empty`);
  return [...(value as string[])];
}

/** Checks every option once, with the defaults in one place. */
export function resolveOptions(options: BridgeOptions): ResolvedOptions {
  const o = optionsObject(options);
  const vsoa = typeof o.vsoa === 'string' ? [o.vsoa] : Array.isArray(o.vsoa) ? [...o.vsoa] : [];
  if (vsoa.length === 0 || vsoa.some((v) => typeof v !== 'string')) {
    throw new TypeError('options.vsoa must be a server url or a list of them');
  }
  const broker = optionsObject(o.broker, 'options.broker');
  if (typeof broker.url !== 'string' || !/^mqtts?:\/\/[^/]+/.test(broker.url)) {
    throw new TypeError('options.broker.url must be mqtt://host:port or mqtts://host:port');
  }
  const protocolVersion = broker.protocolVersion ?? 5;
  if (protocolVersion !== 5 && protocolVersion !== 4)
    throw new RangeError('options.broker.protocolVersion must be 5 or 4');
  const prefix = checkPrefix(o.prefix);
  const downRpc = urlList(o.downRpc, 'options.downRpc', true);
  if (downRpc.length > 0 && protocolVersion !== 5) {
    throw new RangeError('options.downRpc needs MQTT 5 (response topic and correlation data)');
  }
  const qos = o.qos ?? 1;
  if (qos !== 0 && qos !== 1) throw new RangeError('options.qos must be 0 or 1');
  const offlineQuick = o.offlineQuick ?? 'drop';
  if (offlineQuick !== 'drop' && offlineQuick !== 'queue') {
    throw new RangeError("options.offlineQuick must be 'drop' or 'queue'");
  }
  if (o.store !== undefined && (typeof o.store !== 'string' || o.store === '')) {
    throw new TypeError('options.store must be a directory path');
  }
  const storeMax = integer(
    o.storeMax,
    'options.storeMax',
    o.store ? DEFAULT_DISK_MAX : DEFAULT_MEMORY_MAX,
    MIN_QUEUE_MAX,
  );
  const clientId = broker.clientId ?? `vsoa-bridge-${prefix.replace(/[^0-9A-Za-z_-]/g, '-')}`;
  integer(broker.keepalive, 'options.broker.keepalive', 30, 0, 65535);
  duration(broker.reconnectPeriod, 'options.broker.reconnectPeriod', 1000, 10);
  duration(broker.connectTimeout, 'options.broker.connectTimeout', 10_000, 100);
  return {
    vsoa,
    robot: optionsObject(o.robot, 'options.robot'),
    broker: { ...broker, protocolVersion, clientId },
    prefix,
    subscribe: urlList(o.subscribe, 'options.subscribe', false),
    downRpc,
    downDgram: urlList(o.downDgram, 'options.downDgram', true),
    qos,
    retain: o.retain === true,
    store: o.store,
    storeMax,
    offlineQuick,
    statsInterval: duration(o.statsInterval, 'options.statsInterval', 30_000),
    rpcTimeout: duration(o.rpcTimeout, 'options.rpcTimeout', 10_000, 1),
    maxPendingRpc: integer(o.maxPendingRpc, 'options.maxPendingRpc', 256, 1, 65535),
  };
}
