import { EventEmitter } from 'node:events';
import { connect, type IClientOptions, type MqttClient } from 'mqtt';
import { Client, type RobotStats } from '../index.js';
import { type Logger, moduleLogger } from '../util/log.js';
import { DiskQueue } from './disk-queue.js';
import { Downlink, type DownlinkCounters } from './downlink.js';
import { BridgeError, brokerError } from './errors.js';
import { CONTENT_JSON, type Topics, topicsFor } from './mapping.js';
import { MemoryQueue } from './memory-queue.js';
import { type BridgeOptions, type ResolvedOptions, resolveOptions } from './options.js';
import type { UpQueue } from './queue.js';
import { Uplink, type UplinkCounters } from './uplink.js';

/** Bounds what the broker may send us (a down RPC is at most a VSOA packet, 256 KiB). */
const MAX_INCOMING_PACKET = 1024 * 1024;
const END_TIMEOUT_MS = 2000;
const BROKER_ERROR_REMINDER_MS = 60_000;

/** The heartbeat on `<prefix>/$stats`, and what stats() returns. */
export interface BridgeStats {
  time: string;
  vsoa: {
    connected: boolean;
    state: RobotStats['state'] | 'starting';
    server: string | undefined;
    connects: number;
    disconnects: number;
  };
  broker: { connected: boolean; connects: number; disconnects: number };
  up: UplinkCounters & { inFlight: number };
  down: DownlinkCounters;
  /** Up messages held by the queue (not yet acknowledged by the broker). */
  queued: number;
  queuedBytes: number;
  /** Up messages dropped because the queue was full. */
  dropped: number;
}

/**
 * A VSOA ↔ MQTT bridge for one vehicle: a robot client subscribed to the bridged urls on the
 * VSOA side, one MQTT client on the broker side, a store-and-forward queue between them (see
 * the README's Fleet section for the mapping). Events: 'broker-connect', 'broker-disconnect',
 * 'broker-error' (BridgeError), 'vsoa-connect' (connected: boolean), 'drop' (count).
 */
export class Bridge extends EventEmitter {
  private readonly options: ResolvedOptions;
  private readonly log: Logger;
  private readonly topics: Topics;
  private queue: UpQueue | undefined;
  private uplink: Uplink | undefined;
  private downlink: Downlink | undefined;
  private mqtt: MqttClient | undefined;
  private readonly vsoa = new Client({ raw: true });
  private statsTimer: NodeJS.Timeout | undefined;
  private brokerCounters = { connects: 0, disconnects: 0 };
  private brokerUp = false;
  private dropBurst = false;
  private closing: Promise<void> | undefined;
  private lastError = { message: '', at: 0, repeats: 0 };

  constructor(options: BridgeOptions) {
    super();
    this.options = resolveOptions(options);
    this.log = options.logger ?? moduleLogger('mqtt-bridge');
    this.topics = topicsFor(this.options.prefix);
  }

  /** Opens the queue (throws if the store directory cannot be used) and starts both sides. */
  start(): void {
    if (this.queue) throw new Error('the bridge is already started');
    const o = this.options;
    this.queue = o.store ? new DiskQueue(o.store, o.storeMax, this.log) : new MemoryQueue(o.storeMax);
    this.queue.ondrop = (count) => this.onDrop(count);
    const v5 = o.broker.protocolVersion === 5;
    this.uplink = new Uplink(this.queue, o.prefix, o.qos, o.retain, v5, o.offlineQuick === 'drop', this.log);

    const mqtt = connect(o.broker.url, this.mqttOptions());
    this.mqtt = mqtt;
    this.downlink = new Downlink(
      {
        topics: this.topics,
        allowRpc: o.downRpc,
        allowDgram: o.downDgram,
        rpcTimeout: o.rpcTimeout,
        maxPendingRpc: o.maxPendingRpc,
        qos: o.qos,
      },
      this.vsoa,
      (topic, payload, options) =>
        mqtt.publish(topic, payload, options, (error) => {
          if (error) this.log.warn({ err: error, topic }, 'cannot publish a down RPC reply');
        }),
      this.log,
    );
    mqtt.on('connect', (connack) => this.onBrokerConnect(connack.properties?.receiveMaximum));
    mqtt.on('close', () => this.onBrokerClose());
    mqtt.on('error', (error) => {
      const e = brokerError(error, o.broker.url);
      this.logBrokerError(e);
      this.emit('broker-error', e);
    });
    mqtt.on('message', (topic, payload, packet) => this.downlink?.onMessage(topic, payload, packet));

    this.vsoa.onmessage = (_client, url, payload, quick) =>
      this.uplink?.push({
        url,
        param: payload.param as Buffer | undefined,
        data: payload.data,
        quick,
        time: Date.now(),
      });
    this.vsoa.onconnect = (_client, connected) => {
      this.log.info(
        { connected, server: this.vsoa.robotStats()?.server },
        connected ? 'VSOA connected' : 'VSOA disconnected',
      );
      this.emit('vsoa-connect', connected);
    };
    this.vsoa.subscribe(o.subscribe);
    this.vsoa.robot(o.vsoa, o.robot);

    if (o.statsInterval > 0) {
      this.statsTimer = setInterval(() => this.heartbeat(), o.statsInterval);
      this.statsTimer.unref();
    }
  }

  get brokerConnected(): boolean {
    return this.brokerUp;
  }

  get vsoaConnected(): boolean {
    return this.vsoa.connected;
  }

  /** Up messages waiting in the queue (also after a restart with a non-empty store). */
  get queued(): number {
    return this.queue?.length ?? 0;
  }

