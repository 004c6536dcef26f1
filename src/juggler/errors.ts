import type { JsonValue } from './json.js';

/** An unsuccessful juggler response; `data` is what the server sent. */
export class JugglerError extends Error {
  override readonly name = 'JugglerError';
  constructor(readonly data: JsonValue) {
    super(typeof data === 'string' ? data : `juggler request failed: ${JSON.stringify(data)}`);
  }
}

/** The connection closed (or was never open) before the operation could finish. */
export class JugglerClosedError extends Error {
  override readonly name = 'JugglerClosedError';
  readonly code = 'ERR_JUGGLER_CLOSED';
}

/** What an unsuccessful response carries for a thrown value: JugglerError data, else the message. */
export function errorData(error: unknown): JsonValue {
  if (error instanceof JugglerError) return error.data;
  if (error instanceof Error) return error.message;
  if (error === undefined) return null;
  try {
    return JSON.parse(JSON.stringify(error)) as JsonValue;
  } catch {
    return String(error);
  }
}
