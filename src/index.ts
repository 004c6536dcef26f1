/** vsoa-edge public API: the seed's VSOA API in TypeScript (see README). */

export { EventEmitter } from 'node:events';
export type {
  CallCallback,
  CallOptions,
  ClientOptions,
  ConnectOptions,
  FetchResult,
  MessageCallback,
  ResultCallback,
} from './client/client.js';
export { Client } from './client/client.js';
export type { OnceOptions } from './client/fetch.js';
export { fetch } from './client/fetch.js';
export type { RobotOptions, RobotState, RobotStats } from './client/robot.js';
export type { ClientStream, ClientStreamDataCallback, ClientStreamLinkCallback } from './client/stream.js';
export type {
  LookupOptions,
  LookupResult,
  PositionAnswer,
  PositionEntry,
  PositionOnQuery,
  PositionOptions,
  PositionQuery,
  PositionReply,
} from './position/index.js';
export { clearLookupCache, lookup, Position, pos, setLookupCacheTtl } from './position/index.js';
export {
  ConnectCode,
  HEADER_LENGTH,
  MAX_PACKET_LENGTH,
  MAX_QPACKET_LENGTH,
  Method,
  Status,
} from './protocol/constants.js';
export { ErrorCode, VsoaError } from './protocol/errors.js';
export type { Header, Request } from './protocol/packet.js';
export type { Payload, ReceivedPayload } from './protocol/payload.js';
export type { RemoteClient, SubscribeCallback } from './server/remote-client.js';
export type { CommandHandler, ServerOptions } from './server/server.js';
export { Server } from './server/server.js';
export type { ServerStream, ServerStreamDataCallback, ServerStreamLinkCallback } from './server/stream.js';
export type { PeerCertificate } from './transport/peer-cert.js';
export type { PemSource, TlsOptions, VerifyMode } from './transport/tls-options.js';
export type { TimerOptions } from './util/timer.js';
export { Timer } from './util/timer.js';
export { WorkQueue } from './util/work-queue.js';
