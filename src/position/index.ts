/** The position (name lookup) service: server, lookup client, url resolution. */
export { type AskResult, askServer } from './ask.js';
export { LookupCache } from './cache.js';
export { DEFAULT_POS_FILE, POS_ENV, type PosServer, parsePosEnv, parsePosFile } from './config.js';
export {
  AF_INET,
  AF_INET6,
  type Domain,
  type PositionAnswer,
  type PositionEntry,
  type QueryDomain,
} from './entry.js';
export {
  clearLookupCache,
  DEFAULT_CACHE_TTL,
  DEFAULT_LOOKUP_RETRIES,
  DEFAULT_LOOKUP_TIMEOUT,
  type LookupObserver,
  type LookupOptions,
  type LookupOutcome,
  type LookupOutcomeKind,
  type LookupResult,
  type LookupSource,
  lookup,
  lookupOutcome,
  pos,
  setLookupCacheTtl,
} from './lookup.js';
export { parseVsoaUrl, type ResolvedUrl, type ResolveOptions, resolveServerUrl } from './resolve.js';
export {
  Position,
  type PositionOnQuery,
  type PositionOptions,
  type PositionQuery,
  type PositionReply,
} from './server.js';
