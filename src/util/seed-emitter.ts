import { EventEmitter as NodeEventEmitter } from 'node:events';

/** What the seed's emitter takes as an event: a string, a number or any object (by identity). */
export type SeedEvent = string | symbol | number | object;

type Listener = (...args: never[]) => unknown;

/** The special events the emitter raises itself (the seed's; Node's are newListener/removeListener). */
const SPECIAL = new Set<SeedEvent>(['new_listener', 'remove_listener']);

const objectKeys = new WeakMap<object, symbol>();

/**
 * Node keys events by string or symbol (an object would become '[object Object]', a number its
 * text): objects get one symbol each (identity, as in the seed), numbers a symbol of their own
 * so that 1 and '1' stay two events.
 */
function keyOf(event: SeedEvent): string | symbol {
  if (typeof event === 'string' || typeof event === 'symbol') return event;
  if (typeof event === 'number') return Symbol.for(`vsoa-edge.event.number:${event}`);
  if (event !== null && (typeof event === 'object' || typeof event === 'function')) {
    let key = objectKeys.get(event);
    if (key === undefined) {
      key = Symbol('vsoa-edge.event.object');
      objectKeys.set(event, key);
    }
    return key;
  }
  throw new TypeError(`event must be a string, symbol, number or object, got ${String(event)}`);
}

/**
 * The seed's `vsoa.EventEmitter`: Node's EventEmitter plus the seed's names (`add_listener`,
 * `remove_listener`, `remove_all_listeners`, `listener_count`), the special events
 * `new_listener` / `remove_listener` (`(event, listener)`, raised by the emitter only), and any
 * object as an event, by identity. Subclass it as the seed does.
 */
export class EventEmitter extends NodeEventEmitter {
  override on(event: SeedEvent, listener: Listener): this {
    super.on(keyOf(event), listener as (...args: unknown[]) => void);
    this.announce('new_listener', event, listener);
    return this;
  }

  override addListener(event: SeedEvent, listener: Listener): this {
    return this.on(event, listener);
  }

  /** The seed's name. */
  add_listener(event: SeedEvent, listener: Listener): this {
    return this.on(event, listener);
  }

  /** The seed's spelling (sic) of add_listener. */
  add_listerner(event: SeedEvent, listener: Listener): this {
    return this.on(event, listener);
  }

  override once(event: SeedEvent, listener: Listener): this {
    super.once(keyOf(event), listener as (...args: unknown[]) => void);
    this.announce('new_listener', event, listener);
    return this;
  }

  override off(event: SeedEvent, listener: Listener): this {
    this.removeOne(event, listener);
    return this;
  }

  override removeListener(event: SeedEvent, listener: Listener): this {
    return this.off(event, listener);
  }

  /** The seed's: without `listener` removes all of `event`'s listeners; true if any was removed. */
  remove_listener(event: SeedEvent, listener?: Listener): boolean {
    if (listener !== undefined) return this.removeOne(event, listener);
    const all = this.listeners(event) as Listener[];
    for (const l of all) this.removeOne(event, l);
    return all.length > 0;
  }

  override removeAllListeners(event?: SeedEvent): this {
    if (event === undefined) {
      for (const key of this.eventNames()) {
        for (const l of super.listeners(key) as Listener[]) this.removeByKey(key, key, l);
      }
    } else {
      this.remove_listener(event);
    }
    return this;
  }

  /** The seed's name: `event` undefined removes every listener of every event. */
  remove_all_listeners(event?: SeedEvent): void {
    this.removeAllListeners(event);
  }

  override listeners(event: SeedEvent): ReturnType<NodeEventEmitter['listeners']> {
    return super.listeners(keyOf(event));
  }

  override rawListeners(event: SeedEvent): ReturnType<NodeEventEmitter['rawListeners']> {
    return super.rawListeners(keyOf(event));
  }

  override listenerCount(event: SeedEvent, listener?: Listener): number {
    return listener === undefined
      ? super.listenerCount(keyOf(event))
      : super.listenerCount(keyOf(event), listener as (...args: unknown[]) => void);
  }

  /** The seed's name. */
  listener_count(event: SeedEvent): number {
    return this.listenerCount(event);
  }

  /** Raises `event`; `new_listener` and `remove_listener` are the emitter's own and refused here. */
  override emit(event: SeedEvent, ...args: unknown[]): boolean {
    if (SPECIAL.has(event)) throw new TypeError(`'${String(event)}' is raised by the emitter itself`);
    return super.emit(keyOf(event), ...args);
  }

  private removeOne(event: SeedEvent, listener: Listener): boolean {
    return this.removeByKey(keyOf(event), event, listener);
  }

  private removeByKey(key: string | symbol, event: SeedEvent, listener: Listener): boolean {
    const before = super.listenerCount(key);
    super.removeListener(key, listener as (...args: unknown[]) => void);
    if (super.listenerCount(key) === before) return false;
    this.announce('remove_listener', event, listener);
    return true;
  }

  private announce(special: 'new_listener' | 'remove_listener', event: SeedEvent, listener: Listener): void {
    if (SPECIAL.has(event)) return; // no event about listening to the special events themselves
    super.emit(special, event, listener);
  }
}
