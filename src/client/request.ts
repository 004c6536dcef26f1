import type { FrameHead, Header, Packet, WireParam } from '../protocol/index.js';
import {
  checkPayload,
  ErrorCode,
  encodeFrame,
  Flag,
  MAX_PACKET_LENGTH,
  MAX_QPACKET_LENGTH,
  Method,
  receivedPayload,
  Type,
  VsoaError,
} from '../protocol/index.js';
import { monotonicNow } from '../util/clock.js';
import type { CallOptions } from './options.js';
import { callSettings } from './options.js';
import { MAX_PENDING, type Settle } from './pending.js';
import type { RetryList } from './retry.js';
import type { Session } from './session.js';

/** An RPC checked and ready to send. */
export interface RpcRequest {
  head: FrameHead;
  param: WireParam;
  data: Uint8Array | undefined;
  timeout: number;
  retry: boolean;
}

export function rpcRequest(url: string, options: CallOptions | undefined): RpcRequest {
  const { method, timeout, retry } = callSettings(options);
  const { param, data } = checkPayload(options?.payload, 'options.payload');
  return {
    head: { type: Type.RPC, flags: method === Method.SET ? Flag.SET : 0, url },
    param,
    data,
    timeout,
    retry,
  };
}

export function headerOf(packet: Packet): Header {
  return {
    type: packet.type,
    flags: packet.flags,
    status: packet.status,
    seqno: packet.seqno,
    tunid: packet.tunid,
  };
}

export function fetchResult(packet: Packet, raw: boolean) {
  return { header: headerOf(packet), payload: receivedPayload(packet.param, packet.data, raw) };
}

/** Why a fetch got no reply. */
export function requestError(
  url: string,
  timeout: number,
  reason: 'timeout' | 'closed' | 'reply',
): VsoaError {
  return reason === 'timeout'
    ? new VsoaError(ErrorCode.TIMEOUT, `no reply to ${url} within ${timeout} ms`)
    : new VsoaError(ErrorCode.NOT_CONNECTED, `connection lost before the reply to ${url}`);
}

/** Why a fetch could not be sent at all. */
export function notSentError(url: string, connected: boolean, pendings: number): VsoaError {
  if (!connected) return new VsoaError(ErrorCode.NOT_CONNECTED, `cannot call ${url}: not connected`);
  if (pendings >= MAX_PENDING) {
    return new VsoaError(ErrorCode.TOO_MANY_PENDING, `cannot call ${url}: too many pending requests`);
  }
  return new VsoaError(
    ErrorCode.SEND_QUEUE_FULL,
    `cannot call ${url}: the send queue is full (requests outpace the link; retry as replies arrive)`,
  );
}

/** Throws the RangeError a datagram too large for its channel would throw when sent. */
export function checkDatagram(
  url: string,
  param: WireParam,
  data: Uint8Array | undefined,
  quick: boolean,
): void {
  encodeFrame({ type: Type.DATAGRAM, url }, param, data, quick ? MAX_QPACKET_LENGTH : MAX_PACKET_LENGTH);
}

function copy<T extends WireParam>(bytes: T): T {
  return (bytes instanceof Uint8Array ? Buffer.from(bytes) : bytes) as T;
}

/**
 * Sends a `retry: true` request in robot mode: a link that drops before the reply (or is
 * down when the request is made) parks it in the robot's retry list, which sends it again
 * after the next connect, within what is left of its timeout. A timeout is final.
 */
export function sendWithRetry(
  session: () => Session | undefined,
  retries: RetryList,
  closed: () => boolean,
  request: RpcRequest,
  settle: Settle,
): boolean {
  const { head } = request;
  encodeFrame(head, request.param, request.data); // an oversize request throws now, not at a resend
  // Held across a reconnect: the application may reuse its buffers once the call returns.
  const param = copy(request.param);
  const data = copy(request.data);
  const parked = {
    deadline: request.timeout > 0 ? monotonicNow() + request.timeout : 0,
    resend: (left: number) => attempt(left),
    fail: (reason: 'timeout' | 'closed') => settle(undefined, reason),
  };
  const attempt = (timeout: number): boolean =>
    session()?.request({ ...head }, param, data, timeout, (packet, reason) => {
      if (reason === 'closed' && !closed() && retries.park(parked)) return;
      settle(packet, reason);
    }) ?? false;
  if (attempt(request.timeout)) return true;
  if (session()?.connected || closed()) return false; // refused for another reason: say so now
  return retries.park(parked);
}
