/** vsoa-edge public API: the seed's VSOA API in TypeScript (see README), grouped by concept. */

// Client: connect, RPC, subscribe, datagrams, robot mode, streams.
export type {
  CallCallback,
  CallOptions,
  ClientOptions,
  ConnectCallback,
  ConnectOptions,
  FetchResult,
  MessageCallback,
  ResultCallback,
} from './client/client.js';
export { Client } from './client/client.js';
export type { ClientEvents, RobotEvents } from './client/events.js';
export type { OnceOptions } from './client/fetch.js';
export { fetch } from './client/fetch.js';
export type { RobotOptions, RobotState, RobotStats } from './client/robot.js';
export type { ClientStream, ClientStreamDataCallback, ClientStreamLinkCallback } from './client/stream.js';
export type { NativeStatus } from './native/addon.js';
export { nativeStatus } from './native/addon.js';
export type { AllocatorTuning } from './native/allocator.js';
export { ALLOCATOR_ENV, ALLOCATOR_TUNING, tuneAllocator } from './native/allocator.js';
// Position service: name lookup (client) and the service itself.
export type {
  AskResult,
  LookupObserver,
  LookupOptions,
  LookupOutcome,
  LookupOutcomeKind,
  LookupResult,
  LookupSource,
  PositionAnswer,
  PositionEntry,
  PositionOnQuery,
  PositionOptions,
  PositionQuery,
  PositionReply,
  PosServer,
  ResolvedUrl,
} from './position/index.js';
export {
  clearLookupCache,
  lookup,
  lookupOutcome,
  Position,
  pos,
  setLookupCacheTtl,
} from './position/index.js';
// Wire constants, their names, errors and message types.
export {
  ConnectCode,
  HEADER_LENGTH,
  MAX_PACKET_LENGTH,
  MAX_QPACKET_LENGTH,
  Method,
  Status,
} from './protocol/constants.js';
export { ErrorCode, VsoaError } from './protocol/errors.js';
export { connectCodeName, statusName } from './protocol/names.js';
export type { Header, Request } from './protocol/packet.js';
export type { Payload, ReceivedPayload } from './protocol/payload.js';
// Server: commands, publish, datagrams, streams.
export type { RemoteClient, SubscribeCallback } from './server/remote-client.js';
export type { ClientCallback, CommandHandler, DataCallback, ServerOptions } from './server/server.js';
export { Server } from './server/server.js';
export type { ServerStream, ServerStreamDataCallback, ServerStreamLinkCallback } from './server/stream.js';
// TLS.
export type { PeerCertificate } from './transport/peer-cert.js';
export type { PemSource, TlsOptions, VerifyMode } from './transport/tls-options.js';
// Runtime: logging (silent unless asked), the native addon, the seed's helpers.
export type { Logger } from './util/log.js';
export { moduleLogger, setLogger } from './util/log.js';
export type { SeedEvent } from './util/seed-emitter.js';
export { EventEmitter } from './util/seed-emitter.js';
export type { TimerOptions } from './util/timer.js';
export { Timer } from './util/timer.js';
export { WorkQueue } from './util/work-queue.js';
