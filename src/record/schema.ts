/**
 * A JSON Schema guessed from one value (the first param of a channel), so that Foxglove and
 * Lichtblick list the fields of a topic and offer them for plotting. Bounded: depth and the
 * number of properties are capped; what lies beyond is left open (`{}`).
 */

export type JsonSchema = Record<string, unknown>;

const MAX_DEPTH = 8;
const MAX_PROPERTIES = 512;

export function inferSchema(value: unknown, title?: string): JsonSchema {
  const budget = { properties: MAX_PROPERTIES };
  const schema = infer(value, 0, budget);
  return title === undefined ? schema : { title, ...schema };
}

function infer(value: unknown, depth: number, budget: { properties: number }): JsonSchema {
  if (value === null) return { type: 'null' };
  switch (typeof value) {
    case 'number':
      return { type: Number.isInteger(value) ? 'integer' : 'number' };
    case 'string':
      return { type: 'string' };
    case 'boolean':
      return { type: 'boolean' };
    default:
      break;
  }
  if (depth >= MAX_DEPTH) return {};
  if (Array.isArray(value)) {
    return value.length > 0
      ? { type: 'array', items: infer(value[0], depth + 1, budget) }
      : { type: 'array' };
  }
  if (typeof value === 'object') {
    const properties: Record<string, JsonSchema> = {};
    for (const [key, v] of Object.entries(value as Record<string, unknown>)) {
      if (budget.properties-- <= 0) break;
      const sub = infer(v, depth + 1, budget);
      // An integer field may carry fractions later: plot it as a number.
      properties[key] = sub.type === 'integer' ? { type: 'number' } : sub;
    }
    return { type: 'object', properties };
  }
  return {};
}

/** The publish time a param carries in `field`: ms since the epoch (number) or an ISO date string. */
export function publishTimeOf(value: unknown, field: string): bigint | undefined {
  if (field === '' || value === null || typeof value !== 'object' || Array.isArray(value)) return undefined;
  const v = (value as Record<string, unknown>)[field];
  let ms: number | undefined;
  if (typeof v === 'number') ms = v;
  else if (typeof v === 'string') ms = Date.parse(v);
  // Plausible dates only (2000 to 2100): a counter named `timestamp` is not a date.
  if (ms === undefined || !Number.isFinite(ms) || ms < 946_684_800_000 || ms > 4_102_444_800_000)
    return undefined;
  return BigInt(Math.round(ms * 1000)) * 1000n;
}
