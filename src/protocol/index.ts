export * from './constants.js';
export * from './decode.js';
export * from './encode.js';
export * from './errors.js';
export type * from './packet.js';
export * from './payload.js';
export * from './url.js';