  /** For a watchdog: true, or why the VSOA side is stuck. */
  health(): true | string {
    return this.vsoa.robotHealth();
  }

  stats(): BridgeStats {
    const robot = this.vsoa.robotStats();
    return {
      time: new Date().toISOString(),
      vsoa: {
        connected: this.vsoa.connected,
        state: robot?.state ?? 'starting',
        server: robot?.server,
        connects: robot?.connects ?? 0,
        disconnects: robot?.disconnects ?? 0,
      },
      broker: { connected: this.brokerUp, ...this.brokerCounters },
      up: {
        ...(this.uplink?.counters ?? { received: 0, published: 0, quickDropped: 0, invalid: 0, rejected: 0 }),
        inFlight: this.uplink?.inFlight ?? 0,
      },
      down: { ...(this.downlink?.counters ?? { rpc: 0, dgram: 0, refused: 0, errors: 0 }) },
      queued: this.queue?.length ?? 0,
      queuedBytes: this.queue?.bytes ?? 0,
      dropped: this.queue?.dropped ?? 0,
    };
  }

  /** Says `offline` on the status topic, stops both sides and closes the queue (kept on disk). */
  close(): Promise<void> {
    this.closing ??= this.shutdown();
    return this.closing;
  }

  private async shutdown(): Promise<void> {
    if (this.statsTimer) clearInterval(this.statsTimer);
    this.uplink?.stop();
    this.vsoa.close();
    const mqtt = this.mqtt;
    if (mqtt) {
      if (this.brokerUp) {
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, END_TIMEOUT_MS);
          mqtt.publish(this.topics.status, 'offline', { qos: 1, retain: true }, () => {
            clearTimeout(timer);
            resolve();
          });
        });
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => mqtt.end(true, {}, () => resolve()), END_TIMEOUT_MS);
        mqtt.end(false, {}, () => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    this.queue?.close();
  }

  private mqttOptions(): IClientOptions {
    const b = this.options.broker;
    const options: IClientOptions = {
      protocolVersion: b.protocolVersion,
      clientId: b.clientId,
      keepalive: b.keepalive ?? 30,
      reconnectPeriod: b.reconnectPeriod ?? 1000,
      connectTimeout: b.connectTimeout ?? 10_000,
      clean: true,
      // A clean session every time: the down topics are subscribed again on every connect.
      resubscribe: false,
      will: { topic: this.topics.status, payload: Buffer.from('offline'), qos: 1, retain: true },
      rejectUnauthorized: true,
    };
    if (b.protocolVersion === 5) options.properties = { maximumPacketSize: MAX_INCOMING_PACKET };
    if (b.username !== undefined) options.username = b.username;
    if (b.password !== undefined) options.password = b.password;
    if (b.ca !== undefined) options.ca = b.ca;
    if (b.cert !== undefined) options.cert = b.cert;
    if (b.key !== undefined) options.key = b.key;
    if (b.servername !== undefined) options.servername = b.servername;
    return options;
  }

  private onBrokerConnect(receiveMaximum: number | undefined): void {
    const mqtt = this.mqtt as MqttClient;
    this.brokerUp = true;
    this.brokerCounters.connects++;
    this.log.info({ broker: this.options.broker.url, queued: this.queued }, 'broker connected');
    this.lastError = { message: '', at: 0, repeats: 0 };
    mqtt.publish(this.topics.status, 'online', { qos: 1, retain: true });
    const filters = this.downlink?.filters() ?? [];
    mqtt.subscribe(filters, { qos: 1 }, (error) => {
      if (error) this.log.warn({ err: error }, 'cannot subscribe to the down topics');
    });
    this.uplink?.connected(mqtt, receiveMaximum);
    this.emit('broker-connect');
  }

  private onBrokerClose(): void {
    if (!this.brokerUp) return;
    this.brokerUp = false;
    this.brokerCounters.disconnects++;
    this.log.warn({ broker: this.options.broker.url }, 'broker connection lost; queueing');
    this.emit('broker-disconnect');
  }

  /** A failing broker is logged when the reason changes, then at most once a minute (a tunnel may last hours). */
  private logBrokerError(e: BridgeError): void {
    const now = Date.now();
    const same = e.message === this.lastError.message;
    if (same && now - this.lastError.at < BROKER_ERROR_REMINDER_MS) {
      this.lastError.repeats++;
      return;
    }
    this.log.warn(
      same ? { code: e.code, attempts: this.lastError.repeats + 1 } : { code: e.code },
      e.message,
    );
    this.lastError = { message: e.message, at: now, repeats: 0 };
  }

  private heartbeat(): void {
    if (!this.brokerUp || !this.mqtt) return;
    this.mqtt.publish(this.topics.stats, JSON.stringify(this.stats()), {
      qos: 0,
      properties: this.options.broker.protocolVersion === 5 ? { contentType: CONTENT_JSON } : {},
    });
  }

  /** One log line per burst of drops: a burst ends when the queue is below 3/4 of its bound. */
  private onDrop(count: number): void {
    const queue = this.queue as UpQueue;
    if (!this.dropBurst) {
      this.dropBurst = true;
      this.log.warn({ dropped: queue.dropped, count }, 'store full: dropping the oldest messages');
      const check = setInterval(() => {
        if (queue.bytes < (this.options.storeMax * 3) / 4 || this.closing) {
          clearInterval(check);
          this.dropBurst = false;
        }
      }, 1000);
      check.unref();
    }
    this.emit('drop', count);
  }
}

export { BridgeError };
