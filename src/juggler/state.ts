import {
  checkPath,
  cloneJson,
  escapeToken,
  getAt,
  isObject,
  type JsonPath,
  type JsonValue,
  put,
  setAt,
} from './json.js';

/** Changes remembered for diffs; a connection further behind gets the whole state. */
const LOG_LIMIT = 65_536;
/** Encoded diffs kept for the current version, one per older version connections are at. */
const CACHE_LIMIT = 16;

export type StateChangeCallback = (state: JugglerState) => void;

/** One change: the path it really changed and whether something was there before. */
interface Change {
  path: JsonPath;
  existed: boolean;
}

/** Top-most changed paths: a terminal carries whether the path existed at the older version. */
interface Node {
  terminal: boolean;
  existed: boolean;
  children: Map<string, Node> | null;
}

/*
 * The server's JSON state (hat.juggler's json.Storage). Changes are made in place, so a change
 * costs the depth of its path, never the width of the objects on it (a 10,000-topic object is
 * not copied per publish), and every change logs the path it touched. A diff from an older
 * version is built from that log alone: the top-most changed paths, each an add, replace or
 * remove of its current value. Nothing walks or compares the whole state.
 */
export class JugglerState {
  private root: JsonValue;
  private ver = 0;
  /** log[i] is the change that made version logStart + i + 1. */
  private log: Change[] = [];
  private logStart = 0;
  private readonly listeners = new Set<StateChangeCallback>();
  private cacheVersion = -1;
  private readonly cache = new Map<number, string | null>();

  /** The state starts as a copy of `initial`. */
  constructor(initial: JsonValue = null) {
    this.root = cloneJson(initial, 'initial');
  }

  /** The live state: read it, do not change it (use set/remove, or the peers miss the change). */
  get data(): JsonValue {
    return this.root;
  }

  /** Increments on every change. */
  get version(): number {
    return this.ver;
  }

  get(path: JsonPath = []): JsonValue | undefined {
    checkPath(path);
    return getAt(this.root, path);
  }

  /**
   * Sets `value` at `path` ([] replaces the whole state); missing or mistyped containers on the
   * way are created. The state keeps a copy of `value` (which must be JSON: TypeError if not).
   */
  set(path: JsonPath, value: JsonValue): void {
    checkPath(path);
    if (value === undefined) throw new TypeError('value must be a JSON value (null, not undefined)');
    value = cloneJson(value);
    const prefix = changedPrefix(this.root, path);
    const old = getAt(this.root, prefix);
    this.assign(prefix, setAt(old ?? null, path, value, prefix.length));
    this.commit({ path: prefix.slice(), existed: old !== undefined });
  }

  /** Removes the value at `path` ([] sets the state to null). */
  remove(path: JsonPath): void {
    checkPath(path);
    if (getAt(this.root, path) === undefined) return;
    if (path.length === 0) {
      this.root = null;
      this.commit({ path: [], existed: true });
      return;
    }
    const parentPath = path.slice(0, -1);
    const parent = getAt(this.root, parentPath);
    const last = path[path.length - 1] as string | number;
    if (Array.isArray(parent)) {
      // The elements after it shift: the array is what changed.
      parent.splice(last as number, 1);
      this.commit({ path: parentPath, existed: true });
    } else {
      delete (parent as Record<string, JsonValue>)[last as string];
      this.commit({ path: path.slice(), existed: true });
    }
  }

  /** Calls `cb` after every change; returns the function that stops it. */
  onChange(cb: StateChangeCallback): () => void {
    if (typeof cb !== 'function') throw new TypeError('cb must be a function');
    this.listeners.add(cb);
    return () => this.listeners.delete(cb);
  }

  /**
   * The JSON text of the patch from `fromVersion` to now, or null when nothing changed. -1 (or
   * a version older than the log) means "from null": the whole state. Connections at the same
   * version share one computed and encoded patch.
   */
  patchTextSince(fromVersion: number): string | null {
    if (fromVersion === this.ver) return null;
    if (this.cacheVersion !== this.ver) {
      this.cache.clear();
      this.cacheVersion = this.ver;
    }
    const cached = this.cache.get(fromVersion);
    if (cached !== undefined) return cached;
    const text = this.buildPatch(fromVersion);
    if (this.cache.size >= CACHE_LIMIT) this.cache.clear();
    this.cache.set(fromVersion, text);
    return text;
  }

  private buildPatch(fromVersion: number): string | null {
    if (fromVersion < this.logStart) {
      return this.root === null ? null : `[{"op":"replace","path":"","value":${JSON.stringify(this.root)}}]`;
    }
    const top: Node = { terminal: false, existed: false, children: null };
    for (let v = fromVersion; v < this.ver; v++) mark(top, this.log[v - this.logStart] as Change);
    const ops: string[] = [];
    emit(ops, top, this.root, '');
    return ops.length === 0 ? null : `[${ops.join(',')}]`;
  }

  private assign(prefix: JsonPath, node: JsonValue): void {
    if (prefix.length === 0) {
      this.root = node;
      return;
    }
    const parent = getAt(this.root, prefix.slice(0, -1));
    const last = prefix[prefix.length - 1] as string | number;
    if (Array.isArray(parent)) parent[last as number] = node;
    else put(parent as Record<string, JsonValue>, last as string, node);
  }

  private commit(change: Change): void {
    this.ver++;
    this.log.push(change);
    if (this.log.length > LOG_LIMIT) {
      const drop = this.log.length - LOG_LIMIT / 2;
      this.log = this.log.slice(drop);
      this.logStart += drop;
    }
    for (const cb of this.listeners) cb(this);
  }
}

/** Adds a change to the trie of top-most changed paths (the first touch decides "existed"). */
function mark(top: Node, change: Change): void {
  let node = top;
  for (const token of change.path) {
    if (node.terminal) return;
    node.children ??= new Map();
    const key = String(token);
    let child = node.children.get(key);
    if (!child) {
      child = { terminal: false, existed: false, children: null };
      node.children.set(key, child);
    }
    node = child;
  }
  if (node.terminal) return;
  // A change below it came first: then the node existed at the older version.
  node.existed = node.children !== null ? true : change.existed;
  node.terminal = true;
  node.children = null;
}

function emit(ops: string[], node: Node, value: JsonValue | undefined, at: string): void {
  if (node.terminal) {
    const path = JSON.stringify(at);
    if (value !== undefined) {
      ops.push(
        `{"op":"${node.existed ? 'replace' : 'add'}","path":${path},"value":${JSON.stringify(value)}}`,
      );
    } else if (node.existed) ops.push(`{"op":"remove","path":${path}}`);
    return;
  }
  if (!node.children) return;
  for (const [key, child] of node.children) {
    const sub = Array.isArray(value)
      ? value[Number(key)]
      : isObject(value) && Object.hasOwn(value, key)
        ? value[key]
        : undefined;
    emit(ops, child, sub, `${at}/${escapeToken(key)}`);
  }
}

/**
 * The path a set() really changes: where a container on the way is missing or of the other
 * kind (replaced), or an array grows, the change starts there, not at `path`.
 */
function changedPrefix(root: JsonValue, path: JsonPath): JsonPath {
  let node: JsonValue | undefined = root;
  for (let i = 0; i < path.length; i++) {
    const token = path[i] as string | number;
    if (typeof token === 'number') {
      if (!Array.isArray(node) || token >= node.length) return path.slice(0, i);
      node = node[token];
    } else {
      if (!isObject(node)) return path.slice(0, i);
      if (!Object.hasOwn(node, token)) return path.slice(0, i + 1);
      node = node[token];
    }
  }
  return path;
}
