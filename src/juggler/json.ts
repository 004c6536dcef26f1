/** JSON values as the juggler protocol carries them, and immutable path updates on them. */

export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

/** A path into a JSON value: object keys are strings, array indices are numbers. */
export type JsonPath = ReadonlyArray<string | number>;

/** The RFC 6902 operations our diffs use (clients apply any RFC 6902 patch). */
export type JsonPatchOperation =
  | { op: 'add'; path: string; value: JsonValue }
  | { op: 'replace'; path: string; value: JsonValue }
  | { op: 'remove'; path: string };

export type JsonObject = { [key: string]: JsonValue };

export function isObject(value: JsonValue | undefined): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** One RFC 6901 reference token. */
export function escapeToken(token: string | number): string {
  const s = String(token);
  return s.includes('~') || s.includes('/') ? s.replace(/~/g, '~0').replace(/\//g, '~1') : s;
}

export function pointer(path: JsonPath): string {
  let out = '';
  for (const token of path) out += `/${escapeToken(token)}`;
  return out;
}

/** Throws a TypeError naming `what` unless `path` is an array of strings and array indices. */
export function checkPath(path: unknown, what = 'path'): asserts path is JsonPath {
  if (!Array.isArray(path)) throw new TypeError(`${what} must be an array of keys`);
  for (const token of path) {
    if (typeof token === 'string') continue;
    if (typeof token === 'number' && Number.isInteger(token) && token >= 0) continue;
    throw new TypeError(`${what} must hold strings and non-negative integers`);
  }
}

export function getAt(root: JsonValue, path: JsonPath): JsonValue | undefined {
  let node: JsonValue | undefined = root;
  for (const token of path) {
    if (Array.isArray(node) && typeof token === 'number') node = node[token];
    else if (isObject(node) && typeof token === 'string' && Object.hasOwn(node, token)) node = node[token];
    else return undefined;
  }
  return node;
}

/**
 * `root` with `value` at `path`, copying only the containers along the path (the rest is shared,
 * which is what makes identity-based diffs cheap). Missing or mistyped containers on the way are
 * created: an object for a string key, an array (padded with null) for an index.
 */
export function setAt(root: JsonValue, path: JsonPath, value: JsonValue, depth = 0): JsonValue {
  if (depth === path.length) return value;
  const token = path[depth] as string | number;
  if (typeof token === 'number') {
    const copy: JsonValue[] = Array.isArray(root) ? root.slice() : [];
    while (copy.length < token) copy.push(null);
    copy[token] = setAt(copy[token] ?? null, path, value, depth + 1);
    return copy;
  }
  const base: JsonObject = isObject(root) ? root : {};
  const copy: JsonObject = { ...base };
  put(
    copy,
    token,
    setAt(Object.hasOwn(base, token) ? (base[token] as JsonValue) : null, path, value, depth + 1),
  );
  return copy;
}

/** `root` without the value at `path` (unchanged when there is none). */
export function removeAt(root: JsonValue, path: JsonPath, depth = 0): JsonValue {
  if (path.length === 0) return null;
  const token = path[depth] as string | number;
  const last = depth === path.length - 1;
  if (Array.isArray(root) && typeof token === 'number' && token < root.length) {
    const copy = root.slice();
    if (last) copy.splice(token, 1);
    else copy[token] = removeAt(copy[token] as JsonValue, path, depth + 1);
    return copy;
  }
  if (isObject(root) && typeof token === 'string' && Object.hasOwn(root, token)) {
    const copy: JsonObject = { ...root };
    if (last) delete copy[token];
    else put(copy, token, removeAt(root[token] as JsonValue, path, depth + 1));
    return copy;
  }
  return root;
}

/** Sets an own property (a key named __proto__ included: no prototype setter runs). */
export function put(target: JsonObject, key: string, value: JsonValue): void {
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
}

/**
 * A deep copy of a JSON value, refusing what JSON cannot carry (undefined, functions, bigint,
 * NaN and infinities, cycles): a value in the state must be JSON and must not alias another.
 */
export function cloneJson(value: unknown, what = 'value', depth = 0): JsonValue {
  if (depth > 512) throw new RangeError(`${what} is nested too deeply (or has a cycle)`);
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return value;
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new TypeError(`${what} holds ${value}, which JSON cannot carry`);
    return value;
  }
  if (Array.isArray(value)) {
    const out: JsonValue[] = new Array(value.length);
    for (let i = 0; i < value.length; i++) out[i] = cloneJson(value[i], what, depth + 1);
    return out;
  }
  if (typeof value === 'object') {
    const out: JsonObject = {};
    for (const key of Object.keys(value))
      put(out, key, cloneJson((value as Record<string, unknown>)[key], what, depth + 1));
    return out;
  }
  throw new TypeError(`${what} holds a ${typeof value}, which is not JSON`);
}
