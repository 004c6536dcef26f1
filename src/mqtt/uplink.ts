import type { MqttClient } from 'mqtt';
import type { Logger } from '../util/log.js';
import { topicSafe, upPublish } from './mapping.js';
import type { UpMessage } from './message.js';
import type { QueuedRecord, UpQueue } from './queue.js';

/** Unacknowledged publishes at once, further bounded by the broker's Receive Maximum. */
const MAX_WINDOW = 64;

export interface UplinkCounters {
  /** VSOA publishes received on bridged urls. */
  received: number;
  /** Delivered to the broker (PUBACK with QoS 1, written with QoS 0). */
  published: number;
  /** Quick publishes dropped while the broker was unreachable (--offline-quick drop). */
  quickDropped: number;
  /** Publishes whose url cannot be a topic (+ or #): dropped. */
  invalid: number;
  /** Publishes the broker refused (a PUBACK with an error reason, e.g. ACL): dropped. */
  rejected: number;
}

/**
 * Up traffic: every message goes through the queue (so order holds across outages and
 * restarts), and is released only once the broker has it. While connected, up to a window of
 * publishes is in flight; MQTT.js itself resends those after a reconnect, the queue resends
 * them after a restart.
 */
export class Uplink {
  readonly counters: UplinkCounters = { received: 0, published: 0, quickDropped: 0, invalid: 0, rejected: 0 };
  private client: MqttClient | undefined;
  private window = MAX_WINDOW;
  private inflight = 0;
  private pumpQueued = false;
  private stopped = false;

  constructor(
    private readonly queue: UpQueue,
    private readonly prefix: string,
    private readonly qos: 0 | 1,
    private readonly retain: boolean,
    private readonly v5: boolean,
    private readonly dropQuickOffline: boolean,
    private readonly log: Logger,
  ) {}

  get inFlight(): number {
    return this.inflight;
  }

  /** The broker connection is up (again): start or resume sending. */
  connected(client: MqttClient, receiveMaximum: number | undefined): void {
    this.client = client;
    this.window = Math.max(1, Math.min(MAX_WINDOW, receiveMaximum ?? MAX_WINDOW));
    this.schedulePump();
  }

  push(message: UpMessage): void {
    this.counters.received++;
    if (message.quick && this.dropQuickOffline && !this.client?.connected) {
      this.counters.quickDropped++;
      return;
    }
    if (!topicSafe(message.url)) {
      if (this.counters.invalid++ % 1000 === 0) {
        this.log.warn(
          { url: message.url, invalid: this.counters.invalid },
          'url cannot be an MQTT topic: dropped',
        );
      }
      return;
    }
    this.queue.append(message);
    this.schedulePump();
  }

  stop(): void {
    this.stopped = true;
  }

  /** Once per task: appends of one VSOA read are written and read back together. */
  private schedulePump(): void {
    if (this.pumpQueued) return;
    this.pumpQueued = true;
    queueMicrotask(() => {
      this.pumpQueued = false;
      this.pump();
    });
  }

  private pump(): void {
    const client = this.client;
    while (!this.stopped && client?.connected && this.inflight < this.window) {
      const record = this.queue.next();
      if (!record) return;
      this.send(client, record);
    }
  }

  private send(client: MqttClient, record: QueuedRecord): void {
    const publish = upPublish(this.prefix, record.message);
    if (!publish) {
      this.queue.ack(record.seq);
      return;
    }
    this.inflight++;
    const options = this.v5
      ? {
          qos: this.qos,
          retain: this.retain,
          properties: publish.userProperties
            ? { contentType: publish.contentType, userProperties: publish.userProperties }
            : { contentType: publish.contentType },
        }
      : { qos: this.qos, retain: this.retain };
    client.publish(publish.topic, publish.payload, options, (error) => {
      this.inflight--;
      // QoS 0 is at-most-once: written or not, it is gone. QoS 1 waits for its PUBACK; an
      // error here means the client was ended: the record stays for the next start.
      if (!error) this.counters.published++;
      const refused = typeof (error as { code?: unknown } | undefined)?.code === 'number';
      if (refused && this.counters.rejected++ % 1000 === 0) {
        this.log.warn(
          { topic: publish.topic, err: error, rejected: this.counters.rejected },
          'the broker refused a publish: dropped',
        );
      }
      if (!error || refused || this.qos === 0) this.queue.ack(record.seq);
      this.schedulePump();
    });
  }
}
