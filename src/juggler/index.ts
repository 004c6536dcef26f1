/** vsoa-edge/juggler: the hat.juggler protocol (server and client) and the VSOA gateway. */

export type { ConnectOptions, NotifyCallback } from './client.js';
export { connect, JugglerClient } from './client.js';
export type { RequestCallback } from './connection.js';
export { JugglerConnection } from './connection.js';
export { JugglerClosedError, JugglerError } from './errors.js';
export type { Gateway, GatewayOptions } from './gateway.js';
export { createGateway } from './gateway.js';
export { parseRequestName, statusName } from './gateway-map.js';
export type { Route } from './http.js';
export type { JsonPatchOperation, JsonPath, JsonValue } from './json.js';
export type { ConnectionCallback } from './server.js';
export { JugglerServer, listen } from './server.js';
export type { ListenOptions } from './server-options.js';
export type { StateChangeCallback } from './state.js';
export { JugglerState } from './state.js';
export type { WireGeneration } from './wire.js';
