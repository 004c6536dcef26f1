/**
 * vsoa-edge/mqtt: a VSOA ↔ MQTT bridge with store-and-forward (see the README's Fleet
 * section). A separate entry point: the core package never loads the `mqtt` package.
 */
export type { BridgeStats } from './bridge.js';
export { Bridge } from './bridge.js';
export { DiskQueue } from './disk-queue.js';
export type { DownlinkCounters } from './downlink.js';
export type { BridgeErrorCode } from './errors.js';
export { BridgeError } from './errors.js';
export {
  CONTENT_BYTES,
  CONTENT_JSON,
  PROP_ERROR,
  PROP_METHOD,
  PROP_PARAM,
  PROP_REASON,
  PROP_STATUS,
  topicsFor,
  upPublish,
} from './mapping.js';
export { MemoryQueue } from './memory-queue.js';
export type { UpMessage } from './message.js';
export type { BridgeOptions, BrokerOptions } from './options.js';
export type { QueuedRecord, UpQueue } from './queue.js';
export { DEFAULT_DISK_MAX, DEFAULT_MEMORY_MAX } from './queue.js';
export type { UplinkCounters } from './uplink.js';
