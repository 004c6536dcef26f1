/** vsoa-edge public API: the seed's VSOA API in TypeScript (see README). */
export {
  ConnectCode,
  HEADER_LENGTH,
  MAX_PACKET_LENGTH,
  MAX_QPACKET_LENGTH,
  Method,
  Status,
} from './protocol/constants.js';
export { VsoaError } from './protocol/errors.js';
export type { Payload, ReceivedPayload } from './protocol/payload.js';
