import type { IClientPublishOptions, IPublishPacket } from 'mqtt';
import { type Client, HEADER_LENGTH, MAX_PACKET_LENGTH, Method, Status, VsoaError } from '../index.js';
import type { Logger } from '../util/log.js';
import { LimitedLog } from './log-limit.js';
import {
  CONTENT_BYTES,
  CONTENT_JSON,
  downPayload,
  downUrl,
  isAllowed,
  PROP_ERROR,
  PROP_METHOD,
  PROP_PARAM,
  PROP_REASON,
  PROP_STATUS,
  type Topics,
  userProperty,
} from './mapping.js';

export interface DownlinkCounters {
  /** Down RPCs answered with the VSOA server's reply (any status). */
  rpc: number;
  /** Down datagrams sent to the VSOA server. */
  dgram: number;
  /** Down messages under no allowed prefix: answered NO_PERMISSIONS (RPC) or dropped (datagram). */
  refused: number;
  /** Down messages that were malformed or could not be delivered. */
  errors: number;
}

export interface DownlinkConfig {
  topics: Topics;
  allowRpc: readonly string[];
  allowDgram: readonly string[];
  rpcTimeout: number;
  maxPendingRpc: number;
  qos: 0 | 1;
}

type Publish = (topic: string, payload: Buffer, options: IClientPublishOptions) => void;

const STATUS_NAMES = new Map<number, string>(Object.entries(Status).map(([name, n]) => [n, name]));
const EMPTY = Buffer.alloc(0);

/**
 * Down traffic from the broker: `<prefix>/$rpc<url>` (MQTT 5 request/response) becomes a VSOA
 * RPC whose reply, or error, always goes back to the response topic; `<prefix>/$dgram<url>`
 * becomes a VSOA datagram. Only urls under the allowed prefixes are executed.
 */
export class Downlink {
  readonly counters: DownlinkCounters = { rpc: 0, dgram: 0, refused: 0, errors: 0 };
  private pendingRpc = 0;
  private readonly warn: LimitedLog;

  constructor(
    private readonly config: DownlinkConfig,
    private readonly vsoa: Client,
    private readonly publish: Publish,
    log: Logger,
  ) {
    this.warn = new LimitedLog(log);
  }

  /** The topic filters to subscribe to. */
  filters(): string[] {
    return [`${this.config.topics.rpc}/#`, `${this.config.topics.dgram}/#`];
  }

  onMessage(topic: string, payload: Buffer, packet: IPublishPacket): void {
    if (topic === this.config.topics.rpc || topic.startsWith(`${this.config.topics.rpc}/`)) {
      this.rpc(topic, payload, packet);
    } else if (topic === this.config.topics.dgram || topic.startsWith(`${this.config.topics.dgram}/`)) {
      this.datagram(topic, payload, packet);
    }
  }

  private rpc(topic: string, payload: Buffer, packet: IPublishPacket): void {
    const props = packet.properties;
    const responseTopic = props?.responseTopic;
    if (!responseTopic) {
      this.counters.errors++;
      this.warn.warn({ topic }, 'down RPC without a response topic: dropped');
      return;
    }
    const answer = (
      status: number,
      param: Buffer | undefined,
      data?: Buffer,
      error?: string,
      reason?: string,
    ): void => this.answer(responseTopic, props?.correlationData, status, param, data, error, reason);
    const fail = (status: number, reason: string, error = STATUS_NAMES.get(status) ?? 'ERROR'): void => {
      if (status === Status.NO_PERMISSIONS) this.counters.refused++;
      else this.counters.errors++;
      this.warn.warn({ topic, reason }, 'down RPC failed');
      answer(status, undefined, undefined, error, reason);
    };
    const url = downUrl(topic, this.config.topics.rpc);
    if (url === undefined) {
      fail(Status.INVALID_URL, 'no VSOA url after $rpc');
      return;
    }
    if (!isAllowed(url, this.config.allowRpc)) {
      fail(Status.NO_PERMISSIONS, `${url} is not under an allowed --down-rpc prefix`);
      return;
    }
    if (payload.length + Buffer.byteLength(url) + HEADER_LENGTH > MAX_PACKET_LENGTH) {
      fail(Status.ARGUMENTS, `payload of ${payload.length} bytes is over the VSOA packet limit`);
      return;
    }
    const methodName = (userProperty(props?.userProperties, PROP_METHOD) ?? 'GET').toUpperCase();
    if (methodName !== 'GET' && methodName !== 'SET') {
      fail(Status.ARGUMENTS, `${PROP_METHOD} must be GET or SET`);
      return;
    }
    const body = downPayload(payload, props?.contentType, props?.userProperties);
    if (!body.ok) {
      fail(Status.ARGUMENTS, body.reason);
      return;
    }
    if (this.pendingRpc >= this.config.maxPendingRpc) {
      fail(Status.NO_MEMORY, `${this.pendingRpc} down RPCs in progress`);
      return;
    }
    this.pendingRpc++;
    const request = { param: body.param, data: body.data };
    let call: Promise<Awaited<ReturnType<Client['fetch']>>>;
    try {
      call = this.vsoa.fetch(url, {
        method: methodName === 'SET' ? Method.SET : Method.GET,
        payload: request,
        timeout: this.config.rpcTimeout,
      });
    } catch (error) {
      this.pendingRpc--;
      fail(Status.ARGUMENTS, (error as Error).message);
      return;
    }
    call.then(
      ({ header, payload: reply }) => {
        this.pendingRpc--;
        this.counters.rpc++;
        const status = header.status;
        const param = reply.param === undefined ? undefined : asBytes(reply.param);
        answer(status, param, reply.data, status === Status.SUCCESS ? undefined : STATUS_NAMES.get(status));
      },
      (error: unknown) => {
        this.pendingRpc--;
        const code = error instanceof VsoaError ? error.code.replace(/^ERR_VSOA_/, '') : 'ERROR';
        fail(Status.NO_RESPONDING, (error as Error).message, code);
      },
    );
  }

  private answer(
    topic: string,
    correlationData: Buffer | undefined,
    status: number,
    param: Buffer | undefined,
    data: Buffer | undefined,
    error: string | undefined,
    reason: string | undefined,
  ): void {
    const userProperties: Record<string, string> = { [PROP_STATUS]: String(status) };
    if (error) userProperties[PROP_ERROR] = error;
    if (reason) userProperties[PROP_REASON] = reason;
    let payload: Buffer;
    let contentType = CONTENT_JSON;
    if (data) {
      payload = data;
      contentType = CONTENT_BYTES;
      if (param) userProperties[PROP_PARAM] = param.toString('utf8');
    } else {
      payload = param ?? EMPTY;
    }
    const properties: IClientPublishOptions['properties'] = { contentType, userProperties };
    if (correlationData) properties.correlationData = correlationData;
    this.publish(topic, payload, { qos: this.config.qos, properties });
  }

  private datagram(topic: string, payload: Buffer, packet: IPublishPacket): void {
    const url = downUrl(topic, this.config.topics.dgram);
    const drop = (reason: string): void => {
      this.counters.errors++;
      this.warn.warn({ topic, reason }, 'down datagram dropped');
    };
    if (url === undefined) {
      drop('no VSOA url after $dgram');
      return;
    }
    if (!isAllowed(url, this.config.allowDgram)) {
      this.counters.refused++;
      this.warn.warn({ topic }, 'down datagram refused: not under an allowed --down-dgram prefix');
      return;
    }
    if (payload.length + Buffer.byteLength(url) + HEADER_LENGTH > MAX_PACKET_LENGTH) {
      drop(`payload of ${payload.length} bytes is over the VSOA packet limit`);
      return;
    }
    const props = packet.properties;
    const body = downPayload(payload, props?.contentType, props?.userProperties);
    if (!body.ok) {
      drop(body.reason);
      return;
    }
    let sent: boolean;
    try {
      sent = this.vsoa.datagram(url, { param: body.param, data: body.data });
    } catch (error) {
      drop((error as Error).message);
      return;
    }
    if (sent) this.counters.dgram++;
    else drop('the VSOA server is not connected');
  }
}

/** A raw-mode client hands the param over as bytes; anything else is JSON-encoded. */
function asBytes(param: unknown): Buffer {
  return Buffer.isBuffer(param) ? param : Buffer.from(JSON.stringify(param));
}
